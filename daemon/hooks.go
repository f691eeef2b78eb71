package daemon

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
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

// mustDeliver reports whether every occurrence of event reaches the hooks.
// The others (start, line) are state reports: a newer one replaces an
// older one still waiting.
func mustDeliver(event string) bool {
	switch event {
	case "route", "override", "powerout", "onbattery", "mainsback", "lowbattery", "shutdown", "stop":
		return true
	}
	return false
}

// hookQueueMax bounds the events waiting for one hook. Only must-deliver
// events can fill it (the others coalesce to one per kind), which takes a
// hook stuck for hours behind a flood of overrides; the event that finds
// the queue full is then dropped, and logged as an error.
const hookQueueMax = 1024

// hookQueue is a FIFO of events in which a coalescible event replaces the
// waiting one of the same kind (and moves to the end, keeping the order
// of what the hook sees).
type hookQueue []HookEvent

// push adds ev; it returns false when ev was dropped because the queue is
// full of must-deliver events.
func (q *hookQueue) push(ev HookEvent) bool {
	if !mustDeliver(ev.Event) {
		*q = slices.DeleteFunc(*q, func(e HookEvent) bool { return e.Event == ev.Event })
	}
	if len(*q) >= hookQueueMax {
		return false
	}
	*q = append(*q, ev)
	return true
}

func (q *hookQueue) pop() HookEvent {
	ev := (*q)[0]
	(*q)[0] = HookEvent{}
	*q = (*q)[1:]
	return ev
}

// HookRunner runs every trusted executable regular file of a directory
// (see CheckHook), in name order like run-parts, once per event: without
// a shell, with the LIFELINE_* environment, in a session of its own whose
// every process is killed when the hook exits or outlives its timeout,
// and its output logged line by line.
//
// Each hook has its own queue and its own goroutine: it sees its events in
// order, and a slow hook delays nobody else. Route, override and power
// events are never dropped; start and line events coalesce (see
// mustDeliver). Notify never blocks the daemon: a dispatcher goroutine
// reads the dir and fills the hooks' queues. NewHookRunner starts the
// dispatcher; it starts a goroutine per hook with events waiting, which
// ends when that hook's queue is empty; Close stops them all and waits.
type HookRunner struct {
	log *slog.Logger

	mu      sync.Mutex // guards the fields below
	dir     string
	timeout time.Duration
	pending hookQueue              // events not yet handed to the hooks
	workers map[string]*hookWorker // hooks with events waiting or running
	refused map[string]string      // hook or dir → why it was last refused (logged once)
	closed  bool
	wake    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	running sync.WaitGroup // the hook goroutines
	done    chan struct{}  // closed when the dispatcher and every hook goroutine have ended
}

// hookWorker is one hook's queue; its goroutine exists while it is not
// empty. Guarded by HookRunner.mu.
type hookWorker struct {
	path string
	q    hookQueue
}

// NewHookRunner starts a runner for dir. A missing dir is not an error: it
// is read anew for each event, so hooks can be added while running.
func NewHookRunner(dir string, timeout time.Duration, log *slog.Logger) *HookRunner {
	ctx, cancel := context.WithCancel(context.Background())
	h := &HookRunner{dir: dir, timeout: timeout, log: log, wake: make(chan struct{}, 1),
		workers: map[string]*hookWorker{}, refused: map[string]string{},
		ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go h.dispatch()
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
	if !h.pending.push(ev) {
		h.log.Error("hooks far behind, event dropped", "event", ev.Event, "waiting", len(h.pending))
	}
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Close runs the events already queued (each hook still bounded by its
// timeout) unless ctx ends first, which kills the running hooks; then it
// stops the goroutines. Close is idempotent and returns after every
// goroutine has exited.
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

// dispatch hands each pending event to the queue of every hook the dir
// holds at that moment.
func (h *HookRunner) dispatch() {
	defer close(h.done)
	defer h.running.Wait()
	for {
		h.mu.Lock()
		if len(h.pending) == 0 {
			closed := h.closed
			h.mu.Unlock()
			if closed {
				return
			}
			<-h.wake
			continue
		}
		ev := h.pending.pop()
		dir := h.dir
		h.mu.Unlock()
		hooks := h.Hooks(dir)
		h.mu.Lock()
		for _, p := range hooks {
			w := h.workers[p]
			if w == nil {
				w = &hookWorker{path: p}
				h.workers[p] = w
				h.running.Add(1)
				go h.work(w)
			}
			if !w.q.push(ev) {
				h.log.Error("hook far behind, event dropped", "hook", filepath.Base(p), "event", ev.Event, "waiting", len(w.q))
			}
		}
		h.mu.Unlock()
	}
}

// work runs w's events in order until its queue is empty (or the runner is
// cancelled), then retires w.
func (h *HookRunner) work(w *hookWorker) {
	defer h.running.Done()
	for {
		h.mu.Lock()
		if len(w.q) == 0 || h.ctx.Err() != nil {
			delete(h.workers, w.path)
			h.mu.Unlock()
			return
		}
		ev := w.q.pop()
		timeout := h.timeout
		h.mu.Unlock()
		h.run(w.path, timeout, ev)
	}
}

// Hooks lists the hooks of dir in name order: executable regular files,
// skipping names that start with '.' or end in '~' as run-parts does.
// A dir or a hook that others could have written (see CheckHooksDir and
// CheckHook) is refused, logged as an error the first time.
func (h *HookRunner) Hooks(dir string) []string {
	candidates, err := listHooks(dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			h.log.Warn("hooks dir unreadable", "dir", dir, "err", err)
		}
		return nil
	}
	if err := CheckHooksDir(dir); err != nil {
		h.refuse(dir, err)
		return nil
	}
	h.accept(dir)
	var out []string
	for _, p := range candidates {
		if err := CheckHook(p); err != nil {
			h.refuse(p, err)
			continue
		}
		h.accept(p)
		out = append(out, p)
	}
	return out
}

// listHooks lists the executable regular files of dir in name order,
// skipping names that start with '.' or end in '~' as run-parts does.
func listHooks(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
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
	return out, nil
}

// refuse logs err for path once, until path is accepted again.
func (h *HookRunner) refuse(path string, err error) {
	h.mu.Lock()
	seen := h.refused[path] == err.Error()
	h.refused[path] = err.Error()
	h.mu.Unlock()
	if !seen {
		h.log.Error("hook refused, not run", "err", err)
	}
}

func (h *HookRunner) accept(path string) {
	h.mu.Lock()
	delete(h.refused, path)
	h.mu.Unlock()
}

func (h *HookRunner) run(path string, timeout time.Duration, ev HookEvent) {
	log := h.log.With("hook", filepath.Base(path), "event", ev.Event)
	ctx, cancel := context.WithTimeout(h.ctx, timeout)
	defer cancel()
	// The output goes through a pipe of our own, read by our own copier,
	// which stops waiting for background children (below) so the session
	// can be killed.
	pr, pw, err := os.Pipe()
	if err != nil {
		log.Warn("hook not run", "err", err)
		return
	}
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		io.Copy(&limitedBuffer{b: &out, max: 64 << 10}, pr)
	}()
	start := time.Now()
	// A session of its own (so also a process group): the hook's children
	// are killed with it, at its timeout or as soon as it exits.
	proc, err := startProcess(path, []string{path}, "/", append(baseEnv(), ev.env()...), pw, true)
	pw.Close()
	if err == nil {
		exited := make(chan struct{})
		killed := make(chan struct{})
		go func() { // the timeout: kill the whole session
			defer close(killed)
			select {
			case <-ctx.Done():
				syscall.Kill(-proc.Pid, syscall.SIGKILL)
			case <-exited:
			}
		}()
		err = waitProcess(proc)
		close(exited)
		<-killed
		// Whatever the hook left running in its session dies with it.
		syscall.Kill(-proc.Pid, syscall.SIGKILL)
	}
	// A child that left the session may still hold the pipe: stop
	// waiting for its output after a second.
	pr.SetReadDeadline(time.Now().Add(time.Second))
	<-copied
	pr.Close()
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
