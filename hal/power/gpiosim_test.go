package power_test

// Tier 5: the Monitor on kernel GPIO lines of a gpio-sim chip (root, where
// /sys/kernel/config/gpio-sim exists; the QEMU guest runs it). Skips
// elsewhere.

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/warthog618/go-gpiosim"

	"lifeline/hal/clock"
	"lifeline/hal/gpio"
	"lifeline/hal/power"
)

func TestSimMonitor(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/config/gpio-sim"); err != nil {
		t.Skipf("needs gpio-sim (modprobe gpio-sim; configfs on /sys/kernel/config): %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to configure gpio-sim")
	}
	mainsName := fmt.Sprintf("ll-power-mains-%d", os.Getpid())
	lowName := fmt.Sprintf("ll-power-low-%d", os.Getpid())
	sim, err := gpiosim.NewSim(gpiosim.WithBank(gpiosim.NewBank("lifeline-power", 4,
		gpiosim.WithNamedLine(0, mainsName), gpiosim.WithNamedLine(1, lowName))))
	if err != nil {
		t.Fatalf("gpio-sim: %v", err)
	}
	defer sim.Close()
	c := &sim.Chips[0]
	c.Pullup(0) // mains present
	c.Pullup(1) // battery-low is active-low: high = not low

	clk := clock.Real()
	got := make(states, 16)
	m, err := power.New(clk, power.Config{
		Opener:       gpio.NewCdev(clk),
		MainsPresent: &gpio.LineSpec{Offset: -1, Name: mainsName, Debounce: 10 * time.Millisecond},
		BatteryLow:   &gpio.LineSpec{Offset: -1, Name: lowName, ActiveLow: true, Debounce: 10 * time.Millisecond},
	}, power.WithHandler(got.handle))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if s := got.next(t); s != (power.State{Source: power.Mains, Percent: -1}) {
		t.Errorf("initial %+v", s)
	}
	c.Pulldown(0)
	if s := got.next(t); s != (power.State{Source: power.Battery, Percent: -1}) {
		t.Errorf("after mains loss %+v", s)
	}
	c.Pulldown(1)
	if s := got.next(t); s != (power.State{Source: power.Battery, Percent: -1, Low: true}) {
		t.Errorf("after battery low %+v", s)
	}
	c.Pullup(0)
	if s := got.next(t); s != (power.State{Source: power.Mains, Percent: -1, Low: true}) {
		t.Errorf("after mains back %+v", s)
	}
}
