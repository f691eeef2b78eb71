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
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/simboard"
)

// hardware is the board: its devices (GPIO, the relay, the LEDs, the
// interfaces load shedding sets down) and, on the sim board, the simulated
// signals, provider and modem. They live as long as the process; Close
// releases them. The features (feature.go) run on it and report to the
// daemon through post.
type hardware struct {
	board *boards.Board
	log   *slog.Logger
	clk   clock.Clock

	sim         *simboard.Board    // nil unless board.Driver == "sim"
	simProvider *simboard.Provider // the sim board's SIP provider on loopback
	simModem    *modemsim.VoiceSim // the sim board's voice modem on a pseudo-terminal
	gpio        gpio.Opener        // nil on the sim board
	relay       *relay
	actuators   []daemon.RouteActuator // the board's, for daemon.Options
	observers   []daemon.StatusObserver
	shedder     ifctl.Actuator
	closers     []func() error // process-lifetime resources, closed by Close

	mu     sync.Mutex // guards d, cfg, ctx, line (read by callbacks from other goroutines)
	line   telLine
	d      *daemon.Daemon
	cfg    *daemon.Config
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // goOwned's goroutines

	// The line and the gateway (voice.go, gateway.go): the voice feature's
	// state, kept here where the line's and the gateway's files reach it.
	voice    voiceSlot
	gw       gatewaySlot  // the running SIP-to-line gateway, for the status
	cellular cellularSlot // the cellular line (cellular.go)

	// SMS (notify.go): the daemon's events for the notify feature, and
	// the cellular line's module as its SMS sink.
	events *eventTap
	sms    smsLine
}

// newHardware wires board b; stateDir holds the sim board's modem
// directory.
func newHardware(b *boards.Board, cfg *daemon.Config, stateDir string, log *slog.Logger, clk clock.Clock) (*hardware, error) {
	hw := &hardware{board: b, log: log, clk: clk, events: newEventTap(clk)}
	hw.cellular.stateDir = stateDir
	hw.sms.log = log
	hw.observers = append(hw.observers, hw.events)
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
		out, err := hw.gpio.OpenOutput(gpioSpec(*b.Relay, "relay"), false)
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
	return simDriver{hw}
}

func (hw *hardware) lineInfo(cfg *daemon.Config) daemon.LineStatus {
	switch {
	case cfg.Line != nil && cfg.Line.Kind == daemon.LineKindCellular:
		return hw.cellularInfo(cfg)
	case hw.simModem != nil:
		return daemon.LineStatus{Device: hw.simModem.Path(), Profile: "analog", State: string(daemon.LineInitialising)}
	case cfg.Line != nil:
		return daemon.LineStatus{Device: cfg.Line.Device, Profile: cfg.Line.Profile, State: string(daemon.LineInitialising)}
	}
	return daemon.LineStatus{State: string(daemon.LineNone)}
}

// bind makes d the daemon that post reports to, cfg the configuration the
// sim board's signals follow, and, the first time, a context under parent
// that Close cancels.
func (hw *hardware) bind(parent context.Context, d *daemon.Daemon, cfg *daemon.Config) {
	hw.mu.Lock()
	defer hw.mu.Unlock()
	if hw.ctx == nil {
		hw.ctx, hw.cancel = context.WithCancel(parent)
	}
	hw.d, hw.cfg = d, cfg
}

// Close releases the process-lifetime resources, in reverse order, after
// the features have stopped (featureSet.stop); it is idempotent.
func (hw *hardware) Close() {
	hw.mu.Lock()
	cancel := hw.cancel
	hw.ctx, hw.cancel = nil, nil
	hw.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	hw.wg.Wait()
	hw.stopVoice()
	for i := len(hw.closers) - 1; i >= 0; i-- {
		if err := hw.closers[i](); err != nil {
			hw.log.Warn("close", "err", err)
		}
	}
	hw.closers = nil
}

// attach adds a route actuator and a status observer to the daemon while
// a feature runs (daemon.Attach); detach removes them.
func (hw *hardware) attach(ctx context.Context, a daemon.RouteActuator, o daemon.StatusObserver) (detach func(), err error) {
	hw.mu.Lock()
	d := hw.d
	hw.mu.Unlock()
	return d.Attach(ctx, a, o)
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
