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
// last Ring (Ended).
func (g *Gateway) incoming(ctx context.Context, ua *sipua.UA, line IncomingLine, ch <-chan call.Ring, first call.Ring) (ended bool) {
	log := g.log.With("direction", "in")
	caller := first.Caller
	// Wait for the caller ID.
	for r := first; caller.Number == "" && r.Count < callerIDRings; {
		var ok bool
		select {
		case <-ctx.Done():
			return false
		case r, ok = <-ch:
		}
		if !ok {
			return true
		}
		caller.Merge(r.Caller)
		if r.Ended {
			log.Info("gateway: the line stopped ringing before the call was offered", "caller", caller.Number, "why", r.Reason)
			return true
		}
	}
	log = log.With("caller", displayNumber(caller.Number))

	rtpConn, local, err := g.listenRTP()
	if err != nil {
		log.Warn("gateway: RTP socket for a call from the line", "err", err)
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
		log.Error("gateway: SDP offer", "err", err)
		return false
	}

	// Ringing ends the INVITE (CANCEL) whenever it stops before the
	// phone answers.
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	ci, err := ua.Invite(ictx, g.incomingTarget, g.callerFrom(caller), offer)
	if err != nil {
		log.Warn("gateway: INVITE for a call from the line", "target", g.incomingTarget.String(), "err", err)
		return false
	}
	log = log.With("call-id", ci.Request().CallID())
	log.Info("gateway: the line rings, calling", "target", g.incomingTarget.String())
	var final *sip.Response
	rings := ch
	var giveUp <-chan time.Time // once stopping: how long the CANCEL may take
	for final == nil {
		select {
		case res, ok := <-ci.Responses():
			if !ok {
				log.Info("gateway: no answer to the INVITE", "err", ci.Err())
				return ended
			}
			if res.Status >= 200 {
				final = res
			}
		case r, ok := <-rings:
			if !ok { // the line stopped: nothing to answer
				r.Ended, r.Reason, rings = true, "line stopped", nil
			}
			caller.Merge(r.Caller)
			if r.Ended && !ended {
				ended = true
				log.Info("gateway: the line stopped ringing, cancelling", "why", r.Reason)
				cancel()
			}
		case <-ctx.Done():
			// Stopping: CANCEL, and wait a little for its outcome (a
			// 200 crossing it is ACKed and BYEd by the user agent).
			cancel()
			t := g.cfg.Clock.NewTimer(g.cfg.ByeTimeout)
			defer t.Stop()
			giveUp = t.C()
			ctx = context.WithoutCancel(ctx)
		case <-giveUp:
			log.Info("gateway: stopping before the INVITE was answered")
			return ended
		}
	}
	if final.Status >= 300 {
		log.Info("gateway: call from the line refused", "code", final.Status, "reason", final.Reason)
		return ended
	}
	dlg := ci.Dialog()
	hangupSIP := func(why string) {
		log.Info("gateway: ending the SIP call", "why", why)
		byeCtx, cancelBye := context.WithTimeout(context.WithoutCancel(ctx), g.cfg.ByeTimeout)
		defer cancelBye()
		if err := dlg.Bye(byeCtx); err != nil && !errors.Is(err, sipua.ErrDialogEnded) {
			log.Warn("gateway: BYE", "err", err)
		}
	}
	if ended || giveUp != nil {
		// The 200 crossed the end of ringing or our CANCEL: nobody to
		// talk to (the user agent may have sent the BYE already).
		hangupSIP("the line stopped ringing or the gateway is stopping")
		return ended
	}
	answer, err := sdp.Parse(final.Body)
	var choice sdp.Choice
	if err == nil {
		// The answer lists the codecs it took from our offer: choosing
		// from it as from an offer gives the codec and where to send.
		_, choice, err = sdp.Answer(answer, local)
	}
	if err == nil {
		target, _ := netip.ParseAddr(g.incomingTarget.Host)
		err = checkMediaAddr(choice.Remote.Addr(), target, g.mediaNetworks())
	}
	if err != nil {
		log.Warn("gateway: unusable SDP answer", "err", err)
		hangupSIP("unusable SDP answer")
		return ended
	}
	codecFmt, _ := voice.CodecFormat(choice.Codec)
	actx, acancel := context.WithCancel(ctx) // an emergency call may end it
	defer acancel()
	_, release := g.useLine(false, acancel)
	err = line.VoiceAnswer(actx, call.Options{Prefer: []voice.Format{codecFmt}}, func(cctx context.Context, c *call.Call) error {
		rtpOwned = true // carry hands it to the bridge
		return g.carry(cctx, c, leg{log: log, rtp: rtpConn, choice: choice, callID: dlg.CallID(), direction: "in",
			number: displayNumber(c.Number)}, func() (*sipua.Dialog, error) { return dlg, nil })
	})
	release()
	// The ringing's last Ring ("answered", or why it stopped) is still to
	// come or in the channel: the caller reads this call's rings up to it,
	// so that a RING queued just before the answer is not a new call.
	if err != nil {
		log.Info("gateway: call from the line ended", "err", err)
	}
	select {
	case <-dlg.Done():
	default:
		hangupSIP("the line could not be answered")
	}
	return ended
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
