package main

import (
	"fmt"
	"io"
	"strings"

	"lifeline/boards"
	"lifeline/daemon"
)

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", stderr)
	cfgPath := fs.String("c", daemon.DefaultConfigPath, "configuration file (UCI)")
	boardName := fs.String("board", "", "board name, or auto (default: the config's board option)")
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
	if err := checkHardware(board, cfg); err != nil {
		return err
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
					daemon.ErrConfig, c.Source, h.Line, h.Name, b.Name, k, strings.Join(names, ", "))
			}
		}
	}
	return checkLineProfile(c)
}
