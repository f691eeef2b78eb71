package modemsim

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/voice"
)

// Answer is how the simulated far end reacts to a voice call.
type Answer int

// Far-end behaviours for ATD in voice mode (AT+FCLASS=8).
const (
	AnswerAfterRings Answer = iota // VCON after the scripted rings
	AnswerBusy                     // BUSY after one ring period
	AnswerNever                    // NO ANSWER after twice the scripted rings
)

// Playback is what the far end sends while the DTE receives (AT+VRX,
// AT+VTR).
type Playback int

// Playbacks.
const (
	// PlayEcho: in full duplex (AT+VTR) every byte heard is sent straight
	// back; in receive (AT+VRX) the audio of the last transmit (AT+VTX) is
	// played, then silence.
	PlayEcho Playback = iota
	// PlayTone: a sine tone (VoiceTone, default 1000 Hz) at -12 dBFS.
	PlayTone
	// PlayEchoPaced: in full duplex the far end echoes through a queue
	// that the modem's 20 ms clock drains one whole frame at a time,
	// sending silence while less than a frame is queued, so the DTE gets
	// a continuous stream as from a real modem (the bridge is paced by it).
	PlayEchoPaced
)

// DefaultVoiceFormats is the simulator's AT+VSM table: compression method
// numbers are manufacturer specific, these are the simulator's own (1 is
// the Conexant "UNSIGNED PCM" default).
var DefaultVoiceFormats = map[int]voice.Format{
	1: voice.FormatLinear8U, 4: voice.FormatULaw, 5: voice.FormatALaw, 129: voice.FormatLinear16,
}

// VoiceOption configures a VoiceSim.
type VoiceOption func(*VoiceSim)

// VoiceClock sets the clock for ring cadence and play-out pacing.
func VoiceClock(c clock.Clock) VoiceOption { return func(s *VoiceSim) { s.clk = c } }

// VoiceLogger sets the logger.
func VoiceLogger(l *slog.Logger) VoiceOption { return func(s *VoiceSim) { s.log = l } }

// VoiceLinkName names the symlink inside dir (default "voicemodem").
func VoiceLinkName(n string) VoiceOption { return func(s *VoiceSim) { s.linkName = n } }

// VoiceRings scripts the far end: it answers after n rings of the given
// period (default 2 rings of 5 s, the European cadence).
func VoiceRings(n int, period time.Duration) VoiceOption {
	return func(s *VoiceSim) { s.rings, s.ringPeriod = n, period }
}

// VoiceFormats replaces the AT+VSM table.
func VoiceFormats(m map[int]voice.Format) VoiceOption { return func(s *VoiceSim) { s.formats = m } }

// VoiceTone sets the PlayTone frequency in Hz.
func VoiceTone(hz float64) VoiceOption { return func(s *VoiceSim) { s.toneHz = hz } }

// Voice data states.
const (
	modeCommand  = "command"
	modeTransmit = "transmit" // AT+VTX: the DTE plays to the line
	modeReceive  = "receive"  // AT+VRX: the DTE records the line
	modeDuplex   = "duplex"   // AT+VTR: both
)

// maxRecord bounds the audio a VoiceSim keeps from one transmit.
const maxRecord = 1 << 20

// VoiceSim is a V.253 voice modem on a pseudo-terminal with a scripted far
// end: AT+FCLASS=8 (voice mode), AT+VSM (sample format), AT+VLS (line
// select), ATD (VCON after the scripted rings, BUSY, NO ANSWER, NO
// DIALTONE), incoming calls (Ring: RING and caller ID on a cadence until
// ATA answers VCON, StopRinging or RingCount), AT+VTX / AT+VRX / AT+VTR
// with DLE-shielded audio (the far end echoes or plays a tone), <DLE>! and
// <DLE><ETX> to stop, and far-end busy and hang-up on cue. Result codes
// are verbose (ATV1) only.
//
// It is a separate type from Sim (whose serving loop is line based) and
// shares its pty handling. One goroutine per plugged period owns the
// protocol state and every write of the data states; a second reads the
// pty. mu guards the state (the setters and queries below take it), wmu
// orders writes; lock order mu then wmu. Close stops both goroutines and
// waits; it is idempotent. All methods are safe for concurrent use.
type VoiceSim struct {
	dir, linkName string
	clk           clock.Clock
	log           *slog.Logger
	rings         int
	ringPeriod    time.Duration
	formats       map[int]voice.Format
	toneHz        float64

	mu       sync.Mutex
	master   *os.File
	slave    *os.File
	stop     chan struct{}
	closed   bool
	lineUp   bool
	answer   Answer
	playback Playback
	echo     bool
	fclass   int
	vsm      int
	vls      int
	mode     string
	inCall   bool
	dialing  bool
	dialSemi bool // the dial ended in ';': OK was sent, the outcome follows unsolicited
	ringsOut int  // ring periods elapsed while dialing
	record   []byte
	playPos  int
	phase    uint64
	commands []string
	dteCodes []byte // <DLE> codes the DTE sent in data states
	events   []byte // <DLE> codes SendEvent reported to the DTE
	unsh     voice.Unshielder
	incoming bool        // an incoming call is ringing (Ring)
	caller   string      // its caller ID
	ringCfg  ringConfig  // its cadence and format
	ringsIn  int         // RINGs sent for it
	ringIn   clock.Timer // the next RING; used under mu, read by the loop

	wmu       sync.Mutex
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// NewVoice creates the simulated voice modem in dir and plugs it in: Path()
// exists when NewVoice returns. The line is up; the far end answers after
// the scripted rings and echoes.
func NewVoice(dir string, opts ...VoiceOption) (*VoiceSim, error) {
	s := &VoiceSim{dir: dir, linkName: "voicemodem", clk: clock.Real(), rings: 2, ringPeriod: 5 * time.Second,
		formats: DefaultVoiceFormats, toneHz: 1000, lineUp: true}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	master, slave, err := OpenPTY()
	if err != nil {
		return nil, err
	}
	os.Remove(s.Path())
	if err := os.Symlink(slave.Name(), s.Path()); err != nil {
		master.Close()
		slave.Close()
		return nil, fmt.Errorf("modemsim: link %s: %w", s.Path(), err)
	}
	s.master, s.slave, s.stop = master, slave, make(chan struct{})
	s.ringIn = s.clk.NewTimer(time.Hour)
	s.ringIn.Stop()
	s.reset()
	s.wg.Add(2)
	in := make(chan []byte)
	go s.readPTY(master, s.stop, in)
	go s.loop(master, s.stop, in)
	return s, nil
}

// Path is the device path: a symlink to the pty.
func (s *VoiceSim) Path() string { return filepath.Join(s.dir, s.linkName) }

// Close removes the device and waits for its goroutines. Idempotent.
func (s *VoiceSim) Close() error {
	s.closeOnce.Do(func() {
		// The master first, under neither mu nor wmu: the loop writes
		// under both, and its write blocks on a DTE that stopped reading
		// (a test's cleanup that closed the line before the simulator).
		// Closing the poller-registered master ends that write.
		s.master.Close()
		s.mu.Lock()
		s.closed = true
		s.incoming = false
		s.ringIn.Stop()
		close(s.stop)
		s.mu.Unlock()
		os.Remove(s.Path())
		s.slave.Close()
		s.wg.Wait()
	})
	return nil
}

// SetLine connects or disconnects the line (NO DIALTONE when down).
func (s *VoiceSim) SetLine(up bool) { s.mu.Lock(); s.lineUp = up; s.mu.Unlock() }

// SetAnswer sets how the far end reacts to the next dial.
func (s *VoiceSim) SetAnswer(a Answer) { s.mu.Lock(); s.answer = a; s.mu.Unlock() }

// SetRings scripts the far end for the next dial as VoiceRings does.
func (s *VoiceSim) SetRings(n int, period time.Duration) {
	s.mu.Lock()
	s.rings, s.ringPeriod = n, period
	s.mu.Unlock()
}

// SetPlayback sets what the far end sends.
func (s *VoiceSim) SetPlayback(p Playback) { s.mu.Lock(); s.playback = p; s.mu.Unlock() }

// Format returns the sample format AT+VSM selected.
func (s *VoiceSim) Format() voice.Format {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.formats[s.vsm]
}

// Mode returns "command", "transmit", "receive" or "duplex".
func (s *VoiceSim) Mode() string { s.mu.Lock(); defer s.mu.Unlock(); return s.mode }

// InCall reports whether a voice call is up (the far end answered and has
// not hung up, and the DTE has not sent ATH).
func (s *VoiceSim) InCall() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.inCall }

// VLS returns the line selected by AT+VLS.
func (s *VoiceSim) VLS() int { s.mu.Lock(); defer s.mu.Unlock(); return s.vls }

// Recorded returns a copy of the audio heard in the last transmit or
// full-duplex period.
func (s *VoiceSim) Recorded() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.record...)
}

// Commands returns the command lines received so far.
func (s *VoiceSim) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// StreamCommands returns the <DLE> codes the DTE sent in data states so
// far ('!' for <DLE>!, ETX for <DLE><ETX>, ...), in order.
func (s *VoiceSim) StreamCommands() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.dteCodes...)
}

// SendEvent puts <DLE><code> into the current receive or full-duplex
// stream, as the modem's tone detectors do. It fails outside those states.
// Events written are kept for EventsSent.
func (s *VoiceSim) SendEvent(code byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode != modeReceive && s.mode != modeDuplex {
		return fmt.Errorf("modemsim %s: event %q outside a receive state (mode %s)", s.Path(), code, s.mode)
	}
	if err := s.writeLocked([]byte{voice.DLE, code}); err != nil {
		return err
	}
	if len(s.events) < 1024 {
		s.events = append(s.events, code)
	}
	return nil
}

// EventsSent returns the codes SendEvent reported to the DTE in a stream
// so far, in order ('7' for <DLE>7).
func (s *VoiceSim) EventsSent() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.events...)
}

// FarEndBusy makes the far end busy: the call ends and, in a receive or
// full-duplex state, the busy tone is reported (<DLE>b).
func (s *VoiceSim) FarEndBusy() error { return s.farEnd(voice.EventBusy) }

// HangupRemote simulates the far end hanging up: the call ends, the echo
// stops and, in a receive or full-duplex state, the modem reports the
// loop current interruption and then the exchange's busy tone (<DLE>l
// <DLE>b). In command state nothing is reported: an analog voice modem
// learns of it only from the line's tones.
func (s *VoiceSim) HangupRemote() error { return s.farEnd(voice.EventLoopInterrupt, voice.EventBusy) }

// EndStream makes the modem leave a receive or full-duplex state on its
// own, as when its inactivity timer (+VIT) expires: <DLE><ETX>, then OK.
func (s *VoiceSim) EndStream() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode != modeReceive && s.mode != modeDuplex {
		return fmt.Errorf("modemsim %s: no stream to end (mode %s)", s.Path(), s.mode)
	}
	s.mode = modeCommand // the loop's tick finds nothing to play
	return s.writeLocked([]byte("\x10\x03\r\nOK\r\n"))
}

func (s *VoiceSim) farEnd(codes ...byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inCall = false
	if s.mode != modeReceive && s.mode != modeDuplex {
		return nil
	}
	var b []byte
	for _, c := range codes {
		b = append(b, voice.DLE, c)
	}
	return s.writeLocked(b)
}

// reset is ATZ and power-on. Caller holds mu or owns s alone.
func (s *VoiceSim) reset() {
	s.echo, s.fclass, s.vsm, s.vls, s.mode = true, 0, 1, 0, modeCommand
	s.inCall, s.dialing = false, false
}

// writeLocked writes to the pty. Caller holds mu.
func (s *VoiceSim) writeLocked(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.master.Write(b); err != nil {
		return fmt.Errorf("modemsim %s: %w", s.Path(), err)
	}
	return nil
}

func (s *VoiceSim) readPTY(master *os.File, stop chan struct{}, in chan<- []byte) {
	defer s.wg.Done()
	defer close(in)
	for {
		buf := make([]byte, 1024)
		n, err := master.Read(buf)
		if n > 0 {
			select {
			case in <- buf[:n]:
			case <-stop:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// voiceLoop is the state the serving goroutine keeps outside mu.
type voiceLoop struct {
	ring, tick clock.Timer
	line       []byte
	aborting   bool // dropping the line whose first character aborted a dial
}

func (s *VoiceSim) loop(master *os.File, stop chan struct{}, in <-chan []byte) {
	defer s.wg.Done()
	l := &voiceLoop{ring: s.clk.NewTimer(time.Hour), tick: s.clk.NewTimer(time.Hour)}
	l.ring.Stop()
	l.tick.Stop()
	defer l.ring.Stop()
	defer l.tick.Stop()
	for {
		select {
		case <-stop:
			return
		case b, ok := <-in:
			if !ok {
				return
			}
			// Timers that fired before these bytes arrived act first, as
			// time would have on a real line: a test that advances the
			// clock and then sends a command sees the command ordered
			// after the ring, whichever channel select would pick.
			s.fired(l)
			s.mu.Lock()
			err := s.input(l, b)
			s.mu.Unlock()
			if err != nil {
				s.log.Debug("modemsim: voice write", "path", s.Path(), "err", err)
				return
			}
		case <-l.ring.C():
			s.rang(l, false)
		case <-s.ringIn.C():
			s.rang(l, true)
		case <-l.tick.C():
			l.tick.Reset(20 * time.Millisecond)
			s.mu.Lock()
			s.play()
			s.mu.Unlock()
		}
	}
}

// fired handles the ring timers that have already fired, without waiting.
func (s *VoiceSim) fired(l *voiceLoop) {
	for {
		select {
		case <-l.ring.C():
			s.rang(l, false)
		case <-s.ringIn.C():
			s.rang(l, true)
		default:
			return
		}
	}
}

// rang handles a fired ring timer: the incoming call's (Ring) or the
// dial's.
func (s *VoiceSim) rang(l *voiceLoop, incoming bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if incoming {
		s.ringTimer()
	} else {
		s.ringed(l)
	}
}

func (s *VoiceSim) result(text string) error { return s.writeLocked([]byte("\r\n" + text + "\r\n")) }

// input handles bytes from the DTE. Caller holds mu.
func (s *VoiceSim) input(l *voiceLoop, b []byte) error {
	for len(b) > 0 {
		if s.mode != modeCommand {
			n, err := s.dataInput(l, b)
			if err != nil {
				return err
			}
			b = b[n:]
			continue
		}
		c := b[0]
		b = b[1:]
		if s.dialing && !s.dialSemi {
			// V.250 6.3.1: any character aborts dialling; the rest of
			// that line is dropped.
			s.dialing, l.aborting = false, c != '\r'
			l.ring.Stop()
			l.line = l.line[:0]
			if err := s.result("NO CARRIER"); err != nil {
				return err
			}
			continue
		}
		if l.aborting {
			l.aborting = c != '\r'
			continue
		}
		if c == '\n' {
			continue
		}
		if c != '\r' {
			if len(l.line) < 256 {
				l.line = append(l.line, c)
			}
			continue
		}
		cmd := commandText(l.line)
		l.line = l.line[:0]
		if cmd == "" {
			continue
		}
		s.commands = append(s.commands, cmd)
		if s.echo {
			if err := s.writeLocked([]byte(cmd + "\r")); err != nil {
				return err
			}
		}
		if err := s.command(l, cmd); err != nil {
			return err
		}
	}
	return nil
}

// commandText finds the command in a line: V.250 5.2.1 has the DCE
// ignore what precedes the "AT" prefix, such as audio the DTE sent after
// a data state had ended. The search starts after the last byte that is
// not printable ASCII.
func commandText(line []byte) string {
	start := 0
	for i, c := range line {
		if c < ' ' || c > '~' {
			start = i + 1
		}
	}
	s := strings.TrimSpace(string(line[start:]))
	if i := strings.Index(strings.ToUpper(s), "AT"); i > 0 {
		s = s[i:]
	}
	return s
}

// command answers one AT command line. Caller holds mu.
func (s *VoiceSim) command(l *voiceLoop, cmd string) error {
	u := strings.ToUpper(cmd)
	if !strings.HasPrefix(u, "AT") {
		return nil
	}
	body := u[2:]
	if strings.HasPrefix(body, "+") {
		return s.extended(l, body[1:])
	}
	if strings.HasPrefix(body, "D") {
		return s.dial(l, strings.TrimSpace(body[1:]))
	}
	if body == "A" {
		return s.answerCall()
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '&' || c == '\\' || c == '#' {
			i++
			continue
		}
		d := byte('0')
		if i+1 < len(body) && body[i+1] >= '0' && body[i+1] <= '9' {
			d = body[i+1]
		}
		switch c {
		case 'E':
			s.echo = d == '1'
		case 'V':
			if d == '0' {
				return s.result("ERROR") // verbose only
			}
		case 'Z':
			l.ring.Stop()
			l.tick.Stop()
			s.reset()
		case 'H':
			l.ring.Stop()
			s.inCall, s.dialing = false, false
		}
	}
	return s.result("OK")
}

func (s *VoiceSim) extended(l *voiceLoop, body string) error {
	name, arg, _ := strings.Cut(body, "=")
	query := strings.HasSuffix(name, "?")
	name = strings.TrimSuffix(name, "?")
	voiceOnly := func() error { return s.result("ERROR") }
	switch name {
	case "FCLASS":
		switch {
		case query:
			return s.lines(strconv.Itoa(s.fclass))
		case arg == "?":
			return s.lines("0,8")
		case arg == "0" || arg == "8":
			s.fclass, _ = strconv.Atoi(arg)
			return s.result("OK")
		}
		return s.result("ERROR")
	case "VSM":
		if s.fclass != 8 {
			return voiceOnly()
		}
		switch {
		case query:
			return s.lines(fmt.Sprintf("%d,8000,0,0", s.vsm))
		case arg == "?":
			var ls []string
			for n, f := range s.formats {
				ls = append(ls, fmt.Sprintf("%d,%q,%d,0,(8000),(0),(0)", n, strings.ToUpper(f.String()), 8*f.BytesPerSample()))
			}
			return s.lines(ls...)
		}
		f := strings.Split(arg, ",")
		n, err := strconv.Atoi(strings.TrimSpace(f[0]))
		if _, ok := s.formats[n]; err != nil || !ok || len(f) > 1 && strings.TrimSpace(f[1]) != "8000" {
			return s.result("ERROR")
		}
		s.vsm = n
		return s.result("OK")
	case "VLS":
		if s.fclass != 8 {
			return voiceOnly()
		}
		if query {
			return s.lines(strconv.Itoa(s.vls))
		}
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 || n > 15 {
			return s.result("ERROR")
		}
		s.vls = n
		return s.result("OK")
	case "VTS", "VCID", "VIP", "VGT", "VGR", "VSD", "VIT", "VRA", "VRN", "VNH":
		return s.result("OK")
	case "VTX", "VRX", "VTR":
		if s.fclass != 8 {
			return voiceOnly()
		}
		s.unsh = voice.Unshielder{}
		switch name {
		case "VTX":
			s.mode, s.record = modeTransmit, s.record[:0]
		case "VRX":
			s.mode, s.playPos = modeReceive, 0
			l.tick.Reset(20 * time.Millisecond)
		case "VTR":
			s.mode, s.record, s.playPos = modeDuplex, s.record[:0], 0
			if s.playback == PlayTone || s.playback == PlayEchoPaced {
				l.tick.Reset(20 * time.Millisecond)
			}
		}
		return s.result("CONNECT")
	}
	return s.result("ERROR")
}

// lines sends information text and OK.
func (s *VoiceSim) lines(info ...string) error {
	var b strings.Builder
	for _, l := range info {
		b.WriteString("\r\n" + l + "\r\n")
	}
	b.WriteString("\r\nOK\r\n")
	return s.writeLocked([]byte(b.String()))
}

func (s *VoiceSim) dial(l *voiceLoop, arg string) error {
	arg = strings.TrimLeft(arg, "TP")
	semi := strings.HasSuffix(arg, ";")
	number := strings.TrimSpace(strings.TrimSuffix(arg, ";"))
	if !s.lineUp {
		return s.result("NO DIALTONE")
	}
	if number == "" {
		return s.result("OK")
	}
	if s.fclass != 8 {
		if semi {
			return s.result("OK")
		}
		return s.result("NO CARRIER")
	}
	s.dialing, s.dialSemi, s.ringsOut = true, semi, 0
	l.ring.Reset(s.ringPeriod)
	if semi {
		return s.result("OK")
	}
	return nil
}

// ringed runs at the end of each ring period while dialling. Caller holds
// mu.
func (s *VoiceSim) ringed(l *voiceLoop) {
	if !s.dialing {
		return
	}
	s.ringsOut++
	out := ""
	switch s.answer {
	case AnswerBusy:
		out = "BUSY"
	case AnswerAfterRings:
		if s.ringsOut >= s.rings {
			out, s.inCall = "VCON", true
		}
	case AnswerNever:
		if s.ringsOut >= 2*max(s.rings, 1) {
			out = "NO ANSWER"
		}
	}
	if out == "" {
		l.ring.Reset(s.ringPeriod)
		return
	}
	s.dialing = false
	if err := s.result(out); err != nil {
		s.log.Debug("modemsim: voice write", "path", s.Path(), "err", err)
	}
}

// dataInput handles DTE bytes in a data state and returns how many it
// used. Caller holds mu.
func (s *VoiceSim) dataInput(l *voiceLoop, b []byte) (int, error) {
	data, used, code, ok := s.unsh.Feed(nil, b)
	if len(data) > 0 && s.mode != modeReceive {
		if len(s.record)+len(data) <= maxRecord {
			s.record = append(s.record, data...)
		}
		if s.mode == modeDuplex && s.playback == PlayEcho && s.inCall {
			if err := s.writeLocked(voice.Shield(nil, data)); err != nil {
				return used, err
			}
		}
	}
	if !ok {
		return used, nil
	}
	if len(s.dteCodes) < 1024 {
		s.dteCodes = append(s.dteCodes, code)
	}
	switch code {
	case voice.CmdEnd, voice.CmdAbort:
		l.tick.Stop()
		var out []byte
		if s.mode != modeTransmit {
			out = append(out, voice.DLE, voice.ETX) // the end of the DCE's stream
		}
		s.mode = modeCommand
		return used, s.writeLocked(append(out, "\r\nOK\r\n"...))
	case voice.CmdCancel:
		s.record = s.record[:0]
	}
	return used, nil
}

// play sends one 20 ms frame in receive or tone full-duplex state. Caller
// holds mu.
func (s *VoiceSim) play() {
	if s.mode != modeReceive && s.mode != modeDuplex {
		return
	}
	f := s.formats[s.vsm]
	frame := make([]byte, 0, f.FrameBytes())
	switch {
	case s.playback == PlayTone && s.inCall:
		var lin [voice.FrameSamples]int16
		for i := range lin {
			lin[i] = ToneSample(s.toneHz, s.phase)
			s.phase++
		}
		frame = f.Encode(frame, lin[:])
	case s.playback == PlayEcho && s.mode == modeReceive && s.inCall && s.playPos < len(s.record):
		n := min(f.FrameBytes(), len(s.record)-s.playPos)
		frame = append(frame, s.record[s.playPos:s.playPos+n]...)
		s.playPos += n
	case s.playback == PlayEchoPaced && s.mode == modeDuplex && s.inCall && len(s.record)-s.playPos >= f.FrameBytes():
		frame = append(frame, s.record[s.playPos:s.playPos+f.FrameBytes()]...)
		s.playPos += f.FrameBytes()
	}
	for len(frame) < cap(frame) {
		frame = append(frame, f.SilenceByte())
	}
	if err := s.writeLocked(voice.Shield(nil, frame)); err != nil {
		s.log.Debug("modemsim: voice write", "path", s.Path(), "err", err)
	}
}

// ToneSample is sample n of the simulator's tone at hz: a sine of
// amplitude 8192 (-12 dBFS) at 8000 samples a second.
func ToneSample(hz float64, n uint64) int16 {
	return int16(math.Round(8192 * math.Sin(2*math.Pi*hz*float64(n)/voice.SampleRate)))
}
