package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/boards"
	"lifeline/daemon"
	"lifeline/hal/clock"
	"lifeline/hal/kamailio/kamailiotest"
)

const proxySection = `
config proxy 'kamailio'
	option socket '%s'
	option provider_uri 'sip:provider.example'
	option pstn_uri 'sip:127.0.0.1:5080'
	option check_interval '1h'
`

// A feature whose section was absent at start (the Kamailio adapter) is
// started by a reload, through the same feature set and daemon loop `run`
// uses; a reload that removes the section stops it: its goroutines are
// gone and the daemon no longer tells it the route.
func TestFeatureAddedAndRemovedByReload(t *testing.T) {
	srv, err := kamailiotest.Start(filepath.Join(t.TempDir(), "rpc.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	base := fmt.Sprintf("config lifeline 'main'\n\toption board 'sim'\n\toption hooks_dir '%s'\n", filepath.Join(dir, "hooks.d"))
	without, err := daemon.ParseConfig("without.conf", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	with, err := daemon.ParseConfig("with.conf", []byte(base+fmt.Sprintf(proxySection, srv.Path())))
	if err != nil {
		t.Fatal(err)
	}
	board, err := boards.Get("sim")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*daemon.Config{without, with} {
		if err := checkConfig(c, board); err != nil {
			t.Fatal(err)
		}
	}
	log := quietLog(t)
	hw, err := newHardware(board, without, dir, log, clock.Real())
	if err != nil {
		t.Fatal(err)
	}
	defer hw.Close()
	d, err := daemon.New(daemon.Options{Config: without, StateDir: dir, Board: board.Name, Log: log,
		Sim: hw.simDriver(), Actuators: hw.actuators, Observers: hw.observers, LineInfo: hw.lineInfo(without),
		Shedder: hw.shedder, DryRunShutdown: true, Calls: hw.gatewayCalls})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- d.Run(ctx) }()
	defer func() { cancel(); <-runDone }()
	feats := newFeatureSet(hw)
	defer feats.stop()
	if err := feats.apply(ctx, d, without); err != nil {
		t.Fatal(err)
	}
	// The route is pinned, so the next hop the adapter must set is known.
	if _, err := d.SetOverride(ctx, daemon.ModePSTN, 0, "test"); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second) // safety net only
	defer wcancel()
	noAdapter := goleak.IgnoreCurrent()

	if err := feats.apply(ctx, d, with); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitValue(wctx, "lifeline", "nexthop", "sip:127.0.0.1:5080"); err != nil {
		t.Fatalf("proxy section added by a reload: %v", err)
	}
	if err := feats.apply(ctx, d, without); err != nil {
		t.Fatal(err)
	}
	if err := goleak.Find(noAdapter); err != nil {
		t.Fatalf("proxy section removed, its goroutines run on: %v", err)
	}
	// Detached: a route change reaches no Kamailio any more.
	if _, err := d.SetOverride(ctx, daemon.ModeSIP, 0, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Status(ctx); err != nil { // the override applied
		t.Fatal(err)
	}
	if v, _ := srv.Value("lifeline", "nexthop"); v != "sip:127.0.0.1:5080" {
		t.Fatalf("next hop %q after the proxy section was removed, want it left at the pstn_uri", v)
	}
}

// The same through the real binary: a proxy section written into the
// configuration and a SIGHUP start the adapter without a restart; a SIGHUP
// after removing it stops the adapter.
func TestE2EFeatureAddedAndRemovedBySIGHUP(t *testing.T) {
	srv, err := kamailiotest.Start(filepath.Join(t.TempDir(), "rpc.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	e := newE2E(t, "30s")
	e.start()
	pid := e.cmd.Process.Pid
	e.mustCLI("override", "pstn")
	data, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	good := string(data)
	e.writeConfig(good + fmt.Sprintf(proxySection, srv.Path()))
	e.cmd.Process.Signal(syscall.SIGHUP)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // safety net only
	defer cancel()
	if err := srv.WaitValue(ctx, "lifeline", "nexthop", "sip:127.0.0.1:5080"); err != nil {
		t.Fatalf("proxy section added by SIGHUP: %v\n%s", err, e.stderr)
	}
	e.waitLog(`msg="feature started" feature=proxy`)
	e.writeConfig(good)
	e.cmd.Process.Signal(syscall.SIGHUP)
	e.waitLog(`msg="feature stopped: its section is gone" feature=proxy`)
	e.mustCLI("override", "sip")
	e.waitFor("sip", routeIs("sip"))
	if v, _ := srv.Value("lifeline", "nexthop"); v != "sip:127.0.0.1:5080" {
		t.Fatalf("next hop %q after the proxy section was removed, want it left at the pstn_uri", v)
	}
	if e.cmd.Process.Pid != pid {
		t.Fatal("restarted")
	}
}

// keyed: a reload with the same key keeps the running feature (no second
// start, its goroutine untouched); another key restarts it (the old
// goroutine stopped first); the empty key stops it; a start that fails
// leaves it stopped and the next apply tries again.
func TestKeyedFeature(t *testing.T) {
	var starts []string
	running := map[string]bool{}
	var fail error
	k := &keyed{hw: &hardware{log: quietLog(t)}, name: "test",
		key: func(c *daemon.Config) string { return c.WANInterface },
		start: func(ctx context.Context, c *daemon.Config, goOwned func(func())) error {
			if fail != nil {
				return fail
			}
			key := c.WANInterface
			starts = append(starts, key)
			running[key] = true
			goOwned(func() { <-ctx.Done(); running[key] = false })
			return nil
		},
	}
	ctx := context.Background()
	apply := func(key string) error { return k.apply(ctx, &daemon.Config{WANInterface: key}) }
	for _, key := range []string{"wan", "wan", "wan"} {
		if err := apply(key); err != nil {
			t.Fatal(err)
		}
	}
	if len(starts) != 1 || !running["wan"] {
		t.Fatalf("same key three times: starts %v, running %v; want one start, running", starts, running)
	}
	if err := apply("eth1"); err != nil {
		t.Fatal(err)
	}
	if len(starts) != 2 || running["wan"] || !running["eth1"] {
		t.Fatalf("new key: starts %v, running %v; want wan stopped, eth1 running", starts, running)
	}
	if err := apply(""); err != nil {
		t.Fatal(err)
	}
	if running["eth1"] {
		t.Fatal("empty key: still running")
	}
	fail = fmt.Errorf("port taken")
	if err := apply("wan"); err == nil {
		t.Fatal("a failed start reported no error")
	}
	fail = nil
	if err := apply("wan"); err != nil || !running["wan"] || len(starts) != 3 {
		t.Fatalf("after a failed start the same key starts again: %v, starts %v", err, starts)
	}
	k.stop()
	k.stop()
	if running["wan"] {
		t.Fatal("stop left it running")
	}
}
