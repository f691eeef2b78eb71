package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/ifctl"
	"lifeline/hal/power"
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

// startDaemon runs a daemon on a fake clock in a state dir, with the
// default configuration changed by mutate.
func startDaemon(t *testing.T, dir string, clk *clock.Fake, mutate func(*Config)) *harness {
	t.Helper()
	cfg := DefaultConfig()
	cfg.HooksDir = filepath.Join(dir, "hooks.d")
	cfg.FailbackHold = 30 * time.Second
	if mutate != nil {
		mutate(cfg)
	}
	return startWith(t, Options{Config: cfg, StateDir: dir, Board: "test", Version: "t", Clock: clk})
}

// startWith runs a daemon with o (its Clock a *clock.Fake) until the test
// ends or stop is called.
func startWith(t *testing.T, o Options) *harness {
	t.Helper()
	if o.Log == nil {
		o.Log = testLogger(t)
	}
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, clk: o.Clock.(*clock.Fake), d: d, dir: o.StateDir, cancel: cancel, done: make(chan error, 1)}
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

// post hands in an input and waits until the loop has applied it (and
// re-armed its timer), so a test may move the fake clock right after.
func (h *harness) post(in Input) {
	h.t.Helper()
	if err := h.d.Post(context.Background(), in); err != nil {
		h.t.Fatal(err)
	}
	if err := h.d.do(context.Background(), func() {}); err != nil {
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
	h.post(wanIn(false))
	if st := h.status(); st.Route != RoutePSTN || st.WAN.Link != "down" {
		t.Fatalf("status = %+v", st)
	}
	if got := h.file(RouteFile); got != "pstn\n" {
		t.Fatalf("route file = %q", got)
	}
	h.post(wanIn(true))
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
	h.post(PowerInput{State: power.State{Source: power.Mains, Percent: 80}})
	h.post(wanIn(false))
	h.status() // the inputs are applied
	h.stop()   // runs the queued hooks, then "stop"
	got := h.file("hook.out")
	for _, want := range []string{
		"start sip>sip provider healthy|unknown|unknown",
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

// The power policy runs in the loop: on-battery delay on the fake clock,
// shedding through the actuator, persistence, restore on mains, FSD hooks.
func TestDaemonPowerPolicy(t *testing.T) {
	dir := t.TempDir()
	hooks := filepath.Join(dir, "hooks.d")
	os.MkdirAll(hooks, 0o755)
	out := filepath.Join(dir, "hook.out")
	writeHook(t, hooks, "rec", "#!/bin/sh\necho \"$LIFELINE_EVENT $LIFELINE_POWER $LIFELINE_BATTERY\" >> "+out+"\n")
	clk := clock.NewFake(t0)
	shed := ifctl.NewFake(map[string]bool{"wlan1": true, "lan4": false})
	cfg := DefaultConfig()
	cfg.HooksDir = hooks
	cfg.Battery.ShedInterfaces = []string{"wlan1", "lan4"}
	cfg.Battery.OnBatteryDelay = 2 * time.Second
	cfg.Battery.CriticalPercent = 10
	cfg.Battery.ShutdownGrace = 5 * time.Second
	cfg.PreferPSTNOnBattery = true
	h := startWith(t, Options{Config: cfg, StateDir: dir, Clock: clk, Shedder: shed, DryRunShutdown: true})

	h.post(PowerInput{State: power.State{Source: power.Mains, Percent: 100}})
	h.post(PowerInput{State: power.State{Source: power.Battery, Percent: 90}})
	if st := h.status(); st.Power.Source != "battery" || len(st.Power.Shed) != 0 || st.Route != RouteSIP {
		t.Fatalf("before the delay: %+v route %s", st.Power, st.Route)
	}
	clk.Advance(2 * time.Second)
	st := h.status()
	if strings.Join(st.Power.Shed, ",") != "wlan1" || st.Route != RoutePSTN || !strings.Contains(st.Reason, "on battery") {
		t.Fatalf("after the delay: %+v route %s (%s)", st.Power, st.Route, st.Reason)
	}
	if up, _ := shed.State("wlan1"); up {
		t.Fatal("wlan1 not shed")
	}
	if got := h.file(ShedFile); !strings.Contains(got, "wlan1") || strings.Contains(got, "lan4") {
		t.Fatalf("shed file = %q", got)
	}
	h.post(PowerInput{State: power.State{Source: power.Mains, Percent: 90}})
	st = h.status()
	if up, _ := shed.State("wlan1"); !up || len(st.Power.Shed) != 0 {
		t.Fatalf("wlan1 not restored: %+v", st.Power)
	}
	if up, _ := shed.State("lan4"); up {
		t.Fatal("lan4 was down before and must stay down")
	}
	// Critical battery: FSD, hooks, then the (dry-run) command after grace.
	h.post(PowerInput{State: power.State{Source: power.Battery, Percent: 9}})
	h.status() // applied, timer armed
	clk.Advance(2 * time.Second)
	st = h.status()
	if !slicesContains(st.Power.Flags, "FSD") {
		t.Fatalf("no FSD: %+v", st.Power)
	}
	h.post(PowerInput{State: power.State{Source: power.Mains, Percent: 9}})
	if st := h.status(); !slicesContains(st.Power.Flags, "FSD") {
		t.Fatalf("FSD cancelled by mains: %+v", st.Power)
	}
	clk.Advance(5 * time.Second)
	h.status()
	h.stop()
	got := h.file("hook.out")
	for _, want := range []string{"onbattery battery 90", "mainsback mains 90", "shutdown battery 9"} {
		if !strings.Contains(got, want) {
			t.Errorf("hooks lack %q:\n%s", want, got)
		}
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// A chord held for its hold time toggles the override; a single key does
// nothing.
func TestDaemonHotkeyChord(t *testing.T) {
	clk := clock.NewFake(t0)
	h := startDaemon(t, t.TempDir(), clk, func(c *Config) {
		c.Hotkeys = []HotkeyConfig{{Name: "force_pstn", Keys: []string{"wps", "phone"}, Kind: "chord",
			Hold: 2 * time.Second, Action: "toggle", For: time.Hour}}
	})
	h.post(KeyInput{Key: "wps", Pressed: true})
	clk.Advance(3 * time.Second)
	h.post(KeyInput{Key: "wps", Pressed: false})
	if st := h.status(); st.Override.Mode != ModeAuto {
		t.Fatalf("single key fired: %+v", st.Override)
	}
	h.post(KeyInput{Key: "wps", Pressed: true})
	h.post(KeyInput{Key: "phone", Pressed: true})
	clk.Advance(1999 * time.Millisecond)
	if st := h.status(); st.Override.Mode != ModeAuto {
		t.Fatalf("fired before hold: %+v", st.Override)
	}
	clk.Advance(time.Millisecond)
	st := h.status()
	if st.Route != RoutePSTN || st.Override.Mode != ModePSTN || *st.Override.Source != "keypad" ||
		!st.Override.Until.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("chord: %+v %+v", st.Route, st.Override)
	}
	h.post(KeyInput{Key: "wps", Pressed: false})
	h.post(KeyInput{Key: "phone", Pressed: false})
	// The same chord again, a second later, clears the override.
	clk.Advance(time.Second)
	h.post(KeyInput{Key: "phone", Pressed: true})
	h.post(KeyInput{Key: "wps", Pressed: true})
	clk.Advance(2 * time.Second)
	if st := h.status(); st.Override.Mode != ModeAuto {
		t.Fatalf("toggle back: %+v %+v", st.Route, st.Override)
	}
	// SIP has been healthy since the start: back once that is failback_hold.
	clk.Set(t0.Add(30 * time.Second))
	if st := h.status(); st.Route != RouteSIP {
		t.Fatalf("no failback after the override: %+v", st)
	}
}

// CallsInput refreshes status.json with the gateway's calls at once.
func TestDaemonCallsInput(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	cfg := DefaultConfig()
	cfg.HooksDir = filepath.Join(dir, "hooks.d")
	var mu sync.Mutex
	var calls []CallStatus
	h := startWith(t, Options{Config: cfg, StateDir: dir, Board: "test", Version: "t", Clock: clk,
		Calls: func() []CallStatus {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(calls)
		}})
	h.status()
	mu.Lock()
	calls = append(calls, CallStatus{Direction: "out", Number: "5551234", Codec: "PCMA", Format: "alaw", Started: t0})
	mu.Unlock()
	h.post(CallsInput{})
	var onDisk Status
	if err := json.Unmarshal([]byte(h.file(StatusFile)), &onDisk); err != nil || len(onDisk.Calls) != 1 || onDisk.Calls[0].Number != "5551234" {
		t.Fatalf("status.json = %q (%v), want the call", h.file(StatusFile), err)
	}
	mu.Lock()
	calls = nil
	mu.Unlock()
	h.post(CallsInput{})
	if err := json.Unmarshal([]byte(h.file(StatusFile)), &onDisk); err != nil || len(onDisk.Calls) != 0 || onDisk.Calls == nil {
		t.Fatalf("status.json = %q (%v), want calls []", h.file(StatusFile), err)
	}
}

// LineInfoInput changes the line's device and profile in the status.
func TestDaemonLineInfoInput(t *testing.T) {
	dir := t.TempDir()
	h := startWith(t, Options{Config: DefaultConfig(), StateDir: dir, Board: "test", Version: "t", Clock: clock.NewFake(t0),
		LineInfo: LineStatus{Device: "/dev/ttyUSB0", Profile: "analog", State: string(LineInitialising)}})
	if st := h.status(); st.Line.Device != "/dev/ttyUSB0" {
		t.Fatalf("line %+v", st.Line)
	}
	h.post(LineInfoInput{Device: "/dev/ttyACM0", Profile: "isdn-ta"})
	if st := h.status(); st.Line.Device != "/dev/ttyACM0" || st.Line.Profile != "isdn-ta" {
		t.Fatalf("line %+v after LineInfoInput", st.Line)
	}
}

// take returns what was written since the last take (the daemon logs
// from its own goroutine; harness.post returns after the loop handled the
// input).
func (s *syncBuffer) take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.b.String()
	s.b.Reset()
	return out
}

// The provider going down and coming back by itself, the route first
// settled after start, and entering and leaving degraded are each logged
// once; the status shows the provider's host and no RTT for a provider
// that stopped answering.
func TestDaemonLogsTransitionsAndNoStaleRTT(t *testing.T) {
	clk := clock.NewFake(t0)
	logs := &syncBuffer{}
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.HooksDir = filepath.Join(dir, "hooks.d")
	cfg.Provider.Host = "sip.example.net"
	h := startWith(t, Options{Config: cfg, StateDir: dir, Board: "test", Version: "t", Clock: clk,
		Log: slog.New(slog.NewTextHandler(logs, nil))})
	wan := wanIn(true)
	h.post(wan)
	if l := logs.take(); strings.Contains(l, "route settled") {
		t.Fatalf("settled before the first probe:\n%s", l)
	}
	h.post(ProbeInput{OK: true, RTT: 12 * time.Millisecond})
	if l := logs.take(); strings.Count(l, "route settled") != 1 || !strings.Contains(l, "route=sip") {
		t.Fatalf("want one 'route settled' with route=sip:\n%s", l)
	}
	if st := h.status(); st.WAN.ProviderHost != "sip.example.net" || st.WAN.RTTms == nil || *st.WAN.RTTms != 12 {
		t.Fatalf("healthy status: %+v", st.WAN)
	}
	h.post(ProbeInput{OK: false})
	if st := h.status(); st.WAN.RTTms != nil {
		t.Fatalf("RTT %v shown after a lost probe", *st.WAN.RTTms)
	}
	h.post(ProbeInput{OK: false})
	h.post(ProbeInput{OK: false})
	l := logs.take()
	if strings.Count(l, "provider down") != 1 || !strings.Contains(l, "host=sip.example.net") || !strings.Contains(l, "level=WARN") {
		t.Fatalf("want one WARN 'provider down' naming the host:\n%s", l)
	}
	if st := h.status(); st.WAN.Provider != "down" || st.WAN.RTTms != nil {
		t.Fatalf("down status: %+v", st.WAN)
	}
	// The line dies while the route is pstn: degraded, logged once.
	h.post(LineInput{State: LineNoLine})
	h.post(LineInput{State: LineNoLine})
	if l := logs.take(); strings.Count(l, "msg=degraded") != 1 {
		t.Fatalf("want one 'degraded':\n%s", l)
	}
	h.post(LineInput{State: LineIdle})
	if l := logs.take(); strings.Count(l, "no longer degraded") != 1 {
		t.Fatalf("want one 'no longer degraded':\n%s", l)
	}
	h.post(ProbeInput{OK: true, RTT: 20 * time.Millisecond})
	l = logs.take()
	if strings.Count(l, "provider up") != 1 || strings.Contains(l, "route settled") {
		t.Fatalf("want one 'provider up' and no second 'route settled':\n%s", l)
	}
	if st := h.status(); st.WAN.RTTms == nil || *st.WAN.RTTms != 20 {
		t.Fatalf("RTT after recovery: %+v", st.WAN)
	}
}
