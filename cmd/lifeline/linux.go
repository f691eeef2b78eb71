package main

import (
	"context"
	"fmt"

	"lifeline/boards"
	"lifeline/daemon"
	"lifeline/hal/gpio"
	"lifeline/hal/netmon"
	hpower "lifeline/hal/power"
	"lifeline/hal/sipprobe"
)

// lineSpec turns a board's GPIO line into hal/gpio's spec.
func lineSpec(g boards.GPIOLine, label string) gpio.LineSpec {
	name := g.Line
	if name == "" {
		name = label
	}
	return gpio.LineSpec{Chip: g.Chip, Offset: g.Offset, Name: name, ActiveLow: g.ActiveLow, Bias: g.Bias, Debounce: g.Debounce}
}

// powerConfig maps the board's power lines and supply class onto hal/power.
func (hw *hardware) powerConfig() hpower.Config {
	c := hpower.Config{Opener: hw.gpio, SupplyDir: hw.board.PowerSupply, Uevents: hw.board.PowerSupply != ""}
	for role, g := range hw.board.GPIO {
		spec := lineSpec(g, role)
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

// startLinux starts the kernel-backed watchers: the WAN over netlink and the
// power sources over GPIO and the power-supply class.
func (hw *hardware) startLinux(ctx context.Context, d *daemon.Daemon, cfg *daemon.Config) error {
	hw.wan.run(ctx, cfg.WANInterface, func(ctx context.Context, goOwned func(func())) error {
		mon := netmon.New(cfg.WANInterface, netmon.WithLogger(hw.log), netmon.WithClock(hw.clk))
		goOwned(func() {
			if err := mon.Run(ctx, func(s netmon.WANState) { hw.post(wanInput(s)) }); err != nil {
				hw.log.Error("wan monitor stopped", "err", err)
			}
		})
		return nil
	})
	var target sipprobe.Target
	if cfg.Provider.Host != "" {
		target = sipprobe.Target{Host: cfg.Provider.Host, Port: cfg.Provider.Port,
			Transport: cfg.Provider.Transport, Interface: cfg.WANInterface}
	}
	if err := hw.startProbe(ctx, cfg, target); err != nil {
		return err
	}
	// The power sensing depends on the board only: started once.
	_, err := hw.power.run(ctx, "board", func(ctx context.Context, goOwned func(func())) error {
		pc := hw.powerConfig()
		if pc.MainsPresent == nil && pc.OnBattery == nil && pc.BatteryLow == nil && pc.SupplyDir == "" {
			return nil
		}
		pm, err := hpower.New(hw.clk, pc, hpower.WithLogger(hw.log), hpower.WithHandler(func(s hpower.State) {
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
	})
	return err
}

func wanInput(s netmon.WANState) daemon.WANInput {
	w := daemon.WANInput{Interface: s.Interface, Present: s.Present, Carrier: s.Carrier, OperState: s.OperState,
		DefaultRoute: s.DefaultRoute()}
	for _, a := range s.Addrs {
		if !a.Addr().IsLinkLocalUnicast() {
			w.Addresses = append(w.Addresses, a.String())
		}
	}
	return w
}

// relay drives the lifeline relay: energised only while the route is sip;
// de-energised (the phone on the PSTN line) otherwise and whenever the
// daemon is gone, since the hardware is wired fail-safe.
type relay struct {
	out gpio.Output
	hw  *hardware
}

// SetRoute implements daemon.RouteActuator.
func (r *relay) SetRoute(route daemon.Route, reason string) {
	if err := r.out.Write(route == daemon.RouteSIP); err != nil {
		r.hw.log.Error("relay", "line", r.out.String(), "err", err)
	}
}
