// Package gpiotest is a fake gpio backend for unit tests, in the spirit of
// periph's gpiotest: plain structs with exported fields.
//
// Build a Backend with its Lines, set the fields, then hand it to the code
// under test as a gpio.Opener. Drive inputs with Inject, which delivers an
// edge with the timestamp you give, synchronously, to the line's handler.
// Wrap the Backend in gpio.Debounce to test software debouncing on a fake
// clock; the fake itself never debounces.
package gpiotest

import (
	"fmt"
	"sync"
	"time"

	"lifeline/hal/gpio"
)

// Line is one fake line. Set the fields before the line is opened; after
// that, read and change it through Backend methods (Level, Inject), which
// hold the Backend's lock.
type Line struct {
	Chip   string // chip name, e.g. "gpiochip0"
	Offset int
	Name   string // kernel line name, may be empty
	High   bool   // physical level: true = high
	Busy   bool   // opening fails with gpio.ErrBusy
	Denied bool   // opening fails with gpio.ErrPermission

	// Set by the Backend while the line is open.
	Spec   gpio.LineSpec // the spec it was opened with
	Output bool          // opened as an output
	Opens  int           // how many times it was opened

	open    bool
	handler gpio.Handler
	deliver sync.Mutex // serialises handler calls
}

// Backend is a fake gpio.Opener. Its methods are safe for concurrent use;
// one mutex guards every Line.
type Backend struct {
	Lines []*Line

	mu sync.Mutex
}

var _ gpio.Opener = (*Backend)(nil)

// find resolves a spec as Cdev would: by name across chips (lowest chip
// first, in the order of Lines), by name on one chip, or by chip+offset.
// Callers hold b.mu.
func (b *Backend) find(op string, spec gpio.LineSpec) (*Line, error) {
	if err := spec.Validate(); err != nil {
		return nil, &gpio.LineError{Op: op, Chip: spec.Chip, Line: spec.String(), Kind: gpio.ErrInvalidSpec, Cause: err}
	}
	chipSeen := spec.Chip == ""
	for _, l := range b.Lines {
		if spec.Chip != "" && l.Chip != spec.Chip {
			continue
		}
		chipSeen = true
		if spec.Offset >= 0 && l.Offset == spec.Offset || spec.Offset < 0 && l.Name == spec.Name {
			return l, nil
		}
	}
	if !chipSeen {
		return nil, &gpio.LineError{Op: op, Chip: spec.Chip, Line: spec.String(), Kind: gpio.ErrChipNotFound,
			Cause: fmt.Errorf("no chip %q", spec.Chip)}
	}
	return nil, &gpio.LineError{Op: op, Chip: spec.Chip, Line: spec.String(), Kind: gpio.ErrLineNotFound}
}

func (b *Backend) claim(op string, spec gpio.LineSpec) (*Line, error) {
	l, err := b.find(op, spec)
	if err != nil {
		return nil, err
	}
	switch {
	case l.Denied:
		return nil, &gpio.LineError{Op: op, Chip: l.Chip, Line: spec.String(), Kind: gpio.ErrPermission}
	case l.Busy || l.open:
		return nil, &gpio.LineError{Op: op, Chip: l.Chip, Line: spec.String(), Kind: gpio.ErrBusy}
	}
	l.open = true
	l.Spec = spec
	l.Opens++
	return l, nil
}

// OpenInput implements gpio.Opener. The spec's Debounce is recorded, not
// applied.
func (b *Backend) OpenInput(spec gpio.LineSpec, h gpio.Handler) (gpio.Input, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, err := b.claim("open input", spec)
	if err != nil {
		return nil, err
	}
	l.Output = false
	l.handler = h
	return &pin{b: b, l: l, label: spec.String()}, nil
}

// OpenOutput implements gpio.Opener: the line goes to the safe level at once.
func (b *Backend) OpenOutput(spec gpio.LineSpec, safe bool) (gpio.Output, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, err := b.claim("open output", spec)
	if err != nil {
		return nil, err
	}
	l.Output = true
	l.High = safe != spec.ActiveLow
	return &pin{b: b, l: l, label: spec.String()}, nil
}

// Line returns the line with this name (or nil). For tests that want to
// inspect a line's fields; read them under no concurrent Inject.
func (b *Backend) Line(name string) *Line {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.Lines {
		if l.Name == name {
			return l
		}
	}
	return nil
}

// High reports the physical level of the named line.
func (b *Backend) High(name string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.Lines {
		if l.Name == name {
			return l.High
		}
	}
	return false
}

// Inject sets the physical level of the named line. If the line is open as
// an input and the level changed, its handler receives an Edge stamped ts,
// in the caller's goroutine, before Inject returns. Injections on one line
// are delivered serially.
func (b *Backend) Inject(name string, high bool, ts time.Duration) error {
	b.mu.Lock()
	var l *Line
	for _, x := range b.Lines {
		if x.Name == name {
			l = x
			break
		}
	}
	b.mu.Unlock()
	if l == nil {
		return fmt.Errorf("gpiotest: no line %q", name)
	}
	l.deliver.Lock()
	defer l.deliver.Unlock()
	b.mu.Lock()
	changed := l.High != high
	l.High = high
	h := l.handler
	deliver := changed && l.open && !l.Output && h != nil
	e := gpio.Edge{Line: l.Spec.String(), Active: high != l.Spec.ActiveLow, Time: ts}
	b.mu.Unlock()
	if deliver {
		h(e)
	}
	return nil
}

var (
	_ gpio.Input  = (*pin)(nil)
	_ gpio.Output = (*pin)(nil)
)

// pin is an open fake line.
type pin struct {
	b      *Backend
	l      *Line
	label  string
	closed bool // guarded by b.mu
}

func (p *pin) String() string { return p.label }

func (p *pin) Read() (bool, error) {
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	if p.closed {
		return false, &gpio.LineError{Op: "read", Chip: p.l.Chip, Line: p.label, Kind: gpio.ErrClosed}
	}
	return p.l.High != p.l.Spec.ActiveLow, nil
}

func (p *pin) Write(active bool) error {
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	if p.closed {
		return &gpio.LineError{Op: "write", Chip: p.l.Chip, Line: p.label, Kind: gpio.ErrClosed}
	}
	p.l.High = active != p.l.Spec.ActiveLow
	return nil
}

// Close releases the line and waits for an Inject in progress on it.
func (p *pin) Close() error {
	p.l.deliver.Lock()
	defer p.l.deliver.Unlock()
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	p.l.open = false
	p.l.handler = nil
	return nil
}
