package daemon

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/netmon"
)

// recorder is a route actuator and status observer that records what it
// was told.
type recorder struct {
	mu     sync.Mutex
	routes []Route
	seen   int
}

func (r *recorder) SetRoute(rt Route, _ string) {
	r.mu.Lock()
	r.routes = append(r.routes, rt)
	r.mu.Unlock()
}

func (r *recorder) Observe(Status) {
	r.mu.Lock()
	r.seen++
	r.mu.Unlock()
}

func (r *recorder) get() ([]Route, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Route(nil), r.routes...), r.seen
}

// An actuator and an observer attached while the daemon runs are told the
// current route and status at once, then every change; after detach they
// are told nothing more.
func TestAttachAtRuntime(t *testing.T) {
	h := startDaemon(t, t.TempDir(), clock.NewFake(time.Unix(1_800_000_000, 0)), nil)
	h.post(wanIn(true))
	r := &recorder{}
	detach, err := h.d.Attach(context.Background(), r, r)
	if err != nil {
		t.Fatal(err)
	}
	if routes, seen := r.get(); len(routes) != 1 || routes[0] != RouteSIP || seen != 1 {
		t.Fatalf("at attach: routes %v, statuses %d; want [sip], 1", routes, seen)
	}
	h.post(wanIn(false))
	routes, seen := r.get()
	if len(routes) != 2 || routes[1] != RoutePSTN || seen < 2 {
		t.Fatalf("after WAN down: routes %v, statuses %d; want [sip pstn], >= 2", routes, seen)
	}
	detach()
	detach() // idempotent
	h.post(wanIn(true))
	h.clk.Advance(time.Minute) // past failback_hold: the route goes back to sip
	h.post(wanIn(true))
	if st, err := h.d.Status(context.Background()); err != nil || st.Route != RouteSIP {
		t.Fatalf("route %v (%v), want sip", st.Route, err)
	}
	if routes2, seen2 := r.get(); len(routes2) != len(routes) || seen2 != seen {
		t.Fatalf("detached, still told: routes %v, statuses %d", routes2, seen2)
	}
	h.stop()
	if _, err := h.d.Attach(context.Background(), r, nil); err != ErrStopped {
		t.Fatalf("Attach after Run: %v, want ErrStopped", err)
	}
}

// wanIn is the WAN as netmon reports a working interface (up: addressed,
// with a default route) or one that lost its carrier.
func wanIn(up bool) WANInput {
	s := netmon.WANState{Interface: "wan", Present: true, AdminUp: true, Carrier: up, OperState: "down"}
	if up {
		s.OperState, s.DefaultRoute4 = "up", true
		s.Addrs = []netip.Prefix{netip.MustParsePrefix("192.0.2.2/24")}
	}
	return WANInput{State: s}
}

// eventRecorder is a status observer that is also an EventObserver.
type eventRecorder struct {
	mu     sync.Mutex
	events []string
}

func (r *eventRecorder) Observe(Status) {}

func (r *eventRecorder) Event(ev HookEvent) {
	r.mu.Lock()
	r.events = append(r.events, ev.Event+":"+string(ev.Route))
	r.mu.Unlock()
}

func (r *eventRecorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// Every event the hooks get reaches an Options observer that is an
// EventObserver (from start to stop) and one attached at runtime until it
// is detached; Done is closed once Run has returned, after the stop event.
func TestEventObservers(t *testing.T) {
	always := &eventRecorder{}
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.HooksDir = dir + "/hooks.d"
	cfg.FailbackHold = 30 * time.Second
	h := startWith(t, Options{Config: cfg, StateDir: dir, Board: "test", Version: "t",
		Clock: clock.NewFake(time.Unix(1_800_000_000, 0)), Observers: []StatusObserver{always}})
	h.post(wanIn(true))
	attached := &eventRecorder{}
	detach, err := h.d.Attach(context.Background(), nil, attached)
	if err != nil {
		t.Fatal(err)
	}
	h.post(wanIn(false))
	if _, err := h.d.SetOverride(context.Background(), ModePSTN, 0, "test"); err != nil {
		t.Fatal(err)
	}
	h.post(LineInput{State: LineNoLine})
	detach()
	h.post(LineInput{State: LineIdle})
	select {
	case <-h.d.Done():
		t.Fatal("Done closed while Run runs")
	default:
	}
	h.stop()
	<-h.d.Done()
	want := []string{"route:pstn", "override:pstn", "line:pstn"}
	if got := attached.get(); !slices.Equal(got, want) {
		t.Fatalf("attached observer got %v, want %v", got, want)
	}
	want = append(append([]string{"start:sip"}, want...), "line:pstn", "stop:pstn")
	if got := always.get(); !slices.Equal(got, want) {
		t.Fatalf("options observer got %v, want %v", got, want)
	}
}
