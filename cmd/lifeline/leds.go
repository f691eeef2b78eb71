package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"lifeline/daemon"
	"lifeline/hal/clock"
	"lifeline/hal/led"
)

// LED patterns, one place to read them:
//
//	route: on = sip, slow blink = pstn, fast blink = degraded
//	power: on = mains, slow blink = on battery, fast blink = forced shutdown
//	line:  on = idle, slow blink = ringing or in a call, off = absent or no line
//
// A hotkey that fired flashes the route LED fast for ackTime.
var (
	slowBlink = led.Blink(500*time.Millisecond, 500*time.Millisecond)
	fastBlink = led.Blink(100*time.Millisecond, 100*time.Millisecond)
)

const ackTime = 2 * time.Second

// ledDriver shows the status on the board's LEDs. Observe records the
// latest status; one goroutine, owned by the driver and stopped by Close,
// writes sysfs. The LEDs get their original state back on Close.
type ledDriver struct {
	log  *slog.Logger
	clk  clock.Clock
	leds map[string]led.LED // by role: route, power, line

	mu     sync.Mutex // guards latest
	latest *daemon.Status
	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	// applied, if set (tests), is called after each round of LED writes.
	applied func()
}

func newLEDDriver(leds map[string]led.LED, log *slog.Logger, clk clock.Clock) *ledDriver {
	return startLEDDriver(leds, log, clk, nil)
}

func startLEDDriver(leds map[string]led.LED, log *slog.Logger, clk clock.Clock, applied func()) *ledDriver {
	ctx, cancel := context.WithCancel(context.Background())
	d := &ledDriver{log: log, clk: clk, leds: leds, wake: make(chan struct{}, 1), cancel: cancel,
		done: make(chan struct{}), applied: applied}
	go d.run(ctx)
	return d
}

// Observe implements daemon.StatusObserver.
func (d *ledDriver) Observe(st daemon.Status) {
	d.mu.Lock()
	d.latest = &st
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Close stops the goroutine and restores the LEDs; it is idempotent.
func (d *ledDriver) Close() error {
	d.once.Do(func() {
		d.cancel()
		<-d.done
		for role, l := range d.leds {
			if err := l.Close(); err != nil {
				d.log.Warn("led restore", "role", role, "err", err)
			}
		}
	})
	return nil
}

func (d *ledDriver) run(ctx context.Context) {
	defer close(d.done)
	var prev *daemon.Status
	var ackUntil time.Time
	ack := d.clk.NewTimer(time.Hour)
	ack.Stop()
	defer ack.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-ack.C():
		}
		d.mu.Lock()
		st := d.latest
		d.mu.Unlock()
		if st == nil {
			continue
		}
		now := d.clk.Now()
		if prev != nil && keypadChanged(prev, st) {
			ackUntil = now.Add(ackTime)
			ack.Reset(ackTime)
		}
		prev = st
		for role, p := range patterns(st, now.Before(ackUntil)) {
			if l := d.leds[role]; l != nil {
				if err := l.Set(p); err != nil {
					d.log.Warn("led", "role", role, "err", err)
				}
			}
		}
		if d.applied != nil {
			d.applied()
		}
	}
}

// keypadChanged reports a new override set from the keypad.
func keypadChanged(prev, st *daemon.Status) bool {
	src := func(s *daemon.Status) string {
		if s.Override.Source == nil {
			return ""
		}
		return *s.Override.Source
	}
	return src(st) == "keypad" && (prev.Override.Mode != st.Override.Mode || src(prev) != "keypad" ||
		!timeEq(prev.Override.Until, st.Override.Until)) ||
		src(prev) == "keypad" && st.Override.Mode == daemon.ModeAuto
}

func timeEq(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

// patterns maps a status to what each LED shows.
func patterns(st *daemon.Status, ack bool) map[string]led.Pattern {
	p := map[string]led.Pattern{}
	switch {
	case ack:
		p["route"] = fastBlink
	case st.Degraded:
		p["route"] = fastBlink
	case st.Route == daemon.RoutePSTN:
		p["route"] = slowBlink
	default:
		p["route"] = led.On()
	}
	p["power"] = led.On()
	for _, f := range st.Power.Flags {
		switch f {
		case "OB":
			p["power"] = slowBlink
		case "FSD":
			p["power"] = fastBlink
			return withLine(p, st)
		}
	}
	return withLine(p, st)
}

func withLine(p map[string]led.Pattern, st *daemon.Status) map[string]led.Pattern {
	switch daemon.LineState(st.Line.State) {
	case daemon.LineIdle:
		p["line"] = led.On()
	case daemon.LineRinging, daemon.LineInCall:
		p["line"] = slowBlink
	default:
		p["line"] = led.Off()
	}
	return p
}
