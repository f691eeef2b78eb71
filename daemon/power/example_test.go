package power_test

import (
	"fmt"
	"time"

	"lifeline/daemon/power"
	"lifeline/hal/ifctl"
	hpower "lifeline/hal/power"
)

// The loop around the policy: feed readings and results, carry out the
// actions, arm one timer at NextDeadline and send a Tick when it fires.
func Example() {
	cfg := power.Config{OnBatteryDelay: 2 * time.Second, CriticalPercent: 10,
		ShedInterfaces: []string{"wlan1"}, ShutdownGrace: 30 * time.Second}
	act := ifctl.NewFake(map[string]bool{"wlan1": true})
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	p := &power.Policy{Config: cfg, State: power.Resume(nil)} // Resume(DecodeShed(saved file)) after a restart

	var do func(acts []power.Action)
	do = func(acts []power.Action) {
		for _, a := range acts {
			fmt.Println(a)
			switch a.Kind {
			case power.Shed:
				was, err := act.Down(a.Interface)
				do(p.Handle(power.ShedDoneEvent(a.Interface, was, err), now))
			case power.Restore:
				do(p.Handle(power.RestoreDoneEvent(a.Interface, act.Up(a.Interface)), now))
			}
		}
	}
	do(p.Handle(power.ReadingEvent(hpower.State{Source: hpower.Battery, Percent: 80}), now))
	if d, ok := p.NextDeadline(); ok {
		now = d
		do(p.Handle(power.TickEvent(), now))
	}
	now = now.Add(time.Minute)
	do(p.Handle(power.ReadingEvent(hpower.State{Source: hpower.Mains, Percent: 79}), now))
	// Output:
	// announce powerout
	// announce onbattery
	// shed wlan1
	// save ["wlan1"]
	// announce mainsback
	// restore wlan1
	// save []
}
