package sip

import (
	"bufio"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func crlf(lines ...string) string { return strings.Join(lines, "\r\n") }

func TestParseRequest(t *testing.T) {
	in := crlf(
		"INVITE sip:%2B4930123@10.0.0.1:5060;user=phone SIP/2.0",
		"v: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;rport, SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bK2",
		"Via: SIP / 2.0 / UDP proxy.example.net;branch=z9hG4bK3",
		"f: \"Alice \\\"A\\\" Smith\" <sip:alice@example.net>;tag=abc",
		"t: Bob <sip:bob@example.net>",
		"i: call-1@x",
		"CSeq: 7 INVITE",
		"m: <sip:alice@10.0.0.2:5060;transport=udp>;expires=60",
		"Record-Route: <sip:10.0.0.3;lr>,",
		" <sip:10.0.0.4;lr>",
		"Subject: folded",
		"\tacross lines",
		"k: timer, 100rel",
		"Supported: replaces",
		"Require: timer, foo",
		"c: application/sdp",
		"l: 5",
		"",
		"v=0\r\nextra")
	m, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	r, ok := m.(*Request)
	if !ok {
		t.Fatalf("%T, want *Request", m)
	}
	if r.Method != INVITE || r.URI.User != "+4930123" || r.URI.Host != "10.0.0.1" || r.URI.Port != 5060 {
		t.Errorf("request line: %s %+v", r.Method, r.URI)
	}
	if p, _ := r.URI.Params.Get("USER"); p != "phone" {
		t.Errorf("user param %q", p)
	}
	if string(r.Body) != "v=0\r\n" {
		t.Errorf("body %q, want Content-Length's 5 bytes", r.Body)
	}
	vias := r.Header.Values("via")
	if len(vias) != 3 {
		t.Fatalf("vias %q, want 3 (two in one line, one in another)", vias)
	}
	for i, want := range []struct {
		tr, host string
		port     int
		branch   string
	}{{"UDP", "10.0.0.2", 5060, "z9hG4bK1"}, {"TCP", "2001:db8::1", 5070, "z9hG4bK2"}, {"UDP", "proxy.example.net", 0, "z9hG4bK3"}} {
		v, err := ParseVia(vias[i])
		if err != nil || v.Transport != want.tr || v.Host != want.host || v.Port != want.port || v.Branch() != want.branch {
			t.Errorf("via %d: %+v %v", i, v, err)
		}
	}
	top, _ := r.Header.TopVia()
	if !top.Params.Has("rport") || top.SentBy() != "10.0.0.2:5060" {
		t.Errorf("top via %+v", top)
	}
	from, err := r.Header.Address("From")
	if err != nil || from.Display != `Alice "A" Smith` || from.Tag() != "abc" || from.URI.User != "alice" {
		t.Errorf("from %+v %v", from, err)
	}
	to, err := r.Header.Address("t")
	if err != nil || to.Display != "Bob" || to.Tag() != "" || to.URI.Host != "example.net" {
		t.Errorf("to %+v %v", to, err)
	}
	contact, err := r.Header.Address("contact")
	if exp, _ := contact.Params.Get("expires"); err != nil || exp != "60" || !contact.URI.Params.Has("transport") {
		t.Errorf("contact %+v %v", contact, err)
	}
	rr, err := r.Header.Addresses("record-route")
	if err != nil || len(rr) != 2 || rr[1].URI.Host != "10.0.0.4" || !rr[1].URI.Params.Has("lr") {
		t.Errorf("record-route %+v %v", rr, err)
	}
	if got := r.Header.Get("subject"); got != "folded across lines" {
		t.Errorf("subject %q", got)
	}
	if got := r.Header.Tokens("Supported"); !reflect.DeepEqual(got, []string{"timer", "100rel", "replaces"}) {
		t.Errorf("supported %q", got)
	}
	if got := r.Header.Unsupported("timer", "100rel"); !reflect.DeepEqual(got, []string{"foo"}) {
		t.Errorf("unsupported %q", got)
	}
	cs, err := r.Header.CSeq()
	if err != nil || cs.Seq != 7 || cs.Method != INVITE {
		t.Errorf("cseq %+v %v", cs, err)
	}
	if r.CallID() != "call-1@x" || r.Header.Get("Content-Type") != "application/sdp" {
		t.Errorf("call-id %q, content-type %q", r.CallID(), r.Header.Get("c"))
	}
	// Written back: full names, the URI escaped again, Content-Length true.
	out := r.String()
	for _, want := range []string{"INVITE sip:+4930123@10.0.0.1:5060;user=phone SIP/2.0\r\n", "\r\nVia: SIP/2.0/UDP 10.0.0.2",
		"\r\nCall-ID: call-1@x\r\n", "\r\nContent-Length: 5\r\n\r\nv=0\r\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("written form lacks %q:\n%s", want, out)
		}
	}
	again, err := ParseRequest([]byte(out))
	if err != nil || !reflect.DeepEqual(again.Header.Values("Via"), vias) || again.URI.User != "+4930123" {
		t.Errorf("round trip: %v %+v", err, again)
	}
}

func TestParseResponse(t *testing.T) {
	r, err := ParseResponse([]byte("SIP/2.0 180 Ringing\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx\nTo: <sip:a@b>;tag=t\n\n"))
	if err != nil || r.Status != 180 || r.Reason != "Ringing" || r.Body != nil {
		t.Fatalf("%+v %v", r, err)
	}
	// No Content-Length on a datagram: the rest is the body.
	r, err = ParseResponse([]byte("SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\n\r\nbody"))
	if err != nil || string(r.Body) != "body" {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestParseErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":                   "",
		"not SIP":                 "HTTP/1.1 200 OK\r\n\r\n",
		"bad status":              "SIP/2.0 2000 OK\r\n\r\n",
		"status out of range":     "SIP/2.0 099 OK\r\n\r\n",
		"version":                 "INVITE sip:a@b SIP/3.0\r\n\r\n",
		"request line":            "INVITE sip:a@b\r\n\r\n",
		"bad URI":                 "INVITE sip:a@b:99999 SIP/2.0\r\n\r\n",
		"header without colon":    "SIP/2.0 200 OK\r\nVia\r\n\r\n",
		"continuation first":      "SIP/2.0 200 OK\r\n folded\r\n\r\n",
		"content-length too long": "SIP/2.0 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"content-length bad":      "SIP/2.0 200 OK\r\nl: -1\r\n\r\n",
		"content-length twice":    "SIP/2.0 200 OK\r\nl: 1\r\nContent-Length: 2\r\n\r\nab",
		"space in header name":    "SIP/2.0 200 OK\r\nX Y: 1\r\n\r\n",
	} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", name, err)
		}
	}
	// The message names what is wrong and where.
	for in, want := range map[string]string{
		"SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\nVia\r\n\r\n": `sip: malformed message: line 3: bad header "Via"`,
		"INVITE sip:a@b:99999 SIP/2.0\r\n\r\n":             `sip: malformed message: request line: URI "sip:a@b:99999": port "99999"`,
	} {
		if _, err := Parse([]byte(in)); err == nil || err.Error() != want {
			t.Errorf("%q: error %v, want %s", in, err, want)
		}
	}
	many := "SIP/2.0 200 OK\r\n" + strings.Repeat("X: 1\r\n", MaxHeaders+1) + "\r\n"
	if _, err := Parse([]byte(many)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "headers") {
		t.Errorf("too many headers: %v", err)
	}
	if _, err := ParseResponse([]byte("OPTIONS sip:a SIP/2.0\r\n\r\n")); !errors.Is(err, ErrMalformed) {
		t.Errorf("request as response: %v", err)
	}
}

func TestURI(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		want    URI
	}{
		{"sip:alice@example.net", "", URI{Scheme: "sip", User: "alice", Host: "example.net"}},
		{"SIPS:a%40b:p%3Aw@[::1]:5061;transport=tls?subject=x", "sips:a%40b:p%3Aw@[::1]:5061;transport=tls?subject=x",
			URI{Scheme: "sips", User: "a@b", Password: "p:w", Host: "::1", Port: 5061,
				Params: Params{{"transport", "tls"}}, Headers: "subject=x"}},
		{"sip:10.0.0.1;lr", "", URI{Scheme: "sip", Host: "10.0.0.1", Params: Params{{"lr", ""}}}},
		{"sip:%2a31%23@gw", "sip:*31%23@gw", URI{Scheme: "sip", User: "*31#", Host: "gw"}},
		{"sip:alice;day=tue@h", "", URI{Scheme: "sip", User: "alice;day=tue", Host: "h"}},
		{"tel:+49-30-123;phone-context=x", "", URI{Scheme: "tel", User: "+49-30-123", Params: Params{{"phone-context", "x"}}}},
	} {
		u, err := ParseURI(tc.in)
		if err != nil || !reflect.DeepEqual(u, tc.want) {
			t.Errorf("%q: %+v %v, want %+v", tc.in, u, err, tc.want)
			continue
		}
		out := tc.out
		if out == "" {
			out = tc.in
		}
		if u.String() != out {
			t.Errorf("%q written %q, want %q", tc.in, u.String(), out)
		}
	}
	for _, bad := range []string{"", "alice", "sip:", "sip:@h", "sip:a@", "sip:a%4@h", "sip:a%zz@h", "sip:h:0", "sip:[::1", "sip:h:",
		"sip:h?", "sip:a b@h", "sip:h;=x"} {
		if u, err := ParseURI(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %+v, want ErrMalformed", bad, u)
		}
	}
}

func TestAddress(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Address
		out  string
	}{
		{"<sip:a@b>;tag=1", Address{URI: URI{Scheme: "sip", User: "a", Host: "b"}, Params: Params{{"tag", "1"}}}, "<sip:a@b>;tag=1"},
		{"sip:a@b;tag=1", Address{URI: URI{Scheme: "sip", User: "a", Host: "b"}, Params: Params{{"tag", "1"}}}, "<sip:a@b>;tag=1"},
		{"Anonymous <sip:anonymous@anonymous.invalid>", Address{Display: "Anonymous", URI: URI{Scheme: "sip", User: "anonymous", Host: "anonymous.invalid"}},
			`"Anonymous" <sip:anonymous@anonymous.invalid>`},
		{`"a\\b" <sip:h;lr>;x="1;2"`, Address{Display: `a\b`, URI: URI{Scheme: "sip", Host: "h", Params: Params{{"lr", ""}}}, Params: Params{{"x", `"1;2"`}}},
			`"a\\b" <sip:h;lr>;x="1;2"`},
		{"*", Address{Star: true}, "*"},
	} {
		a, err := ParseAddress(tc.in)
		if err != nil || !reflect.DeepEqual(a, tc.want) {
			t.Errorf("%q: %+v %v", tc.in, a, err)
			continue
		}
		if a.String() != tc.out {
			t.Errorf("%q written %q, want %q", tc.in, a.String(), tc.out)
		}
	}
	// A display name cannot break out of its quotes or the header line.
	evil := Address{Display: "Eve\"\r\nVia: x", URI: URI{Scheme: "sip", Host: "h"}}
	if s := evil.String(); s != `"Eve\"Via: x" <sip:h>` {
		t.Errorf("escaped display %q", s)
	}
	for _, bad := range []string{"", "<sip:a@b", `"x <sip:a@b>`, `"x" sip:a@b`, "<sip:a@b> junk", "a@b <sip:c>x", "Bad, Name <sip:h>"} {
		if _, err := ParseAddress(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err %v, want ErrMalformed", bad, err)
		}
	}
}

func TestHeaderEdit(t *testing.T) {
	h := Header{{"Via", "SIP/2.0/UDP a;branch=1, SIP/2.0/UDP b;branch=2"}, {"From", "<sip:x@y>"}, {"Via", "SIP/2.0/UDP c;branch=3"}}
	h.SetFirst("v", "SIP/2.0/UDP a;branch=1;received=10.0.0.9")
	if got := h.Values("Via"); !reflect.DeepEqual(got, []string{"SIP/2.0/UDP a;branch=1;received=10.0.0.9", "SIP/2.0/UDP b;branch=2", "SIP/2.0/UDP c;branch=3"}) {
		t.Errorf("SetFirst: %q", got)
	}
	h.Set("via", "SIP/2.0/UDP only")
	if got := h.Lines("Via"); !reflect.DeepEqual(got, []string{"SIP/2.0/UDP only"}) || h[0].Name != "Via" {
		t.Errorf("Set: %q %+v", got, h)
	}
	h.Add("max-forwards", "70")
	h.Del("From")
	if h.Has("f") || h.Get("Max-Forwards") != "70" || h[len(h)-1].Name != "Max-Forwards" {
		t.Errorf("Add/Del: %+v", h)
	}
}

func TestNewResponse(t *testing.T) {
	req, err := ParseRequest([]byte(crlf("INVITE sip:a@b SIP/2.0", "Via: SIP/2.0/UDP h;branch=z9hG4bKa", "Via: SIP/2.0/UDP p;branch=z9hG4bKb",
		"From: <sip:x@y>;tag=1", "To: <sip:a@b>", "Call-ID: c", "CSeq: 1 INVITE", "Record-Route: <sip:p;lr>", "Timestamp: 5",
		"Contact: <sip:x@h>", "Content-Length: 3", "", "abc")))
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[int][]string{
		100: {"Via", "Via", "From", "To", "Call-ID", "CSeq", "Timestamp"},
		180: {"Via", "Via", "From", "To", "Call-ID", "CSeq", "Record-Route"},
		486: {"Via", "Via", "From", "To", "Call-ID", "CSeq"},
	} {
		res := NewResponse(req, code, "")
		var names []string
		for _, f := range res.Header {
			names = append(names, f.Name)
		}
		if !reflect.DeepEqual(names, want) || res.Reason != StatusText(code) || res.Body != nil {
			t.Errorf("%d: %q %q", code, names, res.Reason)
		}
	}
}

func TestReadStream(t *testing.T) {
	two := "\r\n\r\nSIP/2.0 200 OK\r\nl: 3\r\n\r\nabcSIP/2.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"
	br := bufio.NewReader(strings.NewReader(two))
	for _, want := range []int{200, 404} {
		b, err := ReadStream(br)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseResponse(b)
		if err != nil || r.Status != want {
			t.Fatalf("%+v %v, want %d", r, err, want)
		}
	}
	if _, err := ReadStream(bufio.NewReader(strings.NewReader("SIP/2.0 200 OK\r\nContent-Length: 999999\r\n\r\n"))); !errors.Is(err, ErrMalformed) {
		t.Errorf("huge Content-Length: %v", err)
	}
}
