package gateway

import (
	"strings"
	"testing"
	"unicode/utf8"

	"lifeline/hal/sip"
)

func TestCleanDisplayName(t *testing.T) {
	for in, want := range map[string]string{
		"ANNA":                        "ANNA",
		`Evil" <sip:x@y>`:             `Evil" <sip:x@y>`, // sip.Address quotes it
		"two\r\nlines":                "twolines",
		"  lots   of\tspace  ":        "lots ofspace",
		"M\u00fcller":                 "M\u00fcller",
		"bad \xff utf8":               "bad utf8",
		strings.Repeat("x", 100):      strings.Repeat("x", maxDisplayName),
		"line\u2028separator\x7f\x00": "lineseparator",
		"c1\u0085control":             "c1control",
	} {
		if got := cleanDisplayName(in); got != want {
			t.Errorf("cleanDisplayName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzCleanDisplayName: whatever the line reports as a name, the From
// built with it parses back with the same display name, the gateway's URI
// and tag and nothing else (issue 15 item 8).
func FuzzCleanDisplayName(f *testing.F) {
	for _, s := range []string{"ANNA", `a"b`, `a\`, "\r\n", `\"`, "x\x00y", `Evil" <sip:evil@x>;tag=1`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c := cleanDisplayName(name)
		if !utf8.ValidString(c) || strings.ContainsAny(c, "\r\n\x00") || utf8.RuneCountInString(c) > maxDisplayName {
			t.Fatalf("cleanDisplayName(%q) = %q", name, c)
		}
		from := sip.Address{Display: c, URI: sip.URI{Scheme: "sip", User: "5551234", Host: "192.0.2.1", Port: 5080}}
		from.Params.Set("tag", "gw")
		a, err := sip.ParseAddress(from.String())
		if err != nil {
			t.Fatalf("From %q does not parse: %v", from.String(), err)
		}
		if a.Display != c || a.URI.User != "5551234" || a.URI.Host != "192.0.2.1" || a.Tag() != "gw" || len(a.Params) != 1 {
			t.Fatalf("From %q parsed as %+v", from.String(), a)
		}
	})
}
