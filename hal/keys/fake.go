package keys

import (
	"sync"

	"lifeline/hal/clock"
)

// Fake is a Source driven by the test: Press and Release deliver events
// stamped with the fake's clock. It has no goroutine. Press and Release
// block while the buffer (64 events) is full; they are no-ops after Close.
type Fake struct {
	clk    clock.Clock
	mu     sync.Mutex // guards closed and sends against close
	closed bool
	ch     chan Event
}

var _ Source = (*Fake)(nil)

// NewFake returns a fake source stamping events with clk.
func NewFake(clk clock.Clock) *Fake { return &Fake{clk: clk, ch: make(chan Event, 64)} }

// Press reports key pressed.
func (f *Fake) Press(key string) { f.send(Event{Key: key, Pressed: true}) }

// Release reports key released.
func (f *Fake) Release(key string) { f.send(Event{Key: key}) }

func (f *Fake) send(e Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	e.At = f.clk.Now()
	f.ch <- e
}

// Events returns the event channel.
func (f *Fake) Events() <-chan Event { return f.ch }

// Close closes Events. Idempotent.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.ch)
	}
	return nil
}
