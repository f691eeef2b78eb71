// Package modemtest is the fake beside modem.Port: a scripted modem (a
// table of command → reply lines plus fault switches, after
// warthog618/modem's mock modem) and an Opener that hands such modems to a
// Line, with unplug and replug.
package modemtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"lifeline/hal/modem"
)

// ErrWrite is returned by Write when Faults.ErrorOnWrite is set.
var ErrWrite = errors.New("modemtest: write error")

// Faults are switches that make the modem misbehave.
type Faults struct {
	Mute         bool   // accept commands, never answer
	ErrorOnWrite bool   // Write fails with ErrWrite
	CloseOnWrite bool   // the next Write unplugs the modem
	Garbage      []byte // sent before every reply
	BlockWrite   bool   // Write blocks (a peer holding CTS low) until cleared or closed
	Gone         bool   // Check reports the device gone (path removed) while I/O still works
}

// ErrGone is returned by Check when Faults.Gone is set.
var ErrGone = errors.New("modemtest: device gone")

// Modem is a scripted modem implementing modem.Port. Commands are matched
// case-insensitively against the script; unmatched commands get Default.
// All methods are safe for concurrent use (one mutex guards the state).
type Modem struct {
	mu      sync.Mutex
	script  map[string][]string
	dflt    []string
	echo    bool
	faults  Faults
	out     []byte
	in      []byte
	closed  bool
	cmds    []string
	dtr     []bool
	notify  chan struct{} // buffered 1: output or close happened
	changed chan struct{} // closed and replaced when faults change or the modem closes
	written chan string   // every command, non-blocking, for tests to wait on
}

var (
	_ modem.Port    = (*Modem)(nil)
	_ modem.Checker = (*Modem)(nil)
)

// New returns a modem answering the commands in script (command → reply
// lines, e.g. "ATDT;": {"NO DIALTONE"}); other commands get "OK".
func New(script map[string][]string) *Modem {
	m := &Modem{script: map[string][]string{}, dflt: []string{"OK"},
		notify: make(chan struct{}, 1), written: make(chan string, 256), changed: make(chan struct{})}
	for k, v := range script {
		m.script[strings.ToUpper(k)] = v
	}
	return m
}

// Set replaces the reply to cmd. No lines means no answer.
func (m *Modem) Set(cmd string, reply ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.script[strings.ToUpper(cmd)] = reply
}

// SetDefault sets the reply to unscripted commands.
func (m *Modem) SetDefault(reply ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dflt = reply
}

// SetEcho turns command echo on or off.
func (m *Modem) SetEcho(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.echo = on
}

// SetFaults replaces the fault switches.
func (m *Modem) SetFaults(f Faults) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults = f
	close(m.changed)
	m.changed = make(chan struct{})
}

// Inject sends lines as unsolicited result codes.
func (m *Modem) Inject(lines ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range lines {
		m.out = append(m.out, "\r\n"+l+"\r\n"...)
	}
	m.wake()
}

// InjectRaw sends bytes as they are.
func (m *Modem) InjectRaw(b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.out = append(m.out, b...)
	m.wake()
}

// Commands returns the commands received so far.
func (m *Modem) Commands() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.cmds...)
}

// Written delivers each command as it arrives (buffered; extra commands
// are dropped when nobody reads).
func (m *Modem) Written() <-chan string { return m.written }

// DTR returns the DTR levels set so far, in order.
func (m *Modem) DTR() []bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]bool(nil), m.dtr...)
}

// Unplug makes Read fail with io.EOF and Write with io.ErrClosedPipe, as a
// vanished device does.
func (m *Modem) Unplug() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		close(m.changed)
		m.changed = make(chan struct{})
	}
	m.wake()
}

// Closed reports whether Close or Unplug was called.
func (m *Modem) Closed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

func (m *Modem) wake() {
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// Read returns pending output, blocking until there is some or the modem
// is closed.
func (m *Modem) Read(p []byte) (int, error) {
	for {
		m.mu.Lock()
		if len(m.out) > 0 {
			n := copy(p, m.out)
			m.out = m.out[n:]
			if len(m.out) > 0 {
				m.wake()
			}
			m.mu.Unlock()
			return n, nil
		}
		if m.closed {
			m.mu.Unlock()
			return 0, io.EOF
		}
		m.mu.Unlock()
		<-m.notify
	}
}

// Write takes command bytes; each CR ends a command, which is answered
// from the script.
func (m *Modem) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.faults.BlockWrite && !m.closed {
		ch := m.changed
		m.mu.Unlock()
		<-ch
		m.mu.Lock()
	}
	if m.closed {
		return 0, io.ErrClosedPipe
	}
	if m.faults.ErrorOnWrite {
		return 0, ErrWrite
	}
	if m.faults.CloseOnWrite {
		m.closed = true
		m.wake()
		return 0, io.ErrClosedPipe
	}
	for _, c := range p {
		if c != '\r' {
			m.in = append(m.in, c)
			continue
		}
		cmd := strings.TrimSpace(string(m.in))
		m.in = m.in[:0]
		if cmd == "" {
			continue
		}
		m.cmds = append(m.cmds, cmd)
		select {
		case m.written <- cmd:
		default:
		}
		if m.echo {
			m.out = append(m.out, cmd+"\r"...)
		}
		if m.faults.Mute {
			continue
		}
		reply, ok := m.script[strings.ToUpper(cmd)]
		if !ok {
			reply = m.dflt
		}
		if len(reply) > 0 {
			m.out = append(m.out, m.faults.Garbage...)
		}
		for _, l := range reply {
			m.out = append(m.out, "\r\n"+l+"\r\n"...)
		}
	}
	m.wake()
	return len(p), nil
}

// Check implements modem.Checker: ErrGone when Faults.Gone is set.
func (m *Modem) Check() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.faults.Gone {
		return ErrGone
	}
	return nil
}

// SetDTR records the level.
func (m *Modem) SetDTR(on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dtr = append(m.dtr, on)
	return nil
}

// Close closes the modem; Read returns io.EOF.
func (m *Modem) Close() error {
	m.Unplug()
	return nil
}

// Opener hands plugged-in modems to a Line. Open returns the plugged modem
// (once per Plug) or an error wrapping modem.ErrNotPresent. Safe for
// concurrent use.
type Opener struct {
	mu      sync.Mutex
	next    *Modem
	opens   int
	attempt chan struct{}
}

var _ modem.Opener = (*Opener)(nil)

// NewOpener returns an Opener with nothing plugged in.
func NewOpener() *Opener { return &Opener{attempt: make(chan struct{}, 64)} }

// Plug makes the next Open return m.
func (o *Opener) Plug(m *Modem) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.next = m
}

// Attempts delivers a value for every Open call (buffered; extra values
// are dropped).
func (o *Opener) Attempts() <-chan struct{} { return o.attempt }

// Opens counts successful opens.
func (o *Opener) Opens() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.opens
}

// Open implements modem.Opener.
func (o *Opener) Open(_ context.Context, path string) (modem.Port, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case o.attempt <- struct{}{}:
	default:
	}
	if o.next == nil {
		return nil, fmt.Errorf("open %s: %w", path, modem.ErrNotPresent)
	}
	m := o.next
	o.next = nil
	o.opens++
	return m, nil
}
