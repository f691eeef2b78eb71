package gpio_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/gpio"
	"lifeline/hal/gpio/gpiotest"
)

// TestDebounceModel drives the software debouncer with random edge trains
// on the fake clock and compares what it reports with a model of the rule:
// a level is reported, stamped with its raw edge, once it has lasted the
// whole period, and only if it differs from the last reported level. Some
// steps inject the next edge without waiting for a due report, the race
// the debouncer resolves by committing in handle.
func TestDebounceModel(t *testing.T) {
	const d = 10 * time.Millisecond
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		clk := clock.NewFake(t0)
		b := &gpiotest.Backend{Lines: []*gpiotest.Line{{Chip: "c", Offset: 0, Name: "l", High: true}}}
		sink := make(edgeSink, 1024)
		in, err := gpio.Debounce(b, clk).OpenInput(gpio.LineSpec{Offset: -1, Name: "l", Debounce: d}, sink.handle)
		if err != nil {
			t.Fatal(err)
		}
		var (
			now        time.Duration // since t0
			raw        = true
			stable     = true
			lastChange time.Duration
			expected   []gpio.Edge
		)
		for i := 0; i < 300; i++ {
			if rng.IntN(3) > 0 {
				raw = !raw
				lastChange = now
				b.Inject("l", raw, now)
			}
			dt := time.Duration(rng.Int64N(int64(2 * d)))
			if rng.IntN(4) == 0 {
				dt = d - time.Duration(rng.Int64N(int64(time.Millisecond))) // just short of the period
			}
			clk.Advance(dt)
			now += dt
			if raw != stable && lastChange+d <= now {
				stable = raw
				expected = append(expected, gpio.Edge{Line: "l", Active: raw, Time: lastChange})
				if rng.IntN(2) == 0 {
					// Wait for it (and any before it); otherwise let the
					// next edge race the timer.
					for _, want := range expected {
						if e := sink.next(t); e != want {
							t.Fatalf("seed %d step %d: got %+v, want %+v", seed, i, e, want)
						}
					}
					expected = expected[:0]
				}
			}
		}
		clk.Advance(2 * d)
		if raw != stable {
			expected = append(expected, gpio.Edge{Line: "l", Active: raw, Time: lastChange})
			stable = raw
		}
		for j, want := range expected {
			if e := sink.next(t); e != want {
				t.Fatalf("seed %d: edge %d of the tail: got %+v, want %+v", seed, j, e, want)
			}
		}
		sink.none(t)
		if v, _ := in.Read(); v != stable {
			t.Errorf("seed %d: Read %v, want %v", seed, v, stable)
		}
		in.Close()
	}
}
