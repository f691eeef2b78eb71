package netmon

import (
	"errors"
	"sync"
)

// fakeOS is the kernel seam for tests: tests set the state, fire hints and
// losses through the callbacks Run handed to subscribe, and watch reads.
type fakeOS struct {
	mu       sync.Mutex
	st       WANState
	readErr  error
	subErr   error // returned by subscribe while non-nil
	hint     func()
	lost     func(error)
	subs     int // successful subscribes
	closes   int
	reads    int
	released bool

	readDone chan int // receives the read count after every read
	subDone  chan int // receives the subscribe count after each attempt
}

func newFakeOS(st WANState) *fakeOS {
	return &fakeOS{st: st, readDone: make(chan int, 1000), subDone: make(chan int, 1000)}
}

func (f *fakeOS) subscribe(hint func(), lost func(error)) (func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer func() { f.subDone <- f.subs }()
	if f.subErr != nil {
		return nil, f.subErr
	}
	f.subs++
	f.hint, f.lost = hint, lost
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			f.closes++
			f.hint, f.lost = nil, nil
			f.mu.Unlock()
		})
	}, nil
}

func (f *fakeOS) read(string) (WANState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	defer func() { f.readDone <- f.reads }()
	if f.readErr != nil {
		return WANState{}, f.readErr
	}
	st := f.st
	st.Addrs = append(st.Addrs[:0:0], st.Addrs...)
	return st, nil
}

func (f *fakeOS) release() {
	f.mu.Lock()
	f.released = true
	f.mu.Unlock()
}

func (f *fakeOS) set(mut func(*WANState)) {
	f.mu.Lock()
	mut(&f.st)
	f.mu.Unlock()
}

// fire sends a kernel hint through the live subscription.
func (f *fakeOS) fire() {
	f.mu.Lock()
	h := f.hint
	f.mu.Unlock()
	if h == nil {
		panic("fakeOS.fire: no live subscription")
	}
	h()
}

// lose reports the subscription dead, as ENOBUFS would.
func (f *fakeOS) lose() {
	f.mu.Lock()
	l := f.lost
	f.mu.Unlock()
	if l == nil {
		panic("fakeOS.lose: no live subscription")
	}
	l(errENOBUFS)
}

var errENOBUFS = errors.New("Receive failed: no buffer space available")

func (f *fakeOS) counts() (subs, closes, reads int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subs, f.closes, f.reads
}
