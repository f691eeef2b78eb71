package sip

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

const ok200 = "SIP/2.0 200 OK\r\n" +
	"Via: SIP/2.0/UDP 192.0.2.2:40000;branch=z9hG4bKabc;rport=40000;received=192.0.2.2\r\n" +
	"From: <sip:lifeline@192.0.2.2>;tag=1\r\n" +
	"To: <sip:192.0.2.1>;tag=2\r\n" +
	"Call-ID: x@lifeline\r\n" +
	"CSeq: 7 OPTIONS\r\n" +
	"Content-Length: 0\r\n\r\n"

func TestParseResponseTable(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		status  int
		reason  string
		headers map[string]string // Get(name) → value
		body    string
		err     error
	}{
		{"200 OK", ok200, 200, "OK", map[string]string{"Call-ID": "x@lifeline", "cseq": "7 OPTIONS", "i": "x@lifeline"}, "", nil},
		{"401 with challenge", "SIP/2.0 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"x\", nonce=\"y\"\r\nContent-Length: 0\r\n\r\n",
			401, "Unauthorized", map[string]string{"www-authenticate": `Digest realm="x", nonce="y"`}, "", nil},
		{"compact forms", "SIP/2.0 200 OK\r\nv: SIP/2.0/TCP h;branch=z9hG4bK1\r\ni: abc\r\nf: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\nl: 0\r\nm: <sip:e@f>\r\n\r\n",
			200, "OK", map[string]string{"via": "SIP/2.0/TCP h;branch=z9hG4bK1", "Call-ID": "abc", "from": "<sip:a@b>;tag=1", "To": "<sip:c@d>", "contact": "<sip:e@f>", "Content-Length": "0"}, "", nil},
		{"case-insensitive names", "SIP/2.0 404 Not Found\r\nCALL-id: q\r\ncseq: 1 OPTIONS\r\n\r\n", 404, "Not Found", map[string]string{"Call-ID": "q"}, "", nil},
		{"folded header", "SIP/2.0 200 OK\r\nSubject: one\r\n  two\r\n\tthree\r\n\r\n", 200, "OK", map[string]string{"subject": "one two three", "s": "one two three"}, "", nil},
		{"space before colon", "SIP/2.0 200 OK\r\nCall-ID  : z\r\n\r\n", 200, "OK", map[string]string{"call-id": "z"}, "", nil},
		{"bare LF", "SIP/2.0 405 Method Not Allowed\nAllow: INVITE\n\n", 405, "Method Not Allowed", map[string]string{"allow": "INVITE"}, "", nil},
		{"no blank line at datagram end", "SIP/2.0 501 Not Implemented\r\nCall-ID: z", 501, "Not Implemented", map[string]string{"call-id": "z"}, "", nil},
		{"empty reason", "SIP/2.0 403 \r\n\r\n", 403, "", nil, "", nil},
		{"no reason at all", "SIP/2.0 407\r\n\r\n", 407, "", nil, "", nil},
		{"body bounded by length", "SIP/2.0 200 OK\r\nContent-Length: 4\r\n\r\nv=0\r\nextra", 200, "OK", nil, "v=0\r", nil},
		{"body without length", "SIP/2.0 200 OK\r\n\r\nabc", 200, "OK", nil, "abc", nil},
		{"100 Trying", "SIP/2.0 100 Trying\r\n\r\n", 100, "Trying", nil, "", nil},
		{"699", "SIP/2.0 699 X\r\n\r\n", 699, "X", nil, "", nil},
		{"request", "OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\n", 0, "", nil, "", ErrMalformed},
		{"status 700", "SIP/2.0 700 X\r\n\r\n", 0, "", nil, "", ErrMalformed},
		{"status 099", "SIP/2.0 099 X\r\n\r\n", 0, "", nil, "", ErrMalformed},
		{"status not a number", "SIP/2.0 2x0 X\r\n\r\n", 0, "", nil, "", ErrMalformed},
		{"four-digit status", "SIP/2.0 2000 X\r\n\r\n", 0, "", nil, "", ErrMalformed},
		{"HTTP", "HTTP/1.1 200 OK\r\n\r\n", 0, "", nil, "", ErrMalformed},
		{"empty", "", 0, "", nil, "", ErrMalformed},
		{"garbage", "\x00\x01\x02", 0, "", nil, "", ErrMalformed},
		{"header without colon", "SIP/2.0 200 OK\r\nnocolon\r\n\r\n", 0, "", nil, "", ErrMalformed},
		{"empty header name", "SIP/2.0 200 OK\r\n: v\r\n\r\n", 0, "", nil, "", ErrMalformed},
		{"continuation first", "SIP/2.0 200 OK\r\n cont\r\n\r\n", 0, "", nil, "", ErrMalformed},
		{"negative length", "SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n", 0, "", nil, "", ErrMalformed},
		{"length beyond body", "SIP/2.0 200 OK\r\nl: 10\r\n\r\nabc", 0, "", nil, "", ErrMalformed},
		{"too many headers", "SIP/2.0 200 OK\r\n" + strings.Repeat("X: y\r\n", MaxHeaders+1) + "\r\n", 0, "", nil, "", ErrMalformed},
		{"too big", "SIP/2.0 200 OK\r\n" + strings.Repeat("x", MaxMessage), 0, "", nil, "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseResponse([]byte(tt.in))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if r.Status != tt.status || r.Reason != tt.reason {
				t.Errorf("status %d %q, want %d %q", r.Status, r.Reason, tt.status, tt.reason)
			}
			for k, v := range tt.headers {
				if got := r.Header.Get(k); got != v {
					t.Errorf("Get(%q) = %q, want %q", k, got, v)
				}
			}
			if string(r.Body) != tt.body {
				t.Errorf("body %q, want %q", r.Body, tt.body)
			}
		})
	}
}

func TestResponseFields(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		branch string
		cseq   uint32
		method string
		ok     bool
	}{
		{"plain", ok200, "z9hG4bKabc", 7, "OPTIONS", true},
		{"two vias on one line", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKtop, SIP/2.0/UDP b;branch=z9hG4bKlow\r\nCSeq: 1 INVITE\r\n\r\n", "z9hG4bKtop", 1, "INVITE", true},
		{"two via lines", "SIP/2.0 200 OK\r\nv: SIP/2.0/UDP a ; BRANCH = z9hG4bKx ;rport\r\nVia: SIP/2.0/UDP b;branch=z9hG4bKy\r\nCSeq:  42   OPTIONS\r\n\r\n", "z9hG4bKx", 42, "OPTIONS", true},
		{"no branch, bad cseq", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a\r\nCSeq: x OPTIONS\r\n\r\n", "", 0, "", false},
		{"cseq without method", "SIP/2.0 200 OK\r\nCSeq: 5\r\n\r\n", "", 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseResponse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			via, _ := r.Header.TopVia()
			if b := via.Branch(); b != tt.branch {
				t.Errorf("branch %q, want %q", b, tt.branch)
			}
			cs, err := r.Header.CSeq()
			n, m, ok := cs.Seq, string(cs.Method), err == nil
			if n != tt.cseq || m != tt.method || ok != tt.ok {
				t.Errorf("CSeq = %d %q %v, want %d %q %v", n, m, ok, tt.cseq, tt.method, tt.ok)
			}
		})
	}
}

func TestReadStreamSequence(t *testing.T) {
	stream := "\r\n\r\n" + // RFC 5626 keep-alive
		"SIP/2.0 200 OK\r\nl: 5\r\n\r\nhello" +
		"SIP/2.0 404 Not Found\r\nContent-Length: 0\r\n\r\n" +
		"SIP/2.0 200 OK\r\nContent-Length: 9\r\n\r\nshort"
	br := bufio.NewReader(strings.NewReader(stream))
	for i, want := range []int{200, 404} {
		b, err := ReadStream(br)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		r, err := ParseResponse(b)
		if err != nil || r.Status != want {
			t.Fatalf("message %d: %v %+v", i, err, r)
		}
	}
	if _, err := ReadStream(br); err == nil {
		t.Fatal("truncated body accepted")
	}
	bad := bufio.NewReader(strings.NewReader("SIP/2.0 200 OK\r\nContent-Length: x\r\n\r\n"))
	if _, err := ReadStream(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad length: %v", err)
	}
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{ok200, "SIP/2.0 401 Unauthorized\r\nl: 0\r\n\r\n", "SIP/2.0 200 OK\r\nSubject: a\r\n b\r\n\r\n",
		"OPTIONS sip:a SIP/2.0\r\n\r\n", "SIP/2.0 200 OK\r\nContent-Length: 3\r\n\r\nabc", "SIP/2.0 200 OK\nv: x;branch=y, z\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		if r.Status < 100 || r.Status > 699 {
			t.Fatalf("status %d accepted", r.Status)
		}
		_, _ = r.Header.TopVia()
		_, _ = r.Header.CSeq()
		if cl := r.Header.Get("l"); cl != "" && len(r.Body) > len(b) {
			t.Fatalf("body longer than input")
		}
		// A stream reader must frame what the datagram parser accepts or fail cleanly.
		_, _ = ReadStream(bufio.NewReader(strings.NewReader(string(b))))
	})
}
