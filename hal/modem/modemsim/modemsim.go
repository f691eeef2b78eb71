// Package modemsim simulates a modem or ISDN terminal adapter on a
// pseudo-terminal, speaking a modem.Profile's dialect, so that the real
// engine and the real serial backend can be exercised without hardware:
// by the integration tests and at runtime by the daemon's sim board
// ("lifeline sim line down" calls SetLine(false)).
//
// The simulated device appears at Path(), a symlink in the directory given
// to New that points at the pty's slave (/dev/pts/N), as a
// /dev/serial/by-id link points at /dev/ttyUSB0. Unplug removes the link
// and closes the pty, so the reader on the other side sees EIO/hang-up;
// Replug creates a new pty and points the same link at it.
package modemsim

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"lifeline/hal/clock"
	"lifeline/hal/modem"
)

// Fault is a set of scriptable misbehaviours.
type Fault uint

// Faults. Combine with |; SetFault(0) clears them. A dead line (no dial
// tone) is SetLine(false), slow replies SetDelay, unplug Unplug.
const (
	FaultBusy     Fault = 1 << iota // dialling a number answers BUSY
	FaultNoAnswer                   // dialling a number answers NO ANSWER
	FaultGarbage                    // every reply is preceded by line noise
	FaultMute                       // commands are never answered
)

// Errors.
var (
	ErrUnplugged = errors.New("modemsim: unplugged")
	ErrClosed    = errors.New("modemsim: closed")
)

// Option configures a Sim.
type Option func(*Sim)

// WithClock sets the clock used for reply delays and caller ID date/time.
func WithClock(c clock.Clock) Option { return func(s *Sim) { s.clk = c } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Sim) { s.log = l } }

// WithLinkName names the symlink inside dir (default "modem").
func WithLinkName(n string) Option { return func(s *Sim) { s.linkName = n } }

// garbage is sent before replies under FaultGarbage: binary noise and a
// partial line.
var garbage = []byte("\x00\xff~}\x7f#NOISE\xfe")

// Sim is a simulated modem. All methods are safe for concurrent use; mu
// guards the modem state, wmu serialises writes to the pty. Each plugged
// period has one serving goroutine, stopped by Unplug and Close, which wait
// for it.
type Sim struct {
	dir, linkName string
	prof          *modem.Profile
	clk           clock.Clock
	log           *slog.Logger

	mu       sync.Mutex
	lineUp   bool
	faults   Fault
	delay    time.Duration
	echo     bool
	numeric  bool
	inCall   bool
	master   *os.File
	slave    *os.File
	stop     chan struct{}
	plugged  bool
	closed   bool
	commands []string

	wmu sync.Mutex
	wg  sync.WaitGroup
}

// New creates the simulated device in dir (which must exist) and plugs it
// in: Path() exists when New returns. The line starts up.
func New(dir string, p *modem.Profile, opts ...Option) (*Sim, error) {
	if p == nil {
		return nil, fmt.Errorf("modemsim: nil profile")
	}
	s := &Sim{dir: dir, linkName: "modem", prof: p, clk: clock.Real(), lineUp: true, echo: true}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.Replug(); err != nil {
		return nil, err
	}
	return s, nil
}

// Path is the device path a Line opens: a symlink to the current pty.
func (s *Sim) Path() string { return filepath.Join(s.dir, s.linkName) }

// SetLine connects (true) or disconnects (false) the telephone line. With
// the line down, dial-tone checks and dialling answer NO DIALTONE.
func (s *Sim) SetLine(up bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lineUp = up
	if !up {
		s.inCall = false
	}
}

// LineUp reports whether the line is connected.
func (s *Sim) LineUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lineUp
}

// SetFault replaces the active faults.
func (s *Sim) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// SetDelay makes every reply wait d (on the Sim's clock) before it is sent.
func (s *Sim) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// InCall reports whether the simulated modem is off hook in a call.
func (s *Sim) InCall() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inCall
}

// Commands returns the commands received so far.
func (s *Sim) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// Plugged reports whether the device is present.
func (s *Sim) Plugged() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.plugged
}

// Unplug removes the device: the link disappears, the pty is closed (the
// other side reads EIO or hang-up), the serving goroutine exits. Unplug
// waits for it and is a no-op when already unplugged.
func (s *Sim) Unplug() {
	s.mu.Lock()
	if !s.plugged {
		s.mu.Unlock()
		return
	}
	s.plugged = false
	master, slave, stop := s.master, s.slave, s.stop
	s.master, s.slave = nil, nil
	s.inCall = false
	s.mu.Unlock()

	os.Remove(s.Path())
	close(stop)
	s.wmu.Lock()
	master.Close()
	slave.Close()
	s.wmu.Unlock()
	s.wg.Wait()
}

// Replug plugs a new device in: a fresh pty, the same link path. The modem
// comes back in its power-on state (echo on, verbose); line and faults
// stay as set. No-op when plugged.
func (s *Sim) Replug() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.plugged {
		return nil
	}
	master, slave, err := OpenPTY()
	if err != nil {
		return err
	}
	tmp := s.Path() + ".new"
	os.Remove(tmp)
	if err := os.Symlink(slave.Name(), tmp); err != nil {
		master.Close()
		slave.Close()
		return fmt.Errorf("modemsim: link %s: %w", s.Path(), err)
	}
	if err := os.Rename(tmp, s.Path()); err != nil {
		os.Remove(tmp)
		master.Close()
		slave.Close()
		return fmt.Errorf("modemsim: link %s: %w", s.Path(), err)
	}
	s.master, s.slave = master, slave
	s.stop = make(chan struct{})
	s.plugged = true
	s.echo, s.numeric, s.inCall = true, false, false
	s.wg.Add(1)
	go s.serve(master, s.stop)
	s.log.Debug("modemsim: plugged", "path", s.Path(), "pty", slave.Name())
	return nil
}

// Close unplugs the device for good and waits for the serving goroutine.
// Idempotent.
func (s *Sim) Close() error {
	s.Unplug()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// Ring signals an incoming call with callerID ("" for none) in the
// profile's caller ID format: two RINGs with caller ID between or with
// them.
func (s *Sim) Ring(callerID string) error {
	s.mu.Lock()
	if !s.plugged {
		s.mu.Unlock()
		return ErrUnplugged
	}
	master, numeric := s.master, s.numeric
	now := s.clk.Now()
	s.mu.Unlock()

	ring := s.format(numeric, "RING")
	var b strings.Builder
	switch s.prof.CallerID {
	case modem.CallerIDRingSuffix:
		r := "RING"
		if callerID != "" {
			r += ";" + callerID
		}
		b.WriteString(s.format(numeric, r))
		b.WriteString(s.format(numeric, r))
	case modem.CallerIDCLIP:
		for i := 0; i < 2; i++ {
			b.WriteString(ring)
			if callerID != "" {
				b.WriteString(s.format(false, fmt.Sprintf("+CLIP: %q,129", callerID)))
			}
		}
	default: // vcid
		b.WriteString(ring)
		if callerID != "" {
			b.WriteString(s.format(false, "DATE = "+now.Format("0102")))
			b.WriteString(s.format(false, "TIME = "+now.Format("1504")))
			b.WriteString(s.format(false, "NMBR = "+callerID))
		}
		b.WriteString(ring)
	}
	return s.write(master, b.String())
}

// HangupRemote simulates the far end hanging up: NO CARRIER while in a call.
func (s *Sim) HangupRemote() error {
	s.mu.Lock()
	if !s.plugged {
		s.mu.Unlock()
		return ErrUnplugged
	}
	master, numeric := s.master, s.numeric
	s.inCall = false
	s.mu.Unlock()
	return s.write(master, s.format(numeric, "NO CARRIER"))
}

var numericCodes = map[string]string{
	"OK": "0", "CONNECT": "1", "RING": "2", "NO CARRIER": "3", "ERROR": "4",
	"NO DIALTONE": "6", "BUSY": "7", "NO ANSWER": "8",
	"CALL SENT": "252", "ALERTING": "253", "CONNECTING": "254",
}

// format renders a result code in verbose (<cr><lf>text<cr><lf>) or
// numeric (code<cr>) form (V.250 5.7.1).
func (s *Sim) format(numeric bool, text string) string {
	if numeric {
		base, rest, hasRest := strings.Cut(text, ";")
		key := base
		if strings.HasPrefix(base, "CONNECT") {
			key = "CONNECT"
		}
		if n, ok := numericCodes[key]; ok {
			if hasRest {
				n += ";" + rest
			}
			return n + "\r"
		}
	}
	return "\r\n" + text + "\r\n"
}

func (s *Sim) write(master *os.File, text string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := master.Write([]byte(text))
	if err != nil {
		return fmt.Errorf("modemsim %s: %w", s.Path(), err)
	}
	return nil
}

func (s *Sim) serve(master *os.File, stop chan struct{}) {
	defer s.wg.Done()
	buf := make([]byte, 256)
	var line []byte
	for {
		n, err := master.Read(buf)
		for _, c := range buf[:n] {
			if c == '\n' {
				continue
			}
			if c != '\r' {
				if len(line) < 256 {
					line = append(line, c)
				}
				continue
			}
			cmd := strings.TrimSpace(string(line))
			line = line[:0]
			if cmd == "" {
				continue
			}
			if !s.handle(master, stop, cmd) {
				return
			}
		}
		if err != nil {
			select {
			case <-stop:
				return
			default:
			}
			// EIO while no slave is open cannot happen: the Sim holds
			// the slave open until Unplug. Anything else ends serving.
			s.log.Warn("modemsim: read", "path", s.Path(), "err", err)
			return
		}
	}
}

// handle answers one command line; false means stop serving.
func (s *Sim) handle(master *os.File, stop chan struct{}, cmd string) bool {
	s.mu.Lock()
	s.commands = append(s.commands, cmd)
	echo := s.echo
	reply := s.answer(cmd)
	numeric, faults, delay := s.numeric, s.faults, s.delay
	s.mu.Unlock()

	if echo && s.write(master, cmd+"\r") != nil {
		return false
	}
	if faults&FaultMute != 0 || len(reply) == 0 {
		return true
	}
	var out strings.Builder
	if faults&FaultGarbage != 0 {
		out.Write(garbage)
	}
	for _, r := range reply {
		out.WriteString(s.format(numeric, r))
	}
	if delay > 0 {
		t := s.clk.NewTimer(delay)
		select {
		case <-t.C():
		case <-stop:
			t.Stop()
			return false
		}
	}
	return s.write(master, out.String()) == nil
}

// answer interprets cmd and returns the result codes to send. Caller holds
// s.mu.
func (s *Sim) answer(cmd string) []string {
	u := strings.ToUpper(cmd)
	if !strings.HasPrefix(u, "AT") {
		return nil // not a command: real modems stay silent
	}
	body := u[2:]
	if strings.HasPrefix(body, "D") {
		return s.dial(strings.TrimSpace(body[1:]))
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '+' || c == '#' || c == '$' || c == '%' {
			break // extended syntax to the end of the line
		}
		if c == '&' || c == '\\' || c == '*' {
			i++
			continue
		}
		var d byte = '0'
		if i+1 < len(body) && body[i+1] >= '0' && body[i+1] <= '9' {
			d = body[i+1]
		}
		switch c {
		case 'E':
			s.echo = d == '1'
		case 'V':
			s.numeric = d == '0'
		case 'Z':
			s.echo, s.numeric, s.inCall = true, false, false
		case 'H':
			s.inCall = false
		}
	}
	return []string{"OK"}
}

func (s *Sim) dial(arg string) []string {
	arg = strings.TrimLeft(arg, "TP")
	voice := strings.HasSuffix(arg, ";")
	number := strings.TrimSpace(strings.TrimSuffix(arg, ";"))
	if !s.lineUp {
		return []string{"NO DIALTONE"}
	}
	if number == "" {
		return []string{"OK"} // dial-tone check: off hook, tone present, back to command state
	}
	switch {
	case s.faults&FaultBusy != 0:
		return []string{"BUSY"}
	case s.faults&FaultNoAnswer != 0:
		return []string{"NO ANSWER"}
	}
	s.inCall = true
	if voice {
		return []string{"OK"}
	}
	if s.prof.CallerID == modem.CallerIDRingSuffix { // ELSA TanGo call progress
		return []string{"CALL SENT", "ALERTING", "CONNECT 64000/ISDN"}
	}
	return []string{"CONNECT"}
}

// OpenPTY opens a pseudo-terminal pair for a simulated device: the slave
// in raw mode (nothing written to the master is echoed back by the line
// discipline before the device is opened), the master non-blocking and
// registered with the runtime poller, so that Close makes a pending Read
// return (a blocking *os.File would keep the descriptor until Read ends).
func OpenPTY() (master, slave *os.File, err error) {
	master, slave, err = openPTY()
	if err != nil {
		return nil, nil, fmt.Errorf("modemsim: open pty: %w", err)
	}
	if err := makeRaw(int(slave.Fd())); err != nil {
		master.Close()
		slave.Close()
		return nil, nil, fmt.Errorf("modemsim: raw mode on %s: %w", slave.Name(), err)
	}
	return master, slave, nil
}

// openPTY opens the pair of OpenPTY, the master made non-blocking: /dev/ptmx,
// then unlockpt (TIOCSPTLCK) and ptsname (TIOCGPTN) as posix_openpt(3) and
// its companions do. (creack/pty's Open does the same, but that package
// links os/exec, about 40 KB, into the product binary for the sim board.)
func openPTY() (master, slave *os.File, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, &os.PathError{Op: "open", Path: "/dev/ptmx", Err: err}
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx") // non-blocking: on the runtime poller
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("ptsname: %w", err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// makeRaw puts the tty into raw mode (cfmakeraw).
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
