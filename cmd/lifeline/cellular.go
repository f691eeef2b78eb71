package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"lifeline/daemon"
	"lifeline/hal/cellular/cellsim"
	"lifeline/hal/cellular/module"
	"lifeline/hal/cellular/profiles"
	"lifeline/hal/gateway"
	voicecall "lifeline/hal/voice/call"
)

// The gateway sends the phone's DTMF to a cellular call by the module's
// command (AT+VTS), not as tones.
var _ gateway.DigitSender = (*module.Audio)(nil)

// The cellular line kind: a line section whose profile is one of
// hal/cellular/profiles' runs a module.Module on the section's device (the
// AT port) and audio_device (the PCM port). Its state is the daemon's
// LineInput with the reason and the module's health (registration,
// operator, signal, technology, SIM, VoLTE) for the status; a module that
// is not registered, has no SIM or wants a PIN is no-line; its SMS go
// through notify.go's smsLine. It is registered in line.go's lineKinds.
// On the sim board the module is hal/cellular/cellsim's, on two
// pseudo-terminals in STATE-DIR/sim-cell, driven by `lifeline sim cell …`
// and `sim sms …`.

// cellularSlot is the cellular line's state on hardware.
type cellularSlot struct {
	mu  sync.Mutex // guards mod and sim (read by the sim signals)
	mod *module.Module

	// The sim board's module simulator, made on first use and kept for
	// the process (Close closes it); simProfile is the profile it speaks
	// (written by run's goroutine only).
	sim        *cellsim.Sim
	simProfile string
	stateDir   string
}

// simModule returns the sim board's cellular module simulator while a
// cellular line runs on it, else nil.
func (hw *hardware) simModule() *cellsim.Sim {
	hw.cellular.mu.Lock()
	defer hw.cellular.mu.Unlock()
	if hw.cellular.mod == nil {
		return nil
	}
	return hw.cellular.sim
}

// checkCellularLine validates a line section with a cellular profile
// beyond what daemon.ParseConfig checks: the profile loads, and the AT
// port's serial settings are valid.
func checkCellularLine(c *daemon.Config) error {
	l := c.Line
	if _, err := profiles.Load(l.Profile); err != nil {
		return fmt.Errorf("%w: %s: line '%s' option 'profile': %v", daemon.ErrConfig, c.Source, l.Name, err)
	}
	if _, err := lineModeOf(l); err != nil {
		return fmt.Errorf("%w: %s: line '%s': %v", daemon.ErrConfig, c.Source, l.Name, err)
	}
	return nil
}

// cellularPaths are the AT and audio ports of cfg's cellular line: the
// configured ones, or on the sim board the simulator's.
func (hw *hardware) cellularPaths(cfg *daemon.Config) (atPath, audioPath string) {
	if hw.sim != nil && hw.cellular.sim != nil && hw.cellular.simProfile == cfg.Line.Profile {
		return hw.cellular.sim.ATPath(), hw.cellular.sim.AudioPath()
	}
	return cfg.Line.Device, cfg.Line.Cellular.AudioDevice
}

// cellularInfo is the status's line part for cfg's cellular line.
func (hw *hardware) cellularInfo(cfg *daemon.Config) daemon.LineStatus {
	at, audio := hw.cellularPaths(cfg)
	return daemon.LineStatus{Device: at, AudioDevice: audio, Profile: cfg.Line.Profile, State: string(daemon.LineInitialising)}
}

// simCellular makes (or keeps) the sim board's module simulator speaking
// profile p: a new profile replaces the simulator.
func (hw *hardware) simCellular(p *profiles.Profile) error {
	c := &hw.cellular
	if c.sim != nil && c.simProfile == p.Name {
		return nil
	}
	if c.sim != nil {
		c.mu.Lock()
		old := c.sim
		c.sim = nil
		c.mu.Unlock()
		old.Close()
	}
	dir := filepath.Join(c.stateDir, "sim-cell")
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("sim cellular module: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("sim cellular module: %w", err)
	}
	s, err := cellsim.New(dir, p, cellsim.WithClock(hw.clk), cellsim.WithLogger(hw.log.With("part", "cellsim")))
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("sim cellular module: %w", err)
	}
	if c.simProfile == "" {
		// Once: the last simulator is closed with the process.
		hw.closers = append(hw.closers, func() error {
			c.mu.Lock()
			last := c.sim
			c.mu.Unlock()
			if last != nil {
				last.Close()
			}
			os.RemoveAll(dir)
			return nil
		})
	}
	c.mu.Lock()
	c.sim, c.simProfile = s, p.Name
	c.mu.Unlock()
	hw.log.Info("sim board: cellular module simulator", "profile", p.Name, "at", s.ATPath(), "audio", s.AudioPath())
	return nil
}

// cellLine is the cellular kind's telLine: a module.Module, its status
// posted whole (cellularInput), its SMS through hw.sms while it runs.
type cellLine struct {
	m  *module.Module
	hw *hardware
}

func (l cellLine) Path() string                       { return l.m.ATPath() }
func (l cellLine) State() daemon.LineState            { return daemon.LineStateOf(l.m.Status().State) }
func (l cellLine) CheckNow(ctx context.Context) error { return l.m.CheckNow(ctx) }
func (l cellLine) Calls() voicecall.Line              { return l.m.Calls() }

// Run runs the module until ctx ends; meanwhile it is the SMS line's
// module and the sim signals' (cellularModule).
func (l cellLine) Run(ctx context.Context) error {
	hw := l.hw
	hw.cellular.mu.Lock()
	hw.cellular.mod = l.m
	hw.cellular.mu.Unlock()
	hw.sms.setModule(l.m)
	defer func() {
		hw.sms.setModule(nil)
		hw.cellular.mu.Lock()
		if hw.cellular.mod == l.m {
			hw.cellular.mod = nil
		}
		hw.cellular.mu.Unlock()
	}()
	return l.m.Run(ctx)
}

// startCellularLine builds the cellular module of cfg's line (on the sim
// board, the simulator speaking its profile, made on first use); its
// status changes are daemon inputs with the module's health (post, which
// carries the state alone, is not used).
func startCellularLine(hw *hardware, cfg *daemon.Config, _ func(daemon.LineState)) (telLine, error) {
	l := cfg.Line
	p, err := profiles.Load(l.Profile)
	if err != nil {
		return nil, fmt.Errorf("line '%s': %w", l.Name, err)
	}
	if hw.sim != nil {
		if err := hw.simCellular(p); err != nil {
			return nil, err
		}
	}
	mode, err := lineModeOf(l)
	if err != nil {
		return nil, fmt.Errorf("line '%s': %w", l.Name, err)
	}
	atPath, audioPath := hw.cellularPaths(cfg)
	opts := []module.Option{module.WithClock(hw.clk), module.WithLogger(hw.log.With("line", l.Name)),
		module.WithSerialMode(mode), module.WithStatusFunc(func(st module.Status) { hw.post(cellularInput(st)) }),
		// SMS come from the module to notify.go's smsLine.
		module.WithSMSFunc(hw.sms.received)}
	if l.Cellular.PIN != "" {
		opts = append(opts, module.WithPIN(l.Cellular.PIN))
	}
	if d := l.Cellular.HealthInterval; d > 0 {
		opts = append(opts, module.WithHealthInterval(d))
	}
	m, err := module.New(atPath, audioPath, p, opts...)
	if err != nil {
		return nil, fmt.Errorf("line '%s': %w", l.Name, err)
	}
	hw.log.Info("cellular line", "line", l.Name, "profile", p.Name, "at", atPath, "audio", audioPath, "pin", l.Cellular.PIN != "")
	return cellLine{m: m, hw: hw}, nil
}

// cellularModule returns the running module, nil when none.
func (hw *hardware) cellularModule() *module.Module {
	hw.cellular.mu.Lock()
	defer hw.cellular.mu.Unlock()
	return hw.cellular.mod
}

// cellularInput is the daemon's input for a module status.
func cellularInput(st module.Status) daemon.LineInput {
	c := &daemon.CellularStatus{Registration: st.Registration, Operator: st.Operator,
		Technology: st.Technology, SIM: string(st.SIM), VoLTE: st.VoLTE}
	if c.VoLTE == module.VoLTEUnknown {
		c.VoLTE = "unknown"
	}
	if st.SignalKnown {
		dbm := st.SignalDBm
		c.SignalDBm = &dbm
	}
	return daemon.LineInput{State: daemon.LineStateOf(st.State), Reason: st.Reason, Cellular: c}
}
