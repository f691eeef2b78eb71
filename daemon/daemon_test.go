package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"lifeline/hal/clock"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type harness struct {
	t      *testing.T
	clk    *clock.Fake
	d      *Daemon
	dir    string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startDaemon runs a daemon on a fake clock in a temp state dir.
func startDaemon(t *testing.T, dir string, clk *clock.Fake, mutate func(*Config)) *harness {
	t.Helper()
	cfg := DefaultConfig()
	cfg.HooksDir = filepath.Join(dir, "hooks.d")
	cfg.FailbackHold = 30 * time.Second
	if mutate != nil {
		mutate(cfg)
	}
	d, err := New(Options{Config: cfg, StateDir: dir, Board: "test", Version: "t", Clock: clk, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, clk: clk, d: d, dir: dir, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- d.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	h.once.Do(func() {
		h.cancel()
		<-h.done
	})
}

func (h *harness) post(in Input) {
	h.t.Helper()
	if err := h.d.Post(context.Background(), in); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) status() Status {
	h.t.Helper()
	st, err := h.d.Status(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

func (h *harness) file(name string) string {
	data, _ := os.ReadFile(filepath.Join(h.dir, name))
	return string(data)
}

func TestDaemonFailbackOnTimer(t *testing.T) {
	clk := clock.NewFake(t0)
	h := startDaemon(t, t.TempDir(), clk, nil)
	h.post(WANInput{Interface: "wan", Present: true, Carrier: false})
	if st := h.status(); st.Route != RoutePSTN || st.WAN.Link != "down" {
		t.Fatalf("status = %+v", st)
	}
	if got := h.file(RouteFile); got != "pstn\n" {
		t.Fatalf("route file = %q", got)
	}
	h.post(WANInput{Interface: "wan", Present: true, Carrier: true, DefaultRoute: true})
	h.status() // the input is applied and the failback timer armed
	clk.Advance(29 * time.Second)
	if st := h.status(); st.Route != RoutePSTN {
		t.Fatalf("failed back early: %+v", st)
	}
	clk.Advance(time.Second)
	if st := h.status(); st.Route != RouteSIP || !strings.Contains(st.Reason, "healthy for 30s") {
		t.Fatalf("no failback: %+v", st)
	}
	var onDisk Status
	if err := json.Unmarshal([]byte(h.file(StatusFile)), &onDisk); err != nil || onDisk.Route != RouteSIP {
		t.Fatalf("status.json = %q (%v)", h.file(StatusFile), err)
	}
}

func TestDaemonOverridePersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	h := startDaemon(t, dir, clk, nil)
	st, err := h.d.SetOverride(context.Background(), ModePSTN, 10*time.Minute, "cli")
	if err != nil || st.Route != RoutePSTN || st.Override.Until == nil || *st.Override.Source != "cli" {
		t.Fatalf("override: %+v %v", st, err)
	}
	h.stop()

	// A new daemon in the same dir (a restart, kill -9 included: the files
	// were written before SetOverride returned).
	clk.Advance(time.Minute)
	h2 := startDaemon(t, dir, clk, nil)
	if st := h2.status(); st.Route != RoutePSTN || st.Override.Mode != ModePSTN {
		t.Fatalf("after restart: %+v", st)
	}
	clk.Advance(9 * time.Minute)
	st = h2.status()
	if st.Override.Mode != ModeAuto || st.Override.Until != nil || st.Route != RouteSIP {
		t.Fatalf("after expiry: %+v", st)
	}
	if got := h2.file(OverrideFile); !strings.Contains(got, `"mode": "auto"`) {
		t.Fatalf("override.json = %q", got)
	}
}

func TestDaemonProviderDownAfter(t *testing.T) {
	clk := clock.NewFake(t0)
	h := startDaemon(t, t.TempDir(), clk, nil)
	for i := 0; i < 2; i++ {
		h.post(ProbeInput{OK: false})
	}
	if st := h.status(); st.Route != RouteSIP || st.WAN.ProviderLosses != 2 || st.WAN.Provider != "up" {
		t.Fatalf("after 2 losses: %+v", st.WAN)
	}
	h.post(ProbeInput{OK: false})
	if st := h.status(); st.Route != RoutePSTN || st.WAN.Provider != "down" {
		t.Fatalf("after 3 losses: %+v", st)
	}
}

func TestDaemonHooksRun(t *testing.T) {
	dir := t.TempDir()
	hooks := filepath.Join(dir, "hooks.d")
	os.MkdirAll(hooks, 0o755)
	out := filepath.Join(dir, "hook.out")
	writeHook(t, hooks, "10-record", "#!/bin/sh\necho \"$LIFELINE_EVENT $LIFELINE_PREV_ROUTE>$LIFELINE_ROUTE $LIFELINE_REASON|$LIFELINE_POWER|$LIFELINE_BATTERY\" >> "+out+"\n")
	clk := clock.NewFake(t0)
	h := startDaemon(t, dir, clk, nil)
	h.post(PowerInput{OnBattery: false, Percent: 80})
	h.post(WANInput{Interface: "wan", Present: true, Carrier: false})
	h.status() // the inputs are applied
	h.stop()   // runs the queued hooks, then "stop"
	got := h.file("hook.out")
	for _, want := range []string{
		"start sip>sip provider healthy|mains|unknown",
		"route sip>pstn WAN link down|mains|80",
		"stop pstn>pstn daemon stopping|mains|80",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("hook output lacks %q:\n%s", want, got)
		}
	}
}

func writeHook(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}
