package netmon

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/hal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// harness runs a Monitor over a fakeOS on a fake clock.
type harness struct {
	t    *testing.T
	os   *fakeOS
	clk  *clock.Fake
	mon  *Monitor
	got  chan WANState
	stop func()
	gate chan struct{} // when non-nil, fn blocks on it
}

func startHarness(t *testing.T, os *fakeOS, gate chan struct{}) *harness {
	t.Helper()
	h := &harness{t: t, os: os, clk: clock.NewFake(t0), got: make(chan WANState, 100), gate: gate}
	h.mon = New("wan", withOS(os), WithClock(h.clk), WithPollInterval(time.Second),
		WithLogger(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- h.mon.Run(ctx, func(s WANState) {
			h.got <- s
			if h.gate != nil {
				<-h.gate
			}
		})
	}()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run returned %v", err)
			}
		})
	}
	t.Cleanup(h.stop)
	return h
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func (h *harness) next() WANState {
	h.t.Helper()
	select {
	case s := <-h.got:
		return s
	case <-time.After(5 * time.Second): // safety net only
		h.t.Fatal("no WANState emitted")
		return WANState{}
	}
}

// waitReads blocks until the fake has been read at least n times in total.
func (h *harness) waitReads(n int) {
	h.t.Helper()
	for {
		select {
		case r := <-h.os.readDone:
			if r >= n {
				return
			}
		case <-time.After(5 * time.Second):
			h.t.Fatalf("fewer than %d reads", n)
		}
	}
}

func (h *harness) noneEmitted() {
	h.t.Helper()
	select {
	case s := <-h.got:
		h.t.Fatalf("unexpected emission %+v", s)
	default:
	}
}

func TestRunEmitsInitialAndChanges(t *testing.T) {
	steps := []struct {
		name string
		mut  func(*WANState)
		want Change // 0: no emission expected
	}{
		{"unchanged hint", func(*WANState) {}, 0},
		{"carrier lost", func(s *WANState) { s.Carrier = false; s.OperState = "lowerlayerdown" }, ChangeCarrier | ChangeOperState},
		{"carrier back", func(s *WANState) { s.Carrier = true; s.OperState = "up" }, ChangeCarrier | ChangeOperState},
		{"default route deleted", func(s *WANState) { s.DefaultRoute4 = false }, ChangeDefaultRoute4},
		{"default route back", func(s *WANState) { s.DefaultRoute4 = true }, ChangeDefaultRoute4},
		{"address removed", func(s *WANState) { s.Addrs = pfx("2001:db8::2/64") }, ChangeAddrs},
		{"address back", func(s *WANState) { s.Addrs = healthy().Addrs }, ChangeAddrs},
		{"interface deleted", func(s *WANState) { *s = WANState{Interface: "wan"} },
			ChangePresent | ChangeIndex | ChangeAdminUp | ChangeCarrier | ChangeOperState | ChangeAddrs | ChangeDefaultRoute4 | ChangeDefaultRoute6},
		{"re-created without carrier", func(s *WANState) {
			*s = WANState{Interface: "wan", Present: true, Index: 12, AdminUp: true, OperState: "lowerlayerdown"}
		}, ChangePresent | ChangeIndex | ChangeAdminUp | ChangeOperState},
		{"re-created fully", func(s *WANState) { *s = healthy(); s.Index = 12 },
			ChangeCarrier | ChangeOperState | ChangeAddrs | ChangeDefaultRoute4 | ChangeDefaultRoute6},
		{"unchanged again", func(*WANState) {}, 0},
	}
	os := newFakeOS(healthy())
	h := startHarness(t, os, nil)
	prev := h.next()
	if !prev.Usable() {
		t.Fatalf("initial state %+v not usable", prev)
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			_, _, reads := os.counts()
			os.set(st.mut)
			os.fire()
			h.waitReads(reads + 1)
			if st.want == 0 {
				h.noneEmitted()
				return
			}
			got := h.next()
			if c := got.Changed(prev); c != st.want {
				t.Errorf("change %v, want %v (got %+v)", c, st.want, got)
			}
			prev = got
		})
	}
}

func TestRunCoalescesHints(t *testing.T) {
	os := newFakeOS(healthy())
	gate := make(chan struct{})
	h := startHarness(t, os, gate)
	h.next() // Run is now blocked inside fn with one read done
	for range 50 {
		os.fire()
	}
	os.set(func(s *WANState) { s.Carrier = false })
	close(gate)
	got := h.next()
	if got.Carrier {
		t.Fatalf("latest state not delivered: %+v", got)
	}
	h.waitReads(2)
	// Let any further queued hint be handled: a hint we send now is
	// processed after any earlier one.
	_, _, reads := os.counts()
	os.fire()
	h.waitReads(reads + 1)
	if _, _, reads := os.counts(); reads > 4 {
		t.Errorf("50 hints caused %d reads, want them coalesced (≤ 4)", reads)
	}
	h.noneEmitted()
}

func TestRunResubscribesAfterLoss(t *testing.T) {
	os := newFakeOS(healthy())
	h := startHarness(t, os, nil)
	h.next()
	<-os.subDone
	for i := range 3 {
		os.set(func(s *WANState) { s.Carrier = !s.Carrier }) // changed while "ENOBUFS" lost messages
		os.lose()
		if n := <-os.subDone; n != i+2 {
			t.Fatalf("subscribe count %d, want %d", n, i+2)
		}
		got := h.next() // the resync finds the change no message told us about
		if got.Carrier != (i%2 == 1) {
			t.Fatalf("resync %d: carrier %v", i, got.Carrier)
		}
	}
	subs, closes, _ := os.counts()
	if closes != subs-1 {
		t.Errorf("subs %d closes %d: every lost subscription must be closed", subs, closes)
	}
}

func TestRunPollsWhenSubscribeFails(t *testing.T) {
	os := newFakeOS(healthy())
	os.subErr = errors.New("permission denied")
	h := startHarness(t, os, nil)
	h.next()
	<-os.subDone
	for i := range 3 {
		h.clk.WaitTimers(1)
		os.set(func(s *WANState) { s.DefaultRoute4 = !s.DefaultRoute4 })
		h.clk.Advance(time.Second) // one poll interval, no netlink at all
		if got := h.next(); got.DefaultRoute4 != (i%2 == 1) {
			t.Fatalf("poll %d: %+v", i, got)
		}
		<-os.subDone // a retry at every poll
	}
	// The kernel lets us subscribe again: hints work, polling stops.
	os.mu.Lock()
	os.subErr = nil
	os.mu.Unlock()
	h.clk.WaitTimers(1)
	h.clk.Advance(time.Second)
	if n := <-os.subDone; n != 1 {
		t.Fatalf("subscribe count %d after recovery", n)
	}
	os.set(func(s *WANState) { s.Carrier = false })
	h.clk.WaitTimers(1)
	if d, _ := h.clk.NextDeadline(); d.Sub(h.clk.Now()) != resyncInterval {
		t.Errorf("timer at %v while subscribed, want the slow resync %v", d.Sub(h.clk.Now()), resyncInterval)
	}
	os.fire()
	if got := h.next(); got.Carrier {
		t.Fatalf("hint after recovery not handled: %+v", got)
	}
}

func TestRunRetriesFailedRead(t *testing.T) {
	os := newFakeOS(healthy())
	os.readErr = errors.New("interrupted")
	h := startHarness(t, os, nil)
	h.waitReads(1)
	h.noneEmitted()
	os.mu.Lock()
	os.readErr = nil
	os.mu.Unlock()
	h.clk.WaitTimers(1)
	h.clk.Advance(time.Second)
	if got := h.next(); !got.Usable() {
		t.Fatalf("after retry: %+v", got)
	}
}

func TestRunTwice(t *testing.T) {
	os := newFakeOS(healthy())
	h := startHarness(t, os, nil)
	h.next()
	if err := h.mon.Run(context.Background(), func(WANState) {}); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run = %v, want ErrRunning", err)
	}
	h.stop()
	subs, closes, _ := os.counts()
	if subs != closes || !os.released {
		t.Errorf("after stop: subs %d closes %d released %v", subs, closes, os.released)
	}
	// A stopped Monitor can run again.
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := h.mon.Run(ctx, func(WANState) { n++; cancel() })
	if err != nil || n != 1 {
		t.Fatalf("rerun: err %v, calls %d", err, n)
	}
}

func TestInjectEvent(t *testing.T) {
	os := newFakeOS(healthy())
	h := startHarness(t, os, nil)
	h.next()
	os.set(func(s *WANState) { s.Addrs = nil })
	h.mon.InjectEvent()
	if got := h.next(); len(got.Addrs) != 0 {
		t.Fatalf("InjectEvent did not re-read: %+v", got)
	}
}
