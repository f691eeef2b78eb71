// Package serialport is the serial backend of the modem line: it opens a
// tty by path (which may be a /dev/serial/by-id symlink) with
// go.bug.st/serial, applies baud rate, parity, stop bits and flow control,
// drops DTR for a hard hang-up, and turns the ways a USB serial device
// vanishes (EIO, ENXIO, hang-up EOF, path gone) into ErrGone.
package serialport

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"
)

// Errors. Open and the Port methods wrap them with the device path.
var (
	// ErrNotFound: the path does not exist (device not plugged in).
	ErrNotFound = errors.New("serialport: no such device")
	// ErrGone: the device vanished while open (unplugged, hung up).
	ErrGone = errors.New("serialport: device gone")
	// ErrMode: the requested settings are invalid or were refused.
	ErrMode = errors.New("serialport: bad port settings")
)

// Parity of each character.
type Parity int

// Parity values.
const (
	ParityNone Parity = iota
	ParityOdd
	ParityEven
)

// Flow is the flow control method.
type Flow int

// Flow control values.
const (
	FlowNone Flow = iota
	FlowRTSCTS
	FlowXONXOFF
)

// Mode holds the port settings. The zero value means 115200 8N1 without
// flow control.
type Mode struct {
	Baud     int // default 115200
	DataBits int // 5-8, default 8
	Parity   Parity
	StopBits int // 1 or 2, default 1
	Flow     Flow
}

// ParseParity parses "none", "odd", "even" (also "n", "o", "e").
func ParseParity(s string) (Parity, error) {
	switch strings.ToLower(s) {
	case "", "none", "n":
		return ParityNone, nil
	case "odd", "o":
		return ParityOdd, nil
	case "even", "e":
		return ParityEven, nil
	}
	return 0, fmt.Errorf("parity %q: %w: want none, odd or even", s, ErrMode)
}

// ParseFlow parses "none", "rtscts" (also "hardware"), "xonxoff" (also
// "software").
func ParseFlow(s string) (Flow, error) {
	switch strings.ToLower(s) {
	case "", "none":
		return FlowNone, nil
	case "rtscts", "hardware", "rts/cts":
		return FlowRTSCTS, nil
	case "xonxoff", "software", "xon/xoff":
		return FlowXONXOFF, nil
	}
	return 0, fmt.Errorf("flow control %q: %w: want none, rtscts or xonxoff", s, ErrMode)
}

func (m Mode) withDefaults() Mode {
	if m.Baud == 0 {
		m.Baud = 115200
	}
	if m.DataBits == 0 {
		m.DataBits = 8
	}
	if m.StopBits == 0 {
		m.StopBits = 1
	}
	return m
}

func (m Mode) serialMode() (*serial.Mode, error) {
	// No InitialStatusBits: the kernel raises DTR and RTS on open of a
	// real UART, and pseudo-terminals refuse modem-bit ioctls (ENOTTY),
	// which would make the whole open fail.
	sm := &serial.Mode{BaudRate: m.Baud, DataBits: m.DataBits}
	switch m.Parity {
	case ParityNone:
		sm.Parity = serial.NoParity
	case ParityOdd:
		sm.Parity = serial.OddParity
	case ParityEven:
		sm.Parity = serial.EvenParity
	default:
		return nil, fmt.Errorf("parity %d: %w", m.Parity, ErrMode)
	}
	switch m.StopBits {
	case 1:
		sm.StopBits = serial.OneStopBit
	case 2:
		sm.StopBits = serial.TwoStopBits
	default:
		return nil, fmt.Errorf("stop bits %d: %w", m.StopBits, ErrMode)
	}
	if m.Baud < 0 || m.DataBits < 5 || m.DataBits > 8 {
		return nil, fmt.Errorf("baud %d, data bits %d: %w", m.Baud, m.DataBits, ErrMode)
	}
	if m.Flow < FlowNone || m.Flow > FlowXONXOFF {
		return nil, fmt.Errorf("flow %d: %w", m.Flow, ErrMode)
	}
	return sm, nil
}

// Port is an open serial device. Read and Write may be called from
// different goroutines (one each); Close may be called from any goroutine,
// makes a blocked Read return, and is idempotent.
type Port struct {
	path string
	p    serial.Port
	raw  *rawIO // second descriptor: reads, writes, flow control (see Open)
	rdev uint64 // device number of the tty opened

	closeOnce sync.Once
	closeErr  error
}

// Open opens path with mode m. A missing path gives an error wrapping
// ErrNotFound.
func Open(path string, m Mode) (*Port, error) {
	m = m.withDefaults()
	sm, err := m.serialMode()
	if err != nil {
		return nil, fmt.Errorf("open line %q: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open line %q: %w", path, ErrNotFound)
		}
		return nil, fmt.Errorf("open line %q: %w", path, err)
	}
	// A second descriptor of the tty, opened before serial.Open (which
	// then takes exclusive access, TIOCEXCL), serves two purposes:
	//
	// Reads and writes. go.bug.st/serial's Read blocks its thread in
	// select(2); each one that starts while the daemon is idle wakes the
	// Go runtime's sysmon, which then polls every 20 µs for a while.
	// During a voice call that is once per 20 ms frame, and it was most of
	// the daemon's CPU (BenchmarkGatewayCall: 56 ms/s per call; 20 ms/s
	// reading through this non-blocking descriptor, which Go's netpoller
	// waits on with the thread parked; less again with raw system calls on
	// it, and with the poller watching it for readable only, see rawIO).
	// The library still opens and configures (mode, DTR, exclusive
	// access).
	//
	// Flow control. go.bug.st/serial has no setting for it and clears
	// CRTSCTS on open; termios belongs to the tty, not to the descriptor,
	// so it is set here afterwards, and Close switches it off and flushes
	// output through this descriptor so that a Write blocked by a peer
	// that never raises CTS returns instead of holding Close forever.
	side, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open line %q: %w", path, mapErr(&os.PathError{Op: "open", Path: path, Err: err}))
	}
	p, err := serial.Open(path, sm)
	if err != nil {
		unix.Close(side)
		return nil, fmt.Errorf("open line %q: %w", path, mapErr(err))
	}
	if m.Flow != FlowNone {
		if err := setFlow(side, m.Flow); err != nil {
			p.Close()
			unix.Close(side)
			return nil, fmt.Errorf("open line %q: flow control: %v: %w", path, err, ErrMode)
		}
	}
	raw, err := newRawIO(side, path)
	if err != nil {
		p.Close()
		unix.Close(side)
		return nil, fmt.Errorf("open line %q: %w", path, err)
	}
	return &Port{path: path, p: p, raw: raw, rdev: uint64(st.Rdev)}, nil
}

func setFlow(fd int, f Flow) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	switch f {
	case FlowNone:
		t.Cflag &^= unix.CRTSCTS
		t.Iflag &^= unix.IXON | unix.IXOFF | unix.IXANY
	case FlowRTSCTS:
		t.Cflag |= unix.CRTSCTS
		t.Iflag &^= unix.IXON | unix.IXOFF | unix.IXANY
	case FlowXONXOFF:
		t.Cflag &^= unix.CRTSCTS
		t.Iflag |= unix.IXON | unix.IXOFF
		t.Iflag &^= unix.IXANY
	}
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// mapErr turns the errno values of a vanished USB device, and the hang-up
// EOF of a tty, into ErrGone.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var pe *serial.PortError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w (%v)", ErrNotFound, err)
	case errors.Is(err, syscall.EIO), errors.Is(err, syscall.ENXIO), errors.Is(err, syscall.ENODEV),
		errors.Is(err, io.EOF), errors.Is(err, syscall.EBADF):
		return fmt.Errorf("%w (%v)", ErrGone, err)
	case errors.As(err, &pe) && pe.Code() == serial.PortClosed:
		return fmt.Errorf("%w (%v)", ErrGone, err)
	}
	return err
}

// Path returns the path the port was opened by.
func (p *Port) Path() string { return p.path }

// Read reads from the device; a vanished device gives an error wrapping
// ErrGone.
func (p *Port) Read(b []byte) (int, error) {
	n, err := p.raw.read(b)
	if err != nil {
		return n, fmt.Errorf("read line %q: %w", p.path, mapErr(err))
	}
	return n, nil
}

// Write writes to the device; a vanished device gives an error wrapping
// ErrGone.
func (p *Port) Write(b []byte) (int, error) {
	n, err := p.raw.write(b)
	if err != nil {
		return n, fmt.Errorf("write line %q: %w", p.path, mapErr(err))
	}
	return n, nil
}

// SetDTR drives DTR. Pseudo-terminals have no modem lines and return an
// error (ENOTTY/EINVAL).
func (p *Port) SetDTR(on bool) error {
	if err := p.p.SetDTR(on); err != nil {
		return fmt.Errorf("set DTR on line %q: %w", p.path, mapErr(err))
	}
	return nil
}

// Check reports ErrGone when the path no longer exists or now names a
// different device than the one opened (replugged as another tty).
func (p *Port) Check() error {
	var st unix.Stat_t
	if err := unix.Stat(p.path, &st); err != nil {
		return fmt.Errorf("line %q: %w (%v)", p.path, ErrGone, err)
	}
	if uint64(st.Rdev) != p.rdev {
		return fmt.Errorf("line %q: %w (now another device)", p.path, ErrGone)
	}
	return nil
}

// Close closes the device; later calls return the first result.
func (p *Port) Close() error {
	p.closeOnce.Do(func() {
		p.raw.control(func(fd int) error {
			setFlow(fd, FlowNone)
			return unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCOFLUSH)
		})
		p.raw.close() // wakes a Read or Write waiting in the netpoller
		p.closeErr = p.p.Close()
	})
	return p.closeErr
}
