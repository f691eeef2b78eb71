package gpio

import (
	"sync"
	"time"

	"lifeline/hal/clock"
)

// Debounce returns an Opener that debounces in software, on clk, every input
// whose LineSpec has a Debounce > 0: an edge is reported only once the level
// has stayed at its new value for the whole Debounce period, so a glitch
// shorter than the period is never seen. Inputs are opened on o with
// Debounce 0; outputs pass through unchanged.
//
// Each debounced input owns one goroutine that waits on clk; Close stops it
// and waits for it. The Handler contract of Opener.OpenInput holds: debounced
// edges are delivered serially from that goroutine.
func Debounce(o Opener, clk clock.Clock) Opener {
	return &debounceOpener{o: o, clk: clk}
}

type debounceOpener struct {
	o   Opener
	clk clock.Clock
}

func (d *debounceOpener) OpenInput(spec LineSpec, h Handler) (Input, error) {
	if spec.Debounce <= 0 {
		return d.o.OpenInput(spec, h)
	}
	db := newDebouncer(d.clk, spec.Debounce, h)
	inner := spec
	inner.Debounce = 0
	in, err := d.o.OpenInput(inner, db.handle)
	if err != nil {
		db.close()
		return nil, err
	}
	v, err := in.Read()
	if err != nil {
		in.Close()
		db.close()
		return nil, err
	}
	db.start(v)
	return &debouncedInput{in: in, db: db}, nil
}

func (d *debounceOpener) OpenOutput(spec LineSpec, safe bool) (Output, error) {
	return d.o.OpenOutput(spec, safe)
}

// debouncedInput is an Input whose level and edges come through a debouncer.
type debouncedInput struct {
	in   Input
	db   *debouncer
	once sync.Once
	err  error
}

func (d *debouncedInput) Read() (bool, error) { return d.db.level() }
func (d *debouncedInput) String() string      { return d.in.String() }

// Close closes the inner line first (no more raw edges), then stops the
// debouncer's goroutine and waits for it.
func (d *debouncedInput) Close() error {
	d.once.Do(func() {
		d.err = d.in.Close()
		d.db.close()
	})
	return d.err
}

// debouncer filters raw edges. One mutex guards its state; one goroutine
// (run) calls h, so h is called serially and in order. A level that has been
// stable for the period is committed either by run when the timer fires or,
// if a new raw edge gets there first, by handle — so a due edge is never
// lost to that race; committed edges wait in queue for run.
type debouncer struct {
	clk clock.Clock
	d   time.Duration
	h   Handler

	mu      sync.Mutex
	started bool      // start has set the initial level
	closed  bool      // close has run
	seen    bool      // a raw edge arrived before start
	stable  bool      // the debounced level
	raw     bool      // the latest raw level
	last    Edge      // the latest raw edge
	pending bool      // raw != stable and timer armed
	due     time.Time // when the pending level becomes stable
	queue   []Edge    // committed edges not yet delivered
	timer   clock.Timer

	wake chan struct{} // buffer 1: queue is not empty
	stop chan struct{}
	done chan struct{}
}

func newDebouncer(clk clock.Clock, d time.Duration, h Handler) *debouncer {
	t := clk.NewTimer(d)
	t.Stop()
	return &debouncer{clk: clk, d: d, h: h, timer: t,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// start sets the initial level (read after the line was requested) and
// starts the goroutine.
func (db *debouncer) start(initial bool) {
	db.mu.Lock()
	db.started = true
	db.stable = initial
	if !db.seen {
		db.raw = initial
	} else if db.raw != db.stable {
		db.arm()
	}
	db.mu.Unlock()
	go db.run()
}

// handle is the raw Handler given to the inner Opener.
func (db *debouncer) handle(e Edge) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return
	}
	if !db.started {
		db.raw, db.last, db.seen = e.Active, e, true
		return
	}
	db.commitIfDue()
	db.raw, db.last = e.Active, e
	if db.raw == db.stable {
		if db.pending {
			db.timer.Stop()
			db.pending = false
		}
		return
	}
	db.arm()
}

// arm (re)starts the stability period. Callers hold mu.
func (db *debouncer) arm() {
	db.pending = true
	db.due = db.clk.Now().Add(db.d)
	db.timer.Reset(db.d)
}

// commitIfDue makes the pending level stable if it has lasted the period,
// and queues its edge. Callers hold mu.
func (db *debouncer) commitIfDue() {
	if !db.pending || db.clk.Now().Before(db.due) {
		return
	}
	db.pending = false
	if db.raw == db.stable {
		return
	}
	db.stable = db.raw
	e := db.last
	e.Active = db.stable
	db.queue = append(db.queue, e)
	select {
	case db.wake <- struct{}{}:
	default:
	}
}

func (db *debouncer) level() (bool, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return false, ErrClosed
	}
	return db.stable, nil
}

func (db *debouncer) run() {
	defer close(db.done)
	var batch []Edge
	for {
		select {
		case <-db.stop:
			return
		case <-db.timer.C():
		case <-db.wake:
		}
		db.mu.Lock()
		db.commitIfDue()
		batch = append(batch[:0], db.queue...)
		db.queue = db.queue[:0]
		db.mu.Unlock()
		if db.h != nil {
			for _, e := range batch {
				db.h(e)
			}
		}
	}
}

// close stops the goroutine, if started, and waits for it. Idempotent.
func (db *debouncer) close() {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return
	}
	db.closed = true
	started := db.started
	db.timer.Stop()
	db.mu.Unlock()
	close(db.stop)
	if started {
		<-db.done
	}
}
