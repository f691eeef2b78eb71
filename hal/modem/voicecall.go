package modem

import (
	"context"
	"errors"
	"fmt"
	"time"

	"lifeline/hal/voice"
	"lifeline/hal/voice/call"
)

// Voice call errors.
var (
	// ErrNoVoice: the profile has no voice mode (Profile.Voice is nil).
	ErrNoVoice = errors.New("modem: profile has no voice mode")
	// ErrNoVoiceFormat: the modem accepted none of the profile's AT+VSM
	// formats.
	ErrNoVoiceFormat = errors.New("modem: no voice format accepted")
	// ErrCallLost: the device was lost or Run ended during a voice call.
	ErrCallLost = errors.New("modem: voice call lost with the device")
	// ErrNotRinging: VoiceAnswer while no incoming call rings.
	ErrNotRinging = errors.New("modem: line not ringing")
)

// VoiceOptions tune one Line.VoiceCall (call.Options). Prefer lists
// AT+VSM formats to try before the profile's order. Dialing is called
// when the dial command has run for the profile's Voice.AlertAfter
// without a final result, or at its connected result if that comes
// first; never when the dial fails sooner (NO DIALTONE, ERROR): an analog
// line signals neither ringback nor answer to the modem.
type VoiceOptions = call.Options

// Call is a voice call in progress, handed by Line.VoiceCall to its
// function. The function owns Stream, the modem's full-duplex data period
// (the profile's Voice.Stream, AT+VTR), until it returns; the Line owns
// the device and the AT engine throughout.
type Call struct {
	// Number is the number dialled, or for an answered call the caller's
	// number from caller ID ("" when the line sent none; "P" private and
	// "O" out of area as analog caller ID sends them).
	Number string
	// Incoming is set for a call taken with VoiceAnswer; Caller is then
	// everything caller ID told (number, name, date, time).
	Incoming bool
	Caller   CallerID
	Format   voice.Format // the sample format AT+VSM selected
	VSM      int          // its AT+VSM compression method number
	Stream   *voice.DataStream
	Started  time.Time // when the modem reported the call up

	ctx context.Context // ends with the call (see VoiceCall)
}

// activeCall is the session's side of a Call; Run's goroutine only.
type activeCall struct {
	c      *Call
	cancel context.CancelCauseFunc
	stop   func() bool // the AfterFunc tying the call to Run's context
}

// VoiceCall places a voice call to number and, once it is up, runs fn with
// it in the caller's goroutine. Setting up is done by Run's goroutine:
// the profile's Voice.Enter commands, the first AT+VSM format the modem
// accepts (opts.Prefer first), Voice.LineSelect, opts.Dialing, the dial
// until a Voice.Connected result (VCON), then Voice.Stream until CONNECT.
// The state is in-call from the start; health checks, Dial and CheckNow
// wait out the call (ErrLineBusy) while fn runs, and RING is ignored.
//
// fn's context ends when ctx ends, when Hangup is called, when the device
// is lost or when Run stops; fn should then return. fn may end the data
// period itself (bridge.Close aborts it); it must not use Stream after it
// returns. VoiceCall then ends the call on Run's goroutine: <DLE>! unless
// the period already ended, the modem's closing OK (bounded by the
// profile's command timeout), the hang-up and Voice.Leave; the state is
// idle again.
//
// Errors: ErrBadNumber; ErrNoVoice; ErrLineBusy; ErrNotReady (absent,
// initialising); the dial's outcome as in Dial (ErrBusy, ErrNoAnswer,
// ErrNoDialtone, ErrNoCarrier, ErrCommand, ErrTimeout) or ctx's error when
// it ended during set-up (the dial is aborted and the line hung up);
// ErrNoVoiceFormat. Once fn has run, VoiceCall returns fn's error joined
// with ErrCallLost if the device went away during the call.
func (l *Line) VoiceCall(ctx context.Context, number string, opts VoiceOptions, fn func(context.Context, *Call) error) error {
	if !validNumber(number) {
		return fmt.Errorf("voice call %q on %s: %w", number, l.path, ErrBadNumber)
	}
	return l.voice(ctx, voiceReq{number: number, opts: opts}, fn)
}

// VoiceAnswer answers the incoming call that is ringing the line and,
// once it is up, runs fn with it in the caller's goroutine, under the
// same contract as VoiceCall: Run's goroutine enters voice mode
// (Voice.Enter), selects the first AT+VSM format the modem accepts
// (opts.Prefer first), selects the line (Voice.LineSelect) and sends the
// profile's answer command (Voice.Answer, "ATA") until one of
// Voice.AnswerConnected (VCON, or OK on some modems), then starts
// Voice.Stream (AT+VTR) until CONNECT. opts.Dialing is not called. The
// state goes from ringing to in-call at once (RINGs that follow are
// ignored), so a second VoiceAnswer, Dial or VoiceCall gets ErrLineBusy.
//
// c.Incoming is true, c.Caller holds the caller ID collected while the
// line rang and c.Number its number ("" when none came). fn's context
// ends when ctx ends, on Hangup, when the device is lost or Run stops;
// after fn returns the call is ended on Run's goroutine (<DLE>!, the
// closing OK, hang-up, Voice.Leave) and the state is idle.
//
// Typical use: a goroutine reads SubscribeRings and, for the Ring whose
// Count reaches the wanted number (caller ID arrives between the first
// and second RING on analog lines), calls VoiceAnswer, or leaves the line
// ringing. The line is ringing from the first RING until the profile's
// RingTimeout passes without one (the caller gave up), a call is taken,
// or the modem reports NO CARRIER.
//
// Errors: ErrNoVoice; ErrNotRinging when no call rings (never rang, or
// the ring timeout passed); ErrLineBusy during another call or answer;
// ErrNotReady (absent, initialising); ErrNoVoiceFormat; the answer's
// outcome (ErrNoCarrier when the caller hung up first, ErrCommand,
// ErrTimeout) or ctx's error when it ended during set-up — the line is
// then put on hook, out of voice mode, and idle. Once fn has run,
// VoiceAnswer returns fn's error joined with ErrCallLost if the device
// went away during the call.
func (l *Line) VoiceAnswer(ctx context.Context, opts VoiceOptions, fn func(context.Context, *Call) error) error {
	return l.voice(ctx, voiceReq{incoming: true, opts: opts}, fn)
}

// voice sets up the call r on Run's goroutine, runs fn and ends the call.
func (l *Line) voice(ctx context.Context, r voiceReq, fn func(context.Context, *Call) error) error {
	c := &Call{}
	r.call = c
	start := func(s *session, runCtx, ctx context.Context) error { return s.voiceStart(runCtx, ctx, r) }
	if err := l.request(ctx, lineReq{do: start}); err != nil {
		return err
	}
	fnErr := fn(c.ctx, c)
	// Ending must reach Run's goroutine even when ctx is what ended the
	// call.
	end := func(s *session, runCtx, _ context.Context) error { return s.voiceEnd(runCtx, c) }
	endErr := l.request(context.WithoutCancel(ctx), lineReq{do: end, ends: c})
	if errors.Is(endErr, ErrNotReady) || errors.Is(endErr, ErrStopped) {
		endErr = fmt.Errorf("voice call %s on %s: %w", c.describe(), l.path, ErrCallLost)
	}
	return errors.Join(fnErr, endErr)
}

// describe names the call in errors and logs.
func (c *Call) describe() string {
	switch {
	case !c.Incoming:
		return c.Number
	case c.Number != "":
		return "from " + c.Number
	}
	return "from an unknown caller"
}

// voiceReq is a voice call to set up: placed to number, or answered
// (incoming); call is filled in.
type voiceReq struct {
	number   string
	incoming bool
	opts     VoiceOptions
	call     *Call
}

// voiceStart sets a voice call up (Run's goroutine); ctx is the caller's.
func (s *session) voiceStart(runCtx, rctx context.Context, r voiceReq) error {
	l := s.l
	v := l.prof.Voice
	incoming := r.incoming
	c := r.call
	c.Number, c.Incoming = r.number, incoming
	if incoming {
		c.Caller = s.cid
		c.Number = s.cid.Number
	}
	name := c.describe()
	if v == nil || s.conn == nil {
		return fmt.Errorf("voice call %s on %s: %w", name, l.path, ErrNoVoice)
	}
	st := l.State()
	switch {
	case st == StateInCall || s.call != nil:
		return fmt.Errorf("voice call %s on %s: %w", name, l.path, ErrLineBusy)
	case incoming && st != StateRinging:
		return fmt.Errorf("answer on %s (%s): %w", l.path, st, ErrNotRinging)
	case !incoming && st == StateRinging:
		return fmt.Errorf("voice call %s on %s: %w", name, l.path, ErrLineBusy)
	}
	if incoming {
		// The call is taken: RINGs that follow are ignored, and the
		// ring timeout must not set the line idle under the call.
		s.ringTimer.Stop()
		s.ringEnded("answered")
	}
	ctx, cancel := context.WithCancel(rctx)
	defer cancel()
	stop := context.AfterFunc(runCtx, cancel)
	defer stop()

	timeout := l.prof.CommandTimeout.D()
	wrap := func(err error) error { return fmt.Errorf("voice call %s on %s: %w", name, l.path, err) }
	// abandon puts the modem back on hook and out of voice mode.
	abandon := func(err error) error {
		if errors.As(err, new(errLost)) {
			return err
		}
		if lerr := s.leaveVoice(runCtx, true, StateIdle, "voice call "+name+" abandoned: "+err.Error()); lerr != nil {
			return lerr
		}
		return wrap(err)
	}
	if incoming {
		l.setState(StateInCall, "answering call "+name+" (voice)")
	} else {
		l.setState(StateInCall, "dialling "+r.number+" (voice)")
	}
	for _, c := range v.Enter {
		if err := s.expectOK(ctx, c, timeout); err != nil {
			return abandon(err)
		}
	}
	var chosen VoiceFormat
	found := false
	for _, f := range v.Order(r.opts.Prefer...) {
		rep, err := s.command(ctx, f.Command(), timeout)
		if err != nil {
			return abandon(err)
		}
		if rep.Final.Result == ResultOK {
			chosen, found = f, true
			break
		}
	}
	if !found {
		return abandon(ErrNoVoiceFormat)
	}
	if v.LineSelect != "" {
		if err := s.expectOK(ctx, v.LineSelect, timeout); err != nil {
			return abandon(err)
		}
	}
	cmd, timeout2, connected := fmt.Sprintf(v.Dial, r.number), v.DialTimeout.D(), v.Connected
	if incoming {
		cmd, timeout2, connected = v.answer(l.prof.CommandTimeout)
	}
	var alerted func() bool
	if !incoming && r.opts.Dialing != nil {
		alerted = l.alertAfter(v.alertAfter(), r.opts.Dialing)
	}
	rep, err := s.command(ctx, cmd, timeout2)
	if alerted != nil && !alerted() && err == nil {
		if _, up := matches(rep, connected); up {
			r.opts.Dialing() // the call is up before AlertAfter: ringing, then the answer
		}
	}
	if err != nil {
		// Timed out or cancelled: the hang-up's first character aborts
		// the dial or answer (V.250 6.3.1).
		return abandon(err)
	}
	if _, ok := matches(rep, connected); !ok {
		err := rep.Err()
		if err == nil {
			err = fmt.Errorf("%w: unexpected %q", ErrCommand, rep.Final.Line)
		}
		st := StateIdle
		if errors.Is(err, ErrNoDialtone) {
			st = StateNoLine
		}
		// The modem is back on hook after a final result code.
		if lerr := s.leaveVoice(runCtx, false, st, "voice call "+name+": "+rep.Final.Line); lerr != nil {
			return lerr
		}
		return wrap(err)
	}
	ds, err := s.conn.ExpectData()
	if err != nil {
		return abandon(err)
	}
	rep, err = s.command(ctx, v.Stream, timeout)
	if err == nil && rep.Final.Result != ResultConnect {
		err = fmt.Errorf("%w: %q answered %q", ErrCommand, v.Stream, rep.Final.Line)
	}
	if err != nil {
		ds.Close()
		return abandon(err)
	}
	callCtx, callCancel := context.WithCancelCause(rctx)
	c.Format, c.VSM, c.Stream, c.Started, c.ctx = chosen.Parsed(), chosen.VSM, ds, l.cfg.clk.Now(), callCtx
	s.call = &activeCall{c: c, cancel: callCancel, stop: context.AfterFunc(runCtx, func() {
		callCancel(fmt.Errorf("line %s: %w", l.path, ErrStopped))
	})}
	if incoming {
		// The ringing is over: forget its caller ID and RING count.
		s.cid, s.rings = CallerID{}, 0
		l.setState(StateInCall, fmt.Sprintf("voice call %s answered (%s)", name, c.Format))
	} else {
		l.setState(StateInCall, fmt.Sprintf("voice call to %s up (%s)", r.number, c.Format))
	}
	return nil
}

// alertAfter calls dialing once after d unless the function it returns
// is called first; that function stops the wait and reports whether
// dialing was called. The goroutine it starts ends by then.
func (l *Line) alertAfter(d time.Duration, dialing func()) func() bool {
	tm := l.cfg.clk.NewTimer(d)
	stop := make(chan struct{})
	called := make(chan bool, 1)
	go func() {
		select {
		case <-tm.C():
			dialing()
			called <- true
		case <-stop:
			tm.Stop()
			called <- false
		}
	}()
	return func() bool {
		close(stop)
		return <-called
	}
}

// voiceEnd ends the call c (Run's goroutine).
func (s *session) voiceEnd(runCtx context.Context, c *Call) error {
	l := s.l
	if s.call == nil || s.call.c != c {
		return fmt.Errorf("voice call %s on %s: %w", c.describe(), l.path, ErrCallLost)
	}
	a := s.call
	s.call = nil
	a.cancel(nil)
	a.stop()
	ds := c.Stream
	if err := ds.Abort(); err != nil {
		l.cfg.log.Debug("line: abort voice stream", "device", l.path, "err", err)
	}
	// Closed, the stream drops the rest of the modem's audio, so nothing
	// stalls the Conn before the <DLE><ETX> and OK.
	ds.Close()
	if !s.waitFinal(runCtx, ds, l.prof.CommandTimeout.D()) {
		l.cfg.log.Warn("line: voice stream did not end", "device", l.path)
	}
	what := "voice call " + c.describe()
	if !c.Incoming {
		what = "voice call to " + c.Number
	}
	return s.leaveVoice(runCtx, true, StateIdle, what+" ended")
}

// waitFinal waits up to d for the result code that ends ds.
func (s *session) waitFinal(runCtx context.Context, ds *voice.DataStream, d time.Duration) bool {
	ctx, cancel := context.WithCancel(runCtx)
	t := s.l.cfg.clk.NewTimer(d)
	done := make(chan struct{})
	go func() { // stops with cancel below
		defer close(done)
		select {
		case <-t.C():
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := ds.Final(ctx)
	cancel()
	<-done
	t.Stop()
	return err == nil
}

// leaveVoice hangs up (when hang), runs Voice.Leave and only then sets
// state st, so that idle means the modem is ready for the next call. It
// returns an error only when the device is lost.
func (s *session) leaveVoice(runCtx context.Context, hang bool, st State, reason string) error {
	l := s.l
	// Even when Run is stopping: a modem left off hook or in voice mode
	// holds the line. Every command is bounded by its timeout.
	runCtx = context.WithoutCancel(runCtx)
	if hang {
		if err := s.onHook(runCtx, runCtx); errors.As(err, new(errLost)) {
			return err
		} else if err != nil {
			l.cfg.log.Warn("line: voice hang-up", "device", l.path, "err", err)
		}
	}
	for _, c := range l.prof.Voice.Leave {
		rep, err := s.command(runCtx, c, l.prof.CommandTimeout.D())
		if errors.As(err, new(errLost)) {
			return err
		}
		if err != nil || rep.Final.Result != ResultOK {
			l.cfg.log.Warn("line: leaving voice mode", "device", l.path, "cmd", c, "reply", rep.Final.Line, "err", err)
		}
	}
	s.endRinging(reason)
	if st != StateIdle {
		l.setState(st, reason)
	}
	return nil
}

// expectOK runs c and wants OK.
func (s *session) expectOK(ctx context.Context, c string, timeout time.Duration) error {
	rep, err := s.command(ctx, c, timeout)
	if err != nil {
		return err
	}
	if rep.Final.Result != ResultOK {
		return fmt.Errorf("%w: %q answered %q", ErrCommand, c, rep.Final.Line)
	}
	return nil
}
