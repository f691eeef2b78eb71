package main

import (
	"context"
	"net/netip"

	"lifeline/daemon"
	"lifeline/hal/netmon"
	"lifeline/hal/power"
	"lifeline/hal/simboard"
)

// simSignalsFeature reports the sim board's signals (WAN and power) as the
// real board's watchers would; `lifeline sim` changes them (simChanged).
// Every apply reports them again, for the WAN interface of the new
// configuration. On other boards it is off.
var simSignalsFeature = featureDef{name: "sim-signals", new: func(hw *hardware) feature { return simSignals{hw} }}

type simSignals struct{ hw *hardware }

func (f simSignals) apply(ctx context.Context, cfg *daemon.Config) error {
	if f.hw.sim == nil {
		return nil
	}
	s := f.hw.sim.Signals()
	f.hw.post(simWAN(cfg, s))
	f.hw.post(simPower(s))
	return nil
}

func (simSignals) stop() {}

// simChanged turns a simulated signal change into the daemon input real
// hardware would give.
func (hw *hardware) simChanged(c simboard.Change) {
	hw.mu.Lock()
	cfg := hw.cfg
	hw.mu.Unlock()
	if cfg == nil {
		return
	}
	switch c.Signal {
	case "wan":
		hw.post(simWAN(cfg, c.Now))
	case "mains", "battery":
		hw.post(simPower(c.Now))
	case "line":
		// The simulator's line goes dead or live; the real engine finds out.
		hw.simModem.SetLine(c.Now.Line)
		hw.checkLineNow()
	case "key":
		hw.post(daemon.KeyInput{Key: c.Key, Pressed: c.Pressed})
	case "ring":
		// The line rings with caller ID, as a PSTN caller's call does;
		// the gateway offers it to its incoming target.
		if c.Caller == "stop" {
			hw.simModem.StopRinging()
		} else if err := hw.simModem.Ring(c.Caller); err != nil {
			hw.log.Warn("sim ring", "caller", c.Caller, "err", err)
		}
	case "provider":
		// Seen by the real probe at its next OPTIONS, as a real provider is.
		hw.simProvider.SetUp(c.Now.Provider)
	}
}

func simWAN(cfg *daemon.Config, s simboard.Signals) daemon.WANInput {
	w := netmon.WANState{Interface: cfg.WANInterface, Present: true, AdminUp: true, Carrier: s.WAN, OperState: "down"}
	if s.WAN {
		w.OperState = "up"
		w.Addrs = []netip.Prefix{netip.MustParsePrefix("192.0.2.2/24")}
		w.DefaultRoute4 = true
	}
	return daemon.WANInput{State: w}
}

// simPower is what hal/power would merge from a mains line and a battery
// supply.
func simPower(s simboard.Signals) daemon.PowerInput {
	st := power.State{Source: power.Mains, Percent: s.Battery, Status: "Charging"}
	if s.Battery == 100 {
		st.Status = "Full"
	}
	if !s.Mains {
		st.Source, st.Status = power.Battery, "Discharging"
	}
	return daemon.PowerInput{State: st}
}
