package hotkey_test

import (
	"fmt"
	"time"

	"lifeline/daemon/hotkey"
	"lifeline/hal/clock"
	"lifeline/hal/keys"
)

// The daemon's loop: feed key events, and Tick at NextDeadline on the
// injected clock. Here a fake clock stands in and the events are scripted.
func Example() {
	clk := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	m, err := hotkey.New([]hotkey.Binding{{
		Name: "force_pstn", Keys: []string{"wps", "phone"}, Hold: 2 * time.Second,
		Action: hotkey.ActionToggle, For: time.Hour,
	}}, clk.Now())
	if err != nil {
		panic(err)
	}
	report := func(ms []hotkey.Match) {
		for _, x := range ms {
			fmt.Printf("%s: %s for %v at +%v\n", x.Binding, x.Action, x.For, x.At.Sub(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)))
		}
	}
	report(m.Key(keys.Event{Key: "wps", Pressed: true}, clk.Now()))
	clk.Advance(100 * time.Millisecond)
	report(m.Key(keys.Event{Key: "phone", Pressed: true}, clk.Now()))
	if d, ok := m.NextDeadline(); ok { // the daemon arms a timer for d
		clk.Set(d)
		report(m.Tick(clk.Now()))
	}
	// Output: force_pstn: toggle for 1h0m0s at +2.1s
}
