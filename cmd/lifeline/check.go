package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"lifeline/boards"
	"lifeline/daemon"
	"lifeline/hal/clock"
	"lifeline/hal/gpio"
)

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", stderr)
	cfgPath := fs.String("c", daemon.DefaultConfigPath, "configuration file (UCI)")
	boardName := fs.String("board", "", "board name, or auto (default: the config's board option)")
	noHW := fs.Bool("no-hardware", false, "validate what start and reload validate, without looking for the devices (the init script's reload)")
	buttons := fs.Bool("buttons", false, "after validating, print the kernel's BUTTON= names of the hotkeys' keys, one a line (the button guard's list)")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	cfg, err := daemon.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	board, how, err := resolveBoard(*boardName, cfg)
	if err != nil {
		return err
	}
	if err := checkConfig(cfg, board); err != nil {
		return err
	}
	if *buttons {
		for _, b := range hotkeyButtons(cfg, board) {
			fmt.Fprintln(stdout, b)
		}
		return nil
	}
	if !*noHW {
		// Hooks that others could have written: `run` refuses them one
		// by one and routes on (the telephone matters more than a hook),
		// so start and reload (--no-hardware) accept them; `check` names
		// the first.
		if err := daemon.CheckHooks(cfg.HooksDir); err != nil {
			return err
		}
		if err := checkHardware(board, cfg, stdout); err != nil {
			return err
		}
	}
	if w := notifyWarning(cfg); w != "" {
		fmt.Fprintln(stdout, "warning: "+w)
	}
	if how != "" {
		how = " (" + how + ")"
	}
	fmt.Fprintf(stdout, "ok: %s is valid for board %s%s\n", *cfgPath, board.Name, how)
	return nil
}

// checkConfig validates what only board and config together can tell.
func checkConfig(c *daemon.Config, b *boards.Board) error {
	keys := map[string]bool{}
	var names []string
	for _, k := range b.Keys {
		keys[k.Name] = true
		names = append(names, k.Name)
	}
	for _, h := range c.Hotkeys {
		for _, k := range h.Keys {
			if !keys[k] {
				return fmt.Errorf("%w: %s:%d: hotkey '%s' option 'key': board %s has no key %q (it has: %s)",
					daemon.ErrConfig, c.Source, h.SourceLine, h.Name, b.Name, k, strings.Join(names, ", "))
			}
		}
	}
	return checkFeatures(c, b)
}

// checkHardware verifies that what the board and config name is there: the
// serial device and the board's GPIO inputs (opened as inputs and released
// at once; outputs are left alone, opening one would drive it). A line held
// by another consumer — the running daemon, most likely — is reported, not
// failed.
func checkHardware(b *boards.Board, c *daemon.Config, out io.Writer) error {
	if b.Driver == "sim" {
		return nil
	}
	if c.Line != nil {
		if _, err := os.Stat(c.Line.Device); err != nil {
			return fmt.Errorf("line '%s' device %s: %w", c.Line.Name, c.Line.Device, err)
		}
		if a := c.Line.Cellular.AudioDevice; a != "" {
			if _, err := os.Stat(a); err != nil {
				return fmt.Errorf("line '%s' audio_device %s: %w", c.Line.Name, a, err)
			}
		}
	}
	var specs []gpio.LineSpec
	for role, g := range b.GPIO {
		specs = append(specs, gpioSpec(g, role))
	}
	for _, k := range b.Keys {
		if k.GPIO != nil {
			specs = append(specs, gpioSpec(*k.GPIO, k.Name))
		}
	}
	op := gpio.NewCdev(clock.Real(), gpio.WithConsumer("lifeline-check"))
	for _, spec := range specs {
		in, err := op.OpenInput(spec, nil)
		switch {
		case errors.Is(err, gpio.ErrBusy):
			fmt.Fprintf(out, "note: %v (the running daemon holds its lines)\n", err)
		case err != nil:
			return fmt.Errorf("board %s: %w", b.Name, err)
		default:
			in.Close()
		}
	}
	return nil
}

// hotkeyButtons lists, once each, the uevent BUTTON= names of the button
// keys that the hotkeys use: the /etc/rc.button scripts procd runs for them.
func hotkeyButtons(c *daemon.Config, b *boards.Board) []string {
	byKey := map[string]string{}
	for _, k := range b.Keys {
		if k.Source == "button" {
			byKey[k.Name] = k.Button
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, h := range c.Hotkeys {
		for _, k := range h.Keys {
			if btn, ok := byKey[k]; ok && !seen[btn] {
				seen[btn] = true
				out = append(out, btn)
			}
		}
	}
	return out
}
