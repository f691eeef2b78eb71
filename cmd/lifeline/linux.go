package main

import (
	"lifeline/boards"
	"lifeline/daemon"
	"lifeline/hal/gpio"
)

// gpioSpec turns a board's GPIO line (a chip's line, not a telephone line)
// into hal/gpio's spec.
func gpioSpec(g boards.GPIOLine, label string) gpio.LineSpec {
	name := g.Line
	if name == "" {
		name = label
	}
	return gpio.LineSpec{Chip: g.Chip, Offset: g.Offset, Name: name, ActiveLow: g.ActiveLow, Bias: g.Bias, Debounce: g.Debounce}
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
