package gpio_test

import (
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/gpio"
	"lifeline/hal/gpio/gpiotest"
)

// BenchmarkFakeEdge: one injected edge through the fake to a handler.
func BenchmarkFakeEdge(b *testing.B) {
	be := board()
	n := 0
	in, err := be.OpenInput(gpio.LineSpec{Offset: -1, Name: "mains"}, func(gpio.Edge) { n++ })
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	high := true
	b.ReportAllocs()
	for b.Loop() {
		high = !high
		be.Inject("mains", high, time.Second)
	}
}

// BenchmarkDebouncedEdge: one edge through the software debouncer: raw edge
// in, fake clock advanced past the period, debounced edge out.
func BenchmarkDebouncedEdge(b *testing.B) {
	clk := clock.NewFake(t0)
	be := &gpiotest.Backend{Lines: []*gpiotest.Line{{Chip: "c", Offset: 0, Name: "mains", High: true}}}
	out := make(chan gpio.Edge, 1)
	in, err := gpio.Debounce(be, clk).OpenInput(gpio.LineSpec{Offset: -1, Name: "mains", Debounce: 10 * time.Millisecond},
		func(e gpio.Edge) { out <- e })
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	high := true
	b.ReportAllocs()
	for b.Loop() {
		high = !high
		be.Inject("mains", high, time.Second)
		clk.Advance(10 * time.Millisecond)
		<-out
	}
}
