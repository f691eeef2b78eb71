package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"lifeline/daemon"
	"lifeline/hal/cellular/profiles"
	"lifeline/hal/modem"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/modem/serialport"
	linecall "lifeline/hal/voice/call"
)

// lineModeOf turns the config's port settings into the serial backend's.
func lineModeOf(l *daemon.LineConfig) (serialport.Mode, error) {
	par, err := serialport.ParseParity(l.Parity)
	if err != nil {
		return serialport.Mode{}, err
	}
	flow, err := serialport.ParseFlow(l.Flow)
	if err != nil {
		return serialport.Mode{}, err
	}
	return serialport.Mode{Baud: l.Baud, Parity: par, Flow: flow}, nil
}

// newSimModem plugs the sim board's modem simulator in: a V.253 voice
// modem on a pseudo-terminal behind a symlink in STATE-DIR/sim-modem,
// driven with the analog profile. The far end answers a call after one
// ring and echoes what it hears, so a gateway section on the sim board
// carries calls; `lifeline sim ring NUMBER` rings it with caller ID. The
// directory is replaced at each start, so a daemon killed with -9 leaves
// no temp dir behind.
func (hw *hardware) newSimModem(stateDir string) error {
	dir := filepath.Join(stateDir, "sim-modem")
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("sim modem: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("sim modem: %w", err)
	}
	sim, err := modemsim.NewVoice(dir, modemsim.VoiceClock(hw.clk), modemsim.VoiceRings(1, time.Second), modemsim.VoiceLinkName("modem"),
		modemsim.VoiceLogger(hw.log.With("part", "modemsim")))
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("sim modem: %w", err)
	}
	sim.SetPlayback(modemsim.PlayEchoPaced)
	hw.simModem = sim
	hw.closers = append(hw.closers, func() error { os.RemoveAll(dir); return nil }, sim.Close)
	return nil
}

// telLine is a running telephone line of any kind, as the voice feature
// and the gateway use it: Run until ctx ends, the device it names in logs
// and the status, its state for the daemon, a health check on demand
// (after `lifeline sim line up|down`), and its calls for the gateway.
type telLine interface {
	Run(ctx context.Context) error
	Path() string
	State() daemon.LineState
	CheckNow(ctx context.Context) error
	Calls() linecall.Line
}

// lineKind is one kind of line: check validates cfg's line section
// beyond daemon.ParseConfig (for check and reload), start builds the
// line of cfg (not yet running) whose state changes post reports to the
// daemon.
type lineKind struct {
	check func(c *daemon.Config) error
	start func(hw *hardware, cfg *daemon.Config, post func(daemon.LineState)) (telLine, error)
}

// lineKinds are the line kinds by name, the one place a new kind is
// registered: a package that implements telLine (Run, Path, State,
// CheckNow, Calls: a control port plus a voice.Audio per call) and one
// entry here. "modem" is a V.253 voice modem or an ISDN terminal adapter
// (hal/modem), audio in band.
// "cellular" is a cellular module (hal/cellular/module, cellular.go): AT
// port plus raw PCM on a second port.
var lineKinds = map[string]lineKind{
	lineKindModem:           {check: checkModemLine, start: startModemLine},
	daemon.LineKindCellular: {check: checkCellularLine, start: startCellularLine},
}

const lineKindModem = daemon.LineKindModem

// lineKindOf names the kind of cfg's line: the one its profile makes it
// (daemon.LineConfig.Kind), and a modem for the sim board's simulated
// modem without a line section.
func lineKindOf(c *daemon.Config) string {
	if c.Line != nil && c.Line.Kind != "" {
		return c.Line.Kind
	}
	return lineKindModem
}

// lineInput is the daemon's input for l's current state: a cellular
// line's carries its reason and health too.
func lineInput(l telLine) daemon.LineInput {
	if c, ok := l.(cellLine); ok {
		return cellularInput(c.m.Status())
	}
	return daemon.LineInput{State: l.State()}
}

// kindOf looks cfg's line kind up.
func kindOf(c *daemon.Config) (lineKind, error) {
	name := lineKindOf(c)
	k, ok := lineKinds[name]
	if !ok {
		return lineKind{}, fmt.Errorf("%w: %s: line '%s': no line kind %q", daemon.ErrConfig, c.Source, c.Line.Name, name)
	}
	return k, nil
}

// startLine starts the line of cfg's line section (or the sim board's
// simulated modem) on a goroutine stopVoice waits for, of the kind the
// section names. Its state changes are daemon inputs.
func (hw *hardware) startLine(ctx context.Context, cfg *daemon.Config) error {
	if hw.simModem == nil && cfg.Line == nil {
		return nil
	}
	k, err := kindOf(cfg)
	if err != nil {
		return err
	}
	l, err := k.start(hw, cfg, func(st daemon.LineState) { hw.post(daemon.LineInput{State: st}) })
	if err != nil {
		return err
	}
	hw.mu.Lock()
	hw.line = l
	hw.mu.Unlock()
	hw.goVoice(func() {
		if err := l.Run(ctx); err != nil && ctx.Err() == nil {
			hw.log.Error("line stopped", "device", l.Path(), "err", err)
		}
	})
	return nil
}

// modemLine is the modem kind's telLine: a *modem.Line, its states as the
// daemon's.
type modemLine struct{ l *modem.Line }

func (m *modemLine) Run(ctx context.Context) error      { return m.l.Run(ctx) }
func (m *modemLine) Path() string                       { return m.l.Path() }
func (m *modemLine) State() daemon.LineState            { return daemon.LineStateOf(m.l.State()) }
func (m *modemLine) CheckNow(ctx context.Context) error { return m.l.CheckNow(ctx) }
func (m *modemLine) Calls() linecall.Line               { return m.l.Calls() }

// startModemLine builds the AT engine on the line's device: the sim
// board's simulator or the configured serial modem / TA.
func startModemLine(hw *hardware, cfg *daemon.Config, post func(daemon.LineState)) (telLine, error) {
	path, profile := "", ""
	var opts []modem.Option
	if hw.simModem != nil {
		path, profile = hw.simModem.Path(), "analog"
	} else {
		mode, err := lineModeOf(cfg.Line)
		if err != nil {
			return nil, fmt.Errorf("line '%s': %w", cfg.Line.Name, err)
		}
		path, profile = cfg.Line.Device, cfg.Line.Profile
		opts = append(opts, modem.WithSerialMode(mode))
	}
	p, err := modem.LoadProfile(profile)
	if err != nil {
		return nil, err
	}
	// hal/modem logs each change with its reason; the daemon decides.
	return &modemLine{modem.New(path, p, append(opts, modem.WithClock(hw.clk), modem.WithLogger(hw.log),
		modem.WithStateFunc(func(c modem.StateChange) { post(daemon.LineStateOf(c.To)) }))...)}, nil
}

// checkLineNow asks the running line for a health check at once (after
// `lifeline sim line up|down`), on a goroutine Stop waits for.
func (hw *hardware) checkLineNow() {
	hw.mu.Lock()
	l, ctx := hw.line, hw.ctx
	hw.mu.Unlock()
	if l == nil || ctx == nil {
		return
	}
	hw.goOwned(func() {
		if err := l.CheckNow(ctx); err != nil && ctx.Err() == nil {
			hw.log.Info("line check", "err", err)
		}
	})
}

// checkLineProfile validates cfg's line section with its kind's check.
func checkLineProfile(c *daemon.Config) error {
	if c.Line == nil {
		return nil
	}
	k, err := kindOf(c)
	if err != nil {
		return err
	}
	return k.check(c)
}

// checkModemLine: the profile is one of hal/modem's and the serial
// settings are valid.
func checkModemLine(c *daemon.Config) error {
	if _, err := modem.LoadProfile(c.Line.Profile); err != nil {
		return fmt.Errorf("%w: %s: line '%s' option 'profile': %v (known: %s)",
			daemon.ErrConfig, c.Source, c.Line.Name, err, strings.Join(append(modem.ProfileNames(), profiles.Names()...), ", "))
	}
	if _, err := lineModeOf(c.Line); err != nil {
		return fmt.Errorf("%w: %s: line '%s': %v", daemon.ErrConfig, c.Source, c.Line.Name, err)
	}
	return nil
}
