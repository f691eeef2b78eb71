package sipua

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"lifeline/hal/sip"
)

// Supported lists the option tags the UA supports (RFC 3261 §19.2): a
// request that requires any other is answered 420 with Unsupported.
var Supported = []string{"timer"}

// methodOrder is Allow's order; methods not in it follow, sorted.
var methodOrder = []string{"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "UPDATE", "REFER"}

// allow is the Allow header's value: the methods the UA answers itself
// (ACK, CANCEL, BYE, and UPDATE and REFER in a dialog) and those with a
// handler, in a fixed order (loop).
func (ua *UA) allow() string {
	have := map[string]bool{"ACK": true, "CANCEL": true, "BYE": true, "UPDATE": true, "REFER": true}
	for m := range ua.handlers {
		have[string(m)] = true
	}
	var out, extra []string
	for _, m := range methodOrder {
		if have[m] {
			out = append(out, m)
			delete(have, m)
		}
	}
	for m := range have {
		extra = append(extra, m)
	}
	sort.Sort(sort.StringSlice(extra))
	return strings.Join(append(out, extra...), ", ")
}

// Allow returns the value of an Allow header for this UA: the methods it
// answers, in a stable order. Safe for concurrent use once Serve runs.
func (ua *UA) Allow() string {
	var a string
	if err := ua.do(func() { a = ua.allow() }); err != nil {
		return "ACK, CANCEL, BYE"
	}
	return a
}

// badExtension answers 420 Bad Extension, with Unsupported listing them,
// when tx's request requires option tags the UA does not support
// (RFC 3261 §8.2.2.3), and reports whether it did (loop).
func (ua *UA) badExtension(tx *ServerTx) bool {
	tags := tx.req.Header.Unsupported(Supported...)
	if len(tags) == 0 || tx.req.Method == sip.ACK || tx.req.Method == sip.CANCEL {
		return false
	}
	tx.respond(sip.StatusBadExtension, "", nil, sip.Field{Name: "Unsupported", Value: strings.Join(tags, ", ")})
	return true
}

// sessionTimer returns the fields of a 2xx to req under RFC 4028: the
// requested interval with the requester as refresher, and Require: timer
// (§9: a 2xx naming the UAC refresher must carry it). None when req asks
// for no session timer, or when its sender does not support timers: a
// proxy may have put the Session-Expires in (§8), and a UAC that does
// not know timers cannot refresh; the UA does not refresh either, so the
// session runs without one (refreshedInterval is 0 for it too).
func sessionTimer(req *sip.Request) []sip.Field {
	se := refreshedInterval(req)
	if se == 0 {
		return nil
	}
	return []sip.Field{
		{Name: "Session-Expires", Value: strconv.FormatUint(se, 10) + ";refresher=uac"},
		{Name: "Require", Value: "timer"},
	}
}

// refresh answers a re-INVITE or UPDATE in dialog d (hold, resume, a
// session-timer refresh) with 200 and the session as it stands: with an
// offer, the answer is d's last session description with the mirror of
// the offer's direction (RFC 3264 §6.1: sendonly → recvonly, recvonly →
// sendonly, inactive → inactive, else sendrecv), its version raised when
// it changed; a re-INVITE without an offer gets the session as an offer
// (the answer comes in the ACK and is not used); an UPDATE without one,
// no body. The media keep flowing as they are: the line's call does not
// move. Loop only.
func (ua *UA) refresh(tx *ServerTx, d *Dialog) {
	var body []byte
	offer := tx.req.Body
	switch {
	case len(offer) > 0:
		body = d.session(mirror(direction(offer)))
	case tx.invite:
		body = d.localSDP
	}
	hdrs := []sip.Field{ua.allowField()}
	if tx.invite {
		d.refreshTx = tx // its ACK stops the 2xx retransmissions
	} else {
		hdrs = append(hdrs, sessionTimer(tx.req)...) // respond adds them to an INVITE's 2xx
	}
	d.armSessionTimer(refreshedInterval(tx.req)) // a refresh, or none: the timer off
	tx.respond(sip.StatusOK, "", body, hdrs...)
	if len(offer) > 0 {
		d.offered(offer)
	}
}

func (ua *UA) allowField() sip.Field { return sip.Field{Name: "Allow", Value: ua.allow()} }

// session returns d's session description with direction dir (none
// written for sendrecv), the o= version raised when the text changed, and
// keeps it as d's current one (loop).
func (d *Dialog) session(dir string) []byte {
	if len(d.localSDP) == 0 {
		return nil
	}
	old := sdpLines(d.localSDP)
	var lines []string
	for _, l := range old {
		switch l {
		case "a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive":
			continue
		}
		lines = append(lines, l)
	}
	if dir != "sendrecv" {
		lines = append(lines, "a="+dir)
	}
	if !slices.Equal(lines, old) {
		for i, l := range lines {
			if f := strings.Fields(l); strings.HasPrefix(l, "o=") && len(f) >= 3 {
				if v, err := strconv.ParseUint(f[2], 10, 64); err == nil {
					f[2] = strconv.FormatUint(v+1, 10)
					lines[i] = strings.Join(f, " ")
				}
			}
		}
	}
	d.localSDP = []byte(strings.Join(lines, "\r\n") + "\r\n")
	return d.localSDP
}

// sdpLines splits an SDP body into its non-empty lines.
func sdpLines(b []byte) []string {
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// direction is the direction attribute of an SDP body (media level wins
// over session level; sendrecv when there is none).
func direction(body []byte) string {
	dir, oldHold := "sendrecv", false
	for _, l := range sdpLines(body) {
		switch l {
		case "a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive":
			dir = l[2:]
		case "c=IN IP4 0.0.0.0":
			oldHold = true
		}
	}
	if oldHold { // RFC 3264 section 8.4: the offerer wants no media
		switch dir {
		case "sendrecv":
			dir = "sendonly"
		case "recvonly":
			dir = "inactive"
		}
	}
	return dir
}

// mirror is the answer's direction for an offer's (RFC 3264 §6.1).
func mirror(dir string) string {
	switch dir {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

// refer answers a REFER in dialog d. The gateway cannot hand the line's
// call to another party, so it accepts the REFER (202) and ends the
// implicit subscription at once without an outcome: a NOTIFY with
// Subscription-State terminated;reason=noresource and the sipfrag
// "SIP/2.0 100 Trying" (RFC 3515 §2.4.5, RFC 6665 §4.1.3). The transferor
// keeps its call; a failure reported instead (405, 603, a NOTIFY with a
// final failure) makes some phones, baresip among them, hang up. Loop only.
func (ua *UA) refer(tx *ServerTx, d *Dialog) {
	referTo := tx.req.Header.Get("Refer-To")
	tx.respond(sip.StatusAccepted, "", nil)
	if d.ended {
		return
	}
	n := d.newRequest(sip.NOTIFY)
	n.Header.Add("Event", "refer")
	n.Header.Add("Subscription-State", "terminated;reason=noresource")
	n.Header.Add("Contact", ua.contactValue())
	n.Header.Add("Content-Type", "message/sipfrag;version=2.0")
	n.Body = []byte("SIP/2.0 100 Trying\r\n")
	if _, err := ua.startClient(n, false); err != nil {
		ua.log.Debug("sipua: NOTIFY for a REFER", "call-id", d.callID, "err", err)
	}
	ua.log.Info("sipua: transfer declined, the call stays", "call-id", d.callID, "refer-to", referTo)
}
