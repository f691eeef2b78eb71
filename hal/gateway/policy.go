//go:build gateway

package gateway

import (
	"errors"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
)

// refusal is why an INVITE is not dialled, and its final response.
type refusal struct {
	code   int
	reason string
	why    string
	hdrs   []sip.Header
}

// admit decides whether the INVITE to ruri is dialled: the number it holds
// (dialplan.Numbering.Dial: 484 if none), the dial plan (403) and the calls
// per minute (503 with Retry-After; emergency numbers are exempt). It
// returns the number to dial, or the number as far as known and a refusal.
// An admitted call counts against CallsPerMinute.
func (g *Gateway) admit(ruri sip.Uri) (string, *refusal) {
	user := ruri.User
	if ruri.Scheme == "tel" {
		user = ruri.Raw()
	}
	number, err := g.numbering.Dial(ruri.Scheme, user)
	if err != nil {
		return "", &refusal{code: sip.StatusAddressIncomplete, reason: "Address Incomplete", why: err.Error()}
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
