package digest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/gateway/digest"
)

// RFC 2617 section 3.5's example.
func TestResponseRFC2617(t *testing.T) {
	got := digest.Response("Mufasa", "testrealm@host.com", "Circle Of Life", "GET", "/dir/index.html",
		"dcd98b7102dd2f0e8b11d0f600bfb0c093", "auth", "00000001", "0a4f113b")
	if got != "6629fae49393a05397450978507c4ef1" {
		t.Fatalf("Response = %s", got)
	}
}

// authorize answers a challenge as a phone does.
func authorize(t *testing.T, challenge, user, password, method, uri string, qop bool) string {
	t.Helper()
	p, err := digest.Parse(challenge)
	if err != nil {
		t.Fatal(err)
	}
	if !qop {
		return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s"`, user, p["realm"], p["nonce"], uri,
			digest.Response(user, p["realm"], password, method, uri, p["nonce"], "", "", ""))
	}
	return fmt.Sprintf(`Digest username="%s",realm="%s",nonce="%s",uri="%s",response="%s",algorithm=MD5,cnonce="c1",qop=auth,nc=00000001`,
		user, p["realm"], p["nonce"], uri, digest.Response(user, p["realm"], password, method, uri, p["nonce"], "auth", "00000001", "c1"))
}

func TestCheck(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	s, err := digest.New("lifeline", "kamailio", "s3cret", time.Minute, clk)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := digest.New("lifeline", "kamailio", "s3cret", time.Minute, clk)
	ch := s.Challenge(false)
	if !strings.HasPrefix(ch, `Digest realm="lifeline", nonce="`) || !strings.Contains(ch, `qop="auth"`) || strings.Contains(ch, "stale") {
		t.Fatalf("challenge %q", ch)
	}
	const uri = "sip:030123@127.0.0.1:5080"
	good := authorize(t, ch, "kamailio", "s3cret", "INVITE", uri, true)
	for _, tc := range []struct {
		name, method, auth string
		want               error
	}{
		{"qop auth", "INVITE", good, nil},
		{"RFC 2069 style", "INVITE", authorize(t, ch, "kamailio", "s3cret", "INVITE", uri, false), nil},
		{"none", "INVITE", "", digest.ErrNoCredentials},
		{"other realm", "INVITE", strings.Replace(good, `realm="lifeline"`, `realm="x"`, 1), digest.ErrNoCredentials},
		{"wrong password", "INVITE", authorize(t, ch, "kamailio", "guess", "INVITE", uri, true), digest.ErrDenied},
		{"wrong user", "INVITE", authorize(t, ch, "bob", "s3cret", "INVITE", uri, true), digest.ErrDenied},
		{"other method", "BYE", good, digest.ErrDenied},
		{"nonce of another gateway", "INVITE", authorize(t, other.Challenge(false), "kamailio", "s3cret", "INVITE", uri, true), digest.ErrDenied},
		{"SHA-256", "INVITE", strings.Replace(good, "algorithm=MD5", "algorithm=SHA-256", 1), digest.ErrDenied},
		{"Basic", "INVITE", "Basic a2FtYWlsaW86czNjcmV0", digest.ErrDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Check(tc.method, tc.auth); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
	clk.Advance(time.Minute + time.Second)
	if err := s.Check("INVITE", good); !errors.Is(err, digest.ErrStale) {
		t.Fatalf("after the nonce's TTL: %v, want ErrStale", err)
	}
	if err := s.Check("INVITE", authorize(t, ch, "kamailio", "guess", "INVITE", uri, true)); !errors.Is(err, digest.ErrDenied) {
		t.Fatalf("expired nonce, wrong password: %v, want ErrDenied", err)
	}
	if ch := s.Challenge(true); !strings.HasSuffix(ch, ", stale=true") {
		t.Fatalf("stale challenge %q", ch)
	}
	if _, err := digest.New("a\"b", "u", "p", 0, nil); err == nil {
		t.Fatal("a realm with a quote accepted")
	}
}

func TestParse(t *testing.T) {
	p, err := digest.Parse(`Digest username="a\"b", realm="r", nc=00000001, qop=auth,uri="sip:x@y;user=phone"`)
	if err != nil || p["username"] != `a"b` || p["realm"] != "r" || p["nc"] != "00000001" || p["qop"] != "auth" || p["uri"] != "sip:x@y;user=phone" {
		t.Fatalf("Parse = %q, %v", p, err)
	}
	for _, bad := range []string{`Basic x`, `Digest realm`, `Digest realm="r`, `Digest realm="a", realm="b"`, `Digest ="x"`} {
		if _, err := digest.Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// FuzzCheck: no Authorization value makes Check panic or let a request in
// without the password.
func FuzzCheck(f *testing.F) {
	f.Add(`Digest username="kamailio", realm="lifeline", nonce="x", uri="sip:1@2", response="0"`)
	f.Add(`Digest realm="lifeline",nonce="AAAA",qop=auth,nc=1,cnonce="c",uri="u",response=""`)
	f.Add(`Digest a=b, c="d\"e", f=`)
	s, _ := digest.New("lifeline", "kamailio", "s3cret", 0, nil)
	f.Fuzz(func(t *testing.T, auth string) {
		if err := s.Check("INVITE", auth); err == nil {
			t.Fatalf("Check(%q) let it in", auth)
		}
		if p, err := digest.Parse(auth); err == nil {
			for k := range p {
				if k == "" || k != strings.ToLower(k) {
					t.Fatalf("parameter name %q", k)
				}
			}
		}
	})
}
