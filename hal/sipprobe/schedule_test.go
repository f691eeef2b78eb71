package sipprobe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"lifeline/hal/clock"
)

// simRun drives Prober.Run on a simulated network and a fake clock.
type simRun struct {
	t       testing.TB
	clk     *clock.Fake
	rc      *runClock
	sn      *simNet
	p       *Prober
	results chan Result
	started bool // a Result was delivered: Run is arming its schedule timer
}

// runClock is the fake clock as the prober sees it. The first timer made on
// it is Run's schedule timer, and each Reset of that timer reports its
// deadline on waits, so next() moves the time to Run's wait and never past a
// probe's own timers. A bare WaitTimers(1) cannot tell the two apart: when
// the wait is 0 (a lost probe takes the whole fast interval), the timer is
// due at once and may fire inside the Set that ended the last probe; the
// timers WaitTimers then sees are the next probe's, and advancing to them
// moved the time one retransmission too far (seen under CPU load).
type runClock struct {
	*clock.Fake
	first sync.Once
	waits chan time.Time
}

func (c *runClock) NewTimer(d time.Duration) clock.Timer {
	t := c.Fake.NewTimer(d)
	run := false
	c.first.Do(func() { run = true })
	if !run {
		return t
	}
	return &runTimer{Timer: t, c: c}
}

// runTimer is Run's schedule timer: Reset says where Run waits until.
type runTimer struct {
	clock.Timer
	c *runClock
}

func (t *runTimer) Reset(d time.Duration) bool {
	when := t.c.Now().Add(d) // only the test moves the time, and it waits for this
	was := t.Timer.Reset(d)
	t.c.waits <- when
	return was
}

func startSimRun(t testing.TB, sn *simNet, opts ...Option) *simRun {
	t.Helper()
	clk := clock.NewFake(t0)
	rc := &runClock{Fake: clk, waits: make(chan time.Time, 1<<16)}
	s := &simRun{t: t, clk: clk, rc: rc, sn: sn, p: newSimProber(t, sn, clk, append(opts, WithClock(rc))...), results: make(chan Result, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.p.Run(ctx, func(r Result) { s.results <- r }) }()
	t.Cleanup(func() {
		cancel()
		// Run may be handing over a Result; drain until it returns.
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
				return
			case <-s.results:
			case <-s.sn.events:
			}
		}
	})
	return s
}

// next advances simulated time until Run reports its next Result.
func (s *simRun) next() Result {
	s.t.Helper()
	if s.started {
		select {
		case d := <-s.rc.waits: // Run's wait before the next probe
			s.clk.Set(d) // a no-op for the time if that wait was 0 and has fired
		case <-time.After(10 * time.Second): // safety net only
			s.t.Fatal("Run never waited for its next probe")
		}
	}
	s.started = true
	for {
		select {
		case r := <-s.results:
			return r
		case ev := <-s.sn.events:
			if !ev.answered {
				advanceNext(s.clk)
			}
		case <-time.After(10 * time.Second): // safety net only
			s.t.Fatal("Run hung")
		}
	}
}

func TestRunSchedule(t *testing.T) {
	sn := newSimNet(1)
	s := startSimRun(t, sn)
	type step struct {
		name   string
		before func(*simNet)
		ok     bool
		gap    time.Duration // between this probe's start and the previous one's start
	}
	steady, lost := time.Second, max(DefaultTimeout, DefaultFastInterval)
	steps := []step{
		{"first probe at once", nil, true, 0},
		{"steady", nil, true, steady},
		{"steady again", nil, true, steady},
		{"provider dies: first loss after a steady wait", func(n *simNet) { n.dead = true }, false, steady},
		{"fast re-probe 1", nil, false, lost},
		{"fast re-probe 2 (third loss in a row)", nil, false, lost},
		{"fast re-probe 3", nil, false, lost},
		{"fast re-probe 4", nil, false, lost},
		{"still dead: back to the steady interval", nil, false, steady},
		{"steady while dead", nil, false, steady},
		{"provider back", func(n *simNet) { n.dead = false }, true, steady},
		{"steady after recovery", nil, true, steady},
		{"single loss", func(n *simNet) { n.dropNext = 3 }, false, steady},
		{"fast re-probe answers", nil, true, lost},
		{"steady resumes from that probe", nil, true, steady},
		{"refused: fails at once", func(n *simNet) { n.refused = true }, false, steady},
		{"refused re-probe one fast interval later", nil, false, DefaultFastInterval},
		{"refused re-probe again", nil, false, DefaultFastInterval},
	}
	var prev time.Time
	for i, st := range steps {
		if st.before != nil {
			sn.set(st.before)
		}
		r := s.next()
		if r.OK != st.ok {
			t.Fatalf("step %d %q: OK=%v err=%v", i, st.name, r.OK, r.Err)
		}
		if i > 0 {
			if gap := r.At.Sub(prev); gap != st.gap {
				t.Errorf("step %d %q: started %v after the previous, want %v", i, st.name, gap, st.gap)
			}
		}
		prev = r.At
	}
}

func TestRunTwice(t *testing.T) {
	sn := newSimNet(1)
	s := startSimRun(t, sn)
	s.next()
	if err := s.p.Run(context.Background(), func(Result) {}); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run: %v", err)
	}
}

// TestDetectionTimeSimulated kills the provider at several phases of the
// steady interval and measures, in simulated time, when the third loss in
// a row is reported (down_after = 3).
func TestDetectionTimeSimulated(t *testing.T) {
	for _, phase := range []time.Duration{0, 1, 250 * time.Millisecond, 500 * time.Millisecond, 999 * time.Millisecond} {
		t.Run(phase.String(), func(t *testing.T) {
			sn := newSimNet(1)
			s := startSimRun(t, sn)
			r := s.next()
			// The provider dies `phase` after the last good probe started
			// (for phase 0: just after it answered).
			death := r.At.Add(phase)
			sn.set(func(n *simNet) { n.dead = true })
			losses := 0
			for losses < 3 {
				if r = s.next(); r.OK {
					t.Fatalf("alive after death: %+v", r)
				}
				losses++
			}
			detect := s.clk.Now().Sub(death)
			t.Logf("died %v into the interval, down_after=3 confirmed after %v", phase, detect)
			if detect > 1900*time.Millisecond {
				t.Errorf("detection took %v, want ≤ 1.9s (interval + 3 timeouts)", detect)
			}
		})
	}
}

// lossRun simulates d of probing under random loss (each datagram, request
// and response alike, lost with probability loss) and returns the probes,
// lost probes, and "down" decisions a downAfter-in-a-row rule would take.
func lossRun(t testing.TB, seed uint64, loss float64, d time.Duration, downAfter int, opts ...Option) (probes, lost, downs int) {
	sn := newSimNet(seed)
	sn.loss = loss
	s := startSimRun(t, sn, opts...)
	end := t0.Add(d)
	run := 0
	for s.clk.Now().Before(end) {
		r := s.next()
		probes++
		if r.OK {
			run = 0
			continue
		}
		lost++
		if run++; run == downAfter {
			downs++
		}
	}
	return probes, lost, downs
}

func TestNoFalseDownUnderLoss(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		probes, lost, downs := lossRun(t, seed, 0.05, 10*time.Minute, 3)
		t.Logf("seed %d: 10 min simulated at 5%% loss: %d probes, %d lost, %d false down decisions", seed, probes, lost, downs)
		if downs != 0 {
			t.Errorf("seed %d: %d false down decisions", seed, downs)
		}
		if probes < 590 || probes > 620 {
			t.Errorf("seed %d: %d probes in 10 min, want about one per second", seed, probes)
		}
	}
}

// BenchmarkSimulatedLoss reports false down decisions (down_after = 3)
// under 5 % random loss each way over 10 minutes of simulated time per
// iteration (each iteration a different seed), with the default three UDP
// transmissions per probe and, for comparison, with one.
func BenchmarkSimulatedLoss(b *testing.B) {
	for _, tx := range []int{DefaultTransmits, 1} {
		b.Run(fmt.Sprintf("transmits=%d", tx), func(b *testing.B) {
			var probes, lost, downs int
			for i := range b.N {
				p, l, d := lossRun(b, uint64(i)+1, 0.05, 10*time.Minute, 3, WithTransmits(tx), WithLogger(slog.New(slog.DiscardHandler)))
				probes, lost, downs = probes+p, lost+l, downs+d
			}
			b.ReportMetric(float64(downs)/float64(b.N), "false-downs/10min")
			b.ReportMetric(float64(probes)/float64(b.N), "probes/10min")
			b.ReportMetric(float64(lost)/float64(b.N), "lost-probes/10min")
		})
	}
}
