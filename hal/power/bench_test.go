package power_test

import (
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/gpio"
	"lifeline/hal/power"
)

// BenchmarkEdgeToState: one edge of a (kernel-debounced) mains line on the
// fake backend to the Monitor's Handler receiving the new State. One op is
// one edge; allocations are those of hal/gpio + hal/power per event.
func BenchmarkEdgeToState(b *testing.B) {
	clk := clock.NewFake(t0)
	be := fakeBoard()
	got := make(chan power.State, 1)
	m, err := power.New(clk, power.Config{Opener: be, MainsPresent: &gpio.LineSpec{Offset: -1, Name: "ac-ok-n", ActiveLow: true}},
		power.WithHandler(func(s power.State) { got <- s }))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	<-got
	high := false
	ts := time.Duration(0)
	b.ReportAllocs()
	for b.Loop() {
		high = !high
		ts += time.Second
		be.Inject("ac-ok-n", high, ts)
		<-got
	}
}

// BenchmarkReadSupplies: one re-read of a fake class with a mains supply and
// a battery (what each poll or uevent costs).
func BenchmarkReadSupplies(b *testing.B) {
	fs := newSysfs(b)
	fs.set("AC", map[string]string{"type": "Mains", "online": "1"})
	fs.set("BAT0", map[string]string{"type": "Battery", "capacity": "80", "status": "Charging"})
	b.ReportAllocs()
	for b.Loop() {
		if ss, err := power.ReadSupplies(fs.dir); err != nil || len(ss) != 2 {
			b.Fatal(ss, err)
		}
	}
}
