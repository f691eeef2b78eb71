// Package cellsim simulates a cellular module on two pseudo-terminals: the
// AT port and the audio port, as a USB module exposes them, speaking one
// of hal/cellular/profiles' dialects. It scripts what a real network
// cannot be made to do on demand: SIM and PIN states, registration (home,
// roaming, searching, denied) with URCs, signal and operator, incoming
// calls with caller ID, outgoing calls answered, busy or unanswered,
// hang-up from either side, call audio (paced 20 ms frames echoing what
// the host sends), DTMF both ways (digits the host sends recorded, digits
// the far end presses reported as the dialect's URC), SMS sent (PDU and text mode, recorded) and
// received (+CMTI/+CMT), and unplugging both ttys.
//
// The ports appear as symlinks in the directory given to New (cell-at and
// cell-audio), pointing at /dev/pts/N as /dev/serial/by-id links point at
// /dev/ttyUSBn; Unplug removes them and closes the ptys, Replug makes new
// ones behind the same links.
//
// Concurrency: state is guarded by one mutex; writes to the AT port by a
// second so that replies and URCs never interleave. Goroutines (one reader
// per port, and per call the audio pacer or the ring repeater) belong to
// the current plug; Unplug and Close stop them and wait. The module does
// not echo commands (as after ATE0).
package cellsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"lifeline/hal/cellular/at"
	"lifeline/hal/cellular/profiles"
	"lifeline/hal/clock"
	"lifeline/hal/modem/modemsim"
)

// Errors.
var (
	ErrUnplugged = errors.New("cellsim: unplugged")
	ErrClosed    = errors.New("cellsim: closed")
	ErrState     = errors.New("cellsim: not possible in this call state")
	ErrDigits    = errors.New("cellsim: DTMF digits are 0-9 * # A-D")
)

// Outcome is what the far end does when the host dials.
type Outcome int

// Dial outcomes.
const (
	Answer   Outcome = iota // alerts, then answers at once
	Busy                    // busy
	NoAnswer                // rings out
	Ringing                 // alerts until RemoteAnswer or RemoteHangup
)

// Call states in State.Call.
const (
	CallIdle     = "idle"
	CallDialing  = "dialing"
	CallAlerting = "alerting"
	CallIncoming = "incoming"
	CallActive   = "active"
)

// SentSMS is a message the host sent with AT+CMGS.
type SentSMS struct {
	// PDU mode: the hexadecimal PDU (SMSC address included) and the
	// length given to AT+CMGS.
	PDU    string
	Length int
	// Text mode: destination and text.
	To, Text string
}

// State is a snapshot of the simulated module.
type State struct {
	Plugged  bool
	SIM      at.SIMState
	Reg      at.RegStat
	AcT      int
	RSSI     int
	Operator string
	Call     string
	Number   string // of the current or last call
	// AudioRouted: the host sent the profile's audio routing command.
	AudioRouted bool
	DTMF        string
	Sent        []SentSMS
	// Refused counts messages refused by SetSMSError.
	Refused int
	// AudioIn counts bytes the host wrote on the audio port during calls,
	// AudioOut frames the module wrote.
	AudioIn, AudioOut int
}

// Option configures a Sim.
type Option func(*Sim)

// WithClock sets the clock that paces audio frames and repeats RING.
func WithClock(c clock.Clock) Option { return func(s *Sim) { s.clk = c } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Sim) { s.log = l } }

// WithPIN makes the SIM ask for pin (and puk after three wrong PINs).
func WithPIN(pin, puk string) Option {
	return func(s *Sim) { s.pin, s.puk, s.st.SIM = pin, puk, at.SIMPIN }
}

// RingEvery is the interval between RINGs of an incoming call.
const RingEvery = 5 * time.Second

// Sim is a simulated cellular module. Its methods are safe for concurrent
// use.
type Sim struct {
	prof   *profiles.Profile
	clk    clock.Clock
	log    *slog.Logger
	dir    string
	vendor string // "huawei", "quectel", "simcom"
	frame  time.Duration

	wmu sync.Mutex // serialises writes to the AT port

	mu       sync.Mutex // guards the fields below
	closed   bool
	p        *plug
	st       State
	pin, puk string
	tries    int
	regN     map[string]int // AT+CREG=n / AT+CEREG=n
	textMode bool
	// toneDetect: AT+QTONEDET=1 (Quectel reports far-end DTMF).
	toneDetect bool
	smsErr     int // +CMS ERROR for every AT+CMGS; 0 none
	outcome    Outcome
	call       *call
	echo       []byte
	stored     map[int]string // index -> PDU
	read       map[int]bool   // stored messages read with AT+CMGR
	nextIdx    int
	mr         int
	changed    chan struct{}
}

type plug struct {
	atM, atS, auM, auS *os.File
	stop               chan struct{}
	wg                 sync.WaitGroup
}

type call struct {
	number   string
	incoming bool
	start    time.Time
	stop     chan struct{}
}

// New starts a module speaking prof, plugged in, SIM ready, registered
// home on LTE with a good signal.
func New(dir string, prof *profiles.Profile, opts ...Option) (*Sim, error) {
	s := &Sim{
		prof: prof, clk: clock.Real(), log: slog.New(slog.DiscardHandler), dir: dir,
		frame: prof.Audio.Frame.D(), regN: map[string]int{}, stored: map[int]string{}, read: map[int]bool{}, nextIdx: 1,
		st:      State{SIM: at.SIMReady, Reg: at.RegHome, AcT: 7, RSSI: 20, Operator: "Lifeline Mobile", Call: CallIdle},
		changed: make(chan struct{}),
	}
	s.vendor, _, _ = strings.Cut(prof.Name, "-")
	for _, o := range opts {
		o(s)
	}
	if err := s.Replug(); err != nil {
		return nil, err
	}
	return s, nil
}

// ATPath is the AT port's link, AudioPath the audio port's.
func (s *Sim) ATPath() string    { return filepath.Join(s.dir, "cell-at") }
func (s *Sim) AudioPath() string { return filepath.Join(s.dir, "cell-audio") }

// State returns a snapshot.
func (s *Sim) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.Sent = append([]SentSMS(nil), s.st.Sent...)
	return st
}

// Wait blocks until cond holds for the state or ctx ends.
func (s *Sim) Wait(ctx context.Context, cond func(State) bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond(s.State()) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("cellsim: waiting for state: %w (now %+v)", ctx.Err(), s.State())
		}
	}
}

// notify wakes Wait; mu is held.
func (s *Sim) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Replug plugs the module in: new ptys behind the same links, power-on
// state for calls and SMS mode; SIM, registration and signal stay as set
// (a SIM with a PIN asks for it again). No-op when plugged.
func (s *Sim) Replug() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.p != nil {
		return nil
	}
	p := &plug{stop: make(chan struct{})}
	var err error
	if p.atM, p.atS, err = modemsim.OpenPTY(); err != nil {
		return err
	}
	if p.auM, p.auS, err = modemsim.OpenPTY(); err != nil {
		p.close()
		return err
	}
	for link, f := range map[string]*os.File{s.ATPath(): p.atS, s.AudioPath(): p.auS} {
		if err := relink(link, f.Name()); err != nil {
			p.close()
			return err
		}
	}
	s.p = p
	s.st.Plugged, s.st.Call, s.call, s.regN, s.textMode = true, CallIdle, nil, map[string]int{}, false
	if s.pin != "" && s.st.SIM == at.SIMReady {
		s.st.SIM = at.SIMPIN
	}
	s.notify()
	p.wg.Add(2)
	go s.readAT(p)
	go s.readAudio(p)
	return nil
}

func relink(link, target string) error {
	tmp := link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("cellsim: link %s: %w", link, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cellsim: link %s: %w", link, err)
	}
	return nil
}

func (p *plug) close() {
	for _, f := range []*os.File{p.atM, p.atS, p.auM, p.auS} {
		if f != nil {
			f.Close()
		}
	}
}

// Unplug removes both ports: links gone, ptys closed (the host sees EIO),
// every goroutine stopped. No-op when unplugged.
func (s *Sim) Unplug() {
	s.mu.Lock()
	p := s.p
	if p == nil {
		s.mu.Unlock()
		return
	}
	s.p, s.call = nil, nil
	s.st.Plugged, s.st.Call = false, CallIdle
	s.notify()
	s.mu.Unlock()

	os.Remove(s.ATPath())
	os.Remove(s.AudioPath())
	close(p.stop)
	s.wmu.Lock()
	p.close()
	s.wmu.Unlock()
	p.wg.Wait()
}

// Close unplugs for good. It is idempotent and returns after every
// goroutine has exited.
func (s *Sim) Close() error {
	s.Unplug()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// send writes lines as the module does ("\r\n" line "\r\n" each) to the
// AT port of p; errors (an unplug under way) are dropped.
func (s *Sim) send(p *plug, lines ...string) {
	if p == nil || len(lines) == 0 {
		return
	}
	var b strings.Builder
	for _, l := range lines {
		if l == "> " {
			b.WriteString("\r\n> ")
			continue
		}
		b.WriteString("\r\n" + l + "\r\n")
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	p.atM.Write([]byte(b.String()))
}

// SetSIM sets the SIM state (at.SIMAbsent pulls it out).
func (s *Sim) SetSIM(st at.SIMState) {
	s.mu.Lock()
	s.st.SIM = st
	s.tries = 0
	s.notify()
	s.mu.Unlock()
}

// SetRegistration changes the registration and access technology and
// sends +CREG/+CEREG URCs as the host enabled them.
func (s *Sim) SetRegistration(stat at.RegStat, act int) {
	s.mu.Lock()
	s.st.Reg, s.st.AcT = stat, act
	var urcs []string
	for _, cmd := range []string{"CREG", "CEREG"} {
		if n := s.regN[cmd]; n > 0 {
			urcs = append(urcs, s.regLine(cmd, n, false))
		}
	}
	p := s.p
	s.notify()
	s.mu.Unlock()
	s.send(p, urcs...)
}

// SetSignal sets the +CSQ rssi (0-31, 99 unknown).
func (s *Sim) SetSignal(rssi int) {
	s.mu.Lock()
	s.st.RSSI = rssi
	s.notify()
	s.mu.Unlock()
}

// SetOperator sets the +COPS operator name.
func (s *Sim) SetOperator(name string) {
	s.mu.Lock()
	s.st.Operator = name
	s.notify()
	s.mu.Unlock()
}

// SetSMSError makes every message the host sends fail with
// "+CMS ERROR: <cms>" (0 clears it), as a full service centre or a
// barred SIM does.
func (s *Sim) SetSMSError(cms int) {
	s.mu.Lock()
	s.smsErr = cms
	s.mu.Unlock()
}

// SetDialOutcome sets what the far end does on the next dials.
func (s *Sim) SetDialOutcome(o Outcome) {
	s.mu.Lock()
	s.outcome = o
	s.mu.Unlock()
}

// registered reports the effective registration; mu is held.
func (s *Sim) registered() at.RegStat {
	if s.st.SIM != at.SIMReady {
		return at.RegNotSearching
	}
	return s.st.Reg
}

// regLine formats a +CREG/+CEREG read response (read) or URC; mu is held.
func (s *Sim) regLine(cmd string, n int, read bool) string {
	stat := s.registered()
	line := fmt.Sprintf("+%s: %d", cmd, stat)
	if read {
		line = fmt.Sprintf("+%s: %d,%d", cmd, n, stat)
	}
	if n >= 2 && stat.Registered() {
		line += fmt.Sprintf(`,"%04X","%07X",%d`, 0xD509, 0x80D413D, s.st.AcT)
	}
	return line
}
