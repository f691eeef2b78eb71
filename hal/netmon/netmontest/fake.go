// Package netmontest provides a fake WAN monitor for tests of code that
// consumes netmon.Source.
package netmontest

import (
	"context"
	"sync"

	"lifeline/hal/netmon"
)

// Fake is a netmon.Source driven by the test. Set may be called from any
// goroutine; one mutex guards the state.
type Fake struct {
	mu      sync.Mutex
	state   netmon.WANState
	changed chan struct{} // closed and replaced on every Set
}

var _ netmon.Source = (*Fake)(nil)

// New returns a Fake reporting initial.
func New(initial netmon.WANState) *Fake {
	return &Fake{state: initial, changed: make(chan struct{})}
}

// Healthy returns a usable WAN state for interface iface.
func Healthy(iface string) netmon.WANState {
	return netmon.WANState{Interface: iface, Present: true, Index: 2, AdminUp: true, Carrier: true,
		OperState: "up", DefaultRoute4: true}
}

// Set replaces the state; a running Run reports it if it differs from the
// last state reported (the real Monitor's behaviour).
func (f *Fake) Set(s netmon.WANState) {
	f.mu.Lock()
	f.state = s
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// Update applies mut to a copy of the current state and Sets it.
func (f *Fake) Update(mut func(*netmon.WANState)) {
	s := f.State()
	mut(&s)
	f.Set(s)
}

// State returns the current state.
func (f *Fake) State() netmon.WANState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

// Run reports the current state, then every change, until ctx is done.
// Like the real Monitor it coalesces: a burst of Sets while fn runs is
// reported as the latest state only.
func (f *Fake) Run(ctx context.Context, fn func(netmon.WANState)) error {
	var last netmon.WANState
	first := true
	for {
		f.mu.Lock()
		s, ch := f.state, f.changed
		f.mu.Unlock()
		if first || s.Changed(last) != 0 {
			first, last = false, s
			fn(s)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ch:
		}
	}
}
