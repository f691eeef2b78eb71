package main

import (
	"context"

	"lifeline/boards"
	"lifeline/daemon"
)

// A feature is one part of the running daemon that the configuration turns
// on: a watcher that reports to the daemon (the WAN monitor, the provider
// probe), an actuator or integration that follows it (the Kamailio
// adapter), the line and its gateway. Each lives in its own file and is
// registered once, in features below; nothing else needs to know it.
//
// A feature's methods are called from run's goroutine only, one at a time.
type feature interface {
	// apply starts the feature for cfg, restarts it when what it depends
	// on changed, keeps it running when that is unchanged (a SIGHUP storm
	// must not restart the probe), and stops it when cfg turns it off.
	// After an error the feature is stopped or still runs as before; the
	// next apply tries again.
	apply(ctx context.Context, cfg *daemon.Config) error
	// stop stops the feature and waits for its goroutines; idempotent.
	stop()
}

// featureDef registers a feature.
type featureDef struct {
	name string
	// check validates what the feature takes from the configuration and
	// the board; start, reload and `lifeline check` call it alike. Nil:
	// nothing beyond what daemon.ParseConfig checks.
	check func(cfg *daemon.Config, b *boards.Board) error
	// new makes the feature for the board's hardware; it starts nothing.
	new func(hw *hardware) feature
}

// features are every feature, in the order they are checked and started
// (and stopped in reverse). Adding a feature is a file with its featureDef
// and one line here.
var features = []featureDef{
	proxyFeature,
	voiceFeature,
	simSignalsFeature,
	wanFeature,
	probeFeature,
	powerFeature,
	keysFeature,
	notifyFeature, // after the line: stopped first, its last SMS go through a running module
}

// checkFeatures runs every feature's check on cfg.
func checkFeatures(cfg *daemon.Config, b *boards.Board) error {
	for _, f := range features {
		if f.check == nil {
			continue
		}
		if err := f.check(cfg, b); err != nil {
			return err
		}
	}
	return nil
}

// featureSet is the running features of one daemon. Run's goroutine owns it.
type featureSet struct {
	hw   *hardware
	list []feature
}

func newFeatureSet(hw *hardware) *featureSet {
	fs := &featureSet{hw: hw}
	for _, f := range features {
		fs.list = append(fs.list, f.new(hw))
	}
	return fs
}

// apply brings every feature to cfg (see feature.apply), reporting to d. It
// stops at the first feature that cannot start; the caller applies the
// running configuration again.
func (fs *featureSet) apply(ctx context.Context, d *daemon.Daemon, cfg *daemon.Config) error {
	fs.hw.bind(ctx, d, cfg)
	for _, f := range fs.list {
		if err := f.apply(ctx, cfg); err != nil {
			return err
		}
	}
	return nil
}

// stop stops every feature, the last started first, and waits for them.
func (fs *featureSet) stop() {
	for i := len(fs.list) - 1; i >= 0; i-- {
		fs.list[i].stop()
	}
}

// keyed is the common shape of a feature: started from a key that names
// the configuration it depends on ("" : off), restarted when the key
// changes, kept while it does not.
type keyed struct {
	hw   *hardware
	name string
	key  func(cfg *daemon.Config) string
	// start launches the feature's goroutines through goOwned; they stop
	// with ctx.
	start func(ctx context.Context, cfg *daemon.Config, goOwned func(func())) error
	// kept, if set, is called when a reload kept the running feature.
	kept func(cfg *daemon.Config)
	s    slot
}

func (k *keyed) apply(ctx context.Context, cfg *daemon.Config) error {
	key := k.key(cfg)
	was := k.s.running && k.s.key != ""
	kept, err := k.s.run(ctx, key, func(ctx context.Context, goOwned func(func())) error {
		if key == "" {
			return nil
		}
		return k.start(ctx, cfg, goOwned)
	})
	switch {
	case err != nil:
		return err
	case kept && key != "":
		if k.kept != nil {
			k.kept(cfg)
		}
	case key != "" && !was:
		k.hw.log.Info("feature started", "feature", k.name)
	case key != "":
		k.hw.log.Info("feature restarted: its section changed", "feature", k.name)
	case was:
		k.hw.log.Info("feature stopped: its section is gone", "feature", k.name)
	}
	return nil
}

func (k *keyed) stop() { k.s.stop() }
