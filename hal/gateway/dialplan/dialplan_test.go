package dialplan_test

import (
	"errors"
	"strings"
	"testing"

	"lifeline/hal/gateway/dialplan"
)

var germany = dialplan.Numbering{Prefix: "*00", CountryCode: "49", InternationalPrefix: "00", NationalPrefix: "0"}

func TestDial(t *testing.T) {
	for _, tc := range []struct {
		name         string
		n            dialplan.Numbering
		scheme, user string
		want         string // "" : ErrNumber
	}{
		{"plain", germany, "sip", "5551234", "5551234"},
		{"prefix stripped", germany, "sip", "*005551234", "5551234"},
		{"visual separators", germany, "sip", "*00-555-(12).34", "5551234"},
		{"escaped hash", germany, "sip", "%2A21%23", "*21#"},
		{"escaped prefix", germany, "sip", "%2a005551234", "5551234"},
		{"lower-case escape", germany, "sip", "%2a%2a", "**"},
		{"escaped space", germany, "sip", "030%20123", "030123"},
		{"own country", germany, "sip", "+49301234567", "0301234567"},
		{"own country, escaped plus", germany, "sip", "%2B49301234567", "0301234567"},
		{"other country", germany, "sip", "+33123456789", "0033123456789"},
		{"prefix then E.164", germany, "sip", "*00+4930123", "030123"},
		{"user=phone with phone-context", germany, "sip", "030123;phone-context=+49", "030123"},
		{"phone-context domain", germany, "sip", "1234;phone-context=example.com", "1234"},
		{"tel global", germany, "tel", "+49-30-123", "030123"},
		{"tel local", germany, "tel", "7042;phone-context=example.com", "7042"},
		{"tel other country", germany, "TEL", "+1-212-555-0100", "0012125550100"},
		{"no country code", dialplan.DefaultNumbering(), "sip", "+4930123", "004930123"},
		{"zero value", dialplan.Numbering{}, "sip", "+4930123", "004930123"},
		{"NANP", dialplan.Numbering{CountryCode: "1", InternationalPrefix: "011", NationalPrefix: "1"}, "sip", "+12125550100", "12125550100"},
		{"NANP abroad", dialplan.Numbering{CountryCode: "1", InternationalPrefix: "011", NationalPrefix: "1"}, "sip", "+4930123", "0114930123"},
		{"no trunk prefix", dialplan.Numbering{CountryCode: "39", InternationalPrefix: "00"}, "sip", "+390612345", "0612345"},
		{"plus in the middle", germany, "sip", "030+123", ""},
		{"plus and letters", germany, "sip", "+49abc", ""},
		{"lone plus", germany, "sip", "+", ""},
		{"bad escape", germany, "sip", "030%2", ""},
		{"bad escape hex", germany, "sip", "030%zz", ""},
		{"semicolon escaped", germany, "sip", "030%3B", ""},
		{"semicolon unescaped by a parser", germany, "sip", "030;123", ""},
		{"npdi flag", germany, "sip", "030123;npdi;rn=+4930999", "030123"},
		{"empty parameter", germany, "sip", "030123;", ""},
		{"dial modifier", germany, "sip", "030W123", ""},
		{"comma", germany, "sip", "030,123", ""},
		{"empty", germany, "sip", "", ""},
		{"prefix only", germany, "sip", "*00", ""},
		{"letters", germany, "sip", "alice", ""},
		{"too long", germany, "sip", strings.Repeat("1", 33), ""},
		{"not a phone URI", germany, "mailto", "x", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.n.Dial(tc.scheme, tc.user)
			if tc.want == "" {
				if !errors.Is(err, dialplan.ErrNumber) {
					t.Fatalf("Dial(%q, %q) = %q, %v; want ErrNumber", tc.scheme, tc.user, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Dial(%q, %q) = %q, %v; want %q", tc.scheme, tc.user, got, err, tc.want)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	def := dialplan.Plan{Block: dialplan.DefaultBlock(germany), Emergency: []string{"112", "110"}}
	custom := dialplan.Plan{Block: append(dialplan.DefaultBlock(germany), "0190"), Allow: []string{"0033", "0900123", "11833"}}
	pattern := dialplan.Plan{Block: []string{"0x00"}}
	for _, tc := range []struct {
		name   string
		plan   dialplan.Plan
		number string
		ok     bool
	}{
		{"national", def, "0301234567", true},
		{"local", def, "5551234", true},
		{"emergency", def, "112", true},
		{"emergency 110", def, "110", true},
		{"international", def, "0033123456789", false},
		{"premium rate", def, "09001234567", false},
		{"mass call", def, "01371234567", false},
		{"directory", def, "11833", false},
		{"emergency exact only", def, "1120", true}, // not blocked either
		{"allow beats block", custom, "0033123", true},
		{"longer block wins", custom, "0044123", false},
		{"allow a premium number", custom, "09001234", true},
		{"other premium number", custom, "09005555", false},
		{"extra block", custom, "01901234", false},
		{"allowed directory", custom, "11833", true},
		{"x matches a digit", pattern, "0500", false},
		{"x needs a digit", pattern, "0*00", true},
		{"zero plan", dialplan.Plan{}, "00900", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.plan.Check(tc.number)
			if tc.ok != (err == nil) || err != nil && !errors.Is(err, dialplan.ErrBlocked) {
				t.Fatalf("Check(%q) = %v, want ok %v", tc.number, err, tc.ok)
			}
		})
	}
}

func TestCheckPattern(t *testing.T) {
	for _, p := range []string{"00", "0900", "118", "0x00", "*31#"} {
		if err := dialplan.CheckPattern(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range []string{"", "+49", "09 00", "0900?", strings.Repeat("1", 33)} {
		if err := dialplan.CheckPattern(p); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
}

// FuzzDial: whatever the URI holds, Dial returns a number of digits, *
// and # within MaxDigits, or ErrNumber; never a "+" or a modem's dial
// modifier.
func FuzzDial(f *testing.F) {
	for _, s := range []string{"5551234", "*00%2B4930", "+33123;phone-context=+33", "%", "%2", "+", "030%3B123", "1;2;3"} {
		f.Add("sip", s)
	}
	f.Add("tel", "+1-212-555-0100")
	f.Fuzz(func(t *testing.T, scheme, user string) {
		got, err := germany.Dial(scheme, user)
		if err != nil {
			if !errors.Is(err, dialplan.ErrNumber) {
				t.Fatalf("Dial(%q, %q): %v, not ErrNumber", scheme, user, err)
			}
			return
		}
		if got == "" || len(got) > dialplan.MaxDigits || strings.Trim(got, "0123456789*#") != "" {
			t.Fatalf("Dial(%q, %q) = %q", scheme, user, got)
		}
	})
}

func BenchmarkDialAndCheck(b *testing.B) {
	plan := dialplan.Plan{Block: dialplan.DefaultBlock(germany), Allow: []string{"0033"}, Emergency: []string{"112"}}
	b.ReportAllocs()
	for b.Loop() {
		n, err := germany.Dial("sip", "*00%2B49-30-1234567;phone-context=+49")
		if err != nil || plan.Check(n) != nil {
			b.Fatal(n, err)
		}
	}
}
