package daemon

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// HookEvent is what the hooks are told about. Each becomes the environment
// LIFELINE_EVENT, LIFELINE_ROUTE, LIFELINE_PREV_ROUTE, LIFELINE_REASON,
// LIFELINE_POWER and LIFELINE_BATTERY.
type HookEvent struct {
	Event     string // start | route | override | line | powerout | onbattery | mainsback | lowbattery | shutdown | stop
	Route     Route
	PrevRoute Route
	Reason    string
	Power     string // mains | battery | unknown
	Battery   string // percent, or "unknown"
}

func (e HookEvent) env() []string {
	return []string{
		"LIFELINE_EVENT=" + e.Event,
		"LIFELINE_ROUTE=" + string(e.Route),
		"LIFELINE_PREV_ROUTE=" + string(e.PrevRoute),
		"LIFELINE_REASON=" + e.Reason,
		"LIFELINE_POWER=" + e.Power,
		"LIFELINE_BATTERY=" + e.Battery,
	}
}

// HookRunner runs every executable regular file of a directory, in name
// order like run-parts, once per event: without a shell, with the
// LIFELINE_* environment, a timeout that kills the hook's whole process
// group, and its output logged line by line. Events queue in a bounded
// buffer; when it is full the oldest waiting event is dropped and logged, so
// Notify never blocks the daemon. One goroutine, started by NewHookRunner and
// stopped by Close, runs the hooks serially.
type HookRunner struct {
	log *slog.Logger

	mu      sync.Mutex // guards dir, timeout, queue and closed
	dir     string
	timeout time.Duration
	queue   []HookEvent
	closed  bool
	wake    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
}

// hookQueueMax bounds the events waiting for slow hooks.
const hookQueueMax = 32

// NewHookRunner starts a runner for dir. A missing dir is not an error: it
// is read anew for each event, so hooks can be added while running.
func NewHookRunner(dir string, timeout time.Duration, log *slog.Logger) *HookRunner {
	ctx, cancel := context.WithCancel(context.Background())
	h := &HookRunner{dir: dir, timeout: timeout, log: log, wake: make(chan struct{}, 1),
		ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go h.loop()
	return h
}

// Configure changes the hooks dir and timeout for the events not yet run.
func (h *HookRunner) Configure(dir string, timeout time.Duration) {
	h.mu.Lock()
	h.dir, h.timeout = dir, timeout
	h.mu.Unlock()
}

// Notify queues ev for the hooks; it never blocks.
func (h *HookRunner) Notify(ev HookEvent) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	if len(h.queue) >= hookQueueMax {
		h.log.Warn("hooks too slow, dropping queued event", "event", h.queue[0].Event)
		h.queue = h.queue[1:]
	}
	h.queue = append(h.queue, ev)
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Close runs the events already queued (each hook still bounded by its
// timeout) unless ctx ends first, which kills the running hook; then it
// stops the goroutine. Close is idempotent and returns after the goroutine
// has exited.
func (h *HookRunner) Close(ctx context.Context) {
	h.mu.Lock()
	already := h.closed
	h.closed = true
	h.mu.Unlock()
	if !already {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
	select {
	case <-h.done:
	case <-ctx.Done():
		h.cancel()
		<-h.done
	}
	h.cancel()
}

func (h *HookRunner) loop() {
	defer close(h.done)
	for {
		h.mu.Lock()
		if len(h.queue) == 0 {
			closed := h.closed
			h.mu.Unlock()
			if closed {
				return
			}
			<-h.wake
			continue
		}
		ev := h.queue[0]
		h.queue = h.queue[1:]
		dir, timeout := h.dir, h.timeout
		h.mu.Unlock()
		h.runAll(dir, timeout, ev)
	}
}

// Hooks lists the executable regular files of the hooks dir in name order;
// files starting with '.' or ending in '~' are skipped as run-parts does.
func (h *HookRunner) Hooks(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			h.log.Warn("hooks dir unreadable", "dir", dir, "err", err)
		}
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
			continue
		}
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			continue
		}
		out = append(out, p)
	}
	sort.Sort(sort.StringSlice(out))
	return out
}

func (h *HookRunner) runAll(dir string, timeout time.Duration, ev HookEvent) {
	for _, p := range h.Hooks(dir) {
		if h.ctx.Err() != nil {
			return
		}
		h.run(p, timeout, ev)
	}
}

func (h *HookRunner) run(path string, timeout time.Duration, ev HookEvent) {
	ctx, cancel := context.WithTimeout(h.ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	cmd.Dir = "/"
	cmd.Env = append(baseEnv(), ev.env()...)
	var out bytes.Buffer
	cmd.Stdout = &limitedBuffer{b: &out, max: 64 << 10}
	cmd.Stderr = cmd.Stdout
	// Own process group, so a timeout kills whatever the hook started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	log := h.log.With("hook", filepath.Base(path), "event", ev.Event)
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		log.Info("hook output", "line", sc.Text())
	}
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		log.Warn("hook timed out and was killed", "timeout", timeout)
	case err != nil:
		log.Warn("hook failed", "err", err, "took", time.Since(start).Round(time.Millisecond))
	default:
		log.Debug("hook ran", "took", time.Since(start).Round(time.Millisecond))
	}
}

// baseEnv is the environment hooks start from: PATH and little else, so a
// hook behaves the same under procd and from a shell.
func baseEnv() []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/sbin:/usr/bin:/sbin:/bin"
	}
	return []string{"PATH=" + path, "HOME=/", "LANG=C"}
}

type limitedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		if len(p) > room {
			l.b.Write(p[:room])
		} else {
			l.b.Write(p)
		}
	}
	return len(p), nil
}
