package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	"lifeline/daemon"
	"lifeline/hal/clock"
)

// TestLineKinds: the line kinds are registered in one table, each with its
// check and its start; a line section picks its kind, whose check refuses
// what start could not run, and whose start builds a line for the voice
// feature (device, state, health check, calls for the gateway) that runs
// until its context ends.
func TestLineKinds(t *testing.T) {
	for name, k := range lineKinds {
		if k.check == nil || k.start == nil {
			t.Errorf("line kind %q: check and start are both required", name)
		}
	}
	dev := filepath.Join(t.TempDir(), "ttyUSB9")
	cfg := &daemon.Config{Source: "test.conf", Line: &daemon.LineConfig{Name: "pstn", Device: dev, Profile: "analog",
		Baud: 115200, Parity: "none", Flow: "none"}}
	if got := lineKindOf(cfg); got != lineKindModem {
		t.Fatalf("kind of an analog line section %q, want %q", got, lineKindModem)
	}
	k, err := kindOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.check(cfg); err != nil {
		t.Fatalf("check of an analog line: %v", err)
	}
	bad := *cfg.Line
	bad.Profile = "no-such-modem"
	if err := checkLineProfile(&daemon.Config{Source: "test.conf", Line: &bad}); !errors.Is(err, daemon.ErrConfig) {
		t.Fatalf("check of an unknown profile: %v, want ErrConfig", err)
	}

	hw := &hardware{log: slog.New(slog.DiscardHandler), clk: clock.Real()}
	l, err := k.start(hw, cfg, func(daemon.LineState) {})
	if err != nil {
		t.Fatal(err)
	}
	if l.Path() != dev || l.State() != daemon.LineAbsent || l.Calls() == nil {
		t.Fatalf("new modem line: path %q state %v calls %v; want %q, absent, its calls", l.Path(), l.State(), l.Calls(), dev)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after its context ended: %v", err)
	}
	if l.State() != daemon.LineAbsent {
		t.Fatalf("state after Run %v, want absent (no device)", l.State())
	}
}
