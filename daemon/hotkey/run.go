package hotkey

import (
	"context"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/keys"
)

// Run drives m from events on clk until ctx is done or events is closed:
// every event goes to Key, and a timer on clk calls Tick at NextDeadline.
// fn receives each Match, on Run's goroutine; it must not block for long.
// Run blocks; the caller owns the goroutine it runs on, and m must not be
// used elsewhere meanwhile. It returns ctx.Err(), or nil when events closed.
func Run(ctx context.Context, clk clock.Clock, events <-chan keys.Event, m *Matcher, fn func(Match)) error {
	var t clock.Timer // created at the first deadline
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	deliver := func(ms []Match) {
		for _, x := range ms {
			fn(x)
		}
	}
	for {
		var tc <-chan time.Time
		if d, ok := m.NextDeadline(); ok {
			if t == nil {
				t = clk.NewTimer(d.Sub(clk.Now()))
			} else {
				t.Reset(d.Sub(clk.Now()))
			}
			tc = t.C()
		} else if t != nil {
			t.Stop()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			deliver(m.Key(ev, clk.Now()))
		case <-tc:
			deliver(m.Tick(clk.Now()))
		}
	}
}
