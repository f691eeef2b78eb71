// Package sipprobetest provides a fake provider probe for tests of code
// that consumes sipprobe.Source.
package sipprobetest

import (
	"context"
	"errors"
	"time"

	"lifeline/hal/sipprobe"
)

// Fake is a sipprobe.Source driven by the test: each Emit is delivered to
// the running Run's callback, in order.
type Fake struct {
	results chan sipprobe.Result
}

var _ sipprobe.Source = (*Fake)(nil)

// New returns a Fake.
func New() *Fake { return &Fake{results: make(chan sipprobe.Result)} }

// Emit hands r to Run and returns once Run has taken it (the callback runs
// right after). It returns false if ctx ends first.
func (f *Fake) Emit(ctx context.Context, r sipprobe.Result) bool {
	select {
	case f.results <- r:
		return true
	case <-ctx.Done():
		return false
	}
}

// Alive returns a successful Result at time at.
func Alive(at time.Time, rtt time.Duration) sipprobe.Result {
	return sipprobe.Result{At: at, OK: true, Status: 200, RTT: rtt}
}

// Lost returns a timed-out Result at time at.
func Lost(at time.Time) sipprobe.Result {
	return sipprobe.Result{At: at, Err: errLost}
}

var errLost = errors.Join(sipprobe.ErrTimeout, errors.New("simulated loss"))

// Run calls fn with every emitted Result until ctx is done.
func (f *Fake) Run(ctx context.Context, fn func(sipprobe.Result)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-f.results:
			fn(r)
		}
	}
}
