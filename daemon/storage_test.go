package daemon

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"lifeline/hal/clock"
)

// immutable makes dir refuse new entries, even to root (chattr +i), until
// the returned func undoes it.
func immutable(t *testing.T, dir string) func() {
	t.Helper()
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("chattr +i %s: %v %s (needs root and e2fsprogs)", dir, err, out)
	}
	undo := func() { exec.Command("chattr", "-i", dir).Run() }
	t.Cleanup(undo)
	return undo
}

// Failed state writes are reported in the status and retried on the
// daemon's clock; SetOverride says when the override is not durable
// (issue 15.11).
func TestDaemonStateWritesRetried(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	h := startDaemon(t, dir, clk, nil)
	if st := h.status(); !st.Storage.OK || len(st.Storage.Unsaved) != 0 {
		t.Fatalf("storage at start: %+v", st.Storage)
	}
	writable := immutable(t, dir)
	h.post(wanIn(false))
	st := h.status()
	if st.Route != RoutePSTN || st.Storage.OK || !slices.Contains(st.Storage.Unsaved, filepath.Join(dir, RouteFile)) || st.Storage.Error == "" {
		t.Fatalf("after a failed write: route %s, storage %+v", st.Route, st.Storage)
	}
	st, err := h.d.SetOverride(context.Background(), ModePSTN, 0, "cli")
	if !errors.Is(err, ErrNotDurable) || st.Override.Mode != ModePSTN {
		t.Fatalf("SetOverride on an unwritable dir: %v, override %s", err, st.Override.Mode)
	}
	// Not yet due: nothing retried.
	clk.Advance(stateRetry - time.Millisecond)
	if st := h.status(); st.Storage.OK {
		t.Fatal("retried before it was due")
	}
	writable()
	clk.Advance(time.Millisecond)
	st = h.status()
	if !st.Storage.OK || len(st.Storage.Unsaved) != 0 || st.Storage.Error != "" {
		t.Fatalf("after the retry: %+v", st.Storage)
	}
	if got := h.file(RouteFile); got != "pstn\n" {
		t.Fatalf("route file %q", got)
	}
	if ov, err := loadOverrideFrom(dir); err != nil || ov.Mode != ModePSTN {
		t.Fatalf("override file: %+v %v", ov, err)
	}
	if _, err := h.d.SetOverride(context.Background(), ModeAuto, 0, "cli"); err != nil {
		t.Fatalf("SetOverride once writable: %v", err)
	}
}

// loadOverrideFrom reads the override through a freshly opened StateDir.
func loadOverrideFrom(dir string) (Override, error) {
	sd, err := OpenStateDir(dir)
	if err != nil {
		return Override{}, err
	}
	defer sd.Close()
	return sd.LoadOverride()
}
