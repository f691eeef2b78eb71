// Package digest is SIP digest authentication for the gateway's server
// side (RFC 3261 §22.4 on RFC 2617's MD5 digest, qop "auth" or none):
// challenges with stateless expiring nonces and checks of Authorization
// header values. It knows nothing of SIP messages: the caller passes the
// request's method and the header's value. A Server is safe for
// concurrent use.
package digest

import (
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	rand "math/rand/v2"
	"strings"
	"time"

	"lifeline/hal/clock"
)

// Errors of Check.
var (
	// ErrNoCredentials: no Authorization for this realm: challenge.
	ErrNoCredentials = errors.New("digest: no credentials")
	// ErrStale: the credentials were right but the nonce has expired:
	// challenge again with stale=true, the client retries without asking
	// its user.
	ErrStale = errors.New("digest: nonce expired")
	// ErrDenied: wrong user or password, a nonce not ours, a malformed
	// header.
	ErrDenied = errors.New("digest: authentication failed")
)

// DefaultNonceTTL is how long a nonce is accepted.
const DefaultNonceTTL = 5 * time.Minute

// Server checks one user's credentials.
type Server struct {
	realm, user, password string
	ttl                   time.Duration
	clk                   clock.Clock
	key                   [16]byte // signs nonces; random per Server
}

// New returns a Server for realm and one user; ttl 0 is DefaultNonceTTL,
// clk nil the real clock.
func New(realm, user, password string, ttl time.Duration, clk clock.Clock) (*Server, error) {
	if realm == "" || user == "" || password == "" || strings.ContainsAny(realm+user, "\"\\\r\n") {
		return nil, errors.New("digest: realm, user and password are required; realm and user without quotes, backslashes or line breaks")
	}
	if ttl <= 0 {
		ttl = DefaultNonceTTL
	}
	if clk == nil {
		clk = clock.Real()
	}
	s := &Server{realm: realm, user: user, password: password, ttl: ttl, clk: clk}
	// math/rand/v2's global ChaCha8 is seeded from the kernel's entropy:
	// unpredictable enough for a nonce key, without crypto/rand's FIPS
	// module (about 140 KB on a router's flash).
	binary.BigEndian.PutUint64(s.key[:8], rand.Uint64())
	binary.BigEndian.PutUint64(s.key[8:], rand.Uint64())
	return s, nil
}

// Challenge returns the value of a WWW-Authenticate header (401) for a
// fresh nonce; stale tells the client its last nonce had only expired.
func (s *Server) Challenge(stale bool) string {
	v := fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5, qop="auth"`, s.realm, s.nonce(s.clk.Now()))
	if stale {
		v += ", stale=true"
	}
	return v
}

// nonce is the issue time and a keyed MD5 of it, in hex: stateless, and
// nobody without the key can make one. (A forged nonce would not let
// anyone in without the password; the key keeps clients from choosing
// nonces, and expiry from replaying old answers for long.)
func (s *Server) nonce(at time.Time) string {
	ts := binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano()))
	return hex.EncodeToString(append(ts, s.mac(ts)...))
}

// mac is MD5(key ts key), cut to 12 bytes.
func (s *Server) mac(ts []byte) []byte {
	sum := md5sum(s.key[:], ts, s.key[:])
	return sum[:12]
}

// nonceAge returns how long ago nonce was issued, or false if it is not
// one of ours.
func (s *Server) nonceAge(nonce string) (time.Duration, bool) {
	raw, err := hex.DecodeString(nonce)
	if err != nil || len(raw) != 8+12 {
		return 0, false
	}
	if subtle.ConstantTimeCompare(s.mac(raw[:8]), raw[8:]) != 1 {
		return 0, false
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(raw[:8])))
	return s.clk.Now().Sub(issued), true
}

// Check verifies the value of an Authorization header for a request of
// method: nil when the user's response is right and the nonce ours and
// unexpired. authorization "" (or one for another realm) is
// ErrNoCredentials.
func (s *Server) Check(method, authorization string) error {
	if authorization == "" {
		return ErrNoCredentials
	}
	p, err := Parse(authorization)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrDenied, err)
	}
	if p["realm"] != s.realm {
		return ErrNoCredentials
	}
	if alg := p["algorithm"]; alg != "" && !strings.EqualFold(alg, "MD5") {
		return fmt.Errorf("%w: algorithm %q (want MD5)", ErrDenied, alg)
	}
	age, ours := s.nonceAge(p["nonce"])
	if !ours || age < 0 {
		return fmt.Errorf("%w: not a nonce of this gateway", ErrDenied)
	}
	switch p["qop"] {
	case "auth":
		if p["nc"] == "" || p["cnonce"] == "" {
			return fmt.Errorf("%w: qop auth without nc or cnonce", ErrDenied)
		}
	case "":
	default:
		return fmt.Errorf("%w: qop %q (want auth)", ErrDenied, p["qop"])
	}
	want := Response(s.user, s.realm, s.password, method, p["uri"], p["nonce"], p["qop"], p["nc"], p["cnonce"])
	userOK := subtle.ConstantTimeCompare([]byte(p["username"]), []byte(s.user)) == 1
	respOK := subtle.ConstantTimeCompare([]byte(strings.ToLower(p["response"])), []byte(want)) == 1
	if !userOK || !respOK || p["uri"] == "" {
		return fmt.Errorf("%w: wrong user name or password", ErrDenied)
	}
	if age > s.ttl {
		return ErrStale
	}
	return nil
}

// Response is RFC 2617's request-digest (MD5, qop "auth" or ""), in lower
// case hex: what a client puts in the response parameter.
func Response(user, realm, password, method, uri, nonce, qop, nc, cnonce string) string {
	ha1 := md5hex(user + ":" + realm + ":" + password)
	ha2 := md5hex(method + ":" + uri)
	if qop == "" {
		return md5hex(ha1 + ":" + nonce + ":" + ha2)
	}
	return md5hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + ha2)
}

func md5hex(s string) string {
	h := md5sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// Parse splits the value of an Authorization header with the Digest
// scheme into its parameters (names lower case, quoted values unquoted,
// quoted-pairs undone). A repeated parameter, a value-less one or another
// scheme is an error.
func Parse(v string) (map[string]string, error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
	if !strings.EqualFold(scheme, "Digest") {
		return nil, fmt.Errorf("scheme %q, want Digest", scheme)
	}
	out := map[string]string{}
	for {
		rest = strings.TrimLeft(rest, " \t,")
		if rest == "" {
			return out, nil
		}
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("parameter without a value at %q", rest)
		}
		name := strings.ToLower(strings.TrimSpace(rest[:eq]))
		if name == "" || strings.ContainsAny(name, " \t\",") {
			return nil, fmt.Errorf("bad parameter name %q", name)
		}
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				b.WriteByte(rest[i])
			}
			if i >= len(rest) {
				return nil, fmt.Errorf("unterminated quoted value of %s", name)
			}
			val, rest = b.String(), rest[i+1:]
		} else {
			end := strings.IndexAny(rest, ", \t")
			if end < 0 {
				end = len(rest)
			}
			val, rest = rest[:end], rest[end:]
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("parameter %s twice", name)
		}
		out[name] = val
	}
}
