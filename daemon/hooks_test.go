package daemon

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHookRunnerOrderEnvAndSkips(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	writeHook(t, dir, "20-second", "#!/bin/sh\necho second $LIFELINE_EVENT >> "+out+"\n")
	writeHook(t, dir, "10-first", "#!/bin/sh\necho first $LIFELINE_ROUTE \"$LIFELINE_REASON\" >> "+out+"\n")
	writeHook(t, dir, ".hidden", "#!/bin/sh\necho hidden >> "+out+"\n")
	writeHook(t, dir, "backup~", "#!/bin/sh\necho backup >> "+out+"\n")
	os.WriteFile(filepath.Join(dir, "30-not-exec"), []byte("#!/bin/sh\necho noexec >> "+out+"\n"), 0o644)
	h := NewHookRunner(dir, 5*time.Second, testLogger(t))
	h.Notify(HookEvent{Event: "route", Route: RoutePSTN, Reason: "it's; $(rm -rf /) safe"})
	h.Close(context.Background())
	// The hooks run side by side (each has its own queue): the order
	// between them is not defined.
	data, _ := os.ReadFile(out)
	lines := strings.SplitAfter(string(data), "\n")
	sort.Strings(lines)
	want := "first pstn it's; $(rm -rf /) safe\nsecond route\n"
	if strings.Join(lines, "") != want {
		t.Fatalf("hooks ran as\n%q\nwant\n%q", data, want)
	}
}

// A hanging hook is killed at its timeout, with the children it started,
// and Notify never blocks meanwhile.
func TestHookRunnerTimeoutAndNeverBlocks(t *testing.T) {
	dir, hooks := hooksDir(t)
	rec, sc := record(t, dir)
	writeHook(t, hooks, "hang", "#!/bin/sh\nsleep 300 &\necho $! > "+rec+"\nwait\n")
	h := NewHookRunner(hooks, 300*time.Millisecond, testLogger(t))
	for i := 0; i < 3*hookQueueMax; i++ {
		h.Notify(HookEvent{Event: "route"}) // must return at once even with a full queue
	}
	h.mu.Lock()
	queued := len(h.pending)
	for _, w := range h.workers {
		queued = max(queued, len(w.q))
	}
	h.mu.Unlock()
	if queued > hookQueueMax {
		t.Fatalf("queue grew to %d", queued)
	}
	// The first run's child, once it exists, dies at the hook's timeout.
	waitGone(t, readLines(t, sc, 1)[0], "the timeout")
	// Close with no time left kills the run in progress, child and all.
	next := readLines(t, sc, 1)[0]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.Close(ctx)
	waitGone(t, next, "Close")
}

// waitGone waits for process pid to be gone or a zombie awaiting its
// reaper: SIGKILL is delivered asynchronously, so soon after, not at once
// (the deadline is a safety net, generous for a busy machine).
func waitGone(t *testing.T, pid, after string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil || strings.Contains(string(st), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("hook's child %s survived %s: %s", pid, after, st)
		}
		time.Sleep(10 * time.Millisecond) // another process's death has no event to wait on here
	}
}

func TestHookRunnerFailureLogged(t *testing.T) {
	dir := t.TempDir()
	writeHook(t, dir, "fail", "#!/bin/sh\necho oops >&2\nexit 3\n")
	var buf syncBuffer
	h := NewHookRunner(dir, 5*time.Second, slogTo(&buf))
	h.Notify(HookEvent{Event: "start"})
	h.Close(context.Background())
	got := buf.String()
	if !strings.Contains(got, "line=oops") || !strings.Contains(got, "exit status 3") {
		t.Fatalf("log = %s", got)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
