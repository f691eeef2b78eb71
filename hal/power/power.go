// Package power senses the router's power: whether it runs on mains or on
// its battery, the battery's charge and whether it is low. It merges board
// GPIO lines (mains-present, on-battery, battery-low, whichever the board
// has) and the kernel's power-supply class into one State, and reports each
// change to a Handler.
//
// The package decides nothing: load shedding and shutdown belong to the
// daemon's power policy.
package power

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/gpio"
)

// Source is where the router's power comes from.
type Source int

// Sources.
const (
	Unknown Source = iota
	Mains
	Battery
)

func (s Source) String() string {
	switch s {
	case Mains:
		return "mains"
	case Battery:
		return "battery"
	}
	return "unknown"
}

// State is the merged reading. It is comparable with ==.
type State struct {
	Source Source
	// Percent is the battery's charge, 0–100, or -1 when unknown.
	Percent int
	// Low is true when the battery-low line is active or the kernel
	// reports the battery's capacity level as Critical.
	Low bool
	// Status is the kernel's status of the first battery ("Charging",
	// "Discharging", "Full", ...), "" without one.
	Status string
}

// Config says where the readings come from. Every field is optional; with
// none set the State stays Unknown.
type Config struct {
	// Opener opens the GPIO lines below. For kernel lines pass a
	// gpio.Cdev (kernel debounce); for tests gpio.Debounce(fake, clk).
	Opener gpio.Opener
	// MainsPresent is active while mains power is present.
	MainsPresent *gpio.LineSpec
	// OnBattery is active while the router runs on its battery.
	OnBattery *gpio.LineSpec
	// BatteryLow is active while the battery is low.
	BatteryLow *gpio.LineSpec

	// SupplyDir is the power-supply class directory, normally
	// "/sys/class/power_supply" (given by the caller; tests pass a fake
	// tree). Empty: the class is not read.
	SupplyDir string
	// PollInterval is how often SupplyDir is re-read (default 10 s).
	PollInterval time.Duration
	// Uevents re-reads SupplyDir at once when the kernel broadcasts a
	// power_supply uevent (NETLINK_KOBJECT_UEVENT), so a charger unplugged
	// is seen in milliseconds, not at the next poll. If the socket cannot
	// be opened it is logged and polling alone goes on.
	Uevents bool
}

// Handler receives the State. It is called serially from the Monitor's
// goroutine: first with the initial State, then with every State that
// differs from the one before (intermediate States between two reads may be
// coalesced, never the latest). It must not block and must not call Close.
type Handler func(State)

// Option configures a Monitor.
type Option func(*Monitor)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(m *Monitor) { m.log = l } }

// WithHandler sets the Handler that receives State changes.
func WithHandler(h Handler) Option { return func(m *Monitor) { m.h = h } }

// ErrNoOpener is returned by New when GPIO lines are configured without an
// Opener.
var ErrNoOpener = errors.New("power: gpio lines configured without an opener")

// ErrClosed is returned by Refresh after Close.
var ErrClosed = errors.New("power: monitor closed")

// Monitor watches the configured sources. It owns one goroutine, started by
// New and stopped by Close, that reads the supply class, merges and calls
// the Handler; GPIO handlers only record levels and wake it. With Uevents a
// second goroutine reads the uevent socket and wakes it too; Close stops
// both and waits for them.
type Monitor struct {
	clk  clock.Clock
	cfg  Config
	log  *slog.Logger
	h    Handler
	poll clock.Timer

	inputs []gpio.Input

	mu       sync.Mutex // guards the fields below
	mains    lineLevel
	onBatt   lineLevel
	low      lineLevel
	supplies []Supply
	state    State // last merged state

	hints     hintSource                 // nil without Uevents
	openHints func() (hintSource, error) // openUevents; tests replace it
	hint      chan struct{}              // buffer 1: a power_supply uevent came
	hintDone  chan struct{}              // closed when hintLoop returns

	kick    chan struct{}   // buffer 1: a GPIO level changed
	refresh chan chan State // Refresh requests
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// lineLevel is the level of an optional line.
type lineLevel struct {
	used   bool
	active bool
	edges  int // edges seen, so New's initial Read never overwrites a newer edge
}

// New opens the configured lines, reads the supply class once and starts
// the Monitor. On error nothing is left open.
func New(clk clock.Clock, cfg Config, opts ...Option) (*Monitor, error) {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 10 * time.Second
	}
	m := &Monitor{
		clk: clk, cfg: cfg, log: slog.New(slog.DiscardHandler),
		kick: make(chan struct{}, 1), refresh: make(chan chan State), done: make(chan struct{}),
		openHints: openUevents, hint: make(chan struct{}, 1), hintDone: make(chan struct{}),
	}
	for _, o := range opts {
		o(m)
	}
	lines := []struct {
		spec *gpio.LineSpec
		lvl  *lineLevel
		role string
	}{
		{cfg.MainsPresent, &m.mains, "mains-present"},
		{cfg.OnBattery, &m.onBatt, "on-battery"},
		{cfg.BatteryLow, &m.low, "battery-low"},
	}
	for _, l := range lines {
		if l.spec == nil {
			continue
		}
		if cfg.Opener == nil {
			return nil, fmt.Errorf("%w (%s line %s)", ErrNoOpener, l.role, l.spec)
		}
		lvl := l.lvl
		in, err := cfg.Opener.OpenInput(*l.spec, func(e gpio.Edge) { m.edge(lvl, e) })
		if err != nil {
			m.closeInputs()
			return nil, fmt.Errorf("power: %s line: %w", l.role, err)
		}
		m.inputs = append(m.inputs, in)
		m.mu.Lock()
		before := lvl.edges
		m.mu.Unlock()
		v, err := in.Read()
		if err != nil {
			m.closeInputs()
			return nil, fmt.Errorf("power: %s line: %w", l.role, err)
		}
		m.mu.Lock()
		lvl.used = true
		if lvl.edges == before {
			lvl.active = v
		}
		m.mu.Unlock()
	}
	m.readSupplies()
	m.mu.Lock()
	m.state = m.merge()
	m.mu.Unlock()
	m.poll = clk.NewTimer(cfg.PollInterval)
	if cfg.SupplyDir == "" {
		m.poll.Stop()
	}
	if cfg.Uevents && cfg.SupplyDir != "" {
		src, err := m.openHints()
		if err != nil {
			m.log.Warn("power: no uevents, polling only", "dir", cfg.SupplyDir, "interval", cfg.PollInterval, "err", err)
		} else {
			m.hints = src
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	if m.hints != nil {
		go m.hintLoop()
	} else {
		close(m.hintDone)
	}
	go m.run(ctx)
	return m, nil
}

// edge is the gpio Handler of every line: record, wake the goroutine.
func (m *Monitor) edge(lvl *lineLevel, e gpio.Edge) {
	m.mu.Lock()
	lvl.active = e.Active
	lvl.edges++
	m.mu.Unlock()
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// State returns the latest merged State.
func (m *Monitor) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// Refresh re-reads the supply class now, emits a change if there is one and
// returns the merged State. It waits for the Monitor's goroutine, or ctx.
func (m *Monitor) Refresh(ctx context.Context) (State, error) {
	reply := make(chan State, 1)
	select {
	case m.refresh <- reply:
	case <-m.done:
		return State{}, ErrClosed
	case <-ctx.Done():
		return State{}, ctx.Err()
	}
	select {
	case s := <-reply:
		return s, nil
	case <-ctx.Done():
		return State{}, ctx.Err()
	}
}

// Close stops the goroutine, waits for it and releases the lines.
// Idempotent.
func (m *Monitor) Close() error {
	m.once.Do(func() {
		m.cancel()
		if m.hints != nil {
			m.hints.Close()
		}
		<-m.hintDone
		<-m.done
		m.poll.Stop()
		m.closeInputs()
	})
	return nil
}

func (m *Monitor) closeInputs() {
	for _, in := range m.inputs {
		in.Close()
	}
	m.inputs = nil
}

// run is the Monitor's goroutine; it owns calls to the Handler.
func (m *Monitor) run(ctx context.Context) {
	defer close(m.done)
	last := m.State()
	if m.h != nil {
		m.h(last)
	}
	for {
		var reply chan State
		select {
		case <-ctx.Done():
			return
		case <-m.kick:
		case <-m.hint:
			m.readSupplies()
		case <-m.poll.C():
			m.readSupplies()
			m.poll.Reset(m.cfg.PollInterval)
		case reply = <-m.refresh:
			m.readSupplies()
		}
		m.mu.Lock()
		s := m.merge()
		m.state = s
		m.mu.Unlock()
		if s != last {
			last = s
			if m.h != nil {
				m.h(s)
			}
		}
		if reply != nil {
			reply <- s
		}
	}
}

// hintLoop is the Monitor's second goroutine: it turns power_supply uevents
// into hints for run. It returns when Close closes the source (or the
// source fails, then polling alone goes on).
func (m *Monitor) hintLoop() {
	defer close(m.hintDone)
	buf := make([]byte, 16<<10)
	for {
		n, err := m.hints.Receive(buf)
		if errors.Is(err, syscall.ENOBUFS) {
			n, err = 0, nil // overflow: events lost, re-read anyway
		} else if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				m.log.Warn("power: uevents failed, polling only", "err", err)
			}
			return
		}
		if n > 0 {
			ev, err := ParseUevent(buf[:n])
			if err != nil || !ev.PowerSupply() {
				continue
			}
		}
		select {
		case m.hint <- struct{}{}:
		default:
		}
	}
}

// readSupplies re-reads the class directory, if configured.
func (m *Monitor) readSupplies() {
	if m.cfg.SupplyDir == "" {
		return
	}
	ss, err := ReadSupplies(m.cfg.SupplyDir)
	if err != nil {
		m.log.Warn("power: reading supplies", "err", err)
		return
	}
	m.mu.Lock()
	m.supplies = ss
	m.mu.Unlock()
}

// merge computes the State from the lines and supplies. Callers hold mu.
func (m *Monitor) merge() State {
	return Merge(Lines{MainsPresent: m.mains.level(), OnBattery: m.onBatt.level(), BatteryLow: m.low.level()}, m.supplies)
}

func (l lineLevel) level() *bool {
	if !l.used {
		return nil
	}
	v := l.active
	return &v
}

// String renders the State for logs: "battery 57% low (Discharging)".
func (s State) String() string {
	out := s.Source.String()
	if s.Percent >= 0 {
		out += fmt.Sprintf(" %d%%", s.Percent)
	}
	if s.Low {
		out += " low"
	}
	if s.Status != "" {
		out += " (" + s.Status + ")"
	}
	return out
}
