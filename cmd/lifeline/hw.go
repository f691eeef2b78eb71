package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"lifeline/boards"
	"lifeline/daemon"
	"lifeline/hal/clock"
	"lifeline/hal/gpio"
	"lifeline/hal/ifctl"
	"lifeline/hal/led"
	"lifeline/hal/modem"
	"lifeline/hal/modem/modemsim"
	hpower "lifeline/hal/power"
	"lifeline/hal/simboard"
	"lifeline/hal/sipprobe"
)

// hardware wires a board's hal components to the daemon. Components that
// model the physical world (the simulated board and its modem) live as long
// as the process; the watchers (probes, monitors) are restarted on reload
// by Stop and Start. All goroutines are owned here: Stop and Close wait.
type hardware struct {
	board *boards.Board
	log   *slog.Logger
	clk   clock.Clock

	sim         *simboard.Board    // nil unless board.Driver == "sim"
	simProvider *simboard.Provider // the sim board's SIP provider on loopback
	simModem    *modemsim.VoiceSim // the sim board's voice modem on a pseudo-terminal
	gpio        gpio.Opener        // nil on the sim board
	relay       *relay
	actuators   []daemon.RouteActuator
	observers   []daemon.StatusObserver
	proxy       *proxyAdapter
	shedder     ifctl.Actuator
	closers     []func() error // process-lifetime resources, closed by Close
	gw          gatewaySlot    // the running SIP-to-line gateway (gateway.go)

	// The watchers, each restarted only when what it depends on changes.
	probe, wan, power, keys, proxyRun slot

	mu     sync.Mutex // guards d, cfg, ctx, line (read by callbacks from other goroutines)
	line   *modem.Line
	d      *daemon.Daemon
	cfg    *daemon.Config
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// The line and the gateway carry calls: a reload that leaves their
	// sections as they were keeps them running, so a call in progress
	// goes on (voice.go). Start and Close, from run's goroutine, own it.
	voice voiceSlot
}

// newHardware wires board b; stateDir holds the sim board's modem
// directory.
func newHardware(b *boards.Board, cfg *daemon.Config, stateDir string, log *slog.Logger, clk clock.Clock) (*hardware, error) {
	hw := &hardware{board: b, log: log, clk: clk}
	hw.proxy = newProxyAdapter(log, clk)
	hw.actuators = append(hw.actuators, hw.proxy)
	if len(b.LEDs) > 0 {
		leds := map[string]led.LED{}
		for role, name := range b.LEDs {
			l, err := led.Open(name)
			if err != nil {
				log.Warn("led unavailable, carrying on without it", "role", role, "led", name, "err", err)
				continue
			}
			leds[role] = l
		}
		ld := newLEDDriver(leds, log, clk)
		hw.observers = append(hw.observers, ld)
		hw.closers = append(hw.closers, ld.Close)
	}
	if b.Driver == "sim" {
		var keys []string
		for _, k := range b.Keys {
			keys = append(keys, k.Name)
		}
		hw.sim = simboard.New(keys, hw.simChanged)
		// The sim board's interfaces: every configured one exists and is up.
		links := map[string]bool{}
		for _, n := range cfg.Battery.ShedInterfaces {
			links[n] = true
		}
		hw.shedder = ifctl.NewFake(links)
		p, err := simboard.NewProvider()
		if err != nil {
			hw.Close()
			return nil, err
		}
		hw.simProvider = p
		hw.closers = append(hw.closers, p.Close)
		if err := hw.newSimModem(stateDir); err != nil {
			hw.Close()
			return nil, err
		}
		return hw, nil
	}
	hw.gpio = gpio.NewCdev(clk, gpio.WithLogger(log), gpio.WithConsumer("lifeline"))
	// Always there, so a reload may add shed interfaces.
	nl, err := ifctl.New()
	if err != nil {
		hw.Close()
		return nil, fmt.Errorf("load shedding: %w", err)
	}
	hw.shedder = nl
	hw.closers = append(hw.closers, nl.Close)
	if b.Relay != nil {
		out, err := hw.gpio.OpenOutput(lineSpec(*b.Relay, "relay"), false)
		if err != nil {
			hw.Close()
			return nil, fmt.Errorf("lifeline relay: %w", err)
		}
		hw.relay = &relay{out: out, hw: hw}
		hw.actuators = append(hw.actuators, hw.relay)
		hw.closers = append(hw.closers, func() error {
			out.Write(false) // fail-safe: the phone back on the line
			return out.Close()
		})
	}
	return hw, nil
}

// simDriver is the daemon's SimDriver: the sim board, or a nil interface on
// any other board. (hw.sim itself would be a typed nil *simboard.Board in
// the interface, which is not == nil, and `lifeline sim` against a real
// board would call a method on it and crash the daemon.)
func (hw *hardware) simDriver() daemon.SimDriver {
	if hw.sim == nil {
		return nil
	}
	return hw.sim
}

func (hw *hardware) lineInfo(cfg *daemon.Config) daemon.LineStatus {
	switch {
	case hw.simModem != nil:
		return daemon.LineStatus{Device: hw.simModem.Path(), Profile: "analog", State: string(daemon.LineInitialising)}
	case cfg.Line != nil:
		return daemon.LineStatus{Device: cfg.Line.Device, Profile: cfg.Line.Profile, State: string(daemon.LineInitialising)}
	}
	return daemon.LineStatus{State: string(daemon.LineNone)}
}

// Start starts the watchers for cfg, reporting to d. Called again after a
// reload, it restarts only the watchers whose sections changed.
func (hw *hardware) Start(parent context.Context, d *daemon.Daemon, cfg *daemon.Config) error {
	hw.mu.Lock()
	if hw.ctx == nil {
		hw.ctx, hw.cancel = context.WithCancel(parent)
	}
	ctx := hw.ctx
	hw.d, hw.cfg = d, cfg
	hw.mu.Unlock()
	var proxyKey string
	if cfg.Proxy != nil {
		proxyKey = fmt.Sprintf("%#v", *cfg.Proxy)
	}
	hw.proxyRun.run(ctx, proxyKey, func(ctx context.Context, goOwned func(func())) error {
		if cfg.Proxy != nil {
			goOwned(func() { hw.proxy.run(ctx, cfg) })
		}
		return nil
	})
	if err := hw.startVoice(parent, cfg); err != nil {
		return err
	}
	if hw.sim != nil {
		return hw.startSim(ctx, d, cfg)
	}
	if err := hw.startLinux(ctx, d, cfg); err != nil {
		return err
	}
	return hw.startKeys(ctx)
}

// Stop stops the watchers and waits for them; the line and the gateway
// run on until Close or a Start with other line or gateway sections.
func (hw *hardware) Stop() {
	hw.mu.Lock()
	cancel := hw.cancel
	hw.ctx, hw.cancel = nil, nil
	hw.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	for _, s := range []*slot{&hw.probe, &hw.wan, &hw.power, &hw.keys, &hw.proxyRun} {
		s.stop()
	}
	hw.wg.Wait()
}

// Close stops everything and releases the process-lifetime resources, in
// reverse order; it is idempotent.
func (hw *hardware) Close() {
	hw.Stop()
	hw.stopVoice()
	for i := len(hw.closers) - 1; i >= 0; i-- {
		if err := hw.closers[i](); err != nil {
			hw.log.Warn("close", "err", err)
		}
	}
	hw.closers = nil
}

// goOwned runs f on a goroutine that Stop waits for.
func (hw *hardware) goOwned(f func()) {
	hw.wg.Add(1)
	go func() {
		defer hw.wg.Done()
		f()
	}()
}

func (hw *hardware) post(in daemon.Input) {
	hw.mu.Lock()
	d, ctx := hw.d, hw.ctx
	hw.mu.Unlock()
	if d == nil || ctx == nil { // not started, or stopped
		return
	}
	if err := d.Post(ctx, in); err != nil && ctx.Err() == nil {
		hw.log.Warn("daemon did not take input", "input", fmt.Sprintf("%T", in), "err", err)
	}
}

func (hw *hardware) startSim(ctx context.Context, d *daemon.Daemon, cfg *daemon.Config) error {
	s := hw.sim.Signals()
	hw.post(simWAN(cfg, s))
	hw.post(simPower(s))
	return hw.startProbe(ctx, cfg, sipprobe.Target{Host: "127.0.0.1", Port: hw.simProvider.Port(), Transport: "udp"})
}

// startProbe runs the SIP provider probe on its adaptive schedule, each
// result an input of the route machine. A probe already running for the
// same target and provider section is kept: restarting it would restart
// its schedule, and a SIGHUP every 250 ms kept a dead provider "up".
// Target zero stops it (no provider host).
func (hw *hardware) startProbe(ctx context.Context, cfg *daemon.Config, t sipprobe.Target) error {
	p := cfg.Provider
	key := ""
	if t != (sipprobe.Target{}) {
		key = fmt.Sprintf("%#v %#v", t, p)
	}
	kept, err := hw.probe.run(ctx, key, func(ctx context.Context, goOwned func(func())) error {
		if key == "" {
			return nil
		}
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
		return nil
	})
	if kept && key != "" {
		hw.log.Info("provider section unchanged: probe kept across the reload", "target", t.String())
	}
	return err
}

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
	w := daemon.WANInput{Interface: cfg.WANInterface, Present: true, Carrier: s.WAN, DefaultRoute: s.WAN, OperState: "down"}
	if s.WAN {
		w.OperState = "up"
		w.Addresses = []string{"192.0.2.2/24"}
	}
	return w
}

// simPower is what hal/power would merge from a mains line and a battery
// supply.
func simPower(s simboard.Signals) daemon.PowerInput {
	st := hpower.State{Source: hpower.Mains, Percent: s.Battery, Status: "Charging"}
	if s.Battery == 100 {
		st.Status = "Full"
	}
	if !s.Mains {
		st.Source, st.Status = hpower.Battery, "Discharging"
	}
	return daemon.PowerInput{State: st}
}
