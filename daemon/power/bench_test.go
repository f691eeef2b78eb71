package power_test

import (
	"testing"
	"time"

	"lifeline/daemon/power"
	"lifeline/hal/clock"
	"lifeline/hal/gpio"
	"lifeline/hal/gpio/gpiotest"
	"lifeline/hal/ifctl"
	hpower "lifeline/hal/power"
)

// BenchmarkStepMainsLoss is the decision alone: a battery reading with no
// on-battery delay, from a State on mains, to the Shed actions.
func BenchmarkStepMainsLoss(b *testing.B) {
	c := power.Config{CriticalPercent: 10, ShedInterfaces: []string{"wlan1", "lan4"}}
	s0, _ := power.Step(c, power.State{}, mains(100), t0)
	ev := battery(90)
	b.ReportAllocs()
	for b.Loop() {
		_, acts := power.Step(c, s0, ev, t0)
		if len(acts) != 4 {
			b.Fatalf("acts %v", acts)
		}
	}
}

// BenchmarkStepReading is a routine event: a capacity reading on battery
// that changes nothing.
func BenchmarkStepReading(b *testing.B) {
	c := power.Config{CriticalPercent: 10, ShedInterfaces: []string{"wlan1", "lan4"}}
	s, _ := power.Step(c, power.State{}, battery(90), t0)
	ev := battery(90)
	b.ReportAllocs()
	for b.Loop() {
		_, acts := power.Step(c, s, ev, t0)
		if len(acts) != 0 {
			b.Fatalf("acts %v", acts)
		}
	}
}

// pipeline is the whole chain on fakes: gpiotest line → (software debounce
// on a fake clock, if deb > 0) → hal/power Monitor → policy Step → actions
// carried out on an ifctl.Fake, the results fed back. Each decision that
// issues Shed or Restore actions is reported on decided.
type pipeline struct {
	b       *gpiotest.Backend
	clk     *clock.Fake
	mon     *hpower.Monitor
	decided chan int
}

func newPipeline(tb testing.TB, deb time.Duration) *pipeline {
	p := &pipeline{
		b:       &gpiotest.Backend{Lines: []*gpiotest.Line{{Chip: "gpiochip0", Offset: 4, Name: "mains", High: true}}},
		clk:     clock.NewFake(t0),
		decided: make(chan int, 1),
	}
	c := power.Config{CriticalPercent: 10, ShedInterfaces: []string{"wlan1", "lan4"}}
	act := ifctl.NewFake(map[string]bool{"wlan1": true, "lan4": true})
	var s power.State
	handler := func(st hpower.State) { // the Monitor's goroutine owns s
		var acts []string
		s, acts = run(c, s, power.ReadingEvent(st), p.clk.Now(), act)
		n := 0
		for _, a := range acts {
			if len(a) > 5 && (a[:5] == "shed " || a[:5] == "resto") {
				n++
			}
		}
		if n > 0 {
			p.decided <- n
		}
	}
	var err error
	p.mon, err = hpower.New(p.clk, hpower.Config{
		Opener:       gpio.Debounce(p.b, p.clk),
		MainsPresent: &gpio.LineSpec{Offset: -1, Name: "mains", Debounce: deb},
	}, hpower.WithHandler(handler))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func (p *pipeline) wait(tb testing.TB) {
	select {
	case <-p.decided:
	case <-time.After(5 * time.Second): // safety net only
		tb.Fatal("no decision")
	}
}

// BenchmarkEdgeToShedActions: a mains edge on a kernel-debounced line (the
// kernel reports it after its debounce) to the Shed actions issued, and the
// return edge to the Restore actions. One op is one edge.
func BenchmarkEdgeToShedActions(b *testing.B) {
	p := newPipeline(b, 0)
	defer p.mon.Close()
	var worst time.Duration
	ts := time.Duration(0)
	high := true
	b.ReportAllocs()
	for b.Loop() {
		high = !high
		ts += time.Second
		start := time.Now()
		p.b.Inject("mains", high, ts)
		p.wait(b)
		if d := time.Since(start); d > worst {
			worst = d
		}
	}
	b.ReportMetric(float64(worst.Nanoseconds()), "max-ns/edge")
}

// BenchmarkDebounceExpiryToShedActions: software debounce on the fake
// clock. The timer measured starts when the debounce period expires (the
// clock is advanced past it) and stops when the actions are issued.
func BenchmarkDebounceExpiryToShedActions(b *testing.B) {
	const deb = 10 * time.Millisecond
	p := newPipeline(b, deb)
	defer p.mon.Close()
	var worst time.Duration
	ts := time.Duration(0)
	high := true
	b.ReportAllocs()
	for b.Loop() {
		high = !high
		ts += time.Second
		p.b.Inject("mains", high, ts)
		start := time.Now()
		p.clk.Advance(deb)
		p.wait(b)
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Nanoseconds()), "max-ns/edge")
}

// TestPipeline checks the benchmark's chain once, so a broken chain fails
// in `go test` and not only in `make bench`.
func TestPipeline(t *testing.T) {
	p := newPipeline(t, 10*time.Millisecond)
	defer p.mon.Close()
	p.b.Inject("mains", false, time.Second)
	p.clk.Advance(2 * time.Millisecond)
	p.b.Inject("mains", true, time.Second+2*time.Millisecond) // glitch
	p.clk.Advance(time.Second)
	select {
	case n := <-p.decided:
		t.Fatalf("glitch decided %d actions", n)
	default:
	}
	p.b.Inject("mains", false, 3*time.Second)
	p.clk.Advance(10 * time.Millisecond)
	p.wait(t)
	if st := p.mon.State(); st.Source != hpower.Battery {
		t.Errorf("monitor state %+v", st)
	}
}
