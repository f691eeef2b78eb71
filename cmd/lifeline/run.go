package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"lifeline/boards"
	"lifeline/daemon"
	"lifeline/hal/clock"
	"lifeline/hal/syslog"
)

// loadConfig reads the configuration. Without -c, a missing default file
// means the defaults; a file named with -c must exist.
func loadConfig(path string, explicit bool) (*daemon.Config, error) {
	c, err := daemon.LoadConfig(path)
	if err != nil && !explicit && errors.Is(err, fs.ErrNotExist) {
		c = daemon.DefaultConfig()
		return c, nil
	}
	return c, err
}

// resolveBoard applies --board, then the config's board, "auto" detecting.
func resolveBoard(flagVal string, c *daemon.Config) (*boards.Board, string, error) {
	name := flagVal
	if name == "" {
		name = c.Board
	}
	if name == "auto" || name == "" {
		b, id, err := boards.DetectIn("/", c.BoardsDir)
		if err != nil {
			return nil, "", err
		}
		how := "auto: no known board_name or compatible, using generic"
		if id != "" {
			how = fmt.Sprintf("auto: matched %q", id)
		}
		return b, how, nil
	}
	b, err := boards.GetIn(c.BoardsDir, name)
	return b, "", err
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// newSyslogLogger logs to the syslog socket at path, each line at its own
// priority (facility daemon, tag lifeline); if the socket cannot be
// reached it says so on stderr and logs there.
func newSyslogLogger(path string, stderr io.Writer, level string) (*slog.Logger, func()) {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	h, err := syslog.Dial(path, "lifeline", syslog.Daemon, l, syslog.WithFallback(stderr))
	if err != nil {
		log := newLogger(stderr, level)
		log.Warn("syslog unavailable, logging to stderr", "err", err)
		return log, func() {}
	}
	return slog.New(h), func() { h.Close() }
}

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	cfgPath := fs.String("c", daemon.DefaultConfigPath, "configuration file (UCI)")
	boardName := fs.String("board", "", "board name, or auto (default: the config's board option)")
	stateDir := fs.String("state-dir", daemon.DefaultStateDir, "state directory (route, status.json, override)")
	sock := fs.String("socket", "", "control socket (default STATE-DIR/lifeline.sock)")
	toSyslog := fs.Bool("syslog", false, "log to the syslog socket, each line at its own priority (as under procd), instead of stderr")
	syslogPath := fs.String("syslog-socket", syslog.DefaultPath, "the syslog socket for --syslog")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "c" {
			explicit = true
		}
	})
	cfg, err := loadConfig(*cfgPath, explicit)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	if *toSyslog {
		var closeLog func()
		log, closeLog = newSyslogLogger(*syslogPath, stderr, cfg.LogLevel)
		defer closeLog()
	}
	if cfg.Source == "" {
		log.Warn("no configuration file, using defaults", "file", *cfgPath)
	}
	board, how, err := resolveBoard(*boardName, cfg)
	if err != nil {
		return err
	}
	// Start, reload and `lifeline check` apply one and the same validation.
	if err := checkConfig(cfg, board); err != nil {
		return err
	}
	if *sock == "" {
		*sock = filepath.Join(*stateDir, "lifeline.sock")
	}
	persist := cfg.PersistDir
	switch {
	case persist != "":
	case *stateDir == daemon.DefaultStateDir:
		// The default state dir is on tmpfs on OpenWrt: the override
		// goes where it survives a power cycle.
		persist = daemon.DefaultPersistDir
	default:
		persist = *stateDir
	}
	log.Info("lifeline starting", "version", version, "board", board.Name,
		"config", cfg.Source, "state_dir", *stateDir, "persist_dir", persist, "socket", *sock)
	if how != "" {
		log.Info("board detection", "result", how)
	}
	switch {
	case tzErr != nil:
		log.Warn("local time zone unusable, times are shown in UTC", "err", tzErr)
	case tzFrom != "":
		log.Info("local time zone", "from", tzFrom, "zone", time.Local.String())
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	// The state dir is checked before anything is put in it.
	sd, err := daemon.OpenStateDir(*stateDir)
	if err != nil {
		return err
	}
	sd.Close()
	hw, err := newHardware(board, cfg, *stateDir, log, clock.Real())
	if err != nil {
		return err
	}
	defer hw.Close()
	d, err := daemon.New(daemon.Options{
		Config: cfg, StateDir: *stateDir, PersistDir: persist, Board: board.Name, Version: version, Log: log,
		Sim: hw.simDriver(), Actuators: hw.actuators, Observers: hw.observers, LineInfo: hw.lineInfo(cfg),
		Shedder: hw.shedder, DryRunShutdown: hw.sim != nil, Calls: hw.gatewayCalls,
	})
	if err != nil {
		return err
	}
	ctl, err := daemon.ListenControl(*sock, d, log)
	if err != nil {
		return err
	}
	defer ctl.Close()

	runDone := make(chan error, 1)
	go func() { runDone <- d.Run(ctx) }()
	feats := newFeatureSet(hw)
	defer feats.stop() // before hw.Close: the features run on the hardware
	if err := feats.apply(ctx, d, cfg); err != nil {
		stop()
		<-runDone
		return err
	}
	for {
		select {
		case err := <-runDone:
			log.Info("lifeline stopped")
			return err
		case <-hup:
			next, err := loadConfig(*cfgPath, explicit)
			if err == nil {
				err = checkConfig(next, board)
			}
			if err != nil {
				log.Error("reload refused, keeping the running configuration", "err", err)
				continue
			}
			if next.PersistDir != cfg.PersistDir {
				log.Warn("option persist_dir changed: it is read at start, restart lifeline to use it",
					"running", persist, "configured", next.PersistDir)
			}
			if next.Board != cfg.Board && *boardName == "" {
				log.Warn("option board changed: the board is chosen at start, restart lifeline to use it",
					"running", board.Name, "configured", next.Board)
			}
			// The features run on: apply restarts only those whose
			// sections changed (a SIGHUP storm must not restart the probe),
			// starts those whose sections appeared and stops those whose
			// sections went.
			if err := feats.apply(ctx, d, next); err != nil {
				// What the new configuration needs cannot start (a gateway
				// address this machine does not have, a port taken): the
				// running line and gateway were kept or are restarted, and
				// the other features go back to the running configuration.
				log.Error("reload refused, keeping the running configuration", "err", err)
				if err := feats.apply(ctx, d, cfg); err != nil {
					log.Error("restarting features with the running configuration failed", "err", err)
				}
				continue
			}
			if err := d.Reconfigure(ctx, next); err != nil {
				log.Error("reload failed", "err", err)
				continue
			}
			cfg = next
		}
	}
}
