package sipua

import (
	"strconv"
	"strings"
	"time"

	"lifeline/hal/sip"
)

// RFC 4028 session timers, enforced on the side that does not refresh.
//
// The UA never refreshes a session itself: the 2xx it sends names the
// peer (the UAC of the INVITE or UPDATE) as refresher. When the peer
// supports timers (Supported or Require: timer) and asked for an
// interval, the dialog's session timer runs from that 2xx; every later
// re-INVITE or UPDATE the UA answers 2xx re-arms it with the interval it
// asks for (none: the timer is off, as the 2xx then carries none). If no
// refresh comes, the UA ends the dialog with a BYE at SE − min(32 s,
// SE/3) (§10) and Done closes; SessionExpired then reports it. A
// request from a peer that supports timers asking for less than MinSE
// seconds is answered 422 with Min-SE (§9). A dialog the UA made as UAC runs the timer when the 2xx
// names the peer (refresher=uas) as refresher; where it names this UA,
// nothing is enforced.

// MinSE is the shortest session interval the UA accepts, in seconds
// (RFC 4028 §4: the smallest Min-SE allowed, 90).
const MinSE = 90

// sessionSeconds is the delta-seconds of h's Session-Expires (compact
// x too) and its refresher parameter; ok is false without a valid one.
func sessionSeconds(h sip.Header) (se uint64, refresher string, ok bool) {
	if !h.Has("Session-Expires") {
		return 0, "", false
	}
	delta, params, _ := strings.Cut(h.Get("Session-Expires"), ";")
	se, err := strconv.ParseUint(strings.TrimSpace(delta), 10, 32)
	if err != nil {
		return 0, "", false
	}
	for _, p := range strings.Split(params, ";") {
		if k, v, _ := strings.Cut(p, "="); strings.EqualFold(strings.TrimSpace(k), "refresher") {
			refresher = strings.ToLower(strings.TrimSpace(v))
		}
	}
	return se, refresher, true
}

// timerSupported: the request's sender supports session timers.
func timerSupported(req *sip.Request) bool {
	return req.Header.HasToken("Supported", "timer") || req.Header.HasToken("Require", "timer")
}

// refreshedInterval is the session interval a 2xx to req starts: the one
// req asks for when its sender supports timers and so will refresh as
// refresher=uac, else 0 (no timer).
func refreshedInterval(req *sip.Request) uint64 {
	se, _, ok := sessionSeconds(req.Header)
	if !ok || !timerSupported(req) {
		return 0
	}
	return se
}

// byeBefore is when the side that does not refresh ends an unrefreshed
// session of interval se: se − min(32 s, se/3) (RFC 4028 §10).
func byeBefore(se time.Duration) time.Duration { return se - min(32*time.Second, se/3) }

// armSessionTimer (re)starts d's session timer for an interval of se
// seconds from now; 0 stops it (loop).
func (d *Dialog) armSessionTimer(se uint64) {
	d.sessionTimer.stop()
	d.sessionTimer = nil
	if se == 0 || d.ended {
		return
	}
	interval := time.Duration(se) * time.Second
	d.sessionTimer = d.ua.after(byeBefore(interval), func(time.Time) {
		d.sessionTimer = nil
		if d.ended {
			return
		}
		d.ua.log.Info("sipua: session not refreshed; ending the dialog (RFC 4028)", "call-id", d.callID,
			"session-expires", interval)
		d.expired = true // before Done closes: readers of SessionExpired wait on Done
		if _, err := d.byeLoop(); err != nil {
			d.ua.log.Debug("sipua: BYE at session expiry", "call-id", d.callID, "err", err)
		}
	})
}

// SessionExpired reports whether the UA ended the dialog because its
// session was not refreshed in time (RFC 4028). Meaningful once Done
// has closed; false before.
func (d *Dialog) SessionExpired() bool {
	select {
	case <-d.done:
		return d.expired
	default:
		return false
	}
}

// sessionTooShort answers 422 Session Interval Too Small, with Min-SE,
// to an INVITE or UPDATE asking for an interval under MinSE from a sender
// that supports timers (one that does not would not understand the 422;
// its interval starts no timer), and reports whether it did (loop).
func (ua *UA) sessionTooShort(tx *ServerTx) bool {
	if (tx.req.Method != sip.INVITE && tx.req.Method != sip.UPDATE) || !timerSupported(tx.req) {
		return false
	}
	se, _, ok := sessionSeconds(tx.req.Header)
	if !ok || se >= MinSE {
		return false
	}
	tx.respond(sip.StatusIntervalTooBrief, "", nil, sip.Field{Name: "Min-SE", Value: strconv.Itoa(MinSE)})
	return true
}
