package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"lifeline/daemon/hotkey"
	"lifeline/daemon/powerpolicy"
	"lifeline/hal/clock"
	"lifeline/hal/ifctl"
	"lifeline/hal/modem"
	"lifeline/hal/netmon"
	"lifeline/hal/power"
)

// ErrStopped is returned by calls into a daemon whose loop has ended.
var ErrStopped = errors.New("daemon stopped")

// Input is what the hal side reports to the daemon.
type Input interface{ input() }

// WANInput is the WAN interface as hal/netmon reports it. The daemon takes
// netmon's own judgement of it: the link counts as up by State.Up (present,
// administratively up, carrier, operational state up or unknown), not by
// carrier alone.
type WANInput struct{ State netmon.WANState }

// wanChanged is the route machine's view of s: only usable addresses (link-
// local ones left out) count.
func wanChanged(s netmon.WANState) WANChanged {
	return WANChanged{Link: s.Up(), Addressed: len(usableAddrs(s)) > 0, DefaultRoute: s.DefaultRoute()}
}

// usableAddrs are s's addresses but the link-local ones.
func usableAddrs(s netmon.WANState) []string {
	var out []string
	for _, a := range s.Addrs {
		if !a.Addr().IsLinkLocalUnicast() {
			out = append(out, a.String())
		}
	}
	return out
}

// ProbeInput is one provider probe's outcome.
type ProbeInput struct {
	OK  bool
	RTT time.Duration
}

// LineInput is the line's state; a cellular line adds the reason and its
// health for the status (nil: a modem's line, which reports neither).
type LineInput struct {
	State    LineState
	Reason   string
	Cellular *CellularStatus
}

// LineStateOf is the daemon's state for hal/modem's.
func LineStateOf(s modem.State) LineState {
	switch s {
	case modem.StateAbsent:
		return LineAbsent
	case modem.StateInitialising:
		return LineInitialising
	case modem.StateIdle:
		return LineIdle
	case modem.StateRinging:
		return LineRinging
	case modem.StateInCall:
		return LineInCall
	case modem.StateNoLine:
		return LineNoLine
	}
	return LineUnknown
}

// PowerInput is the merged power reading of hal/power.
type PowerInput struct{ State power.State }

// KeyInput is a key press or release.
type KeyInput struct {
	Key     string
	Pressed bool
}

// LineInfoInput names the line's device and profile (and a cellular
// line's audio port) for the status after a reload started another line
// (or none: all empty).
type LineInfoInput struct{ Device, Profile, AudioDevice string }

// CallsInput says the gateway's calls in progress changed (Options.Calls
// reads them); the status is refreshed.
type CallsInput struct{}

func (WANInput) input()      {}
func (ProbeInput) input()    {}
func (LineInput) input()     {}
func (PowerInput) input()    {}
func (KeyInput) input()      {}
func (CallsInput) input()    {}
func (LineInfoInput) input() {}

// RouteActuator is told every route change, from the daemon's goroutine; it
// must not block (a proxy adapter or relay queues the work it needs).
type RouteActuator interface {
	SetRoute(r Route, reason string)
}

// StatusObserver is given the status after every visible change, from the
// daemon's goroutine; it must not block (LEDs keep the latest and apply it
// on their own goroutine).
type StatusObserver interface {
	Observe(st Status)
}

// EventObserver is given every event the hooks get (start, route,
// override, line, powerout, onbattery, mainsback, lowbattery, shutdown,
// stop), from the daemon's goroutine, in order; it must not block (the SMS
// notifier queues and sends on its own goroutine). An Options observer or
// an attached one (Attach) that is also an EventObserver gets them.
type EventObserver interface {
	Event(ev HookEvent)
}

// SimDriver drives the simulated board's signals for `lifeline sim`; a
// signal may answer with text (the control response's Output).
type SimDriver interface {
	Sim(signal string, args []string) (string, error)
}

// Options are what New needs; Config, StateDir and Log are required.
type Options struct {
	Config   *Config
	StateDir string
	// PersistDir keeps what must survive a power cycle (the override);
	// "" is the state dir.
	PersistDir string
	Board      string
	Version    string
	Clock      clock.Clock // default: the real clock
	Log        *slog.Logger
	Sim        SimDriver       // nil unless the board is sim
	Actuators  []RouteActuator // told each route change
	Observers  []StatusObserver
	LineInfo   LineStatus // device and profile for the status
	// Calls lists the gateway's calls in progress for the status; nil: no
	// gateway. Called from the daemon's goroutine, it must not block.
	Calls func() []CallStatus
	// Shedder sets interfaces down and up for load shedding; nil: nothing
	// can be shed (each attempt is logged).
	Shedder ifctl.Actuator
	// DryRunShutdown logs the shutdown command instead of running it (the
	// sim board must not power off the developer's machine).
	DryRunShutdown bool
}

// Daemon owns the route state and every file in the state dir. All its
// state is confined to the goroutine running Run; other goroutines reach it
// only through the methods below, which send closures to that goroutine.
type Daemon struct {
	opts    Options
	cfg     *Config
	clk     clock.Clock
	log     *slog.Logger
	dir     *StateDir // route, status.json, shed
	persist *StateDir // override.json; dir itself unless Options.PersistDir
	hooks   *HookRunner
	ops     chan op
	done    chan struct{}

	// Owned by the Run goroutine.
	params     Params
	rs         RouteState
	wan        netmon.WANState
	wanSeen    bool
	rtt        time.Duration
	pw         powerpolicy.Policy
	keys       *hotkey.Matcher
	lastStatus []byte
	store      storage
	cmds       sync.WaitGroup   // shutdown commands started
	settled    bool             // the route has been logged as settled since start
	actuators  []RouteActuator  // Options.Actuators, then those attached at runtime
	observers  []StatusObserver // Options.Observers, then those attached at runtime
	events     []EventObserver  // the observers that are also EventObservers
}

// New prepares a daemon: it creates the state dir and restores the last
// route and the override from it. Nothing runs until Run.
func New(o Options) (*Daemon, error) {
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	d := &Daemon{opts: o, cfg: o.Config, clk: o.Clock, log: o.Log,
		ops: make(chan op, 64), done: make(chan struct{}), store: newStorage(),
		actuators: append([]RouteActuator(nil), o.Actuators...), observers: append([]StatusObserver(nil), o.Observers...)}
	for _, ob := range o.Observers {
		if e, ok := ob.(EventObserver); ok {
			d.events = append(d.events, e)
		}
	}
	if err := d.openDirs(); err != nil {
		return nil, err
	}
	ov := d.loadOverride()
	last, ok, err := d.dir.LastRoute()
	if err != nil {
		d.log.Warn("persisted route ignored", "err", err)
	}
	now := d.clk.Now()
	d.rs = InitialRouteState(last, ov, now)
	if o.LineInfo.State != "" {
		d.rs.Line = LineState(o.LineInfo.State)
	}
	d.params = paramsOf(o.Config)
	if o.Shedder == nil {
		d.opts.Shedder = ifctl.NewFake(nil)
	}
	shed, err := d.dir.LoadShed()
	if err != nil {
		d.log.Warn("persisted shed interfaces unreadable", "err", err)
	}
	if len(shed) > 0 {
		d.log.Info("interfaces shed before the restart will be restored on mains", "interfaces", shed)
	}
	d.pw = powerpolicy.Policy{Config: powerConfig(o.Config), State: powerpolicy.Resume(shed)}
	if d.keys, err = newMatcher(o.Config, now); err != nil {
		d.closeDirs()
		return nil, fmt.Errorf("%w: hotkey: %w", ErrConfig, err)
	}
	if ok {
		d.log.Info("restored last route", "route", last)
	}
	if ov.Mode != ModeAuto {
		d.log.Info("restored override", "mode", ov.Mode, "until", ov.Until, "source", ov.Source)
	}
	return d, nil
}

func powerConfig(c *Config) powerpolicy.Config {
	b := c.Battery
	return powerpolicy.Config{OnBatteryDelay: b.OnBatteryDelay, CriticalPercent: b.CriticalPercent,
		ShedInterfaces: b.ShedInterfaces, ShutdownGrace: b.ShutdownGrace}
}

func paramsOf(c *Config) Params {
	return Params{DownAfter: c.Provider.DownAfter, FailbackHold: c.FailbackHold, PreferPSTNOnBattery: c.PreferPSTNOnBattery}
}

// Run is the daemon's loop. It returns when ctx ends, after the stop hooks
// have run (bounded by the hook timeout) and the hook runner has stopped.
func (d *Daemon) Run(ctx context.Context) error {
	defer close(d.done)
	defer d.closeDirs()
	d.hooks = NewHookRunner(d.cfg.HooksDir, d.cfg.HookTimeout, d.log)
	d.apply(Tick{}) // expire a stale override, settle the route
	d.writeRoute()
	for _, act := range d.actuators {
		act.SetRoute(d.rs.Route, d.rs.Reason)
	}
	d.event(d.hookEvent("start", d.rs.Route, d.rs.Reason))
	timer := d.clk.NewTimer(time.Hour)
	defer timer.Stop()
	rearm := func() {
		timer.Stop()
		if dl, ok := d.nextDeadline(); ok {
			timer.Reset(max(dl.Sub(d.clk.Now()), 0))
		}
	}
	rearm()
	for {
		select {
		case <-ctx.Done():
			d.event(d.hookEvent("stop", d.rs.Route, "daemon stopping"))
			cctx, cancel := context.WithTimeout(context.Background(), d.cfg.HookTimeout+time.Second)
			d.hooks.Close(cctx)
			cancel()
			d.cmds.Wait()
			return nil
		case o := <-d.ops:
			// A due deadline goes first, so every op sees time's effects.
			select {
			case <-timer.C():
				d.tick()
			default:
			}
			o.f()
			// The timer is armed before the op's caller is released: a
			// caller that then moves a fake clock finds the deadline set.
			rearm()
			if o.fin != nil {
				close(o.fin)
			}
		case <-timer.C():
			d.tick()
			rearm()
		}
	}
}

// nextDeadline is the earliest deadline of the route and power machines
// and the hotkey matcher: the loop keeps one timer for all three.
func (d *Daemon) nextDeadline() (time.Time, bool) {
	var first time.Time
	for _, f := range []func() (time.Time, bool){
		func() (time.Time, bool) { return d.rs.NextDeadline(d.params) },
		d.pw.NextDeadline,
		d.keys.NextDeadline,
		d.store.nextRetry,
	} {
		if t, ok := f(); ok && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	return first, !first.IsZero()
}

func (d *Daemon) tick() {
	now := d.clk.Now()
	d.applyPower(powerpolicy.TickEvent())
	d.applyMatches(d.keys.Tick(now))
	d.apply(Tick{})
	d.retryWrites()
}

// op is a closure run on the daemon's goroutine; fin, if set, is closed
// once it and the timer re-arm are done.
type op struct {
	f   func()
	fin chan struct{}
}

// do runs f on the daemon's goroutine and waits for it.
func (d *Daemon) do(ctx context.Context, f func()) error {
	fin := make(chan struct{})
	select {
	case d.ops <- op{f: f, fin: fin}:
	case <-d.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-fin:
		return nil
	case <-d.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when Run has returned: the stop event has been given
// out and the hooks have run.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// Post hands a hal input to the daemon. It blocks only while the loop's
// queue is full, and returns ErrStopped after Run has ended.
func (d *Daemon) Post(ctx context.Context, in Input) error {
	select {
	case d.ops <- op{f: func() { d.handle(in) }}:
		return nil
	case <-d.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Status returns the current status.
func (d *Daemon) Status(ctx context.Context) (Status, error) {
	var st Status
	err := d.do(ctx, func() { st = d.status() })
	return st, err
}

// SetOverride sets the override: mode with an optional duration (0: until
// cleared) on behalf of source.
func (d *Daemon) SetOverride(ctx context.Context, mode Mode, dur time.Duration, source string) (Status, error) {
	var st Status
	var err error
	derr := d.do(ctx, func() {
		o := Override{Mode: mode, Source: source}
		if dur > 0 {
			o.Until = d.clk.Now().Add(dur).UTC().Round(time.Millisecond)
		}
		d.apply(SetOverride{Override: o})
		st = d.status()
		if e, unsaved := d.store.unsaved[d.persist.path(OverrideFile)]; unsaved {
			err = fmt.Errorf("%w: override %s is in effect, but %v: it would not survive a restart (retrying)",
				ErrNotDurable, mode, e.err)
		}
	})
	if derr != nil {
		return st, derr
	}
	return st, err
}

// Reconfigure swaps in a validated configuration: rule parameters and hook
// settings change at once; hal components are the caller's to restart.
func (d *Daemon) Reconfigure(ctx context.Context, c *Config) error {
	return d.do(ctx, func() {
		m, err := newMatcher(c, d.clk.Now())
		if err != nil {
			d.log.Error("reload: hotkeys unchanged", "err", err)
		} else {
			d.keys = m
		}
		d.cfg, d.params = c, paramsOf(c)
		d.pw.Config = powerConfig(c)
		d.hooks.Configure(c.HooksDir, c.HookTimeout)
		d.apply(Tick{})
		d.log.Info("configuration reloaded", "file", c.Source)
	})
}

// Attach adds an actuator and an observer while the daemon runs (a
// feature that a reload started); either may be nil. On the daemon's
// goroutine the actuator is told the current route and the observer shown
// the current status at once, so it needs no start-up value of its own;
// then both see every change, as those of Options do. An observer that is
// also an EventObserver gets every event from then on. The returned detach
// removes them; after it returns neither is called again. Detach is
// idempotent and safe after Run has ended; like Attach it must not be
// called from SetRoute or Observe (the daemon's goroutine would wait for
// itself).
func (d *Daemon) Attach(ctx context.Context, a RouteActuator, o StatusObserver) (detach func(), err error) {
	err = d.do(ctx, func() {
		if a != nil {
			d.actuators = append(d.actuators, a)
			a.SetRoute(d.rs.Route, d.rs.Reason)
		}
		if o != nil {
			d.observers = append(d.observers, o)
			if e, ok := o.(EventObserver); ok {
				d.events = append(d.events, e)
			}
			o.Observe(d.status())
		}
	})
	if err != nil {
		return func() {}, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// ErrStopped: the loop has ended and calls nobody any more.
			_ = d.do(context.Background(), func() { d.detach(a, o) })
		})
	}, nil
}

// detach removes a and o (either may be nil) from the daemon's lists; a
// plain loop, not slices.DeleteFunc: two generic instantiations cost
// about 1.5 KB on mipsle.
func (d *Daemon) detach(a RouteActuator, o StatusObserver) {
	for i, x := range d.actuators {
		if a != nil && x == a {
			d.actuators = append(d.actuators[:i], d.actuators[i+1:]...)
			break
		}
	}
	for i, x := range d.observers {
		if o != nil && x == o {
			d.observers = append(d.observers[:i], d.observers[i+1:]...)
			break
		}
	}
	for i, x := range d.events {
		if o != nil && any(x) == any(o) {
			d.events = append(d.events[:i], d.events[i+1:]...)
			break
		}
	}
}

// Sim forwards a `lifeline sim` command to the simulated board.
func (d *Daemon) Sim(signal string, args []string) (string, error) {
	if d.opts.Sim == nil {
		return "", fmt.Errorf("board %q is not simulated: `lifeline sim` needs --board sim", d.opts.Board)
	}
	return d.opts.Sim.Sim(signal, args)
}

func (d *Daemon) handle(in Input) {
	switch e := in.(type) {
	case WANInput:
		s, ev := e.State, wanChanged(e.State)
		if d.wanSeen && s.Present == d.wan.Present && ev == wanChanged(d.wan) {
			d.wan = s
			d.writeStatus()
			return
		}
		d.wan, d.wanSeen = s, true
		d.log.Info("wan", "interface", s.Interface, "present", s.Present, "admin_up", s.AdminUp, "carrier", s.Carrier,
			"operstate", s.OperState, "addresses", usableAddrs(s), "default_route", s.DefaultRoute(), "up", ev.Link)
		d.apply(ev)
	case ProbeInput:
		if e.OK {
			d.rtt = e.RTT
		} else {
			d.log.Debug("provider probe lost", "losses", d.rs.ProviderLosses+1)
		}
		d.apply(ProbeResult{OK: e.OK, RTT: e.RTT})
	case LineInput:
		if e.State != d.rs.Line {
			d.log.Debug("line", "state", e.State)
			d.event(d.hookEvent("line", d.rs.Route, "line "+string(e.State)))
		}
		d.opts.LineInfo.Reason, d.opts.LineInfo.CellularStatus = e.Reason, e.Cellular
		d.apply(LineChanged{State: e.State})
	case PowerInput:
		if !d.pw.State.Known || e.State.Source != d.pw.State.Power.Source || e.State.Low != d.pw.State.Power.Low {
			d.log.Info("power", "reading", e.State.String())
		}
		d.applyPower(powerpolicy.ReadingEvent(e.State))
	case KeyInput:
		d.handleKey(e)
	case CallsInput:
		d.writeStatus()
	case LineInfoInput:
		li := &d.opts.LineInfo
		li.Device, li.Profile, li.AudioDevice = e.Device, e.Profile, e.AudioDevice
		if e.AudioDevice == "" { // not a cellular line (any more)
			li.Reason, li.CellularStatus = "", nil
		}
		d.writeStatus()
	}
}

// apply runs one event through the route machine and carries out its
// actions, then refreshes status.json if anything visible changed.
func (d *Daemon) apply(ev Event) {
	var acts []Action
	before := d.rs
	d.rs, acts = Step(d.params, d.rs, ev, d.clk.Now())
	defer d.logTransitions(before)
	for _, a := range acts {
		switch a := a.(type) {
		case RouteChanged:
			// The actuators first: the switch must not wait for the disk.
			for _, act := range d.actuators {
				act.SetRoute(a.To, a.Reason)
			}
			d.log.Info("route changed", "from", a.From, "to", a.To, "reason", a.Reason)
			d.writeRoute()
			ev := d.hookEvent("route", a.To, a.Reason)
			ev.PrevRoute = a.From
			d.event(ev)
		case OverrideChanged:
			switch {
			case a.Expired:
				d.log.Info("override expired")
			case a.Override.Mode == ModeAuto:
				d.log.Info("override cleared")
			default:
				d.log.Info("override set", "mode", a.Override.Mode, "until", a.Override.Until, "source", a.Override.Source)
			}
			d.save(d.persist, OverrideFile, encodeJSON(a.Override))
			d.event(d.hookEvent("override", d.rs.Route, "override "+string(a.Override.Mode)))
		}
	}
	d.writeStatus()
}

// providerDown reports whether the probe has failed down_after times in a
// row (a provider never probed is not down).
func (d *Daemon) providerDown(rs RouteState) bool {
	return rs.ProviderProbed && rs.ProviderLosses >= d.params.DownAfter
}

// logTransitions logs, once each, what changed by itself between before
// and the current state: the provider going down or coming back, the
// status entering or leaving degraded, and the route first settled after
// start (once the WAN has been seen and, with a provider to probe, a probe
// has answered or failed).
func (d *Daemon) logTransitions(before RouteState) {
	rs := d.rs
	host := d.cfg.Provider.Host
	switch was, now := d.providerDown(before), d.providerDown(rs); {
	case !was && now:
		d.log.Warn("provider down", "host", host, "losses", rs.ProviderLosses)
	case was && !now:
		d.log.Info("provider up", "host", host, "rtt", d.rtt)
	}
	switch {
	case !before.Degraded && rs.Degraded:
		d.log.Warn("degraded", "route", rs.Route, "reason", rs.Reason)
	case before.Degraded && !rs.Degraded:
		d.log.Info("no longer degraded", "route", rs.Route, "reason", rs.Reason)
	}
	if !d.settled && d.wanSeen && (rs.ProviderProbed || host == "") {
		d.settled = true
		d.log.Info("route settled", "route", rs.Route, "reason", rs.Reason, "degraded", rs.Degraded)
	}
}

func (d *Daemon) writeRoute() {
	d.save(d.dir, RouteFile, []byte(string(d.rs.Route)+"\n"))
}

func (d *Daemon) writeStatus() {
	data, err := json.Marshal(d.status())
	if err != nil || bytes.Equal(data, d.lastStatus) {
		return
	}
	d.lastStatus = data
	_, wasUnsaved := d.store.unsaved[d.dir.path(StatusFile)]
	if d.save(d.dir, StatusFile, append(data, '\n')) && wasUnsaved {
		d.writeStatus() // the storage part of what was just written is stale
		return
	}
	if len(d.observers) > 0 {
		st := d.status()
		for _, o := range d.observers {
			o.Observe(st)
		}
	}
}

// event hands ev to the hooks and to every EventObserver.
func (d *Daemon) event(ev HookEvent) {
	d.hooks.Notify(ev)
	for _, e := range d.events {
		e.Event(ev)
	}
}

func (d *Daemon) hookEvent(event string, r Route, reason string) HookEvent {
	ps := d.pw.State.Status(d.pw.Config, d.clk.Now())
	pct := "unknown"
	if ps.Percent >= 0 {
		pct = strconv.Itoa(ps.Percent)
	}
	return HookEvent{Event: event, Route: r, PrevRoute: d.rs.Route, Reason: reason, Power: ps.Source, Battery: pct}
}

func (d *Daemon) status() Status {
	rs := &d.rs
	st := Status{
		Route: rs.Route, Reason: rs.Reason, Since: rs.Since.UTC().Truncate(time.Second), Degraded: rs.Degraded,
		Override: overrideStatus(rs.Override), Board: d.opts.Board, Version: d.opts.Version,
		Storage: d.store.status(),
	}
	// Power.
	ps := d.pw.State.Status(d.pw.Config, d.clk.Now())
	st.Power = PowerStatus{Source: ps.Source, Flags: ps.Flags, Shed: ps.Shed}
	if st.Power.Flags == nil {
		st.Power.Flags = []string{}
	}
	if ps.Percent >= 0 {
		p := ps.Percent
		st.Power.BatteryPercent = &p
	}
	if ps.OnBattery > 0 {
		secs := int64(ps.OnBattery / time.Second)
		st.Power.OnBatterySeconds = &secs
	}
	if ps.MinutesLeft >= 0 {
		m := ps.MinutesLeft
		st.Power.MinutesLeft = &m
	}
	// WAN and provider.
	w := &st.WAN
	w.Interface = d.cfg.WANInterface
	w.Link = "unknown"
	if d.wanSeen {
		w.Interface, w.Carrier, w.OperState, w.Addresses = d.wan.Interface, d.wan.Carrier, d.wan.OperState, usableAddrs(d.wan)
		switch {
		case !d.wan.Present:
			w.Link = "absent"
		case d.wan.Up():
			w.Link = "up"
		default:
			w.Link = "down"
		}
	}
	w.DefaultRoute = rs.DefaultRoute
	w.ProviderHost = d.cfg.Provider.Host
	w.ProviderLosses = rs.ProviderLosses
	switch {
	case !rs.ProviderProbed:
		w.Provider = "unprobed"
	case d.providerDown(*rs):
		w.Provider = "down"
	default:
		w.Provider = "up"
	}
	// The RTT of the last answered probe, only while the provider answers:
	// a figure from before it went silent would be stale.
	if w.Provider == "up" && rs.ProviderLosses == 0 && d.rtt > 0 {
		ms := math.Round(float64(d.rtt)/float64(time.Millisecond)*10) / 10
		w.RTTms = &ms
	}
	// Line.
	st.Line = d.opts.LineInfo
	st.Line.State = string(rs.Line)
	st.Calls = []CallStatus{}
	if d.opts.Calls != nil {
		st.Calls = append(st.Calls, d.opts.Calls()...)
	}
	return st
}
