//go:build gateway

package gateway

import (
	"errors"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"

	"lifeline/hal/gateway/digest"
)

// refusal is why an INVITE is not dialled, and its final response.
type refusal struct {
	code   int
	reason string
	why    string
	hdrs   []sip.Header
}

// admit decides whether the INVITE to ruri is dialled: the number it holds
// (dialplan.Numbering.Dial: 484 if none), the caller's credentials
// (authorization, the Authorization header's value: 401 or 403; not for
// emergency numbers), the dial plan (403) and the calls per minute (503
// with Retry-After; emergency numbers are exempt). It returns the number
// to dial, or the number as far as known and a refusal. An admitted call
// counts against CallsPerMinute.
func (g *Gateway) admit(ruri sip.Uri, authorization string) (string, *refusal) {
	user := ruri.User
	if ruri.Scheme == "tel" {
		user = ruri.Raw()
	}
	number, err := g.numbering.Dial(ruri.Scheme, user)
	if err != nil {
		return "", &refusal{code: sip.StatusAddressIncomplete, reason: "Address Incomplete", why: err.Error()}
	}
	if g.auth != nil && !g.emergency(number) {
		if r := g.authenticate(authorization); r != nil {
			return number, r
		}
	}
	if err := g.plan.Check(number); err != nil {
		return number, &refusal{code: sip.StatusForbidden, reason: "Forbidden by the dial plan", why: err.Error()}
	}
	if g.emergency(number) || g.cfg.CallsPerMinute == 0 {
		return number, nil
	}
	if wait := g.countCall(g.cfg.Clock.Now()); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		return number, &refusal{code: sip.StatusServiceUnavailable, reason: "Too Many Calls",
			why:  errTooManyCalls.Error() + ", the next in " + strconv.Itoa(secs) + " s",
			hdrs: []sip.Header{sip.NewHeader("Retry-After", strconv.Itoa(secs))}}
	}
	return number, nil
}

// authenticate checks the caller's digest credentials.
func (g *Gateway) authenticate(authorization string) *refusal {
	err := g.auth.Check(string(sip.INVITE), authorization)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, digest.ErrNoCredentials), errors.Is(err, digest.ErrStale):
		return &refusal{code: sip.StatusUnauthorized, reason: "Unauthorized", why: err.Error(),
			hdrs: []sip.Header{sip.NewHeader("WWW-Authenticate", g.auth.Challenge(errors.Is(err, digest.ErrStale)))}}
	}
	return &refusal{code: sip.StatusForbidden, reason: "Forbidden (bad credentials)", why: err.Error()}
}

// authorization is the value of the request's Authorization header, or "".
func authorization(req *sip.Request) string {
	if h := req.GetHeader("Authorization"); h != nil {
		return h.Value()
	}
	return ""
}

var errTooManyCalls = errors.New("calls_per_minute reached")

// countCall admits one call at now if fewer than CallsPerMinute were
// admitted in the minute before; otherwise it returns how long until one
// may be.
func (g *Gateway) countCall(now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	i := 0
	for i < len(g.dialled) && !now.Before(g.dialled[i].Add(time.Minute)) {
		i++
	}
	g.dialled = g.dialled[i:]
	if len(g.dialled) >= g.cfg.CallsPerMinute {
		return g.dialled[0].Add(time.Minute).Sub(now)
	}
	g.dialled = append(g.dialled, now)
	return 0
}
