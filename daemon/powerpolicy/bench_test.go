package powerpolicy_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warthog618/go-gpiosim"

	"lifeline/daemon/powerpolicy"
	"lifeline/hal/clock"
	"lifeline/hal/gpio"
	"lifeline/hal/gpio/gpiotest"
	"lifeline/hal/ifctl"
	"lifeline/hal/power"
)

// BenchmarkStepMainsLoss is the decision alone: a battery reading with no
// on-battery delay, from a State on mains, to the Shed actions.
func BenchmarkStepMainsLoss(b *testing.B) {
	c := powerpolicy.Config{CriticalPercent: 10, ShedInterfaces: []string{"wlan1", "lan4"}}
	s0, _ := powerpolicy.Step(c, powerpolicy.State{}, mains(100), t0)
	ev := battery(90)
	b.ReportAllocs()
	for b.Loop() {
		_, acts := powerpolicy.Step(c, s0, ev, t0)
		if len(acts) != 4 {
			b.Fatalf("acts %v", acts)
		}
	}
}

// BenchmarkStepReading is a routine event: a capacity reading on battery
// that changes nothing.
func BenchmarkStepReading(b *testing.B) {
	c := powerpolicy.Config{CriticalPercent: 10, ShedInterfaces: []string{"wlan1", "lan4"}}
	s, _ := powerpolicy.Step(c, powerpolicy.State{}, battery(90), t0)
	ev := battery(90)
	b.ReportAllocs()
	for b.Loop() {
		_, acts := powerpolicy.Step(c, s, ev, t0)
		if len(acts) != 0 {
			b.Fatalf("acts %v", acts)
		}
	}
}

// pipeline is the whole chain: a gpio line → hal/power Monitor → policy
// Step → actions carried out on an ifctl.Fake, the results fed back. Each
// decision that issues Shed or Restore actions is reported on decided.
type pipeline struct {
	b       *gpiotest.Backend // nil on a real chip
	clk     *clock.Fake       // nil on a real chip
	mon     *power.Monitor
	decided chan int
}

// newPipeline builds the chain on the fake backend, with software debounce
// deb on a fake clock (0: none, as for a line the kernel debounces).
func newPipeline(tb testing.TB, deb time.Duration) *pipeline {
	b := &gpiotest.Backend{Lines: []*gpiotest.Line{{Chip: "gpiochip0", Offset: 4, Name: "mains", High: true}}}
	clk := clock.NewFake(t0)
	p := startPipeline(tb, clk, gpio.Debounce(b, clk), gpio.LineSpec{Offset: -1, Name: "mains", Debounce: deb})
	p.b, p.clk = b, clk
	return p
}

func startPipeline(tb testing.TB, clk clock.Clock, op gpio.Opener, spec gpio.LineSpec) *pipeline {
	p := &pipeline{decided: make(chan int, 1)}
	c := powerpolicy.Config{CriticalPercent: 10, ShedInterfaces: []string{"wlan1", "lan4"}}
	act := ifctl.NewFake(map[string]bool{"wlan1": true, "lan4": true})
	var s powerpolicy.State
	handler := func(st power.State) { // the Monitor's goroutine owns s
		var acts []string
		s, acts = run(c, s, powerpolicy.ReadingEvent(st), clk.Now(), act)
		n := 0
		for _, a := range acts {
			if strings.HasPrefix(a, "shed ") || strings.HasPrefix(a, "restore ") {
				n++
			}
		}
		if n > 0 {
			p.decided <- n
		}
	}
	var err error
	p.mon, err = power.New(clk, power.Config{Opener: op, MainsPresent: &spec}, power.WithHandler(handler))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// latencies records per-edge latencies without allocating in the loop and
// reports p50, p99 and max.
type latencies []time.Duration

func newLatencies() latencies { return make(latencies, 0, 1<<20) }

func (l *latencies) add(d time.Duration) {
	if len(*l) < cap(*l) {
		*l = append(*l, d)
	}
}

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	b.ReportMetric(float64(l[len(l)/2].Nanoseconds()), "p50-ns/edge")
	b.ReportMetric(float64(l[len(l)*99/100].Nanoseconds()), "p99-ns/edge")
	b.ReportMetric(float64(l[len(l)-1].Nanoseconds()), "max-ns/edge")
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
	lat := newLatencies()
	ts := time.Duration(0)
	high := true
	b.ReportAllocs()
	for b.Loop() {
		high = !high
		ts += time.Second
		start := time.Now()
		p.b.Inject("mains", high, ts)
		p.wait(b)
		lat.add(time.Since(start))
	}
	lat.report(b)
}

// BenchmarkDebounceExpiryToShedActions: software debounce on the fake
// clock. The timer measured starts when the debounce period expires (the
// clock is advanced past it) and stops when the actions are issued.
func BenchmarkDebounceExpiryToShedActions(b *testing.B) {
	const deb = 10 * time.Millisecond
	p := newPipeline(b, deb)
	defer p.mon.Close()
	lat := newLatencies()
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
		lat.add(time.Since(start))
	}
	lat.report(b)
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
	if st := p.mon.State(); st.Source != power.Battery {
		t.Errorf("monitor state %+v", st)
	}
}

// BenchmarkSimEdgeToShedActions is BenchmarkEdgeToShedActions on a real
// kernel line of a gpio-sim chip (the QEMU guest: GUEST_TEST_FLAGS=
// "-test.run XXX -test.bench Sim"): from the write that flips the simulated
// line to the Shed/Restore actions. No debounce, so the figure is the
// pipeline's own latency, kernel included. Skips without gpio-sim.
func BenchmarkSimEdgeToShedActions(b *testing.B) {
	if _, err := os.Stat("/sys/kernel/config/gpio-sim"); err != nil || os.Geteuid() != 0 {
		b.Skip("needs root and gpio-sim")
	}
	name := fmt.Sprintf("ll-bench-mains-%d", os.Getpid())
	sim, err := gpiosim.NewSim(gpiosim.WithBank(gpiosim.NewBank("lifeline-bench", 1, gpiosim.WithNamedLine(0, name))))
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	c := &sim.Chips[0]
	c.Pullup(0)
	clk := clock.Real()
	p := startPipeline(b, clk, gpio.NewCdev(clk), gpio.LineSpec{Offset: -1, Name: name})
	defer p.mon.Close()
	lat := newLatencies()
	high := true
	b.ReportAllocs()
	for b.Loop() {
		high = !high
		start := time.Now()
		if high {
			err = c.Pullup(0)
		} else {
			err = c.Pulldown(0)
		}
		if err != nil {
			b.Fatal(err)
		}
		p.wait(b)
		lat.add(time.Since(start))
	}
	lat.report(b)
}
