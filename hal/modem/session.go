package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/voice"
)

// session is one open period of the device; it lives in Run's goroutine.
type session struct {
	l         *Line
	port      Port
	conn      *voice.Conn // splits port between eng and voice data; nil without a voice profile
	eng       *Engine
	call      *activeCall // the voice call in progress, if any
	ringTimer clock.Timer
	cid       CallerID  // caller ID of the current incoming call
	rings     int       // RINGs of the current incoming call
	timeouts  int       // consecutive timed-out health checks
	_         [0]func() // not comparable: no equality function to link
}

// errLost marks the device as gone.
type errLost struct{ err error }

func (e errLost) Error() string { return e.err.Error() }

// run initialises the device and serves it until it is lost or ctx ends.
// healthy reports whether initialisation succeeded.
func (s *session) run(ctx context.Context) (healthy bool, reason string) {
	l := s.l
	p := l.prof
	var dev io.ReadWriter = s.port
	if p.Voice != nil {
		// The Conn owns the port from here on; closing the engine
		// closes the Conn, which closes the port.
		s.conn = voice.NewConn(s.port)
		dev = s.conn.Command()
	}
	s.eng = NewEngine(dev,
		WithClock(l.cfg.clk), WithLogger(l.cfg.log), EngineName(l.path),
		EngineTimeout(p.CommandTimeout.D()), EngineNumeric(p.Numeric))
	defer s.eng.Close() // closes the port
	defer func() { s.ringEnded(reason) }()
	defer func() {
		if s.call != nil { // device lost mid-call
			s.call.cancel(nil)
			s.call.stop()
			s.call = nil
		}
	}()
	uns, cancel := s.eng.Subscribe(64)
	defer cancel()

	l.setState(StateInitialising, "device opened")
	if err := s.init(ctx); err != nil {
		if !errors.Is(err, ErrTimeout) {
			return false, "init: " + err.Error()
		}
		if err := s.recover(ctx, err); err != nil {
			return false, "init: " + err.Error()
		}
	}
	health := l.cfg.clk.NewTimer(l.cfg.healthInterval)
	defer health.Stop()
	s.ringTimer = l.cfg.clk.NewTimer(time.Hour)
	s.ringTimer.Stop()
	defer s.ringTimer.Stop()
	if err := s.health(ctx); err != nil {
		return true, err.Error()
	}
	for {
		select {
		case <-ctx.Done():
			s.hangupOnStop(ctx)
			return true, "stopped"
		case <-s.eng.Done():
			return true, s.eng.Err().Error()
		case r, ok := <-uns:
			if !ok {
				return true, "device closed"
			}
			s.unsolicited(r)
		case <-health.C():
			health.Reset(l.cfg.healthInterval)
			if st := l.State(); s.call == nil && (st == StateIdle || st == StateNoLine || st == StateInitialising) {
				if err := s.health(ctx); err != nil {
					return true, err.Error()
				}
			}
		case <-s.ringTimer.C():
			if l.State() == StateRinging {
				s.endRinging("ringing stopped")
			}
		case r := <-l.reqs:
			err := r.do(s, ctx, r.ctx)
			var lost errLost
			if errors.As(err, &lost) {
				r.reply <- fmt.Errorf("line %s: %w", l.path, lost.err)
				return true, lost.Error()
			}
			r.reply <- err
		}
	}
}

// hangupOnStop puts the line on hook before Run returns (ctx has ended):
// a voice call in progress is told to end (its context's cause is
// ErrStopped) and its end request, which follows once its function has
// let go of the stream, leaves the stream (<DLE>!) and hangs up; if that
// request does not come within the profile's command timeout the line
// ends the call itself. A data call (Dial) is hung up. Requests other
// than the call's end are refused with ErrStopped meanwhile.
func (s *session) hangupOnStop(ctx context.Context) {
	l := s.l
	bg := context.WithoutCancel(ctx)
	if s.call == nil {
		if l.State() == StateInCall {
			l.cfg.log.Info("line: stopping during a call, hanging up first", "device", l.path)
			if err := s.hangup(bg, bg, "stopped during a call"); err != nil {
				l.cfg.log.Warn("line: hang-up on stop", "device", l.path, "err", err)
			}
		}
		return
	}
	a := s.call
	l.cfg.log.Info("line: stopping during a call: leaving the voice stream and hanging up first",
		"device", l.path, "call", a.c.describe())
	a.cancel(fmt.Errorf("line %s: %w", l.path, ErrStopped))
	t := l.cfg.clk.NewTimer(l.prof.CommandTimeout.D())
	defer t.Stop()
	for {
		select {
		case r := <-l.reqs:
			if r.ends != nil && r.ends == a.c {
				r.reply <- r.do(s, bg, r.ctx)
				return
			}
			r.reply <- fmt.Errorf("line %s: %w", l.path, ErrStopped)
		case <-t.C():
			l.cfg.log.Warn("line: the call did not end in time, ending it", "device", l.path)
			if err := s.voiceEnd(bg, a.c); err != nil {
				l.cfg.log.Warn("line: hang-up on stop", "device", l.path, "err", err)
			}
			return
		case <-s.eng.Done():
			return
		}
	}
}

// recover brings back a modem that does not answer its first init
// command because an earlier run left it in a call: in a voice data state
// (AT+VTR) it takes commands for audio, so <DLE>! ends the stream (a modem
// in command state ignores the line, which has no AT), then the profile's
// hang-up (DTR drop, ATH) puts it on hook and out of a data call, and the
// init commands run again. cause is the first attempt's error.
func (s *session) recover(ctx context.Context, cause error) error {
	l := s.l
	l.cfg.log.Warn("line: modem not answering, leaving a call an earlier run may have left it in",
		"device", l.path, "err", cause)
	if _, err := s.command(ctx, "\x10!", l.prof.CommandTimeout.D()); errors.As(err, new(errLost)) {
		return err
	}
	if err := s.onHook(ctx, ctx); err != nil {
		if errors.As(err, new(errLost)) {
			return err
		}
		l.cfg.log.Warn("line: hang-up while recovering", "device", l.path, "err", err)
	}
	if err := s.init(ctx); err != nil {
		return err
	}
	l.cfg.log.Info("line: modem recovered", "device", l.path)
	return nil
}

// command runs one command; transport failures come back as errLost.
func (s *session) command(ctx context.Context, cmd string, timeout time.Duration) (Reply, error) {
	r, err := s.eng.Command(ctx, cmd, WithTimeout(timeout))
	if errors.Is(err, ErrClosed) {
		return r, errLost{err}
	}
	return r, err
}

func (s *session) init(ctx context.Context) error {
	p := s.l.prof
	for _, c := range p.Init {
		r, err := s.command(ctx, c, p.CommandTimeout.D())
		if err != nil {
			return err
		}
		if r.Final.Result != ResultOK {
			return fmt.Errorf("%q answered %q", c, r.Final.Line)
		}
	}
	for _, c := range p.InitOptional {
		r, err := s.command(ctx, c, p.CommandTimeout.D())
		if errors.As(err, new(errLost)) {
			return err
		}
		if err != nil || r.Final.Result != ResultOK {
			s.l.cfg.log.Debug("line: optional init command refused", "device", s.l.path, "cmd", c, "reply", r.Final.Line, "err", err)
		}
	}
	return nil
}

// health runs the profile's check and sets idle or no-line. It returns an
// error only when the device is to be treated as lost.
func (s *session) health(ctx context.Context) error {
	l := s.l
	h := l.prof.Health
	if c, ok := s.port.(Checker); ok {
		if err := c.Check(); err != nil {
			return errLost{err}
		}
	}
	state, why := StateIdle, "health check passed"
	timedOut := false
	for _, c := range h.Commands {
		r, err := s.command(ctx, c, h.Timeout.D())
		if err != nil {
			if errors.As(err, new(errLost)) || ctx.Err() != nil {
				return err
			}
			if errors.Is(err, ErrTimeout) {
				timedOut = true
				break
			}
			return err
		}
		if pat, ok := matches(r, h.NoLine); ok {
			state, why = StateNoLine, fmt.Sprintf("%s answered %s", c, pat)
			break
		}
		if _, ok := matches(r, h.Healthy); !ok {
			state, why = StateNoLine, fmt.Sprintf("%s answered unexpected %q", c, r.Final.Line)
			break
		}
	}
	for _, c := range h.After {
		if _, err := s.command(ctx, c, h.Timeout.D()); errors.As(err, new(errLost)) {
			return err
		}
	}
	if timedOut {
		s.timeouts++
		if s.timeouts >= l.cfg.maxTimeouts {
			return errLost{fmt.Errorf("%s: not answering (%d health checks timed out): %w", l.path, s.timeouts, ErrTimeout)}
		}
		l.cfg.log.Warn("line: health check timed out", "device", l.path)
		return nil
	}
	s.timeouts = 0
	l.setState(state, why)
	return nil
}

// hangupReq is Hangup on Run's goroutine.
func (s *session) hangupReq(runCtx, ctx context.Context) error {
	if s.call != nil {
		s.call.cancel(nil) // VoiceCall hangs up when its function returns
		return nil
	}
	return s.hangup(runCtx, ctx, "hung up")
}

// checkReq is CheckNow on Run's goroutine.
func (s *session) checkReq(runCtx context.Context) error {
	switch s.l.State() {
	case StateRinging, StateInCall:
		return fmt.Errorf("check %s: %w", s.l.path, ErrLineBusy)
	}
	return s.health(runCtx)
}

// dial is Dial on Run's goroutine.
func (s *session) dial(runCtx, rctx context.Context, number string) error {
	l := s.l
	switch l.State() {
	case StateRinging, StateInCall:
		return fmt.Errorf("dial %s on %s: %w", number, l.path, ErrLineBusy)
	}
	if s.call != nil {
		return fmt.Errorf("dial %s on %s: %w", number, l.path, ErrLineBusy)
	}
	ctx, cancel := context.WithCancel(rctx)
	defer cancel()
	stop := context.AfterFunc(runCtx, cancel)
	defer stop()

	l.setState(StateInCall, "dialling "+number)
	rep, err := s.command(ctx, fmt.Sprintf(l.prof.Dial.Command, number), l.prof.Dial.Timeout.D())
	if err != nil {
		if errors.As(err, new(errLost)) {
			return err
		}
		// Timed out or cancelled: any character aborts dialling (V.250
		// 6.3.1); the hang-up makes sure the modem is on hook.
		if herr := s.hangup(runCtx, runCtx, "dial aborted: "+err.Error()); errors.As(herr, new(errLost)) {
			return herr
		}
		return fmt.Errorf("dial %s on %s: %w", number, l.path, err)
	}
	if _, ok := matches(rep, l.prof.Dial.Connected); ok {
		l.setState(StateInCall, "call to "+number+" up")
		return nil
	}
	err = rep.Err()
	if rep.Final.Result == ResultOK || rep.Final.Result == ResultConnect {
		err = fmt.Errorf("%w: unexpected %q", ErrCommand, rep.Final.Line)
	}
	if errors.Is(err, ErrNoDialtone) {
		l.setState(StateNoLine, "dial "+number+": no dial tone")
	} else {
		l.setState(StateIdle, "dial "+number+": "+rep.Final.Line)
	}
	return fmt.Errorf("dial %s on %s: %w", number, l.path, err)
}

func (s *session) hangup(runCtx, ctx context.Context, reason string) error {
	err := s.onHook(runCtx, ctx)
	if err != nil {
		if !errors.As(err, new(errLost)) {
			// Unanswered: leave the call state anyway, so that health
			// checks resume and find a dead modem.
			s.endRinging(reason + " (hang-up unanswered)")
		}
		return fmt.Errorf("hang up %s: %w", s.l.path, err)
	}
	s.endRinging(reason)
	return nil
}

// onHook drops DTR when the profile asks for it and sends the hang-up
// command; the state is left to the caller.
func (s *session) onHook(runCtx, ctx context.Context) error {
	l := s.l
	hp := l.prof.Hangup
	if hp.DTRDrop > 0 {
		if err := s.port.SetDTR(false); err != nil {
			l.cfg.log.Debug("line: DTR drop not possible", "device", l.path, "err", err)
		} else {
			t := l.cfg.clk.NewTimer(hp.DTRDrop.D())
			select {
			case <-t.C():
			case <-ctx.Done():
			case <-runCtx.Done():
			case <-s.eng.Done():
			}
			t.Stop()
			if err := s.port.SetDTR(true); err != nil {
				l.cfg.log.Debug("line: DTR raise failed", "device", l.path, "err", err)
			}
		}
	}
	r, err := s.command(ctx, hp.Command, hp.Timeout.D())
	if err != nil {
		return err
	}
	if r.Final.Result != ResultOK {
		l.cfg.log.Warn("line: hang-up answered", "device", l.path, "reply", r.Final.Line)
	}
	return nil
}

func (s *session) endRinging(reason string) {
	s.ringTimer.Stop()
	s.ringEnded(reason)
	s.cid, s.rings = CallerID{}, 0
	s.l.setState(StateIdle, reason)
}

// ringEnded tells the ring subscribers that the line has stopped ringing,
// if it was.
func (s *session) ringEnded(reason string) {
	l := s.l
	if l.State() != StateRinging {
		return
	}
	l.publish(Ring{Caller: s.cid, Count: s.rings, At: l.cfg.clk.Now(), Ended: true, Reason: reason})
}

func (s *session) unsolicited(r Response) {
	l := s.l
	now := l.cfg.clk.Now()
	st := l.State()
	switch {
	case r.Result == ResultRing:
		if st == StateInCall {
			l.cfg.log.Info("line: RING during call ignored", "device", l.path)
			return
		}
		s.rings++
		s.cid.Merge(r.CID)
		if st != StateRinging {
			l.setState(StateRinging, "incoming call")
		}
		s.ringTimer.Reset(l.prof.RingTimeout.D())
		l.publish(Ring{Caller: s.cid, Count: s.rings, At: now})
	case !r.CID.IsZero():
		s.cid.Merge(r.CID)
		if st == StateRinging {
			l.publish(Ring{Caller: s.cid, Count: s.rings, At: now})
		}
	case r.Result == ResultNoCarrier && s.call != nil:
		// A voice call ends through its stream's events and VoiceCall.
		l.cfg.log.Info("line: NO CARRIER during voice call", "device", l.path)
	case r.Result == ResultNoCarrier:
		switch st {
		case StateInCall:
			s.endRinging("remote hung up")
		case StateRinging:
			s.endRinging("caller hung up")
		}
	}
}
