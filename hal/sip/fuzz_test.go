package sip

import (
	"bufio"
	"bytes"
	"reflect"
	"testing"
)

// FuzzParse: no input panics; what parses, written and parsed again, is
// the same message; typed header values that parse round-trip too.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		crlf("INVITE sip:%2B49@10.0.0.1;user=phone SIP/2.0", "v: SIP/2.0/UDP a:1;branch=z9hG4bK1, SIP/2.0/UDP [::1];rport",
			"Via: SIP/2.0/TCP b;branch=2", `f: "A \"q\"" <sip:a@b>;tag=1`, "t: sip:c@d", "i: x", "CSeq: 1 INVITE",
			"m: *", "Route: <sip:p;lr>, <sip:q>", "X-Folded: a", " b", "\tc", "k: timer, 100rel", "l: 2", "", "okjunk"),
		crlf("SIP/2.0 200 OK", "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx;received=1.2.3.4;rport=5", "From: <sip:a@b>;tag=1",
			"To: <sip:c@d>;tag=2", "Call-ID: r", "CSeq: 1 OPTIONS", "Allow: INVITE, ACK, BYE", "Content-Length: 0", "", ""),
		"SIP/2.0 180 Ringing\nTo: Bob <tel:+1-2;x=y?h=1>\n\nbody",
		"REFER sip:a@b SIP/2.0\r\nr: <sip:c@d?Replaces=abc%40x>\r\nb: <sip:e@f>\r\n\r\n",
		"\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ReadStream(bufio.NewReader(bytes.NewReader(b)))
		m, err := Parse(b)
		if err != nil {
			return
		}
		again, err := Parse(m.Append(nil))
		if err != nil {
			t.Fatalf("written form does not parse: %v\n%q", err, m.String())
		}
		if reflect.TypeOf(m) != reflect.TypeOf(again) {
			t.Fatalf("%T became %T", m, again)
		}
		switch m := m.(type) {
		case *Request:
			a := again.(*Request)
			if a.Method != m.Method || a.URI.String() != m.URI.String() || !bytes.Equal(a.Body, m.Body) {
				t.Fatalf("request changed: %q -> %q", m.String(), a.String())
			}
		case *Response:
			a := again.(*Response)
			if a.Status != m.Status || a.Reason != m.Reason || !bytes.Equal(a.Body, m.Body) {
				t.Fatalf("response changed: %q -> %q", m.String(), a.String())
			}
		}
		h, h2 := m.Headers(), again.Headers()
		for _, f := range h {
			if f.is("Content-Length") {
				continue
			}
			if got := h2.Lines(f.Name); len(got) != len(h.Lines(f.Name)) {
				t.Fatalf("%s: %d fields became %d", f.Name, len(h.Lines(f.Name)), len(got))
			}
		}
		for _, v := range h.Values("Via") {
			if via, err := ParseVia(v); err == nil {
				if via2, err := ParseVia(via.String()); err != nil || !reflect.DeepEqual(via, via2) {
					t.Fatalf("Via %q -> %q: %+v %v", v, via.String(), via2, err)
				}
			}
		}
		for _, name := range []string{"From", "To", "Contact", "Route", "Record-Route", "Refer-To"} {
			for _, v := range h.Values(name) {
				a, err := ParseAddress(v)
				if err != nil {
					continue
				}
				a2, err := ParseAddress(a.String())
				if err != nil || a2.URI.String() != a.URI.String() || a2.Tag() != a.Tag() || a2.Display != a.Display && !hasControl(a.Display) {
					t.Fatalf("%s %q -> %q: %+v %v", name, v, a.String(), a2, err)
				}
			}
		}
		_, _ = h.CSeq()
		_ = h.Unsupported("timer")
	})
}

func hasControl(s string) bool {
	for _, c := range []byte(s) {
		if c < ' ' || c == 0x7f {
			return true
		}
	}
	return false
}
