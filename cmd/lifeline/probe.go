package main

import (
	"context"
	"fmt"

	"lifeline/daemon"
	"lifeline/hal/sipprobe"
)

// probeFeature runs the SIP provider probe on its adaptive schedule, each
// result an input of the route machine. A probe already running for the
// same target and provider section is kept: restarting it would restart
// its schedule, and a SIGHUP every 250 ms kept a dead provider "up". No
// provider host: off.
var probeFeature = featureDef{name: "probe", new: func(hw *hardware) feature {
	return &keyed{hw: hw, name: "probe",
		key: func(cfg *daemon.Config) string {
			t := probeTarget(hw, cfg)
			if t == (sipprobe.Target{}) {
				return ""
			}
			return fmt.Sprintf("%#v %#v", t, cfg.Provider)
		},
		start: func(ctx context.Context, cfg *daemon.Config, goOwned func(func())) error {
			startProbe(ctx, hw, cfg, probeTarget(hw, cfg), goOwned)
			return nil
		},
		kept: func(cfg *daemon.Config) {
			hw.log.Info("provider section unchanged: probe kept across the reload", "target", probeTarget(hw, cfg).String())
		},
	}
}}

// probeTarget is where the provider is: the sim board's own on loopback,
// or the provider section's host through the WAN interface.
func probeTarget(hw *hardware, cfg *daemon.Config) sipprobe.Target {
	switch {
	case hw.simProvider != nil:
		return sipprobe.Target{Host: "127.0.0.1", Port: hw.simProvider.Port(), Transport: "udp"}
	case cfg.Provider.Host != "":
		return sipprobe.Target{Host: cfg.Provider.Host, Port: cfg.Provider.Port,
			Transport: cfg.Provider.Transport, Interface: cfg.WANInterface}
	}
	return sipprobe.Target{}
}

func startProbe(ctx context.Context, hw *hardware, cfg *daemon.Config, t sipprobe.Target, goOwned func(func())) {
	p := cfg.Provider
	pr := sipprobe.New(t, sipprobe.WithClock(hw.clk), sipprobe.WithLogger(hw.log),
		sipprobe.WithInterval(p.Interval), sipprobe.WithFastInterval(p.FastInterval),
		sipprobe.WithTimeout(p.Timeout), sipprobe.WithFastProbes(p.DownAfter))
	hw.log.Info("probing the SIP provider", "target", t.String(), "interval", p.Interval, "down_after", p.DownAfter)
	goOwned(func() {
		err := pr.Run(ctx, func(r sipprobe.Result) {
			if !r.OK {
				hw.log.Debug("provider probe lost", "target", t.String(), "err", r.Err)
			}
			hw.post(daemon.ProbeInput{OK: r.OK, RTT: r.RTT})
		})
		if err != nil {
			hw.log.Error("provider probe stopped", "err", err)
		}
	})
}
