package modemsim

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"lifeline/hal/modem"
)

// ErrNotIdle is returned by VoiceSim.Ring while the line is in a call,
// dialling or already ringing.
var ErrNotIdle = errors.New("modemsim: line not idle")

// RingOption configures one VoiceSim.Ring.
type RingOption func(*ringConfig)

type ringConfig struct {
	count  int
	period time.Duration
	format string
	name   string
}

// RingCount makes the caller give up after n unanswered RINGs: the line
// goes quiet one ring period after the n-th (n <= 0: ring until ATA or
// StopRinging).
func RingCount(n int) RingOption { return func(c *ringConfig) { c.count = n } }

// RingPeriod sets the ring cadence: one RING every d (default the
// VoiceRings period, 5 s; the UK's 3 s or North America's 6 s are other
// real values).
func RingPeriod(d time.Duration) RingOption {
	return func(c *ringConfig) {
		if d > 0 {
			c.period = d
		}
	}
}

// RingCallerIDFormat sets how the caller ID is reported: modem.CallerIDVCID
// (default, the analog profile's: DATE = / TIME = / NMBR = [/ NAME =]
// lines after the first RING), modem.CallerIDCLIP (+CLIP after every
// RING) or modem.CallerIDRingSuffix (RING;number).
func RingCallerIDFormat(f string) RingOption { return func(c *ringConfig) { c.format = f } }

// RingName adds the caller's name to the caller ID.
func RingName(name string) RingOption { return func(c *ringConfig) { c.name = name } }

// Ring starts an incoming call from callerID ("" for none): RING at once,
// the caller ID in the chosen format, then RING every ring period on the
// VoiceSim's clock until the DTE answers (ATA), StopRinging is called or
// RingCount RINGs went unanswered. Answered with ATA in voice mode
// (AT+FCLASS=8), the modem reports VCON and the far end then behaves as
// for an outgoing call (echo, tone, HangupRemote, SendEvent, ...); ATA
// outside voice mode answers NO CARRIER (no data carrier) and drops the
// caller. Ring returns once the first RING is written; ErrNotIdle while
// the line is in a call, dialling or ringing, ErrClosed after Close.
func (s *VoiceSim) Ring(callerID string, opts ...RingOption) error {
	c := ringConfig{period: s.ringPeriod, format: modem.CallerIDVCID}
	for _, o := range opts {
		o(&c)
	}
	switch c.format {
	case modem.CallerIDVCID, modem.CallerIDCLIP, modem.CallerIDRingSuffix:
	default:
		return fmt.Errorf("modemsim %s: caller ID format %q", s.Path(), c.format)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.inCall || s.dialing || s.incoming || s.mode != modeCommand {
		return fmt.Errorf("modemsim %s: ring: %w", s.Path(), ErrNotIdle)
	}
	s.incoming, s.caller, s.ringCfg, s.ringsIn = true, callerID, c, 0
	return s.ringOnce()
}

// StopRinging makes the caller hang up before the call is answered: no
// more RINGs (the DTE notices only by their absence). A no-op when the
// line is not ringing.
func (s *VoiceSim) StopRinging() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.incoming = false
	s.ringIn.Stop()
}

// Ringing reports whether an incoming call is ringing (not yet answered,
// stopped or given up).
func (s *VoiceSim) Ringing() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.incoming }

// RingsSent returns the RINGs of the current or last incoming call.
func (s *VoiceSim) RingsSent() int { s.mu.Lock(); defer s.mu.Unlock(); return s.ringsIn }

// ringOnce writes one RING (with the caller ID the format puts there) and
// arms the next. Caller holds mu.
func (s *VoiceSim) ringOnce() error {
	c := s.ringCfg
	if c.count > 0 && s.ringsIn >= c.count {
		s.incoming = false // the caller gave up
		return nil
	}
	s.ringsIn++
	var b strings.Builder
	line := func(t string) { b.WriteString("\r\n" + t + "\r\n") }
	switch c.format {
	case modem.CallerIDRingSuffix:
		if s.caller != "" {
			line("RING;" + s.caller)
		} else {
			line("RING")
		}
	case modem.CallerIDCLIP:
		line("RING")
		if s.caller != "" {
			line(fmt.Sprintf("+CLIP: %q,129,,,%q", s.caller, c.name))
		}
	default: // vcid: between the first and second ring (Bellcore GR-30)
		line("RING")
		if s.ringsIn == 1 && (s.caller != "" || c.name != "") {
			now := s.clk.Now()
			line("DATE = " + now.Format("0102"))
			line("TIME = " + now.Format("1504"))
			if s.caller != "" {
				line("NMBR = " + s.caller)
			}
			if c.name != "" {
				line("NAME = " + c.name)
			}
		}
	}
	s.ringIn.Reset(c.period)
	return s.writeLocked([]byte(b.String()))
}

// ringTimer runs when the ring period ends. Caller holds mu.
func (s *VoiceSim) ringTimer() {
	if !s.incoming {
		return
	}
	if err := s.ringOnce(); err != nil {
		s.log.Debug("modemsim: voice write", "path", s.Path(), "err", err)
	}
}

// answerCall is ATA. Caller holds mu.
func (s *VoiceSim) answerCall() error {
	ringing := s.incoming
	s.incoming = false
	s.ringIn.Stop()
	if !ringing || s.fclass != 8 {
		// Nobody calling, or a data answer with no modem at the other
		// end: V.250 6.3.5's NO CARRIER.
		return s.result("NO CARRIER")
	}
	s.inCall = true
	return s.result("VCON")
}
