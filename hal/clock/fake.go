package clock

import (
	"sort"
	"sync"
	"time"
)

// Fake is a manually advanced Clock for tests. Timers fire, in deadline
// order, only when Advance or Set moves the time to or past their deadline.
// All methods are safe for concurrent use; one mutex guards the state.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	changed chan struct{} // closed and replaced whenever a timer is armed
}

var _ Clock = (*Fake)(nil)

// NewFake returns a Fake clock reading start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer arms a timer that fires when the fake time reaches now+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// Advance moves the time forward by d, firing due timers in order.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	target := f.now.Add(d)
	f.mu.Unlock()
	f.Set(target)
}

// Set moves the time to t (never backwards), firing due timers in order.
// Each timer sees Now equal to its own deadline while it fires.
func (f *Fake) Set(t time.Time) {
	for {
		f.mu.Lock()
		sort.Slice(f.timers, func(i, j int) bool { return f.timers[i].when.Before(f.timers[j].when) })
		if len(f.timers) == 0 || f.timers[0].when.After(t) {
			if t.After(f.now) {
				f.now = t
			}
			f.mu.Unlock()
			return
		}
		ft := f.timers[0]
		f.timers = f.timers[1:]
		ft.armed = false
		if ft.when.After(f.now) {
			f.now = ft.when
		}
		select {
		case ft.c <- f.now:
		default:
		}
		f.mu.Unlock()
	}
}

// Pending returns the number of armed timers.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// WaitTimers blocks until at least n timers are armed. Tests use it to know
// that a goroutine has reached its wait before they advance the clock — the
// synchronisation that a sleep would only guess at.
func (f *Fake) WaitTimers(n int) {
	for {
		f.mu.Lock()
		if len(f.timers) >= n {
			f.mu.Unlock()
			return
		}
		ch := f.changed
		f.mu.Unlock()
		<-ch
	}
}

// NextDeadline reports the earliest armed deadline, if any.
func (f *Fake) NextDeadline() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.timers) == 0 {
		return time.Time{}, false
	}
	min := f.timers[0].when
	for _, t := range f.timers[1:] {
		if t.when.Before(min) {
			min = t.when
		}
	}
	return min, true
}

type fakeTimer struct {
	f     *Fake
	c     chan time.Time
	when  time.Time
	armed bool // guarded by f.mu
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.disarm()
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.disarm()
	t.when = t.f.now.Add(d)
	t.armed = true
	t.f.timers = append(t.f.timers, t)
	close(t.f.changed)
	t.f.changed = make(chan struct{})
	return was
}

// disarm removes t from the queue and drains a value not yet received.
// Callers hold f.mu.
func (t *fakeTimer) disarm() bool {
	select {
	case <-t.c:
	default:
	}
	if !t.armed {
		return false
	}
	t.armed = false
	for i, x := range t.f.timers {
		if x == t {
			t.f.timers = append(t.f.timers[:i], t.f.timers[i+1:]...)
			break
		}
	}
	return true
}
