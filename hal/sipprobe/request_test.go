package sipprobe

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"lifeline/hal/sip"
)

func TestNewRequest(t *testing.T) {
	tests := []struct {
		name      string
		host      string
		port      int
		transport string
		local     string
		want      []string // regexps, each must match a line
	}{
		{"udp ipv4 with port", "192.0.2.1", 5060, "udp", "192.0.2.2:40000", []string{
			`^OPTIONS sip:192\.0\.2\.1:5060 SIP/2\.0$`,
			`^Via: SIP/2\.0/UDP 192\.0\.2\.2:40000;branch=z9hG4bK[0-9a-z]{16};rport$`,
			`^Max-Forwards: 70$`,
			`^From: <sip:lifeline@192\.0\.2\.2>;tag=[0-9a-z]{16}$`,
			`^To: <sip:192\.0\.2\.1:5060>$`,
			`^Call-ID: [0-9a-z]{24}@lifeline$`,
			`^CSeq: 9 OPTIONS$`,
			`^Contact: <sip:lifeline@192\.0\.2\.2:40000;transport=udp>$`,
			`^Content-Length: 0$`,
		}},
		{"tcp ipv6, name without port (SRV)", "sip.example.net", 0, "tcp", "[2001:db8::2]:5061", []string{
			`^OPTIONS sip:sip\.example\.net SIP/2\.0$`,
			`^Via: SIP/2\.0/TCP \[2001:db8::2\]:5061;branch=z9hG4bK[0-9a-z]+;rport$`,
			`^From: <sip:lifeline@\[2001:db8::2\]>;tag=`,
			`^To: <sip:sip\.example\.net>$`,
			`^Contact: <sip:lifeline@\[2001:db8::2\]:5061;transport=tcp>$`,
		}},
		{"ipv6 target", "2001:db8::1", 5060, "udp", "[2001:db8::2]:1", []string{
			`^OPTIONS sip:\[2001:db8::1\]:5060 SIP/2\.0$`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest(tt.host, tt.port, tt.transport, netip.MustParseAddrPort(tt.local), 9)
			s := string(r.wire)
			if !strings.HasSuffix(s, "\r\n\r\n") || strings.Count(s, "\r\n\r\n") != 1 {
				t.Fatalf("not one header block ending in CRLFCRLF: %q", s)
			}
			lines := strings.Split(strings.TrimSuffix(s, "\r\n\r\n"), "\r\n")
			for _, w := range tt.want {
				re := regexp.MustCompile(w)
				found := false
				for _, l := range lines {
					found = found || re.MatchString(l)
				}
				if !found {
					t.Errorf("no line matches %s in\n%s", w, s)
				}
			}
			if !strings.HasPrefix(r.branch, "z9hG4bK") {
				t.Errorf("branch %q lacks the RFC 3261 magic cookie", r.branch)
			}
		})
	}
	a := newRequest("h", 0, "udp", netip.MustParseAddrPort("192.0.2.2:1"), 1)
	b := newRequest("h", 0, "udp", netip.MustParseAddrPort("192.0.2.2:1"), 1)
	if a.branch == b.branch || a.callID == b.callID {
		t.Error("branch and Call-ID must be unique per request")
	}
}

func TestMatches(t *testing.T) {
	req := request{branch: "z9hG4bKabc", callID: "x@lifeline", cseq: 7}
	mk := func(via, callID, cseq string) string {
		return "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=" + via + "\r\nCall-ID: " + callID + "\r\nCSeq: " + cseq + "\r\n\r\n"
	}
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"ours", mk("z9hG4bKabc", "x@lifeline", "7 OPTIONS"), true},
		{"ours, compact", "SIP/2.0 401 Unauthorized\r\nv: SIP/2.0/UDP h;rport=5;branch=z9hG4bKabc\r\ni: x@lifeline\r\nCSeq: 7 OPTIONS\r\n\r\n", true},
		{"stale cseq", mk("z9hG4bKabc", "x@lifeline", "6 OPTIONS"), false},
		{"stale branch", mk("z9hG4bKold", "x@lifeline", "7 OPTIONS"), false},
		{"foreign call-id", mk("z9hG4bKabc", "y@elsewhere", "7 OPTIONS"), false},
		{"other method", mk("z9hG4bKabc", "x@lifeline", "7 INVITE"), false},
		{"branch case differs", mk("z9hG4bKABC", "x@lifeline", "7 OPTIONS"), false},
		{"no headers", "SIP/2.0 200 OK\r\n\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := sip.ParseResponse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := req.matches(r); got != tt.want {
				t.Errorf("matches = %v, want %v", got, tt.want)
			}
		})
	}
}
