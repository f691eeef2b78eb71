package module

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"lifeline/hal/cellular/at"
	"lifeline/hal/clock"
	"lifeline/hal/modem"
)

// Run opens the AT port, initialises the module, watches its health,
// serves calls and SMS, and reopens the port with bounded backoff whenever
// the module is lost. It returns nil when ctx ends, after the state is
// absent ("stopped"), queued SMS have failed with ErrStopped, the last
// callback has returned and every goroutine it started has exited. Run
// may be called once.
func (m *Module) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return fmt.Errorf("cellular module %s: %w", m.atPath, ErrRunning)
	}
	pub := startDispatcher(func() { m.cfg.log.Warn("cellular: callback queue full, dropped the oldest", "device", m.atPath) })
	m.mu.Lock()
	m.pub = pub
	m.mu.Unlock()
	defer close(m.done)
	defer m.rings.stop()
	defer pub.close()
	defer m.sms.fail(fmt.Errorf("cellular module %s: %w", m.atPath, ErrStopped))
	defer m.setState(StateAbsent, "stopped")

	backoff := m.cfg.backoffMin
	for {
		port, err := m.cfg.opener.Open(ctx, m.atPath)
		if ctx.Err() != nil {
			if err == nil {
				port.Close()
			}
			return nil
		}
		if err != nil {
			m.setState(StateAbsent, "module absent: "+err.Error())
			if !errors.Is(err, modem.ErrNotPresent) {
				m.cfg.log.Warn("cellular: open failed", "device", m.atPath, "err", err, "retry", backoff)
			}
			if !m.wait(ctx, backoff) {
				return nil
			}
			backoff = min(2*backoff, m.cfg.backoffMax)
			continue
		}
		s := &session{m: m}
		healthy, reason := s.run(ctx, port)
		if ctx.Err() != nil {
			return nil
		}
		m.setState(StateAbsent, "module absent: "+reason)
		m.cfg.log.Warn("cellular: module lost", "device", m.atPath, "reason", reason)
		if healthy {
			backoff = m.cfg.backoffMin
			continue
		}
		if !m.wait(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, m.cfg.backoffMax)
	}
}

// wait waits d on the clock, answering requests with ErrNotReady.
func (m *Module) wait(ctx context.Context, d time.Duration) bool {
	t := m.cfg.clk.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C():
			return true
		case <-ctx.Done():
			return false
		case r := <-m.reqs:
			r.reply <- reply{err: fmt.Errorf("cellular module %s: %w", m.atPath, ErrNotReady)}
		}
	}
}

// session is one open period of the AT port, in Run's goroutine.
type session struct {
	m   *Module
	eng *modem.Engine
	tap *tap

	// The line's state by the last health check, restored after a call.
	lineState  State
	lineReason string
	voiceOff   string // why the firmware has no voice; "" when it has
	recheck    bool   // a registration URC asks for a health check

	call  *callState
	timer struct {
		health, ring, grace, dial, smsRetry clock.Timer
	}
	smsRetrying bool
	ref         byte // concatenated SMS reference
	parts       partsStore
}

// run initialises the module and serves it until it is lost or ctx ends;
// healthy reports whether initialisation succeeded.
func (s *session) run(ctx context.Context, port modem.Port) (healthy bool, reason string) {
	m := s.m
	p := m.prof
	s.tap = newTap(port, p, func(l string) {
		m.cfg.log.Warn("cellular: URC queue full, dropped", "device", m.atPath, "line", l)
	})
	s.eng = modem.NewEngine(s.tap, modem.WithClock(m.cfg.clk), modem.WithLogger(m.cfg.log),
		modem.EngineName(m.atPath), modem.EngineTimeout(p.CommandTimeout.D()))
	defer s.eng.Close()
	clk := m.cfg.clk
	for _, t := range []*clock.Timer{&s.timer.health, &s.timer.ring, &s.timer.grace, &s.timer.dial, &s.timer.smsRetry} {
		*t = clk.NewTimer(time.Hour)
		(*t).Stop()
		defer (*t).Stop()
	}
	defer func() {
		if s.call != nil {
			s.finish(ctx, fmt.Errorf("%w: module lost: %s", ErrEnded, reason), "module lost")
		}
	}()

	m.setState(StateInitialising, "module opened")
	for _, c := range p.Init {
		if err := s.ok(ctx, c); err != nil {
			return false, "init: " + err.Error()
		}
	}
	for _, c := range p.InitOptional {
		if err := s.ok(ctx, c); err != nil {
			m.cfg.log.Info("cellular: optional init command failed", "device", m.atPath, "cmd", c, "err", err)
		}
	}
	if vc := p.VoiceCheck; vc != nil {
		rep, err := s.cmd(ctx, vc.Command)
		if lost(err) {
			return false, err.Error()
		}
		if err != nil || !hasPrefix(rep.Info, vc.Enabled) {
			s.voiceOff = "voice disabled in the module's firmware (" + vc.Command + ")"
		}
	}
	s.health(ctx)
	s.readUnread(ctx)
	s.timer.health.Reset(m.cfg.health)
	for {
		if s.eng.Err() != nil {
			return true, s.eng.Err().Error()
		}
		if s.recheck && s.call == nil {
			s.recheck = false
			s.health(ctx)
		}
		s.trySMS(ctx)
		select {
		case <-ctx.Done():
			if s.call != nil {
				bg := context.WithoutCancel(ctx)
				s.hangup(bg, "stopped")
				s.finish(bg, fmt.Errorf("%w: stopped", ErrEnded), "stopped")
			}
			return true, "stopped"
		case <-s.eng.Done():
			return true, s.eng.Err().Error()
		case u := <-s.tap.out:
			s.urc(ctx, u)
		case <-s.timer.health.C():
			s.timer.health.Reset(m.cfg.health)
			if s.call == nil {
				s.health(ctx)
			}
		case <-s.timer.ring.C():
			if s.call != nil && s.call.info.Phase == PhaseRinging {
				s.finish(ctx, fmt.Errorf("%w: ringing stopped", ErrEnded), "ringing stopped")
			}
		case <-s.timer.grace.C():
			if s.call != nil && s.call.graceErr != nil {
				s.finish(ctx, s.call.graceErr, "call failed")
			}
		case <-s.timer.dial.C():
			if s.call != nil && s.call.info.Phase != PhaseConnected {
				s.hangup(ctx, "no answer in time")
				s.finishErr(ctx, fmt.Errorf("%w after %v", ErrTimeout, m.prof.Dial.Timeout.D()))
			}
		case <-s.timer.smsRetry.C():
			s.smsRetrying = false
		case <-m.sms.wake:
		case <-s.pendingDone():
			s.hangup(ctx, "caller gave up")
			s.finishErr(ctx, s.call.pending.ctx.Err())
		case r := <-m.reqs:
			s.drain(ctx)
			if rep := s.serve(ctx, r); !rep.pendingReply {
				r.reply <- rep
			}
		}
	}
}

// drain handles the URCs already queued, so that a request is served on
// the latest state (a stale NO CARRIER never meets the next call).
func (s *session) drain(ctx context.Context) {
	for {
		select {
		case u := <-s.tap.out:
			s.urc(ctx, u)
		default:
			return
		}
	}
}

func (s *session) serve(ctx context.Context, r request) reply {
	m := s.m
	switch r.kind {
	case reqCheck:
		if s.call != nil {
			return reply{err: fmt.Errorf("check %s: %w", m.atPath, ErrLineBusy)}
		}
		s.health(ctx)
		return reply{}
	case reqDial:
		return s.dial(ctx, r)
	case reqAnswer:
		return s.answer(ctx)
	case reqHangup:
		if s.call != nil {
			err := s.hangup(ctx, "hung up")
			s.finish(ctx, fmt.Errorf("%w: hung up", ErrEnded), "hung up")
			return reply{err: err}
		}
		return reply{}
	case reqDTMF:
		return reply{err: s.dtmf(ctx, r.arg)}
	}
	return reply{err: fmt.Errorf("cellular: unknown request %d", r.kind)}
}

// urc handles one unsolicited result code.
func (s *session) urc(ctx context.Context, u urc) {
	switch classify(s.m.prof, u.line) {
	case kindReg:
		s.recheck = true
	case kindCMTI:
		s.readStored(ctx, u.line)
	case kindCMT:
		s.routed(u)
	case kindCall:
		s.callURC(ctx, u.line)
	}
}

// cmd runs one command on the engine.
func (s *session) cmd(ctx context.Context, c string, opts ...modem.CommandOption) (modem.Reply, error) {
	rep, err := s.eng.Command(ctx, c, opts...)
	if err != nil {
		return rep, err
	}
	if err := rep.Err(); err != nil {
		return rep, fmt.Errorf("%s %q: %w", s.m.atPath, c, err)
	}
	return rep, nil
}

// ok runs c and wants OK.
func (s *session) ok(ctx context.Context, c string) error {
	_, err := s.cmd(ctx, c)
	return err
}

// lost reports whether err means the engine is gone.
func lost(err error) bool { return errors.Is(err, modem.ErrClosed) }

func hasPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// health reads SIM, registration, signal and operator with the profile's
// status queries, enters the PIN when the SIM asks and may, checks VoLTE,
// and sets the line state. A lost engine leaves the state alone (Run's
// loop notices).
func (s *session) health(ctx context.Context) {
	h, err := s.read(ctx)
	if err != nil {
		if !lost(err) {
			s.m.cfg.log.Warn("cellular: health check failed", "device", s.m.atPath, "err", err)
		}
		return
	}
	if h.sim == at.SIMPIN && s.enterPIN(ctx) {
		if h, err = s.read(ctx); err != nil {
			return
		}
	}
	volte := VoLTEUnknown
	if vc := s.m.prof.VOLTECheck; vc != nil && h.sim == at.SIMReady && h.reg.Registered() {
		volte = s.volte(ctx)
	}
	state, reason := s.judge(h, volte)
	s.lineState, s.lineReason = state, reason
	s.m.update(func(st *Status) {
		st.SIM, st.Operator, st.Technology = h.sim, h.operator, h.tech
		st.Registration = ""
		if h.regKnown {
			st.Registration = h.reg.String()
		}
		st.SignalDBm, st.SignalKnown = h.dbm, h.dbmKnown
		st.VoLTE = volte
		if s.call == nil {
			st.State, st.Reason = state, reason
		}
	})
}

// judge turns a health reading into the line state and its reason.
func (s *session) judge(h healthReading, volte string) (State, string) {
	m := s.m
	switch h.sim {
	case at.SIMAbsent:
		return StateNoLine, "no SIM"
	case at.SIMPIN:
		switch {
		case m.cfg.pin == "":
			return StateNoLine, "SIM PIN required (no PIN configured)"
		case m.pinRejected:
			return StateNoLine, "SIM PIN required: the configured PIN was refused and is not sent again"
		}
		return StateNoLine, "SIM PIN required"
	case at.SIMPUK:
		return StateNoLine, "SIM locked: PUK required"
	case at.SIMBlocked:
		return StateNoLine, "SIM blocked: needs a code other than the PIN"
	}
	if s.voiceOff != "" {
		return StateNoLine, s.voiceOff
	}
	if !h.reg.Registered() {
		return StateNoLine, "not registered: " + h.reg.String()
	}
	if _, err := os.Stat(m.audioPath); err != nil {
		return StateNoLine, "audio port " + m.audioPath + " missing"
	}
	reason := "registered " + h.reg.String()
	if volte == VoLTEOff {
		reason += "; VoLTE off: no voice on networks without 2G/3G"
	}
	return StateIdle, reason
}

// healthReading is what the status queries said.
type healthReading struct {
	sim           at.SIMState
	reg           at.RegStat
	regKnown      bool
	tech          string
	operator      string
	dbm           int
	dbmKnown      bool
	regCmdsSeen   int
	regRegistered bool
}

// read runs the profile's status queries. Replies that do not parse
// leave their fields unknown (logged); only a lost engine is an error.
func (s *session) read(ctx context.Context) (healthReading, error) {
	var h healthReading
	h.reg = at.RegNotSearching
	for _, c := range s.m.prof.Status {
		rep, err := s.eng.Command(ctx, c)
		if err != nil {
			return h, err
		}
		if perr := h.absorb(strings.ToUpper(c), rep); perr != nil {
			s.m.cfg.log.Info("cellular: status reply not understood", "device", s.m.atPath, "cmd", c, "err", perr)
		}
	}
	return h, nil
}

// absorb parses the reply to one status query.
func (h *healthReading) absorb(cmd string, rep modem.Reply) error {
	switch cmd {
	case "AT+CPIN?":
		line := rep.Final.Line
		for _, l := range rep.Info {
			if strings.HasPrefix(l, "+CPIN:") {
				line = l
			}
		}
		sim, err := at.ParseCPIN(line)
		if err != nil {
			return err
		}
		h.sim = sim
	case "AT+CREG?", "AT+CEREG?", "AT+C5GREG?":
		name := cmd[2 : len(cmd)-1] // "+CREG"
		for _, l := range rep.Info {
			if !strings.HasPrefix(l, name+":") {
				continue
			}
			r, err := at.ParseRegistration(l)
			if err != nil {
				return err
			}
			if r.N < 0 {
				continue // a URC that came during the query
			}
			h.regCmdsSeen++
			tech := r.Technology()
			if tech == "" && r.Stat.Registered() {
				tech = map[string]string{"+CEREG": "4G", "+C5GREG": "5G"}[name]
			}
			switch {
			case r.Stat.Registered() && (!h.regRegistered || tech > h.tech):
				h.reg, h.regRegistered, h.tech = r.Stat, true, tech
			case !h.regRegistered && (!h.regKnown || h.reg == at.RegNotSearching):
				h.reg = r.Stat
			}
			h.regKnown = true
		}
	case "AT+CSQ":
		for _, l := range rep.Info {
			if strings.HasPrefix(l, "+CSQ:") {
				sig, err := at.ParseCSQ(l)
				if err != nil {
					return err
				}
				h.dbm, h.dbmKnown = sig.DBm()
			}
		}
	case "AT+COPS?":
		for _, l := range rep.Info {
			if strings.HasPrefix(l, "+COPS:") {
				op, err := at.ParseCOPS(l)
				if err != nil {
					return err
				}
				h.operator = op.Name
				if t := (at.Registration{AcT: op.AcT}).Technology(); h.tech == "" && t != "" && h.regRegistered {
					h.tech = t
				}
			}
		}
	}
	return nil
}

// enterPIN sends the configured PIN once the SIM asks, unless the SIM has
// refused it before: any answer but a SIM that is ready afterwards counts
// as refused, so a wrong PIN costs at most one of the SIM's three tries.
// It reports whether the PIN was sent.
func (s *session) enterPIN(ctx context.Context) bool {
	m := s.m
	if m.cfg.pin == "" || m.pinRejected {
		return false
	}
	c, _ := expand(m.prof.PIN, map[string]string{"pin": m.cfg.pin})
	_, err := s.cmd(ctx, c)
	if err == nil {
		var rep modem.Reply
		if rep, err = s.eng.Command(ctx, "AT+CPIN?"); err == nil {
			var h healthReading
			if err = h.absorb("AT+CPIN?", rep); err == nil && h.sim != at.SIMReady {
				err = fmt.Errorf("SIM still %s", h.sim)
			}
		}
	}
	if err != nil {
		m.pinRejected = true
		m.cfg.log.Error("cellular: SIM PIN refused; it is not sent again", "device", m.atPath,
			"err", strings.ReplaceAll(err.Error(), m.cfg.pin, "****"))
		return true
	}
	m.cfg.log.Info("cellular: SIM PIN accepted", "device", m.atPath)
	return true
}

// volte runs the profile's VoLTE check: "+QCFG: "ims",<setting>,<state>"
// for Quectel, else a line starting with the check's Ready prefix.
func (s *session) volte(ctx context.Context) string {
	vc := s.m.prof.VOLTECheck
	rep, err := s.cmd(ctx, vc.Command)
	if err != nil {
		return VoLTEUnknown
	}
	for _, l := range rep.Info {
		if strings.HasPrefix(l, "+QCFG:") {
			ims, err := at.ParseQCFGIMS(l)
			if err != nil {
				return VoLTEUnknown
			}
			if ims.Setting != 2 && ims.VoLTEReady {
				return VoLTEOn
			}
			return VoLTEOff
		}
		if vc.Ready != "" && strings.HasPrefix(l, vc.Ready) {
			return VoLTEOn
		}
	}
	return VoLTEOff
}
