package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/daemon"
	"lifeline/hal/cellular/cellsim"
	"lifeline/hal/cellular/module"
	"lifeline/hal/cellular/profiles"
	"lifeline/hal/cellular/sms"
	"lifeline/hal/clock"
	"lifeline/hal/modem/modemtest"
	"lifeline/hal/power"
)

// notifyPatience bounds every wait in these tests (a failure bound, not a
// synchronisation: each wait ends on an event).
const notifyPatience = 10 * time.Second

const notifySMS = `
config notify 'sms'
	option name 'gw1'
	list number '+491701234567'
	list number '+49 30 1234-567'
`

const notifyRemote = `
config notify 'sms'
	option name 'gw1'
	list number '+491701234567'
	list event 'powerout'
	option remote '1'
	list remote_from '+491701234567'
	option remote_secret 'sesame-1234'
`

// budgetSection is a notify section for one number, sending powerout and
// the event also, with a rate budget of burst, then one per interval.
func budgetSection(also, burst, interval string) string {
	return "\nconfig notify 'sms'\n\toption name 'gw1'\n\tlist number '+491701234567'\n\tlist event 'powerout'\n" +
		"\tlist event '" + also + "'\n\toption max_burst '" + burst + "'\n\toption min_interval '" + interval + "'\n"
}

var notifyT0 = time.Date(2026, 12, 4, 17, 5, 0, 0, time.UTC)

// sentSMS is one message a fakeModule was given.
type sentSMS struct{ to, text string }

// fakeModule is the cellular line's module as smsLine sees it: it records
// each SMS; while gate is set, a send waits for it to close.
type fakeModule struct {
	mu      sync.Mutex
	sent    []sentSMS
	gate    chan struct{}
	changed chan struct{} // closed and replaced on each send
}

func newFakeModule() *fakeModule { return &fakeModule{changed: make(chan struct{})} }

func (m *fakeModule) SendSMS(ctx context.Context, to, text string) error {
	m.mu.Lock()
	gate := m.gate
	m.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, sentSMS{to, text})
	close(m.changed)
	m.changed = make(chan struct{})
	return nil
}

func (m *fakeModule) all() []sentSMS {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sent)
}

// wait waits until n SMS have been sent and returns them.
func (m *fakeModule) wait(t *testing.T, n int) []sentSMS {
	t.Helper()
	deadline := time.NewTimer(notifyPatience)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		got, ch := slices.Clone(m.sent), m.changed
		m.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%d SMS sent, want %d: %v", len(got), n, got)
		}
	}
}

// notifyRig is the daemon on a fake clock with the notify feature on a
// hardware whose cellular line's module is a fakeModule: what `run` wires,
// without a board.
type notifyRig struct {
	t       *testing.T
	clk     *clock.Fake
	hw      *hardware
	d       *daemon.Daemon
	f       *notifyFeat
	mod     *fakeModule
	log     *logBuffer
	dir     string
	ctx     context.Context
	cancel  context.CancelFunc
	runDone chan error
	once    sync.Once
}

func notifyConfig(t *testing.T, dir, sections string) *daemon.Config {
	t.Helper()
	c, err := daemon.ParseConfig("lifeline.conf", []byte("config lifeline 'main'\n\toption hooks_dir '"+
		filepath.Join(dir, "hooks.d")+"'\n"+sections))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newNotifyRig starts the daemon on cfg; the feature is applied by apply.
func newNotifyRig(t *testing.T, dir string, cfg *daemon.Config) *notifyRig {
	t.Helper()
	clk := clock.NewFake(notifyT0)
	lb := newLogBuffer()
	log := slog.New(slog.NewTextHandler(io.MultiWriter(lb, t.Output()), nil))
	hw := &hardware{log: log, clk: clk, events: newEventTap(clk)}
	hw.sms.log = log
	d, err := daemon.New(daemon.Options{Config: cfg, StateDir: dir, Board: "sim", Version: "t", Clock: clk, Log: log,
		Observers: []daemon.StatusObserver{hw.events}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &notifyRig{t: t, clk: clk, hw: hw, d: d, f: newNotifyFeat(hw), mod: newFakeModule(), log: lb, dir: dir,
		ctx: ctx, cancel: cancel, runDone: make(chan error, 1)}
	r.f.flush = notifyPatience // a bound only: the fake module takes every SMS at once
	hw.sms.set(r.mod)
	go func() { r.runDone <- d.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

func (r *notifyRig) apply(cfg *daemon.Config) {
	r.t.Helper()
	r.hw.bind(r.ctx, r.d, cfg)
	if err := r.f.apply(r.ctx, cfg); err != nil {
		r.t.Fatal(err)
	}
}

// post hands the daemon an input and waits until its loop has applied it
// (and told the observers its events).
func (r *notifyRig) post(in daemon.Input) {
	r.t.Helper()
	if err := r.d.Post(r.ctx, in); err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.d.Status(r.ctx); err != nil {
		r.t.Fatal(err)
	}
}

func (r *notifyRig) power(src power.Source) {
	r.t.Helper()
	r.post(daemon.PowerInput{State: power.State{Source: src, Percent: 87}})
}

// stop stops the daemon as `run` does (the feature flushes after the
// daemon is done), then the feature.
func (r *notifyRig) stop() {
	r.once.Do(func() {
		r.cancel()
		<-r.runDone
		r.f.stop()
		r.hw.Close()
	})
}

// alert is the SMS text the notifier sends for what at t.
func alert(what string, t time.Time) string { return sms.Alert("gw1", what, t.In(time.Local)) }

// Mains lost: exactly one SMS to each configured number (normalised),
// with the router's name, what happened and when.
func TestNotifyMainsLostOneSMSPerNumber(t *testing.T) {
	dir := t.TempDir()
	cfg := notifyConfig(t, dir, notifySMS)
	r := newNotifyRig(t, dir, cfg)
	r.apply(cfg)
	r.power(power.Battery)
	r.mod.wait(t, 2)
	r.stop() // flushes whatever would still wait
	want := alert("mains lost, battery 87%", notifyT0)
	got := r.mod.all()
	if len(got) != 2 || got[0] != (sentSMS{"+491701234567", want}) || got[1] != (sentSMS{"+49301234567", want}) {
		t.Fatalf("sent %q, want one %q to each number", got, want)
	}
}

// Mains lost before the feature starts (at boot, before the features
// run) is sent once it does.
func TestNotifyEventsBeforeStartDelivered(t *testing.T) {
	dir := t.TempDir()
	cfg := notifyConfig(t, dir, notifySMS)
	r := newNotifyRig(t, dir, cfg)
	r.power(power.Battery)
	r.clk.Advance(time.Second)
	r.apply(cfg)
	got := r.mod.wait(t, 2)
	if want := alert("mains lost, battery 87%", notifyT0); got[0].text != want {
		t.Fatalf("sent %q, want %q (the time the event happened)", got[0].text, want)
	}
}

// The notify section added by a reload starts the notifier (what happened
// while it was off is not sent), kept while unchanged, restarted when
// changed, stopped (its goroutines gone, nothing sent) when removed.
func TestNotifyStartStopByReload(t *testing.T) {
	dir := t.TempDir()
	without, with := notifyConfig(t, dir, ""), notifyConfig(t, dir, notifySMS)
	changed := notifyConfig(t, dir, strings.Replace(notifySMS, "'gw1'", "'gw2'", 1))
	r := newNotifyRig(t, dir, without)
	r.apply(without)
	r.power(power.Battery) // notify off: dropped
	base := goleak.IgnoreCurrent()
	r.apply(with)
	r.power(power.Mains)
	r.mod.wait(t, 2)
	r.apply(with)
	r.apply(changed)
	r.power(power.Battery)
	got := r.mod.wait(t, 4)
	r.apply(without)
	if err := goleak.Find(base); err != nil {
		t.Fatalf("notify section removed, its goroutines run on: %v", err)
	}
	r.power(power.Mains)
	if n := len(r.mod.all()); n != 4 {
		t.Fatalf("%d SMS after the section was removed, want 4: %q", n, r.mod.all())
	}
	want := []sentSMS{{"+491701234567", alert("mains back, battery 87%", notifyT0)},
		{"+49301234567", alert("mains back, battery 87%", notifyT0)},
		{"+491701234567", strings.Replace(alert("mains lost, battery 87%", notifyT0), "gw1", "gw2", 1)},
		{"+49301234567", strings.Replace(alert("mains lost, battery 87%", notifyT0), "gw1", "gw2", 1)}}
	if !slices.Equal(got, want) {
		t.Fatalf("sent %q, want %q", got, want)
	}
	log := r.log.String()
	for s, n := range map[string]int{`msg="feature started" feature=notify`: 1, "SMS alerts kept across the reload": 1,
		`msg="feature restarted: its section changed" feature=notify`: 1, `msg="feature stopped: its section is gone" feature=notify`: 1} {
		if c := strings.Count(log, s); c != n {
			t.Errorf("log says %q %d times, want %d", s, c, n)
		}
	}
}

// A burst of events: the first alert goes out alone, the next one sums up
// what waited, and later events wait for min_interval.
func TestNotifyBurstRateLimited(t *testing.T) {
	dir := t.TempDir()
	cfg := notifyConfig(t, dir, budgetSection("mainsback", "2", "10m"))
	r := newNotifyRig(t, dir, cfg)
	r.mod.gate = make(chan struct{}) // the first send waits until the burst is in
	r.apply(cfg)
	for range 3 {
		r.power(power.Battery)
		r.power(power.Mains)
	}
	close(r.mod.gate)
	got := r.mod.wait(t, 2)
	r.power(power.Battery)
	r.power(power.Mains)
	r.clk.Advance(10 * time.Minute)
	got = r.mod.wait(t, 3)
	r.stop()
	if n := len(r.mod.all()); n != 3 {
		t.Fatalf("%d SMS for 8 events, want 3: %q", n, r.mod.all())
	}
	want := []string{alert("mains lost, battery 87%", notifyT0),
		alert("mains back, battery 87% (+4 more: mains back, mains lost)", notifyT0),
		alert("mains back, battery 87% (+1 more: mains lost)", notifyT0)}
	for i, s := range got {
		if s.text != want[i] {
			t.Errorf("SMS %d: %q, want %q", i, s.text, want[i])
		}
	}
}

// Stopping: the daemon's stop event still reaches the notifier, and what
// waits for the rate budget goes out in the last flush.
func TestNotifyFlushOnStop(t *testing.T) {
	dir := t.TempDir()
	cfg := notifyConfig(t, dir, budgetSection("stop", "1", "1h"))
	r := newNotifyRig(t, dir, cfg)
	r.apply(cfg)
	r.power(power.Battery)
	r.mod.wait(t, 1) // the budget is spent
	r.stop()
	got := r.mod.all()
	if len(got) != 2 || got[1].text != alert("stopping, route sip", notifyT0) {
		t.Fatalf("sent %q, want the stop alert last", got)
	}
}

// Remote override by SMS: from another number or with a wrong secret
// nothing changes and nothing is answered; from the allowed number with
// the secret the override is set (source sms) and the sender gets the
// status.
func TestNotifyRemoteOverride(t *testing.T) {
	dir := t.TempDir()
	cfg := notifyConfig(t, dir, notifyRemote)
	r := newNotifyRig(t, dir, cfg)
	r.apply(cfg)
	r.hw.sms.received("+4930999999", "sesame-1234 pstn", notifyT0)
	r.hw.sms.received("+491701234567", "wrong-secret pstn", notifyT0)
	r.hw.sms.received("+491701234567", "sesame-1234 pstn 2h", notifyT0)
	got := r.mod.wait(t, 1)
	st, err := r.d.Status(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Override.Mode != daemon.ModePSTN || st.Override.Source == nil || *st.Override.Source != "sms" ||
		st.Override.Until == nil || !st.Override.Until.Equal(notifyT0.Add(2*time.Hour)) {
		t.Fatalf("override %+v, want pstn from sms for 2h", st.Override)
	}
	if got[0].to != "+491701234567" || !strings.HasPrefix(got[0].text, "gw1: route pstn (override pstn until ") {
		t.Fatalf("reply %q", got[0])
	}
	r.hw.sms.received("+491701234567", "wrong-secret auto", notifyT0)
	r.hw.sms.received("+4930999999", "sesame-1234 auto", notifyT0)
	r.hw.sms.received("+491701234567", "sesame-1234 status", notifyT0)
	got = r.mod.wait(t, 2)
	if st, _ := r.d.Status(r.ctx); st.Override.Mode != daemon.ModePSTN {
		t.Fatalf("override %+v after a wrong secret and a stranger, want pstn still", st.Override)
	}
	r.stop()
	if n := len(r.mod.all()); n != 2 || got[1].to != "+491701234567" || !strings.HasPrefix(got[1].text, "gw1: route pstn") {
		t.Fatalf("sent %q, want the two replies only", r.mod.all())
	}
}

// Remote off (the default): a command with the right secret from the
// listed number changes nothing.
func TestNotifyRemoteOffIgnores(t *testing.T) {
	dir := t.TempDir()
	cfg := notifyConfig(t, dir, strings.Replace(notifyRemote, "option remote '1'", "option remote '0'", 1))
	r := newNotifyRig(t, dir, cfg)
	r.apply(cfg)
	r.hw.sms.received("+491701234567", "sesame-1234 pstn", notifyT0)
	r.stop()
	if !strings.Contains(r.log.String(), "sms received and ignored: remote override is off") {
		t.Error("not logged")
	}
	if strings.Contains(r.log.String(), "sesame") {
		t.Error("the secret is in the log")
	}
	if data, _ := os.ReadFile(filepath.Join(dir, daemon.OverrideFile)); bytes.Contains(data, []byte("pstn")) {
		t.Fatalf("override set with remote off: %s", data)
	}
	if n := len(r.mod.all()); n != 0 {
		t.Fatalf("sent %q", r.mod.all())
	}
}

// smsLine: a message sent while no module runs goes out through the next
// one; one whose module stopped under it goes out on the next module; a
// sender waits for a module until its ctx ends.
func TestSMSLineWaitsForModule(t *testing.T) {
	var l smsLine
	res := make(chan error, 1)
	go func() { res <- l.SendSMS(context.Background(), "+491701234567", "gw1: mains lost") }()
	stopped := &stoppedModule{called: make(chan struct{})}
	l.set(stopped)
	<-stopped.called
	m := newFakeModule()
	l.set(m)
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if got := m.all(); len(got) != 1 || got[0].text != "gw1: mains lost" {
		t.Fatalf("sent %q", got)
	}
	l.setModule(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.SendSMS(ctx, "+491701234567", "x"); err != errNoModule {
		t.Fatalf("no module, ctx ended: %v, want errNoModule", err)
	}
}

// stoppedModule is a module whose Run has returned.
type stoppedModule struct {
	once   sync.Once
	called chan struct{}
}

func (m *stoppedModule) SendSMS(context.Context, string, string) error {
	m.once.Do(func() { close(m.called) })
	return fmt.Errorf("cellular module x: %w", module.ErrStopped)
}

// `lifeline check` warns about a notify section without a cellular line
// (and still passes); the daemon logs the same when the feature starts.
func TestNotifyCheckWarnsWithoutCellularLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lifeline.conf")
	base := "config lifeline 'main'\n\toption board 'sim'\n\toption hooks_dir '" + filepath.Join(dir, "hooks.d") + "'\n"
	for _, tc := range []struct {
		conf, warn string
	}{
		{base + notifySMS, "warning: notify 'sms' (line 5): no cellular line is configured"},
		{base, ""},
	} {
		if err := os.WriteFile(path, []byte(tc.conf), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		if err := cmdCheck([]string{"-c", path, "--no-hardware"}, &out, &errb); err != nil {
			t.Fatalf("check: %v\n%s", err, errb.String())
		}
		if got := strings.Contains(out.String(), "warning:"); got != (tc.warn != "") || !strings.Contains(out.String(), tc.warn) {
			t.Errorf("check said %q, want the warning %q", out.String(), tc.warn)
		}
	}
	cfg := notifyConfig(t, dir, notifySMS)
	r := newNotifyRig(t, dir, cfg)
	r.apply(cfg)
	r.stop()
	if !strings.Contains(r.log.String(), "no cellular line is configured") {
		t.Error("the daemon did not warn")
	}
}

// The alert goes through the real module on the cellular module simulator
// (pseudo-terminals): the simulator records the SMS the module sent, and
// a command SMS it delivers changes the override and is answered.
func TestNotifyThroughCellsim(t *testing.T) {
	modemtest.NeedPTY(t)
	prof, err := profiles.Load("huawei-e1550")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := notifyConfig(t, dir, strings.Replace(notifyRemote, "+491701234567'\n\tlist event", "+491701234567'\n\tlist number '+4930555'\n\tlist event", 1))
	r := newNotifyRig(t, dir, cfg)
	sim, err := cellsim.New(t.TempDir(), prof, cellsim.WithClock(r.clk))
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	mod, err := module.New(sim.ATPath(), sim.AudioPath(), prof, module.WithClock(r.clk), module.WithLogger(r.hw.log),
		module.WithSMSFunc(r.hw.sms.received))
	if err != nil {
		t.Fatal(err)
	}
	mctx, mcancel := context.WithCancel(context.Background())
	modDone := make(chan error, 1)
	go func() { modDone <- mod.Run(mctx) }()
	defer func() { mcancel(); <-modDone }()
	r.hw.sms.setModule(mod)
	defer r.hw.sms.setModule(nil)
	r.apply(cfg)
	r.power(power.Battery)
	ctx, cancel := context.WithTimeout(context.Background(), notifyPatience)
	defer cancel()
	if err := sim.Wait(ctx, func(s cellsim.State) bool { return len(s.Sent) == 2 }); err != nil {
		t.Fatal(err)
	}
	text := alert("mains lost, battery 87%", notifyT0)
	for i, to := range []string{"+491701234567", "+4930555"} {
		want, err := sms.Submit(to, text, byte(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if got := sim.State().Sent[i]; len(want) != 1 || got.PDU != want[0].Hex {
			t.Errorf("SMS %d: %+v, want the PDU of %q to %s", i, got, text, to)
		}
	}
	if err := sim.InjectSMS(deliverPDU(t, "+491701234567", "sesame-1234 sip"), false); err != nil {
		t.Fatal(err)
	}
	if err := sim.Wait(ctx, func(s cellsim.State) bool { return len(s.Sent) == 3 }); err != nil {
		t.Fatal(err)
	}
	st, err := r.d.Status(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Override.Mode != daemon.ModeSIP || *st.Override.Source != "sms" {
		t.Fatalf("override %+v, want sip from sms", st.Override)
	}
	r.stop()
}

// deliverPDU is the SMS-DELIVER a module receives from number with text
// (GSM 7-bit): the submit's PDU turned around, its DA the originator.
func deliverPDU(t *testing.T, from, text string) string {
	t.Helper()
	parts, err := sms.Submit(from, text, 0)
	if err != nil || len(parts) != 1 {
		t.Fatal(parts, err)
	}
	tpdu := parts[0].Hex[2:] // without the empty SMSC address
	var daLen int
	fmt.Sscanf(tpdu[4:6], "%X", &daLen)
	daEnd := 4 + 4 + 2*((daLen+1)/2)
	addr, rest := tpdu[4:daEnd], tpdu[daEnd:]
	// first octet 04 (deliver, no more messages), OA, PID, DCS, SCTS, UDL and UD (the submit's VP left out)
	return "00" + "04" + addr + rest[:4] + "62214071000040" + rest[6:]
}

// The real binary on the sim board (no cellular line) with a notify
// section: `check` and the daemon warn, the daemon runs, mains lost
// queues an alert that cannot go out, and the daemon still stops promptly
// (with no module running the last flush does not wait for one).
func TestE2ENotifyWithoutCellularLine(t *testing.T) {
	e := newE2E(t, "1s")
	data, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.writeConfig(string(data) + notifySMS)
	out, errs, code := e.cli("check", "-c", e.cfg)
	if code != 0 || !strings.Contains(out, "warning: notify 'sms'") || !strings.Contains(out, "no cellular line is configured") {
		t.Fatalf("check: %d %q %q", code, out, errs)
	}
	e.start()
	e.waitLog("no cellular line is configured")
	e.waitLog(`msg="feature started" feature=notify`)
	e.mustCLI("sim", "mains", "off")
	e.waitFor("on battery", func(st map[string]any) bool { return field(st, "power.source") == "battery" })
	start := time.Now()
	e.kill(syscall.SIGTERM)
	if d := time.Since(start); d > notifyFlush {
		t.Fatalf("stopping took %v", d)
	}
	if !strings.Contains(e.stderr.String(), "lifeline stopped") {
		t.Fatalf("no clean stop:\n%s", e.stderr)
	}
}

// The shipped /etc/config/lifeline's commented cellular line (in place of
// its analog line) and notify section, uncommented, are a valid
// configuration: the example is one a router can use as it is.
func TestShippedConfigCellularExample(t *testing.T) {
	raw, err := os.ReadFile("../../scripts/openwrt/lifeline/files/lifeline.config")
	if err != nil {
		t.Skip(err)
	}
	var out []string
	skipping, uncommenting := false, false
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, "config line ") {
			skipping = true // the analog line: replaced by the cellular one
			continue
		}
		if skipping && strings.HasPrefix(l, "\t") {
			continue
		}
		skipping = false
		switch {
		case strings.HasPrefix(l, "#config line ") || strings.HasPrefix(l, "#config notify "):
			uncommenting, l = true, l[1:]
		case uncommenting && strings.HasPrefix(l, "#\t"):
			l = l[1:]
		default:
			uncommenting = false
		}
		out = append(out, l)
	}
	cfg, err := daemon.ParseConfig("lifeline.config", []byte(strings.Join(out, "\n")))
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(out, "\n"))
	}
	if cfg.Line == nil || cfg.Line.Kind != daemon.LineKindCellular || cfg.Line.Cellular.PIN != "1234" ||
		cfg.Notify == nil || len(cfg.Notify.Numbers) != 1 {
		t.Fatalf("line %+v, notify %+v", cfg.Line, cfg.Notify)
	}
	if err := checkCellularLine(cfg); err != nil {
		t.Fatal(err)
	}
}
