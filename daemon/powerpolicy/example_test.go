package powerpolicy_test

import (
	"fmt"
	"time"

	"lifeline/daemon/powerpolicy"
	"lifeline/hal/ifctl"
	"lifeline/hal/power"
)

// The loop around the policy: feed readings and results, carry out the
// actions, arm one timer at NextDeadline and send a Tick when it fires.
func Example() {
	cfg := powerpolicy.Config{OnBatteryDelay: 2 * time.Second, CriticalPercent: 10,
		ShedInterfaces: []string{"wlan1"}, ShutdownGrace: 30 * time.Second}
	act := ifctl.NewFake(map[string]bool{"wlan1": true})
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	p := &powerpolicy.Policy{Config: cfg, State: powerpolicy.Resume(nil)} // Resume(DecodeShed(saved file)) after a restart

	var do func(acts []powerpolicy.Action)
	do = func(acts []powerpolicy.Action) {
		for _, a := range acts {
			fmt.Println(a)
			switch a.Kind {
			case powerpolicy.Shed:
				was, err := act.Down(a.Interface)
				do(p.Handle(powerpolicy.ShedDoneEvent(a.Interface, was, err), now))
			case powerpolicy.Restore:
				do(p.Handle(powerpolicy.RestoreDoneEvent(a.Interface, act.Up(a.Interface)), now))
			}
		}
	}
	do(p.Handle(powerpolicy.ReadingEvent(power.State{Source: power.Battery, Percent: 80}), now))
	if d, ok := p.NextDeadline(); ok {
		now = d
		do(p.Handle(powerpolicy.TickEvent(), now))
	}
	now = now.Add(time.Minute)
	do(p.Handle(powerpolicy.ReadingEvent(power.State{Source: power.Mains, Percent: 79}), now))
	// Output:
	// announce powerout
	// announce onbattery
	// shed wlan1
	// save ["wlan1"]
	// announce mainsback
	// restore wlan1
	// save []
}
