package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// tinyTmpfs mounts a 64 KiB tmpfs at dir for the test (root only), as
// OpenWrt's /var/run is a tmpfs: full when fill is called, wiped by a
// remount ("power cycle").
type tinyTmpfs struct {
	t   *testing.T
	dir string
}

func mountTiny(t *testing.T, dir string) *tinyTmpfs {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	m := &tinyTmpfs{t: t, dir: dir}
	os.MkdirAll(dir, 0o755)
	m.mount()
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return m
}

func (m *tinyTmpfs) mount() {
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", m.dir).CombinedOutput(); err != nil {
		m.t.Skipf("cannot mount a tmpfs (%v: %s)", err, out)
	}
}

// powerCycle wipes the tmpfs.
func (m *tinyTmpfs) powerCycle() {
	if err := syscall.Unmount(m.dir, 0); err != nil {
		m.t.Fatal(err)
	}
	m.mount()
}

// fill takes every free byte.
func (m *tinyTmpfs) fill() {
	f, err := os.Create(filepath.Join(m.dir, "fill"))
	if err != nil {
		m.t.Fatal(err)
	}
	defer f.Close()
	_, err = io.Copy(f, io.LimitReader(zeroReader{}, 1<<20))
	if !errors.Is(err, syscall.ENOSPC) {
		m.t.Fatalf("filling the tmpfs: %v", err)
	}
}

func (m *tinyTmpfs) free() { os.Remove(filepath.Join(m.dir, "fill")) }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// A full state dir (issue 15.11): the failed writes show in the status,
// `override` exits 1 saying the override is not durable, and once space
// is back the files catch up with the state.
func TestE2EFullStateDirReportedAndRetried(t *testing.T) {
	e := newE2E(t, "1s")
	e.state = filepath.Join(e.dir, "run")
	m := mountTiny(t, e.state)
	e.start()
	if st := e.status(); field(st, "storage.ok") != true {
		t.Fatalf("storage = %v", st["storage"])
	}
	m.fill()
	e.mustCLI("sim", "wan", "down")
	st := e.waitFor("pstn, unsaved", func(st map[string]any) bool {
		return st["route"] == "pstn" && field(st, "storage.ok") == false
	})
	unsaved := fmt.Sprint(field(st, "storage.unsaved"))
	if !strings.Contains(unsaved, filepath.Join(e.state, "route")) || !strings.Contains(fmt.Sprint(field(st, "storage.error")), "no space left") {
		t.Fatalf("storage = %v", st["storage"])
	}
	e.waitLog(`msg="cannot write state, will retry"`)
	_, errs, code := e.cli("override", "pstn", "--socket", e.sock)
	if code != 1 || !strings.Contains(errs, "override pstn is in effect, but") || !strings.Contains(errs, "would not survive a restart") {
		t.Fatalf("override on a full state dir: exit %d, %q", code, errs)
	}
	m.free()
	e.waitFor("storage ok again", func(st map[string]any) bool { return field(st, "storage.ok") == true })
	if data, _ := os.ReadFile(filepath.Join(e.state, "route")); string(data) != "pstn\n" {
		t.Fatalf("route file %q after space came back", data)
	}
	e.kill(syscall.SIGKILL)
	e.start()
	if st := e.status(); field(st, "override.mode") != "pstn" {
		t.Fatalf("override lost after the retried write and kill -9: %v", st["override"])
	}
}

// The override survives a power cycle (issue 16.6): it lives in the
// persist dir, written only when it changes; the state dir is a tmpfs.
func TestE2EOverrideSurvivesPowerCycle(t *testing.T) {
	e := newE2E(t, "1s")
	persist := filepath.Join(e.dir, "etc")
	cfg, _ := os.ReadFile(e.cfg)
	e.writeConfig(strings.Replace(string(cfg), "config lifeline 'main'\n", "config lifeline 'main'\n\toption persist_dir '"+persist+"'\n", 1))
	e.state = filepath.Join(e.dir, "run")
	m := mountTiny(t, e.state)
	e.start()
	e.mustCLI("override", "pstn")
	saved := filepath.Join(persist, "override.json")
	before, err := os.Stat(saved)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.state, "override.json")); err == nil {
		t.Fatal("override.json written to the state dir too")
	}
	// Status changes do not rewrite it (flash wears).
	e.mustCLI("sim", "wan", "down")
	e.mustCLI("sim", "mains", "off")
	e.waitFor("on battery", func(st map[string]any) bool { return field(st, "power.source") == "battery" })
	if after, _ := os.Stat(saved); !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("override.json rewritten although the override did not change")
	}
	e.kill(syscall.SIGKILL)
	m.powerCycle()
	e.start()
	st := e.status()
	if st["route"] != "pstn" || field(st, "override.mode") != "pstn" {
		t.Fatalf("after a power cycle: route %v, override %v", st["route"], st["override"])
	}
}

// The state dir is checked at start and its files are read only if
// they are regular files that root wrote (issue 15.12).
func TestE2EStateDirTrust(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: files owned by another user are made with chown")
	}
	e := newE2E(t, "1s")
	e.state = filepath.Join(e.dir, "run")
	os.Mkdir(e.state, 0o755)
	os.Chmod(e.state, 0o777)
	_, errs, code := e.cli("run", "-c", e.cfg, "--state-dir", e.state, "--socket", e.sock)
	if code != 1 || !strings.Contains(errs, "state dir "+e.state) || !strings.Contains(errs, "writable by group or others") {
		t.Fatalf("run on a world-writable state dir: exit %d, %q", code, errs)
	}
	os.Chown(e.state, 65534, 65534)
	os.Chmod(e.state, 0o755)
	if _, errs, code := e.cli("run", "-c", e.cfg, "--state-dir", e.state, "--socket", e.sock); code != 1 || !strings.Contains(errs, "owned by uid 65534") {
		t.Fatalf("run on a state dir owned by nobody: exit %d, %q", code, errs)
	}
	// What nobody planted while the dir was theirs is ignored, and a link
	// out of the dir is not followed.
	os.Chown(e.state, 0, 0)
	planted := filepath.Join(e.state, "override.json")
	os.WriteFile(planted, []byte(`{"mode":"pstn","source":"planted"}`), 0o644)
	os.Chown(planted, 65534, 65534)
	secret := filepath.Join(e.dir, "shadow")
	os.WriteFile(secret, []byte("root:SECRET-HASH:19000:0:99999:7:::\n"), 0o600)
	os.Symlink("../shadow", filepath.Join(e.state, "shed"))
	e.start()
	if st := e.status(); st["route"] != "sip" || field(st, "override.mode") != "auto" {
		t.Fatalf("planted override used: %v", st)
	}
	e.waitLog(`msg="persisted override ignored, using auto"`)
	e.waitLog("owned by uid 65534")
	e.waitLog(`msg="persisted shed interfaces unreadable"`)
	if log := e.stderr.String(); strings.Contains(log, "SECRET") {
		t.Fatalf("a file outside the state dir reached the log:\n%s", log)
	}
}
