package daemon

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestHookQueueCoalescesButNeverDropsMustDeliver(t *testing.T) {
	var q hookQueue
	for i := range 3 * hookQueueMax {
		q.push(HookEvent{Event: "line", Reason: fmt.Sprint("line ", i)})
		if i%100 == 0 {
			q.push(HookEvent{Event: "route", Reason: fmt.Sprint("route ", i)})
		}
	}
	q.push(HookEvent{Event: "start"})
	q.push(HookEvent{Event: "stop"})
	var got []string
	for len(q) > 0 {
		got = append(got, q.pop().Reason)
	}
	var want []string
	for i := 0; i < 3*hookQueueMax; i += 100 {
		want = append(want, fmt.Sprint("route ", i))
	}
	want = append(want, fmt.Sprint("line ", 3*hookQueueMax-1), "", "")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("queue delivered\n%q\nwant\n%q", got, want)
	}
	// Full of must-deliver events: the newest is refused, none replaced.
	q = nil
	for range hookQueueMax {
		if !q.push(HookEvent{Event: "override"}) {
			t.Fatal("refused below the bound")
		}
	}
	if q.push(HookEvent{Event: "route"}) || len(q) != hookQueueMax {
		t.Fatalf("pushed past the bound: %d", len(q))
	}
}

// hooksDir makes a temp dir with an empty hooks.d in it.
func hooksDir(t *testing.T) (dir, hooks string) {
	t.Helper()
	dir = t.TempDir()
	hooks = filepath.Join(dir, "hooks.d")
	if err := os.Mkdir(hooks, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, hooks
}

// gate is a FIFO a hook blocks on (`read x < FIFO`) until the test lets
// it go, one event per line written.
type gate struct {
	path string
	f    *os.File
}

func newGate(t *testing.T, dir string) *gate {
	t.Helper()
	g := &gate{path: filepath.Join(dir, "gate")}
	if err := syscall.Mkfifo(g.path, 0o600); err != nil {
		t.Fatal(err)
	}
	// Read-write: opening never blocks and the FIFO never sees EOF.
	f, err := os.OpenFile(g.path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	g.f = f
	t.Cleanup(func() { f.Close() })
	return g
}

func (g *gate) open(n int) { g.f.WriteString(strings.Repeat("go\n", n)) }

// record is a FIFO the test reads hook output from as it comes.
func record(t *testing.T, dir string) (string, *bufio.Scanner) {
	t.Helper()
	p := filepath.Join(dir, "record")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return p, bufio.NewScanner(f)
}

// readLines reads n lines from sc, failing after a (generous) deadline:
// the hooks run in processes of their own, on the real clock.
func readLines(t *testing.T, sc *bufio.Scanner, n int) []string {
	t.Helper()
	got := make(chan []string, 1)
	go func() {
		var lines []string
		for len(lines) < n && sc.Scan() {
			lines = append(lines, sc.Text())
		}
		got <- lines
	}()
	select {
	case l := <-got:
		return l
	case <-time.After(20 * time.Second):
		t.Fatalf("hook output did not come (want %d lines)", n)
		return nil
	}
}

// A hook stuck behind a flood of line events still hears the route change
// (issue 15.4: 672 short calls once pushed a failover's route event out).
func TestHookRunnerRouteSurvivesFlood(t *testing.T) {
	dir, hooks := hooksDir(t)
	g := newGate(t, dir)
	out := filepath.Join(dir, "out")
	writeHook(t, hooks, "10-asterisk", "#!/bin/sh\nread x < "+g.path+"\necho $LIFELINE_EVENT $LIFELINE_REASON >> "+out+"\n")
	h := NewHookRunner(hooks, time.Minute, testLogger(t))
	h.Notify(HookEvent{Event: "start", Reason: "first"})
	for i := range 700 {
		h.Notify(HookEvent{Event: "line", Reason: fmt.Sprint(i)})
		if i == 350 {
			h.Notify(HookEvent{Event: "route", Reason: "failover"})
		}
	}
	g.open(800)
	h.Close(context.Background())
	data, _ := os.ReadFile(out)
	// Whatever the interleaving of Notify, the dispatcher and the hook,
	// the hook sees start first, the route change once and in its place
	// among the line events, and the latest line last. When the gate
	// opens, at most one line event waits in the runner's queue, one in
	// the hook's and one in the dispatcher's hands: 700 line events
	// coalesce into at most 3 runs.
	got := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(got) < 3 || got[0] != "start first" || got[len(got)-1] != "line 699" || len(got) > 5 {
		t.Fatalf("hook saw\n%s", data)
	}
	routes, last := 0, -1
	for _, l := range got[1:] {
		if l == "route failover" {
			routes++
			if last > 350 {
				t.Fatalf("route after line %d:\n%s", last, data)
			}
			continue
		}
		var n int
		if _, err := fmt.Sscanf(l, "line %d", &n); err != nil || n <= last || (routes == 1) != (n > 350) {
			t.Fatalf("line events out of order around the route:\n%s", data)
		}
		last = n
	}
	if routes != 1 {
		t.Fatalf("route event seen %d times:\n%s", routes, data)
	}
}

// Each hook has its own queue: one stuck hook does not hold back another,
// and each sees its events in order (issue 15.5).
func TestHookRunnerSlowHookDelaysNoOther(t *testing.T) {
	dir, hooks := hooksDir(t)
	g := newGate(t, dir)
	rec, sc := record(t, dir)
	writeHook(t, hooks, "10-slow", "#!/bin/sh\nread x < "+g.path+"\n")
	writeHook(t, hooks, "20-fast", "#!/bin/sh\necho $LIFELINE_EVENT $LIFELINE_ROUTE > "+rec+"\n")
	h := NewHookRunner(hooks, time.Minute, testLogger(t))
	h.Notify(HookEvent{Event: "start", Route: RouteSIP})
	h.Notify(HookEvent{Event: "route", Route: RoutePSTN})
	h.Notify(HookEvent{Event: "override", Route: RoutePSTN})
	h.Notify(HookEvent{Event: "route", Route: RouteSIP})
	got := readLines(t, sc, 4) // while 10-slow still waits on its first event
	want := []string{"start sip", "route pstn", "override pstn", "route sip"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("fast hook saw %q, want %q", got, want)
	}
	g.open(4)
	h.Close(context.Background())
}

// A hook's background children die when it exits (issue 15.9), and the
// hook is not held up by the output pipe they keep open.
func TestHookRunnerKillsChildrenOnExit(t *testing.T) {
	dir, hooks := hooksDir(t)
	pidFile := filepath.Join(dir, "child.pid")
	writeHook(t, hooks, "daemonize", "#!/bin/sh\nsleep 300 &\necho $! > "+pidFile+"\necho started\n")
	var buf syncBuffer
	h := NewHookRunner(hooks, time.Minute, slogTo(&buf))
	h.Notify(HookEvent{Event: "route"})
	h.Close(context.Background())
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal("hook did not run:", err)
	}
	waitGone(t, strings.TrimSpace(string(data)), "its hook")
	if log := buf.String(); !strings.Contains(log, "line=started") || strings.Contains(log, "hook failed") {
		t.Fatalf("log = %s", log)
	}
}
