//go:build gateway

package gateway

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"
)

func TestQuoteDisplayName(t *testing.T) {
	for in, want := range map[string]string{
		"ANNA":                        "ANNA",
		`Evil" <sip:x@y>`:             `Evil\" <sip:x@y>`,
		`back\slash`:                  `back\\slash`,
		"two\r\nlines":                "twolines",
		"  lots   of\tspace  ":        "lots ofspace",
		"M\u00fcller":                 "M\u00fcller",
		"bad \xff utf8":               "bad utf8",
		strings.Repeat("x", 100):      strings.Repeat("x", maxDisplayName),
		strings.Repeat(`"`, 100):      strings.Repeat(`\"`, maxDisplayName),
		"line\u2028separator\x7f\x00": "lineseparator",
	} {
		if got := quoteDisplayName(in); got != want {
			t.Errorf("quoteDisplayName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzQuoteDisplayName: whatever the line reports as a name, the From
// header built with it parses back with the same display name, the
// gateway's URI and no other parameters.
func FuzzQuoteDisplayName(f *testing.F) {
	for _, s := range []string{"ANNA", `a"b`, `a\`, "\r\n", `\"`, "x\x00y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		q := quoteDisplayName(name)
		if !utf8.ValidString(q) || strings.ContainsAny(q, "\r\n\x00") || utf8.RuneCountInString(q) > 2*maxDisplayName {
			t.Fatalf("quoteDisplayName(%q) = %q", name, q)
		}
		h := &sip.FromHeader{DisplayName: q, Address: sip.Uri{Scheme: "sip", User: "5551234", Host: "192.0.2.1", Port: 5080},
			Params: sip.HeaderParams{{K: "tag", V: "gw"}}}
		var uri sip.Uri
		params := sip.NewParams()
		display, err := sip.ParseAddressValue(h.Value(), &uri, &params)
		if err != nil {
			t.Fatalf("From %q does not parse: %v", h.Value(), err)
		}
		tag, _ := params.Get("tag")
		if display != q || uri.User != "5551234" || uri.Host != "192.0.2.1" || tag != "gw" || params.Length() != 1 {
			t.Fatalf("From %q parsed as name %q uri %s params %v", h.Value(), display, uri.String(), params)
		}
	})
}
