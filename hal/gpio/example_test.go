package gpio_test

import (
	"fmt"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/gpio"
	"lifeline/hal/gpio/gpiotest"
)

// A mains-present line, active-low and debounced, on the fake backend. On
// a router the Opener is gpio.NewCdev(clock.Real()) and the spec comes
// from the board file.
func Example() {
	clk := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	board := &gpiotest.Backend{Lines: []*gpiotest.Line{{Chip: "gpiochip0", Offset: 3, Name: "ac-ok-n"}}}
	edges := make(chan gpio.Edge, 1)
	in, err := gpio.Debounce(board, clk).OpenInput(
		gpio.LineSpec{Offset: -1, Name: "ac-ok-n", ActiveLow: true, Debounce: 10 * time.Millisecond},
		func(e gpio.Edge) { edges <- e }) // must not block
	if err != nil {
		fmt.Println(err)
		return
	}
	defer in.Close()
	v, _ := in.Read()
	fmt.Println("mains present:", v)

	board.Inject("ac-ok-n", true, 5*time.Second) // the wire goes high: mains lost
	clk.Advance(10 * time.Millisecond)
	e := <-edges
	fmt.Println("mains present:", e.Active, "at", e.Time)
	// Output:
	// mains present: true
	// mains present: false at 5s
}
