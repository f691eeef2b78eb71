package module

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"lifeline/hal/cellular/at"
	"lifeline/hal/cellular/profiles"
)

var expand = profiles.Expand

// callState is the call in progress, owned by Run's goroutine.
type callState struct {
	info  CallInfo
	index int // the module's call index (^ORIG, +QIND "ccinfo"); 1 until known
	// pending is the Dial waiting for the far end to answer.
	pending *request
	handle  *Call
	audio   bool // the profile's audio commands were sent
	// graceErr is why an unanswered outgoing call ended, waiting for
	// the final code that may say better.
	graceErr error
}

// pendingDone is the pending Dial's ctx.Done, nil when there is none.
func (s *session) pendingDone() <-chan struct{} {
	if s.call == nil || s.call.pending == nil {
		return nil
	}
	return s.call.pending.ctx.Done()
}

// begin records a new call and sets the state.
func (s *session) begin(c *callState) {
	s.call = c
	state := StateInCall
	if c.info.Phase == PhaseRinging {
		state = StateRinging
	}
	s.m.update(func(st *Status) {
		st.State, st.Call = state, c.info
		st.Reason = map[bool]string{true: "incoming call", false: "outgoing call"}[c.info.Incoming]
	})
}

// phase moves the call on.
func (s *session) phase(p string) {
	s.call.info.Phase = p
	info := s.call.info
	s.m.update(func(st *Status) { st.Call = info })
}

func (s *session) dial(ctx context.Context, r request) reply {
	m := s.m
	number := r.arg
	st := m.Status().State
	switch {
	case s.call != nil:
		return reply{err: fmt.Errorf("dial %s on %s: %w", number, m.atPath, ErrLineBusy)}
	case st == StateInitialising:
		return reply{err: fmt.Errorf("dial %s on %s: %w", number, m.atPath, ErrNotReady)}
	case st == StateNoLine && !m.emergency(number):
		return reply{err: fmt.Errorf("dial %s on %s: %w: %s", number, m.atPath, ErrNoLine, s.lineReason)}
	}
	c, err := expand(m.prof.Dial.Command, map[string]string{"number": number})
	if err != nil {
		return reply{err: fmt.Errorf("dial %s on %s: %w", number, m.atPath, ErrBadNumber)}
	}
	req := r
	s.begin(&callState{info: CallInfo{Phase: PhaseDialing, Number: number}, index: 1, pending: &req})
	// From here on the answer goes through the pending request: finish
	// or connected sends it.
	if _, err := s.cmd(ctx, c); err != nil {
		s.finishErr(ctx, dialErr(err))
		return reply{pendingReply: true}
	}
	if r.onDialing != nil {
		r.onDialing()
	}
	s.audioCommands(ctx, m.prof.Dial.Audio)
	if s.call != nil {
		s.timer.dial.Reset(m.prof.Dial.Timeout.D())
	}
	return reply{pendingReply: true}
}

// dialErr maps the final result of ATD.
func dialErr(err error) error {
	s := err.Error()
	switch {
	case strings.Contains(s, "busy"):
		return fmt.Errorf("%w (%v)", ErrBusy, err)
	case strings.Contains(s, "no answer"):
		return fmt.Errorf("%w (%v)", ErrNoAnswer, err)
	}
	return fmt.Errorf("%w (%v)", ErrNoCarrier, err)
}

// audioCommands sends the profile's audio start commands; failures are
// logged (the call goes on, perhaps silent).
func (s *session) audioCommands(ctx context.Context, cmds []string) {
	for _, c := range cmds {
		if err := s.ok(ctx, c); err != nil {
			s.m.cfg.log.Warn("cellular: audio command failed", "device", s.m.atPath, "cmd", c, "err", err)
		}
		s.call.audio = true
	}
}

// connected marks the call up and starts its audio; the pending Dial is
// answered.
func (s *session) connected(ctx context.Context) {
	c := s.call
	if c.info.Phase == PhaseConnected {
		return
	}
	s.timer.dial.Stop()
	s.timer.grace.Stop()
	s.phase(PhaseConnected)
	s.m.update(func(st *Status) { st.State, st.Reason = StateInCall, "call connected" })
	if c.info.Incoming {
		s.audioCommands(ctx, s.m.prof.Answer.AudioOnConnect)
	} else {
		s.audioCommands(ctx, s.m.prof.Dial.AudioOnConnect)
	}
	if s.call == nil {
		return
	}
	if c.handle == nil {
		c.handle = &Call{Number: c.info.Number, Incoming: c.info.Incoming, AudioPath: s.m.audioPath, done: make(chan struct{})}
	}
	if p := c.pending; p != nil {
		p.reply <- s.connectedReply()
	}
}

func (s *session) connectedReply() reply {
	if s.call.handle == nil {
		c := s.call
		c.handle = &Call{Number: c.info.Number, Incoming: c.info.Incoming, AudioPath: s.m.audioPath, done: make(chan struct{})}
	}
	s.call.pending = nil
	return reply{call: s.call.handle}
}

func (s *session) answer(ctx context.Context) reply {
	m := s.m
	if s.call == nil || s.call.info.Phase != PhaseRinging {
		return reply{err: fmt.Errorf("answer on %s: %w", m.atPath, ErrNoCall)}
	}
	s.timer.ring.Stop()
	if _, err := s.cmd(ctx, m.prof.Answer.Command); err != nil {
		s.finish(ctx, fmt.Errorf("%w: answer failed: %v", ErrEnded, err), "answer failed")
		return reply{err: fmt.Errorf("answer on %s: %w (%v)", m.atPath, ErrNoCarrier, err)}
	}
	s.audioCommands(ctx, m.prof.Answer.Audio)
	if s.call == nil {
		return reply{err: fmt.Errorf("answer on %s: %w", m.atPath, ErrNoCarrier)}
	}
	s.connected(ctx)
	if s.call == nil {
		return reply{err: fmt.Errorf("answer on %s: %w", m.atPath, ErrNoCarrier)}
	}
	return s.connectedReply()
}

// hangup sends the profile's hang-up command; the caller finishes the
// call.
func (s *session) hangup(ctx context.Context, why string) error {
	s.m.cfg.log.Info("cellular: hanging up", "device", s.m.atPath, "why", why)
	return s.ok(ctx, s.m.prof.Hangup.Command)
}

func (s *session) dtmf(ctx context.Context, digit string) error {
	m := s.m
	if s.call == nil || s.call.info.Phase != PhaseConnected {
		return fmt.Errorf("DTMF on %s: %w", m.atPath, ErrNoCall)
	}
	c, err := expand(m.prof.DTMF, map[string]string{"digit": digit, "call": strconv.Itoa(s.call.index)})
	if err != nil {
		return fmt.Errorf("DTMF %q on %s: %w", digit, m.atPath, err)
	}
	return s.ok(ctx, c)
}

// finishErr ends the call with err as the pending Dial's answer.
func (s *session) finishErr(ctx context.Context, err error) {
	s.finish(ctx, err, err.Error())
}

// finish ends the call: the audio stops (the profile's commands), a
// pending Dial gets err, the Call's Done closes with err, and the line
// state returns to what the last health check said (checked again soon).
func (s *session) finish(ctx context.Context, err error, why string) {
	c := s.call
	if c == nil {
		return
	}
	s.call = nil
	for _, t := range []interface{ Stop() bool }{s.timer.ring, s.timer.grace, s.timer.dial} {
		t.Stop()
	}
	if c.audio && s.eng.Err() == nil {
		for _, a := range s.m.prof.Hangup.AudioOff {
			if e := s.ok(ctx, a); e != nil {
				s.m.cfg.log.Warn("cellular: audio off failed", "device", s.m.atPath, "cmd", a, "err", e)
			}
		}
	}
	if c.pending != nil {
		c.pending.reply <- reply{err: fmt.Errorf("dial %s on %s: %w", c.info.Number, s.m.atPath, err)}
	}
	if c.handle != nil {
		c.handle.err = err
		close(c.handle.done)
	}
	s.m.cfg.log.Info("cellular: call ended", "device", s.m.atPath, "number", c.info.Number, "why", why)
	state, reason := s.lineState, s.lineReason
	if state == StateAbsent || state == StateInitialising {
		state, reason = StateNoLine, "call ended; health not yet known"
	}
	s.m.update(func(st *Status) { st.State, st.Reason, st.Call = state, reason, CallInfo{} })
	s.recheck = true
}

// callURC applies one call-state code of the dialect.
func (s *session) callURC(ctx context.Context, line string) {
	m := s.m
	if strings.HasPrefix(line, m.prof.URC.CallerID) {
		cl, err := at.ParseCLIP(line)
		if err != nil {
			m.cfg.log.Info("cellular: bad caller ID", "device", m.atPath, "err", err)
			return
		}
		s.ringing(cl.Number, true, false)
		return
	}
	ev, ok, err := at.ParseCallEvent(line)
	if !ok {
		return
	}
	if err != nil {
		m.cfg.log.Info("cellular: bad call state code", "device", m.atPath, "err", err)
		return
	}
	c := s.call
	if ev.Kind == at.EventRing {
		number, known := "", false
		if ev.Call != nil {
			number, known = ev.Call.Number, true
		}
		if c == nil || c.info.Incoming {
			// Only RING itself counts: a vendor's call-state code for the
			// same ring (+QIND "ccinfo") does not.
			s.ringing(number, known, line == "RING" || strings.HasPrefix(line, "+CRING:"))
			if s.call != nil && ev.Index > 0 {
				s.call.index = ev.Index
			}
		}
		return
	}
	if c == nil {
		return // a late code of a call already ended
	}
	if ev.Index > 0 && ev.Call != nil && ev.Call.Incoming != c.info.Incoming {
		return // another call (waiting) the line does not take
	}
	if ev.Index > 0 && (ev.Kind == at.EventDialing || c.index <= 0) {
		c.index = ev.Index
	}
	switch ev.Kind {
	case at.EventDialing:
	case at.EventAlerting:
		if !c.info.Incoming && c.info.Phase == PhaseDialing {
			s.phase(PhaseAlerting)
		}
	case at.EventConnected:
		if c.info.Incoming && c.info.Phase == PhaseRinging {
			return // answered elsewhere? only ATA answers here
		}
		s.connected(ctx)
	case at.EventBusy:
		s.finishErr(ctx, ErrBusy)
	case at.EventNoAnswer:
		s.finishErr(ctx, ErrNoAnswer)
	case at.EventEnded:
		switch {
		case ev.Cause == 17:
			s.finishErr(ctx, ErrBusy)
		case ev.Cause == 18 || ev.Cause == 19:
			s.finishErr(ctx, ErrNoAnswer)
		case !c.info.Incoming && c.info.Phase != PhaseConnected:
			// BUSY or NO ANSWER may follow and say why.
			if c.graceErr == nil {
				c.graceErr = ErrNoCarrier
				s.timer.grace.Reset(endGrace)
			}
		case c.info.Phase == PhaseRinging:
			s.finish(ctx, fmt.Errorf("%w: caller hung up", ErrEnded), "caller hung up")
		default:
			s.finish(ctx, fmt.Errorf("%w: remote hung up", ErrEnded), "remote hung up")
		}
	}
}

// ringing starts or updates the incoming call; numberKnown says whether
// number (possibly "", withheld) is the caller's; ring whether this is a
// RING (counted), not only caller ID.
func (s *session) ringing(number string, numberKnown, ring bool) {
	s.timer.ring.Reset(s.m.cfg.ringTimeout)
	rings := 0
	if ring {
		rings = 1
	}
	if s.call == nil {
		s.begin(&callState{info: CallInfo{Phase: PhaseRinging, Incoming: true, Number: number,
			Withheld: numberKnown && number == "", Rings: rings}})
		return
	}
	c := &s.call.info
	if !c.Incoming {
		return
	}
	next := *c
	next.Rings += rings
	if numberKnown {
		next.Number, next.Withheld = number, number == ""
	}
	if next != *c {
		*c = next
		s.m.update(func(st *Status) { st.Call = next })
	}
}
