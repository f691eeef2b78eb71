package gateway

import (
	"errors"
	"strconv"
	"time"

	"lifeline/hal/gateway/digest"
	"lifeline/hal/sip"
)

// refusal is why an INVITE is not dialled, and its final response.
type refusal struct {
	code   int
	reason string
	why    string
	hdrs   []sip.Field
}

// admit decides whether the INVITE to ruri is dialled: the number it holds
// (dialplan.Numbering.Dial: 484 if none), the caller's credentials
// (authorization, the Authorization header's value: 401 or 403; not for
// emergency numbers), the dial plan (403) and the calls per minute (503
// with Retry-After; emergency numbers are exempt). It returns the number
// to dial, or the number as far as known and a refusal. An admitted call
// counts against CallsPerMinute.
func (g *Gateway) admit(ruri sip.URI, authorization string) (string, *refusal) {
	// The parser has undone the user part's escapes; Dial undoes none
	// left (a literal '%' is no digit) and drops a tel: URI's parameters,
	// which the parser keeps apart.
	number, err := g.numbering.Dial(ruri.Scheme, ruri.User)
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
			hdrs: []sip.Field{{Name: "Retry-After", Value: strconv.Itoa(secs)}}}
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
			hdrs: []sip.Field{{Name: "WWW-Authenticate", Value: g.auth.Challenge(errors.Is(err, digest.ErrStale))}}}
	}
	return &refusal{code: sip.StatusForbidden, reason: "Forbidden (bad credentials)", why: err.Error()}
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
