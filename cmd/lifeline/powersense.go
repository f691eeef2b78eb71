package main

import (
	"context"
	"fmt"

	"lifeline/daemon"
	"lifeline/hal/power"
)

// powerFeature senses the board's power sources (GPIO lines and the
// power-supply class, merged by hal/power) and reports each reading. It
// depends on the board only: started once. Off on the sim board and on a
// board that names no power source.
var powerFeature = featureDef{name: "power", new: func(hw *hardware) feature {
	return &keyed{hw: hw, name: "power",
		key: func(*daemon.Config) string {
			pc := powerConfig(hw)
			if hw.sim != nil || pc.MainsPresent == nil && pc.OnBattery == nil && pc.BatteryLow == nil && pc.SupplyDir == "" {
				return ""
			}
			return "board"
		},
		start: func(ctx context.Context, _ *daemon.Config, goOwned func(func())) error {
			pm, err := power.New(hw.clk, powerConfig(hw), power.WithLogger(hw.log), power.WithHandler(func(s power.State) {
				hw.post(daemon.PowerInput{State: s})
			}))
			if err != nil {
				return fmt.Errorf("power sensing on board %s: %w", hw.board.Name, err)
			}
			goOwned(func() {
				<-ctx.Done()
				pm.Close()
			})
			return nil
		},
	}
}}

// powerConfig maps the board's power lines and supply class onto hal/power.
func powerConfig(hw *hardware) power.Config {
	c := power.Config{Opener: hw.gpio, SupplyDir: hw.board.PowerSupply, Uevents: hw.board.PowerSupply != ""}
	for role, g := range hw.board.GPIO {
		spec := gpioSpec(g, role)
		switch role {
		case "mains":
			c.MainsPresent = &spec
		case "on_battery":
			c.OnBattery = &spec
		case "battery_low":
			c.BatteryLow = &spec
		}
	}
	return c
}
