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

// startLine runs the AT engine on the line's device: the sim board's
// simulator or the configured serial modem / TA. Its state changes are
// daemon inputs.
func (hw *hardware) startLine(ctx context.Context, cfg *daemon.Config) error {
	if cfg.Line != nil && cfg.Line.Kind == daemon.LineKindCellular {
		return hw.startCellular(ctx, cfg)
	}
	path, profile := "", ""
	var opts []modem.Option
	switch {
	case hw.simModem != nil:
		path, profile = hw.simModem.Path(), "analog"
	case cfg.Line != nil:
		mode, err := lineModeOf(cfg.Line)
		if err != nil {
			return fmt.Errorf("line '%s': %w", cfg.Line.Name, err)
		}
		path, profile = cfg.Line.Device, cfg.Line.Profile
		opts = append(opts, modem.WithSerialMode(mode))
	default:
		return nil
	}
	p, err := modem.LoadProfile(profile)
	if err != nil {
		return err
	}
	// hal/modem logs each change with its reason; the daemon decides.
	l := modem.New(path, p, append(opts, modem.WithClock(hw.clk), modem.WithLogger(hw.log),
		modem.WithStateFunc(func(c modem.StateChange) {
			hw.post(daemon.LineInput{State: daemon.LineStateOf(c.To)})
		}))...)
	hw.mu.Lock()
	hw.line = l
	hw.mu.Unlock()
	hw.goVoice(func() {
		if err := l.Run(ctx); err != nil && ctx.Err() == nil {
			hw.log.Error("line stopped", "device", path, "err", err)
		}
	})
	return nil
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

func checkLineProfile(c *daemon.Config) error {
	if c.Line == nil {
		return nil
	}
	if c.Line.Kind == daemon.LineKindCellular {
		return checkCellularLine(c)
	}
	if _, err := modem.LoadProfile(c.Line.Profile); err != nil {
		return fmt.Errorf("%w: %s: line '%s' option 'profile': %v (known: %s)",
			daemon.ErrConfig, c.Source, c.Line.Name, err, strings.Join(append(modem.ProfileNames(), profiles.Names()...), ", "))
	}
	if _, err := lineModeOf(c.Line); err != nil {
		return fmt.Errorf("%w: %s: line '%s': %v", daemon.ErrConfig, c.Source, c.Line.Name, err)
	}
	return nil
}
