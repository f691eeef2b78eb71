package main

import (
	"context"

	"lifeline/daemon"
	"lifeline/hal/netmon"
)

// wanFeature watches the WAN interface over netlink (hal/netmon) and
// reports each change of its state; restarted when wan_interface changes.
// On the sim board the simulated signals stand in for it.
var wanFeature = featureDef{name: "wan", new: func(hw *hardware) feature {
	return &keyed{hw: hw, name: "wan",
		key: func(cfg *daemon.Config) string {
			if hw.sim != nil {
				return ""
			}
			return cfg.WANInterface
		},
		start: func(ctx context.Context, cfg *daemon.Config, goOwned func(func())) error {
			mon := netmon.New(cfg.WANInterface, netmon.WithLogger(hw.log), netmon.WithClock(hw.clk))
			goOwned(func() {
				if err := mon.Run(ctx, func(s netmon.WANState) { hw.post(daemon.WANInput{State: s}) }); err != nil {
					hw.log.Error("wan monitor stopped", "err", err)
				}
			})
			return nil
		},
	}
}}
