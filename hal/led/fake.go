package led

import (
	"sync"
)

// Fake is an LED that records patterns. Exported fields are guarded by mu;
// use Current and History from other goroutines.
type Fake struct {
	mu       sync.Mutex
	Name     string
	Closed   bool
	Patterns []Pattern // every Set, in order
	Err      error     // returned by Set when non-nil
}

var _ LED = (*Fake)(nil)

// Set records p.
func (f *Fake) Set(p Pattern) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Closed {
		return ErrClosed
	}
	if f.Err != nil {
		return f.Err
	}
	f.Patterns = append(f.Patterns, p)
	return nil
}

// Current returns the last pattern set (Off if none).
func (f *Fake) Current() Pattern {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.Patterns) == 0 {
		return Off()
	}
	return f.Patterns[len(f.Patterns)-1]
}

// History returns a copy of the patterns set so far.
func (f *Fake) History() []Pattern {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Pattern(nil), f.Patterns...)
}

// Close marks the fake closed. Idempotent.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Closed = true
	return nil
}
