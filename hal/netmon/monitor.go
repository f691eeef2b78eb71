package netmon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netns"

	"lifeline/hal/clock"
)

// Sentinel errors.
var (
	// ErrSubscribe means the kernel refused a netlink subscription; the
	// Monitor then polls.
	ErrSubscribe = errors.New("netmon: netlink subscription failed")
	// ErrRead means a dump of links, addresses or routes failed.
	ErrRead = errors.New("netmon: reading interface state failed")
	// ErrRunning is returned by Run when the Monitor is already running.
	ErrRunning = errors.New("netmon: monitor already running")
)

// Defaults.
const (
	// DefaultPollInterval is how often the state is re-read while no
	// netlink subscription could be opened, and how soon a failed read or
	// subscription is retried.
	DefaultPollInterval = time.Second
	// resyncInterval is a slow full re-read even while subscribed: a safety
	// net against a message the kernel never sent.
	resyncInterval = time.Minute
)

// osNet is the seam between the Monitor's logic and the kernel.
type osNet interface {
	// subscribe opens link, address and route subscriptions. It calls hint
	// (from any goroutine; hint must not block) for every message, and
	// lost when the subscription died (receive error, ENOBUFS, closed
	// socket); after lost the caller closes it and subscribes again.
	// The returned close function stops all of it and waits.
	subscribe(hint func(), lost func(error)) (close func(), err error)
	// read returns the whole current state of the interface iface.
	read(iface string) (WANState, error)
}

// Option configures a Monitor.
type Option func(*Monitor)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(m *Monitor) { m.log = l } }

// WithClock sets the clock used for polling and retries (default: real).
func WithClock(c clock.Clock) Option { return func(m *Monitor) { m.clk = c } }

// WithNetns makes the Monitor watch the network namespace ns instead of
// the caller's. The handle must stay open while the Monitor runs.
func WithNetns(ns netns.NsHandle) Option { return func(m *Monitor) { m.ns = ns } }

// WithPollInterval sets the polling-fallback and retry interval
// (default DefaultPollInterval).
func WithPollInterval(d time.Duration) Option {
	return func(m *Monitor) {
		if d > 0 {
			m.poll = d
		}
	}
}

// withOS replaces the kernel seam (tests).
func withOS(o osNet) Option { return func(m *Monitor) { m.os = o } }

var _ Source = (*Monitor)(nil)

// Monitor follows one interface by name. Create it with New, then call Run
// once; InjectEvent may be called from any goroutine at any time.
type Monitor struct {
	iface string
	log   *slog.Logger
	clk   clock.Clock
	ns    netns.NsHandle
	poll  time.Duration
	os    osNet

	hint chan struct{} // buffer 1: coalesced "something may have changed"

	losses atomic.Int64 // subscriptions lost and replaced (tests, diagnostics)

	mu      sync.Mutex // guards running
	running bool
}

// New returns a Monitor for the interface named iface (e.g. "wan",
// "pppoe-wan", "eth1"). It opens nothing until Run.
func New(iface string, opts ...Option) *Monitor {
	m := &Monitor{
		iface: iface,
		log:   slog.New(slog.DiscardHandler),
		clk:   clock.Real(),
		ns:    netns.None(),
		poll:  DefaultPollInterval,
		hint:  make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(m)
	}
	if m.os == nil {
		m.os = newNetlinkOS(m.ns)
	}
	m.log = m.log.With("iface", iface)
	return m
}

// Interface returns the watched interface name.
func (m *Monitor) Interface() string { return m.iface }

// InjectEvent asks the Monitor to re-read the state as if the kernel had
// sent a message. It never blocks; bursts coalesce into one re-read.
func (m *Monitor) InjectEvent() {
	select {
	case m.hint <- struct{}{}:
	default:
	}
}

// Run watches the interface until ctx is done, then returns nil after every
// goroutine it started has exited (ErrRunning if already running).
//
// fn is called from Run's goroutine, serially: first with the initial
// state, then with every state that differs from the previous one. fn must
// not block for long (events coalesce while it runs, none are lost: the
// next call carries the latest state) and must not call Run.
//
// If the netlink subscription cannot be opened, Run polls every poll
// interval and retries subscribing; if the subscription dies (ENOBUFS, a
// receive error), Run resubscribes and resynchronises from a full dump.
func (m *Monitor) Run(ctx context.Context, fn func(WANState)) error {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return ErrRunning
	}
	m.running = true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.running = false
		m.mu.Unlock()
	}()

	if r, ok := m.os.(interface{ release() }); ok {
		defer r.release()
	}
	w := &watch{m: m, fn: fn, lost: make(chan error, 1)}
	defer w.unsubscribe()
	w.subscribe() // first, so no change slips between dump and subscription
	w.emit()
	timer := m.clk.NewTimer(w.nextWait())
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.hint:
			w.emit()
			if w.readFail {
				timer.Reset(m.poll)
			}
		case err := <-w.lost:
			m.losses.Add(1)
			m.log.Warn("netlink subscription lost, resubscribing", "err", err)
			w.unsubscribe()
			w.subscribe()
			w.emit()
			timer.Reset(w.nextWait())
		case <-timer.C():
			if w.closeSub == nil {
				w.subscribe()
			}
			w.emit()
			timer.Reset(w.nextWait())
		}
	}
}

// watch is the state of one Run: the subscription and the last state
// reported. Run's goroutine owns it; only the subscription's lost callback
// reaches it from elsewhere, through the buffered lost channel.
type watch struct {
	m  *Monitor
	fn func(WANState)

	lost     chan error // buffer 1: the subscription died
	closeSub func()     // the open subscription; nil while polling
	polling  bool       // subscribing failed; logged once per episode

	last     WANState // the state last given to fn
	emitted  bool     // fn has been called
	readFail bool     // the last read failed; logged once per episode
}

// subscribe opens the netlink subscription; on failure the watch polls.
func (w *watch) subscribe() {
	c, err := w.m.os.subscribe(w.m.InjectEvent, func(err error) {
		select {
		case w.lost <- err:
		default:
		}
	})
	if err != nil {
		if !w.polling {
			w.m.log.Warn("netlink subscribe failed, polling", "every", w.m.poll, "err", err)
		}
		w.polling = true
		return
	}
	if w.polling {
		w.m.log.Info("netlink subscription restored")
	}
	w.polling = false
	w.closeSub = c
}

// unsubscribe closes the subscription, if open, and drops a loss it
// reported: that loss is stale.
func (w *watch) unsubscribe() {
	if w.closeSub != nil {
		w.closeSub()
		w.closeSub = nil
	}
	select {
	case <-w.lost:
	default:
	}
}

// emit re-reads the state and gives it to fn if it differs from the last.
func (w *watch) emit() {
	st, err := w.m.os.read(w.m.iface)
	if err != nil {
		if !w.readFail {
			w.m.log.Warn("read state failed", "err", err)
		}
		w.readFail = true
		return
	}
	w.readFail = false
	if w.emitted {
		c := st.Changed(w.last)
		if c == 0 {
			return
		}
		w.m.log.Debug("wan state changed", "change", c.String(), "up", st.Up(), "default_route", st.DefaultRoute())
	}
	w.last, w.emitted = st, true
	w.fn(st)
}

// nextWait is how long until the next re-read without a hint: the poll
// interval while polling or failing to read, the slow resync otherwise.
func (w *watch) nextWait() time.Duration {
	if w.closeSub == nil || w.readFail {
		return w.m.poll
	}
	return resyncInterval
}

func wrapRead(iface, what string, err error) error {
	return fmt.Errorf("%w: %s of %q: %w", ErrRead, what, iface, err)
}
