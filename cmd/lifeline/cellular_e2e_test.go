package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cellularLineSection is a line section for the sim board's cellular module
// simulator: the devices are the simulator's (STATE-DIR/sim-cell), as the
// analog line's is the modem simulator's.
const cellularLineSection = `
config line 'mobile'
	option profile '%s'
	option device '/dev/ttyUSB2'
	option audio_device '/dev/ttyUSB1'
	option health_interval '200ms'
%s`

func newCellularE2E(t *testing.T, profile, extra string) *e2e {
	t.Helper()
	e := e2eWith(t, lifelineBin(t))
	e.writeConfig(fmt.Sprintf(e2eConfig, "1s", filepath.Join(e.dir, "hooks.d")) + fmt.Sprintf(cellularLineSection, profile, extra))
	return e
}

func lineState(s string) func(map[string]any) bool {
	return func(st map[string]any) bool { return field(st, "line.state") == s }
}

// A cellular line on the sim board: registered is idle with its health
// in the status (JSON and the one-line summary); deregistered is no-line
// with the reason and, with the WAN down, the route degraded; no SIM is
// no-line; the module unplugged and replugged comes back without a
// restart.
func TestE2ECellularLine(t *testing.T) {
	e := newCellularE2E(t, "quectel-ec25", "")
	if out, errs, code := e.cli("check", "-c", e.cfg); code != 0 {
		t.Fatalf("check: exit %d: %s %s", code, out, errs)
	}
	e.start()
	st := e.waitFor("cellular line idle", lineState("idle"))
	want := map[string]any{"line.profile": "quectel-ec25", "line.registration": "home", "line.operator": "Lifeline Mobile",
		"line.signal_dbm": float64(-73), "line.technology": "4G", "line.sim": "ready", "line.volte": "on"}
	for k, v := range want {
		if field(st, k) != v {
			t.Errorf("%s = %v, want %v (status %v)", k, field(st, k), v, st["line"])
		}
	}
	if at, audio := field(st, "line.device").(string), field(st, "line.audio_device").(string); !strings.HasSuffix(at, "sim-cell/cell-at") || !strings.HasSuffix(audio, "sim-cell/cell-audio") {
		t.Fatalf("line ports %q %q are not the simulator's", at, audio)
	}
	if out := e.mustCLI("status"); !strings.Contains(out, "(quectel-ec25) idle: home Lifeline Mobile 4G -73 dBm, VoLTE on") {
		t.Fatalf("status:\n%s", out)
	}
	e.mustCLI("sim", "cell", "signal", "-91")
	e.waitFor("signal -91 dBm", func(st map[string]any) bool { return field(st, "line.signal_dbm") == float64(-91) })

	// Deregistered: no-line with the reason; with the WAN down the route
	// is pstn, degraded.
	e.mustCLI("sim", "wan", "down")
	e.waitFor("route pstn", routeIs("pstn"))
	e.mustCLI("sim", "cell", "deregister")
	st = e.waitFor("no-line", lineState("no-line"))
	if field(st, "line.reason") != "not registered: searching" || field(st, "line.registration") != "searching" {
		t.Fatalf("deregistered line: %v", st["line"])
	}
	st = e.waitFor("degraded", func(st map[string]any) bool { return st["degraded"] == true })
	if r := st["reason"].(string); !strings.Contains(r, "line no-line") {
		t.Fatalf("degraded reason %q does not name the line", r)
	}
	if out := e.mustCLI("status"); !strings.Contains(out, "no-line: searching -91 dBm") || !strings.Contains(out, "(not registered: searching)") {
		t.Fatalf("status:\n%s", out)
	}
	e.mustCLI("sim", "cell", "register", "roaming")
	st = e.waitFor("idle roaming", func(st map[string]any) bool {
		return field(st, "line.state") == "idle" && field(st, "line.registration") == "roaming" && st["degraded"] == false
	})

	// No SIM.
	e.mustCLI("sim", "cell", "nosim")
	st = e.waitFor("no SIM", func(st map[string]any) bool { return field(st, "line.reason") == "no SIM" })
	if field(st, "line.state") != "no-line" || field(st, "line.sim") != "absent" {
		t.Fatalf("no SIM: %v", st["line"])
	}
	e.mustCLI("sim", "cell", "sim")
	e.waitFor("idle with the SIM back", lineState("idle"))

	// Unplugged and replugged, both ports, without a restart.
	pid := e.cmd.Process.Pid
	e.mustCLI("sim", "cell", "unplug")
	st = e.waitFor("absent", lineState("absent"))
	if r, _ := field(st, "line.reason").(string); !strings.HasPrefix(r, "module absent") {
		t.Fatalf("unplugged: %v", st["line"])
	}
	e.mustCLI("sim", "cell", "replug")
	e.waitFor("idle after the replug", lineState("idle"))
	if e.cmd.Process.Pid != pid {
		t.Fatal("the daemon restarted")
	}
	if out := e.mustCLI("sim", "sms", "list"); out != "no SMS sent\n" {
		t.Fatalf("sms list: %q", out)
	}
}

// The SIM PIN flow: a configured PIN is entered when the SIM asks for it;
// a SIM that wants another PIN is refused once and never tried again; the
// PIN is in no log line, status or error.
func TestE2ECellularPIN(t *testing.T) {
	e := newCellularE2E(t, "simcom-sim7600", "\toption pin '2468'\n")
	e.start()
	e.waitFor("idle", lineState("idle"))
	e.mustCLI("sim", "cell", "pin", "2468")
	e.waitLog("cellular: SIM PIN accepted")
	e.waitFor("idle after the PIN", func(st map[string]any) bool {
		return field(st, "line.state") == "idle" && field(st, "line.sim") == "ready"
	})
	e.mustCLI("sim", "cell", "pin", "1357")
	st := e.waitFor("PIN refused", func(st map[string]any) bool {
		r, _ := field(st, "line.reason").(string)
		return strings.Contains(r, "refused")
	})
	if field(st, "line.state") != "no-line" || field(st, "line.sim") != "pin-required" {
		t.Fatalf("refused PIN: %v", st["line"])
	}
	if out := e.mustCLI("status"); !strings.Contains(out, "no-line: SIM pin-required") {
		t.Fatalf("status:\n%s", out)
	}
	if strings.Contains(e.stderr.String(), "2468") {
		t.Fatalf("the PIN is in the log:\n%s", e.stderr)
	}
	if out, _, _ := e.cli("status", "--json", "--socket", e.sock); strings.Contains(out, "2468") {
		t.Fatal("the PIN is in the status")
	}
}

// `lifeline check` names the file, line and option of a bad cellular
// line; `sim cell` without a cellular line says why.
func TestE2ECellularCheck(t *testing.T) {
	e := newCellularE2E(t, "huawei-e1550", "\toption pin '12'\n")
	_, errs, code := e.cli("check", "-c", e.cfg)
	if code != 1 || !strings.Contains(errs, e.cfg+":") || !strings.Contains(errs, "section line 'mobile' option 'pin': a SIM PIN is 4 to 8 digits") {
		t.Fatalf("check: exit %d: %s", code, errs)
	}
	e = newE2E(t, "1s")
	e.start()
	if _, errs, code := e.cli("sim", "cell", "deregister", "--socket", e.sock); code != 1 || !strings.Contains(errs, "no cellular line runs") {
		t.Fatalf("sim cell without a cellular line: exit %d: %s", code, errs)
	}
}

// smsSent waits until `sim sms list` shows n messages and returns them.
func (e *e2e) smsSent(n int) []string {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out := e.mustCLI("sim", "sms", "list")
		var lines []string
		if out != "no SMS sent\n" {
			lines = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		}
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("waiting for %d SMS, sent: %q\nlog:\n%s", n, lines, e.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SMS through the real binary's cellular line on the sim board: mains off
// sends exactly one alert to each number; an SMS command from an allowed
// number with the secret sets the override and is answered, from another
// number or with a wrong secret it changes nothing.
func TestE2ECellularSMS(t *testing.T) {
	e := newCellularE2E(t, "quectel-ec25", `
config notify 'sms'
	option name 'gw1'
	list number '+491701234567'
	list number '+4930123456'
	list event 'powerout'
	list event 'route'
	option remote '1'
	list remote_from '+491701234567'
	option remote_secret 'long-secret'
`)
	e.start()
	e.waitFor("idle", lineState("idle"))
	e.mustCLI("sim", "mains", "off")
	sent := e.smsSent(2)
	time.Sleep(time.Second) // no more may follow
	if sent = e.smsSent(2); len(sent) != 2 {
		t.Fatalf("mains off sent %d SMS: %q", len(sent), sent)
	}
	for i, to := range []string{"+491701234567", "+4930123456"} {
		if !strings.HasPrefix(sent[i], to+" gw1: mains lost") {
			t.Fatalf("SMS %d = %q, want to %s: gw1: mains lost…", i, sent[i], to)
		}
	}

	// Commands: another number with the secret, the allowed number with a
	// wrong one: nothing changes.
	e.mustCLI("sim", "sms", "+4915550000", "long-secret pstn")
	e.mustCLI("sim", "sms", "+491701234567", "wrong-secret pstn")
	e.waitLog("wrong secret")
	if st := e.status(); field(st, "override.mode") != "auto" {
		t.Fatalf("override changed: %v", st["override"])
	}
	e.mustCLI("sim", "sms", "+491701234567", "long-secret pstn 1h")
	st := e.waitFor("override pstn by SMS", func(st map[string]any) bool { return field(st, "override.mode") == "pstn" })
	if field(st, "override.source") != "sms" {
		t.Fatalf("override %v", st["override"])
	}
	sent = e.smsSent(3)
	if !strings.HasPrefix(sent[2], "+491701234567 ") {
		t.Fatalf("no reply to the command: %q", sent)
	}
}
