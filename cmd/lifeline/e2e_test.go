package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests start the real binary on the sim board in a temp dir
// and drive it only through the CLI. The daemon runs on the real clock in
// its own process, so the tests poll its status with a deadline; the
// configured intervals are short so that the waits are too.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// lifelineBin builds the binary once per test process.
func lifelineBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lifeline-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "lifeline")
		out, err := exec.Command("go", "build", "-ldflags", "-X main.version=e2e", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

const e2eConfig = `config lifeline 'main'
	option board 'sim'
	option failback_hold '%s'
	option hooks_dir '%s'

config provider 'sip'
	option host 'sip.example.net'
	option interval '200ms'
	option timeout '200ms'
	option down_after '3'

config battery 'battery'
	list shed_interface 'wlan1'
	option on_battery_delay '200ms'
	option critical_percent '10'
	option shutdown_grace '200ms'

config hotkey 'force_pstn'
	list key 'wps'
	list key 'phone'
	option hold '2s'
	option action 'toggle'
`

type e2e struct {
	t      *testing.T
	bin    string
	dir    string
	state  string // --state-dir; default dir
	cfg    string
	sock   string
	cmd    *exec.Cmd
	wrap   []string // command prefix for `run`, e.g. ip netns exec NS
	extra  []string // more flags for `run`
	board  string   // --board for `run`; empty: the config's
	stderr *logBuffer
	exited chan error
}

func newE2E(t *testing.T, failbackHold string) *e2e {
	e := e2eWith(t, lifelineBin(t))
	e.writeConfig(fmt.Sprintf(e2eConfig, failbackHold, filepath.Join(e.dir, "hooks.d")))
	return e
}

// e2eWith prepares a run of bin in a temp dir; the caller writes the config.
func e2eWith(t *testing.T, bin string) *e2e {
	e := &e2e{t: t, bin: bin, dir: t.TempDir()}
	e.state = e.dir
	e.cfg = filepath.Join(e.dir, "lifeline.conf")
	e.sock = filepath.Join(e.dir, "lifeline.sock")
	return e
}

func (e *e2e) writeConfig(s string) {
	if err := os.WriteFile(e.cfg, []byte(s), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *e2e) start() {
	e.t.Helper()
	argv := append(append([]string{}, e.wrap...), e.bin, "run", "-c", e.cfg, "--state-dir", e.state, "--socket", e.sock)
	if e.board != "" {
		argv = append(argv, "--board", e.board)
	}
	argv = append(argv, e.extra...)
	e.cmd = exec.Command(argv[0], argv[1:]...)
	e.stderr = newLogBuffer()
	e.cmd.Stderr = e.stderr
	if err := e.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.exited = make(chan error, 1)
	go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(e.cmd, e.exited)
	e.t.Cleanup(func() { e.kill(syscall.SIGTERM) })
	e.waitFor("daemon answering", func(st map[string]any) bool { return st["route"] != nil })
}

// kill signals the daemon and waits for it to exit.
func (e *e2e) kill(sig syscall.Signal) {
	if e.cmd == nil {
		return
	}
	e.cmd.Process.Signal(sig)
	select {
	case <-e.exited:
	case <-time.After(20 * time.Second):
		e.cmd.Process.Kill()
		<-e.exited
	}
	e.cmd = nil
}

// cli runs the binary with args and returns stdout, stderr and exit code.
func (e *e2e) cli(args ...string) (string, string, int) {
	c := exec.Command(e.bin, args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func (e *e2e) mustCLI(args ...string) string {
	e.t.Helper()
	out, errs, code := e.cli(append(args, "--socket", e.sock)...)
	if code != 0 {
		e.t.Fatalf("lifeline %v: exit %d: %s", args, code, errs)
	}
	return out
}

// status returns `status --json`, checked against DESIGN.md's fields.
func (e *e2e) status() map[string]any {
	e.t.Helper()
	out, errs, code := e.cli("status", "--json", "--socket", e.sock)
	if code != 0 {
		return nil
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		e.t.Fatalf("status --json is not JSON: %v\n%s%s", err, out, errs)
	}
	checkContract(e.t, st)
	return st
}

// checkContract asserts the DESIGN.md status JSON: every field, its type.
func checkContract(t *testing.T, st map[string]any) {
	t.Helper()
	want := map[string]string{
		"route": "string", "reason": "string", "since": "string", "degraded": "bool",
		"power.source": "string", "power.battery_percent": "number|null", "power.flags": "array",
		"wan.interface": "string", "wan.link": "string", "wan.default_route": "bool", "wan.provider": "string", "wan.rtt_ms": "number|null",
		"line.device": "string", "line.profile": "string", "line.state": "string",
		"override.mode": "string", "override.until": "string|null", "override.source": "string|null",
	}
	for path, types := range want {
		var v any = st
		for _, k := range strings.Split(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("status: %s: parent not an object", path)
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("status: field %s missing", path)
			}
		}
		got := "null"
		switch v.(type) {
		case string:
			got = "string"
		case bool:
			got = "bool"
		case float64:
			got = "number"
		case []any:
			got = "array"
		}
		if !strings.Contains("|"+types+"|", "|"+got+"|") {
			t.Fatalf("status: field %s is %s, want %s", path, got, types)
		}
	}
	if r := st["route"]; r != "sip" && r != "pstn" {
		t.Fatalf("status: route %v", r)
	}
}

func field(st map[string]any, path string) any {
	var v any = st
	for _, k := range strings.Split(path, ".") {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// waitFor polls the status until cond holds (deadline 15 s).
func (e *e2e) waitFor(what string, cond func(map[string]any) bool) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last map[string]any
	for time.Now().Before(deadline) {
		if st := e.status(); st != nil {
			last = st
			if cond(st) {
				return st
			}
		}
		select {
		case err := <-e.exited:
			e.t.Fatalf("daemon exited (%v) while waiting for %s; log:\n%s", err, what, e.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	e.t.Fatalf("timed out waiting for %s; last status %v\nlog:\n%s", what, last, e.stderr)
	return nil
}

func routeIs(r string) func(map[string]any) bool {
	return func(st map[string]any) bool { return st["route"] == r }
}

func TestE2EWANAndProviderFailback(t *testing.T) {
	e := newE2E(t, "2s")
	e.start()
	st := e.waitFor("line idle", func(st map[string]any) bool { return field(st, "line.state") == "idle" })
	if st["route"] != "sip" || field(st, "power.source") != "mains" || field(st, "wan.link") != "up" {
		t.Fatalf("sim board did not start healthy: %v", st)
	}

	e.mustCLI("sim", "wan", "down")
	st = e.waitFor("route pstn after wan down", routeIs("pstn"))
	if !strings.Contains(st["reason"].(string), "WAN link down") {
		t.Fatalf("reason = %v", st["reason"])
	}
	if data, _ := os.ReadFile(filepath.Join(e.dir, "route")); string(data) != "pstn\n" {
		t.Fatalf("route file = %q", data)
	}
	up := time.Now() // before the command: the daemon's hold starts later
	e.mustCLI("sim", "wan", "up")
	st = e.waitFor("route sip after failback_hold", routeIs("sip"))
	if held := time.Since(up); held < 2*time.Second-100*time.Millisecond {
		t.Fatalf("failed back after %v, before failback_hold 2s", held)
	}
	e.waitLog(`msg="route changed" from=pstn to=sip reason="provider healthy for 2s"`)

	e.mustCLI("sim", "provider", "down")
	st = e.waitFor("route pstn after provider down", routeIs("pstn"))
	if !strings.Contains(st["reason"].(string), "provider not answering") || field(st, "wan.provider") != "down" {
		t.Fatalf("status = %v", st)
	}
	e.mustCLI("sim", "provider", "up")
	// The first status that shows the provider up (its hold just begun)
	// still routes pstn: no second call that a busy machine could delay
	// past the hold.
	if st := e.waitFor("provider up again", func(st map[string]any) bool { return field(st, "wan.provider") == "up" }); st["route"] != "pstn" {
		t.Fatalf("failed back at once: %v", st)
	}
	e.waitFor("route sip after provider failback", routeIs("sip"))
	if !strings.Contains(e.stderr.String(), `msg="route changed" from=sip to=pstn reason="WAN link down"`) {
		t.Fatalf("route change not logged:\n%s", e.stderr)
	}
}

// The sim board's line is a modem simulator behind the real AT engine:
// `sim line down` is found by its health check; with the WAN down too the
// status is degraded and names both faults.
func TestE2ELineThroughModemSimulator(t *testing.T) {
	e := newE2E(t, "1s")
	e.start()
	e.waitFor("line idle", func(st map[string]any) bool { return field(st, "line.state") == "idle" })
	if dev := field(e.status(), "line.device").(string); !strings.HasSuffix(dev, "/modem") {
		t.Fatalf("line device %q is not the simulator's pty link", dev)
	}
	e.mustCLI("sim", "line", "down")
	e.waitFor("no-line", func(st map[string]any) bool { return field(st, "line.state") == "no-line" })
	e.waitLog("answered NO DIALTONE")
	e.mustCLI("sim", "wan", "down")
	st := e.waitFor("degraded", func(st map[string]any) bool { return st["degraded"] == true })
	if r := st["reason"].(string); !strings.Contains(r, "WAN link down") || !strings.Contains(r, "line no-line") {
		t.Fatalf("degraded reason %q does not name both faults", r)
	}
	e.mustCLI("sim", "line", "up")
	st = e.waitFor("pstn once the line is back", routeIs("pstn"))
	if st["degraded"] != false {
		t.Fatalf("still degraded: %v", st)
	}
}

// The sim board's mains and battery go through the power policy: shedding
// after on_battery_delay, restore on mains, forced shutdown at the
// critical charge (the command itself is only logged on the sim board).
func TestE2EPowerOnSimBoard(t *testing.T) {
	e := newE2E(t, "1s")
	e.start()
	e.mustCLI("sim", "mains", "off")
	st := e.waitFor("shed on battery", func(st map[string]any) bool {
		shed, _ := field(st, "power.shed").([]any)
		return len(shed) == 1 && shed[0] == "wlan1"
	})
	if field(st, "power.source") != "battery" || fmt.Sprint(field(st, "power.flags")) != "[OB]" {
		t.Fatalf("power = %v", st["power"])
	}
	e.mustCLI("sim", "battery", "60")
	e.mustCLI("sim", "mains", "on")
	e.waitFor("restored on mains", func(st map[string]any) bool {
		return field(st, "power.shed") == nil && field(st, "power.source") == "mains"
	})
	e.waitLog("load shedding\" action=\"restore wlan1\"")
	e.mustCLI("sim", "mains", "off")
	e.mustCLI("sim", "battery", "9")
	e.waitFor("forced shutdown", func(st map[string]any) bool {
		return strings.Contains(fmt.Sprint(field(st, "power.flags")), "FSD")
	})
	e.waitLog("shutdown command not run on a simulated board")
}

func TestE2EOverrideExpiresAndSurvivesKill9(t *testing.T) {
	e := newE2E(t, "1s")
	e.start()
	out := e.mustCLI("override", "pstn", "--for", "3s")
	// The command's own answer is the status as the override left it: a
	// second call could come after the expiry on a busy machine.
	if !strings.Contains(out, "override  pstn by cli until") || !strings.Contains(out, "route     pstn") {
		t.Fatalf("override output:\n%s", out)
	}
	e.waitFor("override expired", func(st map[string]any) bool {
		return field(st, "override.mode") == "auto" && field(st, "override.until") == nil && st["route"] == "sip"
	})

	// An override without expiry survives kill -9 and a restart.
	e.mustCLI("override", "pstn")
	e.kill(syscall.SIGKILL)
	e.start()
	st := e.status()
	if st["route"] != "pstn" || field(st, "override.mode") != "pstn" {
		t.Fatalf("after kill -9 and restart: %v", st)
	}
	e.mustCLI("override", "auto")
	e.waitFor("back to sip", routeIs("sip"))
}

func TestE2EBadConfig(t *testing.T) {
	e := newE2E(t, "1s")
	e.writeConfig("config lifeline 'main'\n\toption board 'sim'\n\toption failback_hold 'never'\n")
	for _, args := range [][]string{{"check", "-c", e.cfg}, {"run", "-c", e.cfg, "--state-dir", e.dir, "--socket", e.sock}} {
		_, errs, code := e.cli(args...)
		if code != 1 || !strings.Contains(errs, e.cfg+":3:") || !strings.Contains(errs, "option 'failback_hold'") {
			t.Errorf("lifeline %s: exit %d, stderr %q; want exit 1 naming line 3", args[0], code, errs)
		}
	}
	e.writeConfig("config lifeline 'main'\n\toption board 'sim'\nconfig hotkey 'x'\n\tlist key 'fire'\n")
	// check and run refuse it alike (run used to start without checking
	// hotkeys, and then refused every reload).
	for _, args := range [][]string{{"check", "-c", e.cfg}, {"run", "-c", e.cfg, "--state-dir", e.dir, "--socket", e.sock}} {
		if _, errs, code := e.cli(args...); code != 1 || !strings.Contains(errs, `board sim has no key "fire"`) || !strings.Contains(errs, ":3:") {
			t.Errorf("%s with an unknown key: exit %d, %q", args[0], code, errs)
		}
	}
	// A GPIO board on a machine without that GPIO: the line is named.
	if _, err := os.Stat("/sys/kernel/config/gpio-sim"); err != nil {
		e.writeConfig("config lifeline 'main'\n")
		if _, errs, code := e.cli("check", "-c", e.cfg, "--board", "qemu-gpiosim"); code != 1 || !strings.Contains(errs, `"lifeline-`) {
			t.Errorf("check without the board's GPIO: exit %d, %q", code, errs)
		}
	}
	if _, errs, code := e.cli("check", "-c", filepath.Join(e.dir, "missing")); code != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("check missing file: exit %d, %q", code, errs)
	}
}

// SIGHUP reloads; a bad new configuration is refused and the running one kept.
func TestE2EReload(t *testing.T) {
	e := newE2E(t, "30s")
	e.start()
	good, _ := os.ReadFile(e.cfg)
	e.writeConfig(string(good) + "\tbogus\n")
	e.cmd.Process.Signal(syscall.SIGHUP)
	e.waitLog("reload refused, keeping the running configuration")
	e.waitLog(fmt.Sprintf("lifeline.conf:%d: unknown keyword", strings.Count(string(good), "\n")+1))
	// Still running with the 30s hold.
	e.mustCLI("sim", "wan", "down")
	e.waitFor("pstn", routeIs("pstn"))
	e.mustCLI("sim", "wan", "up")
	// A good config with a short hold is applied.
	e.writeConfig(strings.Replace(string(good), "'30s'", "'1s'", 1))
	e.cmd.Process.Signal(syscall.SIGHUP)
	e.waitFor("sip after reload shortened the hold", routeIs("sip"))
}

func TestE2ESimErrorsAndUsage(t *testing.T) {
	e := newE2E(t, "1s")
	e.start()
	if _, errs, code := e.cli("sim", "wan", "sideways", "--socket", e.sock); code != 1 || !strings.Contains(errs, "value must be up or down") {
		t.Errorf("sim bad value: %d %q", code, errs)
	}
	if _, errs, code := e.cli("sim", "key", "wps", "press", "--socket", e.sock); code != 0 {
		t.Errorf("sim key: %d %q", code, errs)
	}
	if _, _, code := e.cli("override"); code != 2 {
		t.Errorf("override without mode: exit %d, want 2", code)
	}
	if _, errs, code := e.cli("override", "isdn"); code != 2 || !strings.Contains(errs, `"isdn"`) {
		t.Errorf("override isdn: %d %q", code, errs)
	}
	if _, errs, code := e.cli("status", "--socket", filepath.Join(e.dir, "nope.sock")); code != 1 || !strings.Contains(errs, "cannot reach lifeline") {
		t.Errorf("status without daemon: %d %q", code, errs)
	}
	if out, _, code := e.cli("version"); code != 0 || out != "lifeline e2e\n" {
		t.Errorf("version: %d %q", code, out)
	}
	for _, c := range commands {
		if _, errs, code := e.cli(c.name, "--help"); code != 0 || !strings.Contains(errs, "usage: lifeline "+c.name) {
			t.Errorf("%s --help: %d %q", c.name, code, errs)
		}
	}
	if out, _, code := e.cli("boards"); code != 0 || !strings.Contains(out, "sim ") || !strings.Contains(out, "generic") {
		t.Errorf("boards: %d %q", code, out)
	}
}

// logBuffer collects the daemon's stderr; waiters are woken on each write.
type logBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{})} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.changed)
	l.changed = make(chan struct{})
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLog waits until the log contains s (deadline 15 s).
func (e *e2e) waitLog(s string) {
	e.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		e.stderr.mu.Lock()
		found, ch := strings.Contains(e.stderr.b.String(), s), e.stderr.changed
		e.stderr.mu.Unlock()
		if found {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			e.t.Fatalf("log never said %q:\n%s", s, e.stderr)
		}
	}
}

// Hooks that another user could have written are refused by `check` and
// not run by the daemon, as sshd's StrictModes does (issue 15.9).
func TestE2EUntrustedHooks(t *testing.T) {
	e := newE2E(t, "1s")
	hooks := filepath.Join(e.dir, "hooks.d")
	os.Mkdir(hooks, 0o755)
	os.Chmod(hooks, 0o777)
	out := filepath.Join(e.dir, "hook.out")
	os.WriteFile(filepath.Join(hooks, "10-log"), []byte("#!/bin/sh\necho $LIFELINE_EVENT >> "+out+"\necho ran $LIFELINE_EVENT\n"), 0o755)
	if _, errs, code := e.cli("check", "-c", e.cfg); code != 1 || !strings.Contains(errs, hooks+" is writable by group or others") {
		t.Fatalf("check of a world-writable hooks dir: exit %d, %q", code, errs)
	}
	e.start()
	e.waitLog(`msg="hook refused, not run"`)
	e.mustCLI("sim", "wan", "down")
	e.waitFor("pstn", routeIs("pstn"))
	os.Chmod(hooks, 0o755)
	e.mustCLI("sim", "wan", "up")
	e.waitLog("line=\"ran route\"")
	e.kill(syscall.SIGTERM)
	if data, _ := os.ReadFile(out); string(data) != "route\nstop\n" {
		t.Fatalf("hook ran for %q, want only the events after its dir was fixed", data)
	}
	if _, errs, code := e.cli("check", "-c", e.cfg); code != 0 {
		t.Fatalf("check of the fixed dir: exit %d, %q", code, errs)
	}
}

// The configuration is read only from a regular file and only up to the
// limit: a FIFO, a link to /dev/zero, a directory or a huge file is refused
// at once with the file named, by check, run and a reload (issue 15.13).
func TestE2EConfigNotARegularFile(t *testing.T) {
	e := newE2E(t, "1s")
	fifo := filepath.Join(e.dir, "fifo.conf")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(e.dir, "zero.conf")
	os.Symlink("/dev/zero", zero)
	huge := filepath.Join(e.dir, "huge.conf")
	f, _ := os.Create(huge)
	f.Truncate(1 << 30) // sparse: 1 GiB of nothing on disk
	f.Close()
	cases := []struct{ path, want string }{
		{fifo, "not a regular file (a FIFO)"},
		{zero, "not a regular file (a character device)"},
		{e.dir, "not a regular file (a directory)"},
		{huge, "larger than 1048576 bytes"},
	}
	for _, c := range cases {
		for _, args := range [][]string{{"check", "-c", c.path}, {"run", "-c", c.path, "--state-dir", e.dir, "--socket", e.sock}} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var errb bytes.Buffer
			cmd := exec.CommandContext(ctx, e.bin, args...)
			cmd.Stderr = &errb
			err := cmd.Run()
			cancel()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errb.String(), c.path+": "+c.want) {
				t.Errorf("lifeline %s -c %s: %v, %q; want exit 1 saying %q", args[0], filepath.Base(c.path), err, errb.String(), c.want)
			}
		}
	}
	// A reload from a FIFO is refused too, and the daemon goes on.
	e.start()
	good := e.cfg
	for _, c := range cases {
		os.Remove(good)
		os.Symlink(c.path, good)
		e.cmd.Process.Signal(syscall.SIGHUP)
		e.waitLog(c.want)
	}
	e.mustCLI("sim", "wan", "down")
	e.waitFor("pstn after the refused reloads", routeIs("pstn"))
}

// A reload restarts only what changed (issue 15.14): with the provider
// dead and a SIGHUP every 100 ms — less than the probe's 300 ms timeout,
// so a probe restarted by each reload would never count a loss — the
// route still goes pstn.
func TestE2EReloadStormKeepsProbe(t *testing.T) {
	e := newE2E(t, "1s")
	cfg, _ := os.ReadFile(e.cfg)
	e.writeConfig(strings.Replace(string(cfg), "\toption interval '200ms'\n\toption timeout '200ms'\n", "\toption interval '1s'\n\toption timeout '300ms'\n", 1))
	e.start()
	e.waitFor("provider up", func(st map[string]any) bool { return field(st, "wan.provider") == "up" })
	e.mustCLI("sim", "provider", "down")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				e.cmd.Process.Signal(syscall.SIGHUP)
			}
		}
	}()
	defer func() { close(stop); <-done }()
	e.waitLog("provider section unchanged: probe kept across the reload")
	st := e.waitFor("pstn despite the reloads", routeIs("pstn"))
	if !strings.Contains(st["reason"].(string), "provider not answering") {
		t.Fatalf("reason %v", st["reason"])
	}
}

// The sim board's modem lives in the state dir, reused after kill -9 and
// removed at a clean stop: nothing accumulates in /tmp (issue 15.16).
func TestE2ESimModemDirNotLeaked(t *testing.T) {
	e := newE2E(t, "1s")
	e.start()
	dev := field(e.waitFor("line idle", func(st map[string]any) bool { return field(st, "line.state") == "idle" }), "line.device").(string)
	want := filepath.Join(e.state, "sim-modem", "modem")
	if dev != want {
		t.Fatalf("sim modem at %s, want %s", dev, want)
	}
	e.kill(syscall.SIGKILL)
	e.start()
	e.waitFor("line idle after kill -9", func(st map[string]any) bool {
		return field(st, "line.state") == "idle" && field(st, "line.device") == want
	})
	e.kill(syscall.SIGTERM)
	if _, err := os.Stat(filepath.Dir(want)); err == nil {
		t.Fatalf("%s left after a clean stop; log:\n%s", filepath.Dir(want), e.stderr)
	}
}

// Through the binary: a hook stuck on its first event does not hold back
// another hook's route event (issue 15.5).
func TestE2ESlowHookDelaysNoOther(t *testing.T) {
	e := newE2E(t, "1s")
	hooks := filepath.Join(e.dir, "hooks.d")
	os.Mkdir(hooks, 0o755)
	gate := filepath.Join(e.dir, "gate")
	if err := syscall.Mkfifo(gate, 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(hooks, "10-slow"), []byte("#!/bin/sh\nread x < "+gate+"\n"), 0o755)
	os.WriteFile(filepath.Join(hooks, "20-fast"), []byte("#!/bin/sh\necho fast $LIFELINE_EVENT $LIFELINE_ROUTE\n"), 0o755)
	cfg, _ := os.ReadFile(e.cfg)
	e.writeConfig(strings.Replace(string(cfg), "config lifeline 'main'\n", "config lifeline 'main'\n\toption hook_timeout '1h'\n", 1))
	e.start()
	e.mustCLI("sim", "wan", "down")
	e.waitLog(`line="fast route pstn"`)
	// Let the slow hook go (one line per event) so the daemon stops at once.
	g, err := os.OpenFile(gate, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close() // after the stop: a FIFO without a writer blocks its readers' open
	g.WriteString(strings.Repeat("go\n", 10))
	e.kill(syscall.SIGTERM)
}

// `lifeline sim` against a daemon on a real board is refused with a clear
// error, and the daemon lives on (a typed nil simulator in the daemon's
// interface used to crash it on the first sim command).
func TestE2ESimOnRealBoard(t *testing.T) {
	e := newE2E(t, "1s")
	e.board = "generic"
	e.writeConfig(fmt.Sprintf("config lifeline 'main'\n\toption hooks_dir '%s'\n", filepath.Join(e.dir, "hooks.d")))
	e.start()
	_, errs, code := e.cli("sim", "wan", "down", "--socket", e.sock)
	if code != 1 || !strings.Contains(errs, `board "generic" is not simulated`) {
		t.Errorf("sim on generic: exit %d, stderr %q; want exit 1 and a clear error", code, errs)
	}
	if st := e.status(); st == nil || st["board"] != "generic" {
		t.Fatalf("daemon gone after `lifeline sim` on a real board:\n%s", e.stderr)
	}
}

// Under procd the daemon logs to the syslog socket (--syslog): every line
// at its own priority, none on stderr, a config error still on stderr.
func TestE2ESyslog(t *testing.T) {
	e := newE2E(t, "1s")
	logPath := filepath.Join(e.dir, "log")
	logSock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: logPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer logSock.Close()
	lines := make(chan string, 256)
	go func() {
		buf := make([]byte, 8192)
		for {
			n, err := logSock.Read(buf)
			if err != nil {
				close(lines)
				return
			}
			lines <- string(buf[:n])
		}
	}()
	e.extra = []string{"--syslog", "--syslog-socket", logPath}
	e.start()
	// waitLine waits for a line of priority pri (facility daemon) saying
	// msg; every line must have syslog(3)'s form, without a stamp or a
	// level of slog's inside.
	waitLine := func(pri, msg string) {
		t.Helper()
		deadline := time.After(15 * time.Second)
		for {
			select {
			case l := <-lines:
				if !strings.Contains(l, " lifeline[") || strings.Contains(l, "time=") || strings.Contains(l, "level=") {
					t.Fatalf("syslog line %q: want <PRI>stamp lifeline[pid]: message, no second stamp or level", l)
				}
				if strings.HasPrefix(l, pri) && strings.Contains(l, msg) {
					return
				}
			case <-deadline:
				t.Fatalf("no %s line %q reached syslog", pri, msg)
			}
		}
	}
	e.mustCLI("sim", "wan", "down")
	waitLine("<30>", "route changed") // daemon.info
	good, _ := os.ReadFile(e.cfg)
	e.writeConfig(string(good) + "\tbogus\n")
	e.cmd.Process.Signal(syscall.SIGHUP)
	waitLine("<27>", "reload refused") // daemon.err
	e.kill(syscall.SIGTERM)
	if strings.Contains(e.stderr.String(), "route changed") {
		t.Errorf("with --syslog the log still went to stderr:\n%s", e.stderr)
	}
}

// The rpcd plugin protocol, as rpcd runs /usr/libexec/rpcd/lifeline: list,
// then call status and call override with the arguments on stdin.
func TestE2ERpcdPlugin(t *testing.T) {
	e := newE2E(t, "1s")
	rpcd := func(stdin string, args ...string) map[string]any {
		t.Helper()
		c := exec.Command(e.bin, append([]string{"rpcd"}, append(args, "--socket", e.sock)...)...)
		c.Stdin = strings.NewReader(stdin)
		out, err := c.Output()
		if err != nil {
			t.Fatalf("rpcd %v: %v\n%s", args, err, out)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("rpcd %v: not a JSON object: %q", args, out)
		}
		return m
	}
	if m := rpcd("", "list"); m["status"] == nil || field(m, "override.mode") != "pstn" {
		t.Fatalf("list = %v", m)
	}
	if m := rpcd("{}", "call", "status"); !strings.Contains(fmt.Sprint(m["error"]), "cannot reach lifeline") {
		t.Fatalf("status without a daemon = %v", m)
	}
	e.start()
	if m := rpcd("{}", "call", "status"); m["route"] != "sip" || m["board"] != "sim" {
		t.Fatalf("call status = %v", m)
	}
	if m := rpcd(`{"mode":"pstn","for":"10m"}`, "call", "override"); m["route"] != "pstn" || field(m, "override.mode") != "pstn" || field(m, "override.until") == nil {
		t.Fatalf("call override pstn = %v", m)
	}
	if m := rpcd(`{"mode":"isdn"}`, "call", "override"); m["error"] == nil {
		t.Fatalf("call override isdn = %v, want an error", m)
	}
	if m := rpcd(`{"mode":"auto"}`, "call", "override"); field(m, "override.mode") != "auto" {
		t.Fatalf("call override auto = %v", m)
	}
}

// Status shows times in the router's zone: TZ as a POSIX string (what
// OpenWrt's /etc/TZ holds), which Go's time package alone would ignore.
func TestE2EStatusInPOSIXZone(t *testing.T) {
	e := newE2E(t, "1s")
	e.start()
	st := e.status()
	since, err := time.Parse(time.RFC3339, st["since"].(string))
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(e.bin, "status", "--socket", e.sock)
	c.Env = append(os.Environ(), "TZ=<+0530>-5:30")
	out, err := c.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := since.UTC().Add(5*time.Hour + 30*time.Minute).Format("15:04:05")
	if !strings.Contains(string(out), "since "+want) {
		t.Fatalf("status in TZ=<+0530>-5:30 does not show since %s (UTC %s):\n%s", want, since.UTC().Format("15:04:05"), out)
	}
}
