package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"lifeline/hal/gateway/sipua"
	"lifeline/hal/sip"
	"lifeline/hal/voice"
	"lifeline/hal/voice/bridge"
	"lifeline/hal/voice/call"
	"lifeline/hal/voice/sdp"
)

// IncomingLine is what calls from the line need: any call.Line
// implements it.
type IncomingLine interface {
	SubscribeRings(buf int) (<-chan call.Ring, func())
	VoiceAnswer(ctx context.Context, opts call.Options, fn func(context.Context, *call.Call) error) error
}

var _ IncomingLine = call.Line(nil)

// callerIDRings is how many RINGs an incoming call waits for caller ID:
// analog caller ID comes between the first and the second RING (ETSI EN
// 300 659-1, Bellcore GR-30), so the INVITE goes out at the second RING or
// as soon as the number is known.
const callerIDRings = 2

// rings offers each call ringing on the line to cfg.Incoming, one at a
// time, until ctx ends. It runs in a goroutine of the user agent.
func (g *Gateway) rings(ctx context.Context, ua *sipua.UA, line IncomingLine) {
	ch, unsubscribe := line.SubscribeRings(16)
	defer unsubscribe()
	for {
		var r call.Ring
		var ok bool
		select {
		case <-ctx.Done():
			return
		case r, ok = <-ch:
		}
		if !ok {
			return // the line stopped (Run returned)
		}
		if r.Ended {
			continue // the end of a call that rang before we listened
		}
		ended := g.incoming(ctx, ua, line, ch, r)
		for !ended { // the rest of this call's rings offer nothing new
			select {
			case <-ctx.Done():
				return
			case r, ok = <-ch:
				ended = r.Ended || !ok
			}
		}
	}
}

// incoming carries one call from the line to its end. first is its first
// Ring; ch delivers the rest. It reports whether it has seen the call's
// last Ring (Ended). Its steps: the caller ID, the RTP socket and offer,
// the INVITE to cfg.Incoming while the line rings, the answer's SDP, the
// line answered and the call carried.
func (g *Gateway) incoming(ctx context.Context, ua *sipua.UA, line IncomingLine, ch <-chan call.Ring, first call.Ring) (ended bool) {
	in := &inbound{g: g, log: g.log.With("direction", "in"), rings: ch, caller: first.Caller}
	if !in.waitCallerID(ctx, first) {
		return in.ended
	}
	in.log = in.log.With("caller", displayNumber(in.caller.Number))
	rtpConn, local, err := g.listenRTP()
	if err != nil {
		in.log.Warn("gateway: RTP socket for a call from the line", "err", err)
		return false
	}
	rtpOwned := false // the bridge closes it once started
	defer func() {
		if !rtpOwned {
			rtpConn.Close()
		}
	}()
	offer, err := sdp.Offer(local)
	if err != nil {
		in.log.Error("gateway: SDP offer", "err", err)
		return false
	}
	// Ringing ends the INVITE (CANCEL) whenever it stops before the
	// phone answers.
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	ci, err := ua.Invite(ictx, g.incomingTarget, g.callerFrom(in.caller), offer)
	if err != nil {
		in.log.Warn("gateway: INVITE for a call from the line", "target", g.incomingTarget.String(), "err", err)
		return false
	}
	in.log = in.log.With("call-id", ci.Request().CallID())
	in.log.Info("gateway: the line rings, calling", "target", g.incomingTarget.String())
	in.cancel = cancel
	final := in.waitFinal(ctx, ci)
	if final == nil {
		return in.ended
	}
	if final.Status >= 300 {
		in.log.Info("gateway: call from the line refused", "code", final.Status, "reason", final.Reason)
		return in.ended
	}
	dlg := ci.Dialog()
	if in.ended || in.stopping {
		// The 200 crossed the end of ringing or our CANCEL: nobody to
		// talk to (the user agent may have sent the BYE already).
		in.bye(ctx, dlg, "the line stopped ringing or the gateway is stopping")
		return in.ended
	}
	target, _ := netip.ParseAddr(g.incomingTarget.Host)
	choice, err := g.answerChoice(final.Body, local, target)
	if err != nil {
		in.log.Warn("gateway: unusable SDP answer", "err", err)
		in.bye(ctx, dlg, "unusable SDP answer")
		return in.ended
	}
	rtpOwned = true // answerLine hands it to the bridge, or closes it
	in.answerLine(ctx, line, dlg, leg{log: in.log, rtp: rtpConn, choice: choice, callID: dlg.CallID(), direction: "in"})
	return in.ended
}

// inbound is one call from the line, as incoming's steps see it.
type inbound struct {
	g        *Gateway
	log      *slog.Logger
	cancel   context.CancelFunc // ends the INVITE (CANCEL)
	rings    <-chan call.Ring   // nil once the line stopped
	caller   call.CallerID
	ended    bool // the call's last Ring has come
	stopping bool // the gateway stops: the INVITE is being cancelled
}

// waitCallerID waits for the caller's number, at most until the
// callerIDRings-th ring (analog caller ID comes after the first). It
// reports whether the call is to be offered.
func (in *inbound) waitCallerID(ctx context.Context, first call.Ring) bool {
	for r := first; in.caller.Number == "" && r.Count < callerIDRings; {
		var ok bool
		select {
		case <-ctx.Done():
			return false
		case r, ok = <-in.rings:
		}
		if !ok {
			in.ended = true
			return false
		}
		in.caller.Merge(r.Caller)
		if r.Ended {
			in.log.Info("gateway: the line stopped ringing before the call was offered", "caller", in.caller.Number, "why", r.Reason)
			in.ended = true
			return false
		}
	}
	return true
}

// waitFinal waits for the INVITE's final response while the line rings:
// the end of ringing cancels the INVITE (in.cancel), and so does ctx's
// end (lifeline stopping), after which the outcome is awaited for
// ByeTimeout at most. It returns nil when no final response came.
func (in *inbound) waitFinal(ctx context.Context, ci *sipua.ClientInvite) *sip.Response {
	var giveUp <-chan time.Time // once stopping: how long the CANCEL may take
	done := ctx.Done()
	for {
		select {
		case res, ok := <-ci.Responses():
			if !ok {
				in.log.Info("gateway: no answer to the INVITE", "err", ci.Err())
				return nil
			}
			if res.Status >= 200 {
				return res
			}
		case r, ok := <-in.rings:
			if !ok { // the line stopped: nothing to answer
				r.Ended, r.Reason, in.rings = true, "line stopped", nil
			}
			in.caller.Merge(r.Caller)
			if r.Ended && !in.ended {
				in.ended = true
				in.log.Info("gateway: the line stopped ringing, cancelling", "why", r.Reason)
				in.cancel()
			}
		case <-done:
			// Stopping: CANCEL, and wait a little for its outcome (a
			// 200 crossing it is ACKed and BYEd by the user agent).
			in.cancel()
			t := in.g.cfg.Clock.NewTimer(in.g.cfg.ByeTimeout)
			defer t.Stop()
			giveUp, done, in.stopping = t.C(), nil, true
		case <-giveUp:
			in.log.Info("gateway: stopping before the INVITE was answered")
			return nil
		}
	}
}

// bye ends the SIP side of the call, bounded by ByeTimeout.
func (in *inbound) bye(ctx context.Context, dlg *sipua.Dialog, why string) {
	in.log.Info("gateway: ending the SIP call", "why", why)
	byeCtx, cancelBye := context.WithTimeout(context.WithoutCancel(ctx), in.g.cfg.ByeTimeout)
	defer cancelBye()
	if err := dlg.Bye(byeCtx); err != nil && !errors.Is(err, sipua.ErrDialogEnded) {
		in.log.Warn("gateway: BYE", "err", err)
	}
}

// answerChoice reads the phone's SDP answer to the gateway's offer: the
// codecs it took, chosen from as from an offer, give the codec and where
// to send, under the media address rule (source, the phone's or the
// target's address, or a media network).
func (g *Gateway) answerChoice(body []byte, local sdp.Local, source netip.Addr) (sdp.Choice, error) {
	answer, err := sdp.Parse(body)
	if err != nil {
		return sdp.Choice{}, err
	}
	_, choice, err := sdp.Answer(answer, local)
	if err != nil {
		return sdp.Choice{}, err
	}
	return choice, checkMediaAddr(choice.Remote.Addr(), source, g.mediaNetworks())
}

// answerLine answers the line and carries the call to its end; l.rtp is
// the bridge's, or closed here when the line is not answered.
func (in *inbound) answerLine(ctx context.Context, line IncomingLine, dlg *sipua.Dialog, l leg) {
	codecFmt, _ := voice.CodecFormat(l.choice.Codec)
	actx, acancel := context.WithCancel(ctx) // an emergency call may end it
	defer acancel()
	_, release := in.g.useLine(false, acancel)
	carried := false
	err := line.VoiceAnswer(actx, call.Options{Prefer: []voice.Format{codecFmt}}, func(cctx context.Context, c *call.Call) error {
		carried = true // carry hands the RTP sockets to the bridge
		l.number = displayNumber(c.Number)
		return in.g.carry(cctx, c, l, func() (*sipua.Dialog, error) { return dlg, nil })
	})
	release()
	if !carried {
		l.rtp.Close()
	}
	// The ringing's last Ring ("answered", or why it stopped) is still to
	// come or in the channel: the caller reads this call's rings up to it,
	// so that a RING queued just before the answer is not a new call.
	if err != nil {
		in.log.Info("gateway: call from the line ended", "err", err)
	}
	select {
	case <-dlg.Done():
	default:
		in.bye(ctx, dlg, "the line could not be answered")
	}
}

// leg is the SIP side of a call the line carries.
type leg struct {
	log    *slog.Logger
	rtp    rtpPair // handed to the bridge
	choice sdp.Choice
	// late, for an INVITE without an offer, reads the answer from the
	// ACK of the 200 (which carried the offer) and makes choice of it.
	late      func(context.Context, *sipua.Dialog) (sdp.Choice, error)
	callID    string
	direction string // "out": SIP to the line; "in": from the line
	number    string
}

// carry bridges an answered line call to RTP until either side hangs up.
// up is called once the bridge runs and returns the SIP dialog (the
// outgoing direction answers 200 there). carry owns l.rtp: it closes it.
// It runs in the line's call function (fn of VoiceCall or VoiceAnswer).
func (g *Gateway) carry(cctx context.Context, c *call.Call, l leg, up func() (*sipua.Dialog, error)) error {
	var dlg *sipua.Dialog
	if l.late != nil {
		// Delayed offer: the 200 carries the offer, the ACK the answer
		// that says where to send; the bridge starts once it is in.
		var err error
		if dlg, err = up(); err != nil {
			l.rtp.Close()
			return err
		}
		if l.choice, err = l.late(cctx, dlg); err != nil {
			l.rtp.Close()
			l.log.Info("gateway: no usable answer in the ACK", "err", err)
			byeCtx, cancel := context.WithTimeout(context.WithoutCancel(cctx), g.cfg.ByeTimeout)
			defer cancel()
			if berr := dlg.Bye(byeCtx); berr != nil && !errors.Is(berr, sipua.ErrDialogEnded) {
				l.log.Warn("gateway: BYE", "err", berr)
			}
			return err
		}
	}
	lineGone := make(chan string, 1)
	onDigit, stopDigits := lineDigits(cctx, c.Audio, l.log)
	defer stopDigits()
	b, err := bridge.Start(bridge.Config{
		OnDigit: onDigit, DisableDTMFTones: onDigit != nil,
		Audio: c.Audio, Codec: l.choice.Codec, PayloadType: l.choice.PayloadType, EventPT: l.choice.EventPT,
		Conn: l.rtp.rtp, Remote: net.UDPAddrFromAddrPort(l.choice.Remote), Logger: l.log, Clock: g.cfg.Clock,
		RTCP: l.rtp.rtcp, RTCPRemote: g.rtcpRemote(l), CNAME: "lifeline@" + g.cfg.RTPAddr.String(),
		HoldSend:    l.direction == "out", // until the ACK
		JitterDepth: g.cfg.JitterDepth, JitterPrefill: g.cfg.JitterPrefill,
		OnModemEvent: func(e voice.Event) {
			switch e.Code {
			case voice.EventLoopInterrupt, voice.EventBusy, voice.EventSilence:
				select {
				case lineGone <- e.String():
				default:
				}
			}
		},
	})
	if err != nil {
		l.rtp.Close()
		return err
	}
	defer b.Close()
	l.log.Info("gateway: call up", "codec", l.choice.Codec, "modem-format", c.Audio.Format(), "rtp", l.choice.Remote)
	// In Calls before up sends the answer: a phone that has its 200 finds
	// the call in the status.
	defer g.track(CallStatus{CallID: l.callID, Direction: l.direction, Number: l.number, Codec: l.choice.Codec,
		Format: c.Audio.Format(), Started: c.Started})()
	// MaxDuration counts from here, the line's answer, on the gateway's
	// clock; armed before the 200 goes out.
	var limit <-chan time.Time
	if g.cfg.MaxDuration > 0 {
		t := g.cfg.Clock.NewTimer(g.cfg.MaxDuration)
		defer t.Stop()
		limit = t.C()
	}
	// The silence is counted from the bridge's start, before the answer.
	watch := g.newRTPWatch(b, l.choice.Direction)
	defer watch.Stop()
	b.SetSendEnabled(l.choice.Sends())
	reports := g.cfg.Clock.NewTimer(b.RTCPInterval()) // RTCP, one timer per call
	defer reports.Stop()
	if dlg == nil {
		if dlg, err = up(); err != nil {
			return err
		}
	}
	acked := dlg.Acked() // no media before the phone confirms the call
	why := ""
	for why == "" {
		select {
		case <-acked:
			b.StartSending()
			acked = nil
		case body := <-dlg.Offers(): // a re-INVITE or UPDATE, answered: hold or resume
			g.follow(l.log, b, watch, body)
		case <-reports.C():
			if err := b.Report(); err != nil {
				l.log.Debug("gateway: RTCP report", "err", err)
			}
			reports.Reset(b.RTCPInterval())
		case <-watch.C():
			if silent, expired := watch.Expired(); expired {
				why = fmt.Sprintf("no RTP from the phone for %v", silent.Round(time.Second))
			}
		case <-dlg.Done():
			if dlg.SessionExpired() { // sipua sent the BYE (RFC 4028)
				l.log.Info("gateway: session not refreshed in time: BYE sent, hanging up the line")
			} else {
				l.log.Info("gateway: the SIP side hung up")
			}
			return nil
		case <-limit:
			why = "maximum call duration " + g.cfg.MaxDuration.String() + " reached"
		case <-b.Done():
			why = "modem ended its stream"
		case ev := <-lineGone:
			why = "line: " + ev
		case <-cctx.Done():
			why = g.lineEnded(cctx)
		}
	}
	l.log.Info("gateway: ending the call", "why", why)
	b.Close()
	byeCtx, cancelBye := context.WithTimeout(context.WithoutCancel(cctx), g.cfg.ByeTimeout)
	defer cancelBye()
	if err := dlg.Bye(byeCtx); err != nil && !errors.Is(err, sipua.ErrDialogEnded) {
		l.log.Warn("gateway: BYE", "err", err)
	}
	return nil
}

// lineEnded says why the line's call context ended: lifeline stopping
// (the line is hung up before the phone gets its BYE) or the line hung up.
func (g *Gateway) lineEnded(cctx context.Context) string {
	g.mu.Lock()
	stopping := g.runCtx != nil && g.runCtx.Err() != nil
	g.mu.Unlock()
	if stopping || errors.Is(context.Cause(cctx), call.ErrStopped) {
		return "lifeline stopping: the line is hung up first"
	}
	return "line hung up"
}

// displayNumber is a caller's number for logs and the status: analog
// caller ID's "P" (private) and "O" (out of area) spelt out.
func displayNumber(n string) string {
	switch n {
	case "":
		return "unknown"
	case "P":
		return "private"
	case "O":
		return "unavailable"
	}
	return n
}

// callerURI is the From URI of a call from the line: the caller's number
// as the user part at the gateway, or RFC 3323's anonymous URI.
func (g *Gateway) callerURI(c call.CallerID) sip.URI {
	if !dialable(c.Number) {
		return sip.URI{Scheme: "sip", User: "anonymous", Host: "anonymous.invalid"}
	}
	return sip.URI{Scheme: "sip", User: c.Number, Host: g.contact.Host, Port: g.contact.Port}
}

// callerFrom is the From header with the caller's name (or number) as the
// display name, which phones show.
func (g *Gateway) callerFrom(c call.CallerID) sip.Address {
	name := c.Name
	if name == "" {
		name = displayNumber(c.Number)
	}
	if !dialable(c.Number) && c.Name == "" {
		name = "Anonymous"
	}
	return sip.Address{Display: cleanDisplayName(name), URI: g.callerURI(c)}
}

// maxDisplayName bounds a display name from the line, in runes (caller
// ID names are 15 characters in ETSI EN 300 659-3, some more elsewhere).
const maxDisplayName = 64

// cleanDisplayName makes a caller's name from the line fit for a display
// name: invalid UTF-8 and control characters (CR and LF, C1 controls, the
// Unicode line and paragraph separators) dropped, space runs folded, the
// name cut at maxDisplayName runes. sip.Address quotes it, '"' and '\' as
// quoted-pairs.
func cleanDisplayName(s string) string {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range strings.ToValidUTF8(s, "") {
		if n == maxDisplayName {
			break
		}
		switch {
		case r == utf8.RuneError, r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0, r == 0x2028, r == 0x2029:
			continue
		case r == ' ':
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
			if n == maxDisplayName {
				break
			}
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// dialable: digits, *, # and a leading +, as caller ID numbers are.
func dialable(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		if !(r >= '0' && r <= '9' || r == '*' || r == '#' || r == '+' && i == 0) {
			return false
		}
	}
	return true
}

// parseIncoming checks the incoming target: a sip: URI with a numeric host
// (the user agent does no DNS).
func parseIncoming(s string) (sip.URI, error) {
	u, err := sip.ParseURI(s)
	if err != nil {
		return u, fmt.Errorf("%w: incoming target %q: %v", ErrConfig, s, err)
	}
	if _, err := netip.ParseAddr(u.Host); err != nil || u.Scheme != "sip" {
		return u, fmt.Errorf("%w: incoming target %q: want sip:user@IP[:port] (no DNS)", ErrConfig, s)
	}
	return u, nil
}
