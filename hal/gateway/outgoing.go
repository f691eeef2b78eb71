package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"lifeline/hal/gateway/sipua"
	"lifeline/hal/sip"
	"lifeline/hal/voice"
	"lifeline/hal/voice/call"
	"lifeline/hal/voice/sdp"
)

// invite handles one INVITE to its end; it runs in the user agent's
// goroutine for the request. Its steps: admit (policy), 100 Trying, the
// media (offer, RTP socket, answer), the dial with 180 once the line has
// taken it, the call carried, the final response of a call that failed.
func (g *Gateway) invite(tx *sipua.ServerTx) {
	req := tx.Request()
	o := &outgoing{g: g, tx: tx, log: g.log.With("call-id", req.CallID(), "from", tx.Source())}
	if !o.admit() {
		return
	}
	o.respond(sip.StatusTrying, "Trying")
	defer o.releaseRTP()
	if !o.media() {
		return
	}
	ctx, cancel := context.WithCancel(tx.Context())
	defer cancel()
	select {
	case <-tx.Cancelled():
		return // cancelled before we got here; the user agent answered 487
	default:
	}
	stopWatch := cancelOnCANCEL(tx, cancel) // a CANCEL aborts the dial
	defer stopWatch()
	err := o.dial(ctx, cancel)
	if o.answered {
		if err != nil {
			o.log.Warn("gateway: call ended", "err", err)
		}
		return
	}
	code, reason := Status(err)
	o.log.Info("gateway: call failed", "code", code, "err", err)
	// After a CANCEL the user agent has answered 487 already (Respond
	// then fails with ErrFinal, logged at debug); a call pre-empted while
	// dialling gets its 487 here.
	o.respond(code, reason)
}

// outgoing is one INVITE from SIP to the line, as invite's steps fill it.
type outgoing struct {
	g      *Gateway
	tx     *sipua.ServerTx
	log    *slog.Logger
	number string // as the line dials it

	rtp      rtpPair
	rtpOwned bool   // the bridge closes rtp once carry has it
	answer   []byte // the SDP of the 200
	choice   sdp.Choice
	// late, for a delayed offer, reads the ACK's answer (see leg.late).
	late     func(context.Context, *sipua.Dialog) (sdp.Choice, error)
	answered bool // the 200 went out
}

// respond answers the INVITE, logging a failure at debug (a CANCEL may
// have ended the transaction).
func (o *outgoing) respond(code int, reason string, hdrs ...sip.Field) {
	if err := o.tx.Respond(code, reason, nil, hdrs...); err != nil {
		o.log.Debug("gateway: respond", "code", code, "err", err)
	}
}

// admit runs the policy on the Request-URI and the credentials; a refused
// INVITE is answered here.
func (o *outgoing) admit() bool {
	req := o.tx.Request()
	number, refusal := o.g.admit(req.URI, req.Header.Get("Authorization"))
	if number != "" {
		o.number = number
		o.log = o.log.With("number", number)
	}
	if refusal == nil {
		return true
	}
	level := slog.LevelWarn
	if refusal.code == sip.StatusUnauthorized {
		level = slog.LevelInfo // a challenge, most often answered
	}
	o.log.Log(o.tx.Context(), level, "gateway: call refused", "code", refusal.code, "why", refusal.why)
	o.respond(refusal.code, refusal.reason, refusal.hdrs...)
	return false
}

// media opens the call's RTP socket and makes the SDP answer of the offer
// (or, for an INVITE without a body, a delayed offer (RFC 3261 §13.2.1):
// the 200 carries the gateway's offer, the ACK the answer). A failure is
// answered here (488, 503).
func (o *outgoing) media() bool {
	req := o.tx.Request()
	delayed := len(bytes.TrimSpace(req.Body)) == 0
	var offer *sdp.Session
	var err error
	if !delayed {
		if offer, err = sdp.Parse(req.Body); err != nil {
			o.log.Info("gateway: unusable offer", "err", err)
			o.respond(sip.StatusNotAcceptableHere, "Not Acceptable Here")
			return false
		}
	}
	rtp, local, err := o.g.listenRTP()
	if err != nil {
		o.log.Warn("gateway: RTP socket", "err", err)
		o.respond(sip.StatusServiceUnavailable, "Service Unavailable")
		return false
	}
	o.rtp = rtp
	source := o.tx.Source().Addr()
	if delayed {
		o.answer, err = sdp.Offer(local)
		o.choice.Codec = "PCMA" // the line's format preference until the answer says
		o.late = o.g.lateAnswer(local, source)
	} else {
		o.answer, o.choice, err = sdp.Answer(offer, local)
	}
	if err != nil {
		o.log.Info("gateway: no common codec", "err", err)
		o.respond(sip.StatusNotAcceptableHere, "Not Acceptable Here")
		return false
	}
	if err := checkMediaAddr(o.choice.Remote.Addr(), source, o.g.mediaNetworks()); !delayed && err != nil {
		o.log.Warn("gateway: refused the offer's media address", "err", err)
		o.respond(sip.StatusNotAcceptableHere, "Not Acceptable Here")
		return false
	}
	return true
}

// releaseRTP closes the RTP sockets unless the bridge owns them.
func (o *outgoing) releaseRTP() {
	if !o.rtpOwned && o.rtp.rtp != nil {
		o.rtp.Close()
	}
}

// lateAnswer reads a delayed offer's answer from the ACK: read as an offer,
// it gives the codec and where to send, under the same media address rule
// as an offer.
func (g *Gateway) lateAnswer(local sdp.Local, source netip.Addr) func(context.Context, *sipua.Dialog) (sdp.Choice, error) {
	return func(ctx context.Context, dlg *sipua.Dialog) (sdp.Choice, error) {
		body, err := dlg.AckBody(ctx)
		if err != nil {
			return sdp.Choice{}, err
		}
		return g.answerChoice(body, local, source)
	}
}

// cancelOnCANCEL calls cancel when the INVITE is cancelled, until the
// function it returns is called (which waits for its goroutine).
func cancelOnCANCEL(tx *sipua.ServerTx, cancel context.CancelFunc) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // ends with the call's setup
		defer wg.Done()
		select {
		case <-tx.Cancelled():
			cancel()
		case <-done:
		}
	}()
	return func() { close(done); wg.Wait() }
}

// dial places the call on the line (an emergency call first ends a call
// that is not one) and carries it once the line has it up.
func (o *outgoing) dial(ctx context.Context, cancel context.CancelFunc) error {
	g := o.g
	codecFmt, _ := voice.CodecFormat(o.choice.Codec)
	// 180 goes out from the ringback's goroutine, not the line's, once the
	// line has accepted the dial (Options.Dialing): not for a dial that
	// fails at once (no dial tone).
	rb := startRingback(o.respond)
	defer rb.done()
	opts := call.Options{Prefer: []voice.Format{codecFmt}, Dialing: rb.dialing}
	onLine := func(cctx context.Context, c *call.Call) error {
		rb.done()         // 180 before 200
		o.rtpOwned = true // carry hands it to the bridge
		return g.carry(cctx, c, leg{log: o.log, rtp: o.rtp, choice: o.choice, late: o.late, callID: o.tx.Request().CallID(),
			direction: "out", number: o.number}, o.answer200)
	}
	emergency := g.emergency(o.number)
	user, release := g.useLine(emergency, cancel)
	defer release()
	err := g.cfg.Line.VoiceCall(ctx, o.number, opts, onLine)
	if emergency && errors.Is(err, call.ErrLineInUse) && g.preempt(ctx, user) {
		o.log.Warn("gateway: emergency call: the call on the line was ended to dial it")
		err = g.cfg.Line.VoiceCall(ctx, o.number, opts, onLine)
	}
	return err
}

// answer200 answers the INVITE with 200 and the SDP: the call is up.
func (o *outgoing) answer200() (*sipua.Dialog, error) {
	if err := o.tx.Respond(sip.StatusOK, "OK", o.answer, sip.Field{Name: "Content-Type", Value: "application/sdp"}); err != nil {
		return nil, fmt.Errorf("gateway: 200 OK for %s: %w", o.number, err)
	}
	o.answered = true
	return o.tx.Dialog(), nil
}

// ringback sends 180 Ringing once for a dial the line has accepted, from
// a goroutine of its own (never the line's), and nothing once the call's
// setup is over; done ends it and waits, so the dialog is written from one
// goroutine at a time and a 180 precedes the 200.
type ringback struct {
	respond func(code int, reason string, hdrs ...sip.Field)
	ringing chan struct{}
	setup   chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

func startRingback(respond func(code int, reason string, hdrs ...sip.Field)) *ringback {
	r := &ringback{respond: respond, ringing: make(chan struct{}, 1), setup: make(chan struct{})}
	r.wg.Add(1)
	go r.run()
	return r
}

// run sends the 180 if the dial is accepted before the setup ends.
func (r *ringback) run() {
	defer r.wg.Done()
	select {
	case <-r.ringing:
	case <-r.setup:
		select { // Dialing just before the setup ended (the call up)
		case <-r.ringing:
		default:
			return
		}
	}
	r.respond(sip.StatusRinging, "Ringing")
}

// dialing is call.Options.Dialing: it never blocks.
func (r *ringback) dialing() {
	select {
	case r.ringing <- struct{}{}:
	default:
	}
}

// done ends the setup and waits for a 180 on its way. Idempotent.
func (r *ringback) done() {
	r.once.Do(func() { close(r.setup) })
	r.wg.Wait()
}
