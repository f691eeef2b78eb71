// Package daemon holds Lifeline's decisions: the route state machine, the
// configuration, and the loop that feeds hal events through them to the
// actuators (state files, hooks, control socket).
//
// Seams: hal facts come in as typed Inputs (Daemon.Post) that carry the hal
// package's own judgement — WANInput is hal/netmon's WANState (the link is
// WANState.Up), PowerInput hal/power's State, LineInput a LineState made by
// LineStateOf from hal/modem's state (a state the daemon does not know is
// not usable). Decisions go out to RouteActuators and StatusObservers:
// those of Options for the daemon's life, or attached and detached at
// runtime (Attach) by whatever a reload starts and stops. The configuration
// is a table of section types (sections in config.go): a new section is
// its reader in a file of its own and one entry there.
package daemon

import (
	"fmt"
	"strings"
	"time"
)

// Route is the path outgoing calls take.
type Route string

// The two routes.
const (
	RouteSIP  Route = "sip"
	RoutePSTN Route = "pstn"
)

// Mode is an override mode; ModeAuto means no override.
type Mode string

// Override modes.
const (
	ModeAuto Mode = "auto"
	ModeSIP  Mode = "sip"
	ModePSTN Mode = "pstn"
)

// ParseMode checks an override mode word.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeAuto, ModeSIP, ModePSTN:
		return m, nil
	}
	return "", fmt.Errorf("unknown override mode %q (want auto, sip or pstn)", s)
}

// LineState is the fallback line's state, as hal/modem reports it
// (LineStateOf); the words are those of the status contract.
type LineState string

// Line states. LineNone means no line is configured; LineUnknown is a
// state of hal/modem this daemon does not know, which is not usable.
const (
	LineNone         LineState = "none"
	LineAbsent       LineState = "absent"
	LineInitialising LineState = "initialising"
	LineIdle         LineState = "idle"
	LineRinging      LineState = "ringing"
	LineInCall       LineState = "in-call"
	LineNoLine       LineState = "no-line"
	LineUnknown      LineState = "unknown"
)

// Usable reports whether calls can go out over the line. A line that is
// not monitored (none) or still initialising counts as usable: the PSTN path
// may be the relay alone, and a modem being set up is not yet known bad. A
// state not listed here (unknown) is not usable: nothing says it works.
func (l LineState) Usable() bool {
	switch l {
	case LineNone, LineInitialising, LineIdle, LineRinging, LineInCall:
		return true
	}
	return false
}

// Override is a person's choice of route, with an optional expiry.
type Override struct {
	Mode   Mode      `json:"mode"`
	Until  time.Time `json:"until,omitzero"`
	Source string    `json:"source,omitempty"` // keypad | cli | dial-prefix | sim
}

// Active reports whether o forces a route at now.
func (o Override) Active(now time.Time) bool {
	return o.Mode != ModeAuto && o.Mode != "" && (o.Until.IsZero() || now.Before(o.Until))
}

// Params are the route rules' tunables, taken from the configuration.
type Params struct {
	DownAfter           int
	FailbackHold        time.Duration
	PreferPSTNOnBattery bool
}

// RouteState is everything the route decision depends on. Step is its only
// writer; the zero value plus InitialRouteState's defaults is a healthy start.
type RouteState struct {
	Route    Route
	Reason   string
	Since    time.Time
	Degraded bool
	Override Override

	// Inputs, as last reported.
	Link           bool // WAN carrier and operationally up
	Addressed      bool // the WAN has an address other than link-local
	DefaultRoute   bool // a default route leaves through the WAN
	ProviderLosses int  // consecutive lost probes
	ProviderProbed bool // any probe result seen (else provider counts as up)
	Line           LineState
	OnBattery      bool

	// HealthySince is when the SIP path last became healthy; zero while it
	// is not. Failback to SIP waits for it to be FailbackHold old.
	HealthySince time.Time
}

// InitialRouteState is the state at daemon start: the last route and the
// override as persisted, inputs assumed healthy until the hal reports.
func InitialRouteState(last Route, o Override, now time.Time) RouteState {
	if last != RoutePSTN {
		last = RouteSIP
	}
	if o.Mode == "" {
		o.Mode = ModeAuto
	}
	return RouteState{
		Route: last, Reason: "started", Since: now, Override: o,
		Link: true, Addressed: true, DefaultRoute: true, Line: LineNone,
		// A restart in PSTN must earn its failback like any other.
		HealthySince: now,
	}
}

// Event is an input to Step.
type Event interface{ event() }

// WANChanged reports the WAN interface's link, whether it has an address
// other than link-local, and whether a default route leaves through it.
type WANChanged struct{ Link, Addressed, DefaultRoute bool }

// ProbeResult is one SIP provider probe's outcome.
type ProbeResult struct {
	OK  bool
	RTT time.Duration
}

// LineChanged reports the line's new state.
type LineChanged struct{ State LineState }

// PowerChanged reports whether the router runs on battery (after the power
// policy's on_battery_delay).
type PowerChanged struct{ OnBattery bool }

// SetOverride sets (or, with ModeAuto, clears) the override.
type SetOverride struct{ Override Override }

// Tick lets time pass: expiries and failback are decided on it.
type Tick struct{}

func (WANChanged) event()   {}
func (ProbeResult) event()  {}
func (LineChanged) event()  {}
func (PowerChanged) event() {}
func (SetOverride) event()  {}
func (Tick) event()         {}

// Action is an effect Step asks the caller to carry out.
type Action interface{ action() }

// RouteChanged: the route changed; log it once, write the route file, run
// hooks, tell the proxy.
type RouteChanged struct {
	From, To Route
	Reason   string
}

// OverrideChanged: the override changed (set, cleared or expired); persist it.
type OverrideChanged struct {
	Override Override
	Expired  bool
}

func (RouteChanged) action()    {}
func (OverrideChanged) action() {}

// Step is the route state machine: a pure function of the state, one event
// and the time. It applies the event, expires the override, then decides the
// route by DESIGN.md's rules. It never blocks and allocates only for actions
// and reasons.
func Step(p Params, s RouteState, ev Event, now time.Time) (RouteState, []Action) {
	var acts []Action
	switch e := ev.(type) {
	case WANChanged:
		s.Link, s.Addressed, s.DefaultRoute = e.Link, e.Addressed, e.DefaultRoute
	case ProbeResult:
		s.ProviderProbed = true
		if e.OK {
			s.ProviderLosses = 0
		} else if s.ProviderLosses < 1<<30 {
			s.ProviderLosses++
		}
	case LineChanged:
		s.Line = e.State
	case PowerChanged:
		s.OnBattery = e.OnBattery
	case SetOverride:
		o := e.Override
		if o.Mode == ModeAuto {
			o = Override{Mode: ModeAuto}
		}
		if o != s.Override {
			s.Override = o
			acts = append(acts, OverrideChanged{Override: o})
		}
	}
	if s.Override.Mode != ModeAuto && !s.Override.Active(now) {
		s.Override = Override{Mode: ModeAuto}
		acts = append(acts, OverrideChanged{Override: s.Override, Expired: true})
	}

	sipFaults := s.sipFaults(p)
	if len(sipFaults) == 0 {
		if s.HealthySince.IsZero() {
			s.HealthySince = now
		}
	} else {
		s.HealthySince = time.Time{}
	}

	route, reason := s.decide(p, sipFaults, now)
	s.Degraded = route == RouteSIP && len(sipFaults) > 0 || route == RoutePSTN && !s.Line.Usable()
	if s.Degraded {
		faults := sipFaults
		if !s.Line.Usable() {
			faults = append(faults, "line "+string(s.Line))
		}
		reason += "; degraded: " + strings.Join(faults, ", ")
	}
	if route != s.Route {
		acts = append(acts, RouteChanged{From: s.Route, To: route, Reason: reason})
		s.Route, s.Since = route, now
	}
	s.Reason = reason
	return s, acts
}

// sipFaults lists what is wrong with the SIP path, empty when healthy.
func (s *RouteState) sipFaults(p Params) []string {
	var f []string
	switch {
	case !s.Link:
		f = append(f, "WAN link down")
	case !s.Addressed:
		f = append(f, "no address on WAN")
	case !s.DefaultRoute:
		f = append(f, "no default route via WAN")
	}
	if s.ProviderProbed && s.ProviderLosses >= p.DownAfter {
		f = append(f, fmt.Sprintf("provider not answering (%d probes lost)", s.ProviderLosses))
	}
	return f
}

// decide applies rules 1–3 of DESIGN.md's route decision.
func (s *RouteState) decide(p Params, sipFaults []string, now time.Time) (Route, string) {
	if s.Override.Active(now) {
		r := fmt.Sprintf("override %s by %s", s.Override.Mode, orDefault(s.Override.Source, "unknown"))
		if !s.Override.Until.IsZero() {
			r += " until " + s.Override.Until.UTC().Format(time.RFC3339)
		}
		return Route(s.Override.Mode), r
	}
	if len(sipFaults) > 0 {
		if !s.Line.Usable() {
			// Both paths are bad: switching helps nobody, stay put.
			return s.Route, "both paths unusable, route kept"
		}
		return RoutePSTN, strings.Join(sipFaults, ", ")
	}
	if p.PreferPSTNOnBattery && s.OnBattery && s.Line.Usable() {
		return RoutePSTN, "on battery (prefer_pstn_on_battery)"
	}
	if s.Route == RouteSIP {
		return RouteSIP, "provider healthy"
	}
	// In PSTN with a healthy SIP path: failback rules.
	if s.Line == LineInCall {
		return RoutePSTN, "SIP healthy; failback waits for the PSTN call to end"
	}
	if !s.Line.Usable() {
		return RouteSIP, "SIP healthy, line unusable"
	}
	held := now.Sub(s.HealthySince)
	if held >= p.FailbackHold {
		return RouteSIP, fmt.Sprintf("provider healthy for %s", p.FailbackHold)
	}
	return RoutePSTN, fmt.Sprintf("SIP healthy for %s, failback after %s", held.Truncate(time.Millisecond), p.FailbackHold)
}

// NextDeadline is the earliest time at which a Tick could change the state:
// the override's expiry or the end of the failback hold.
func (s *RouteState) NextDeadline(p Params) (time.Time, bool) {
	var t time.Time
	if s.Override.Mode != ModeAuto && !s.Override.Until.IsZero() {
		t = s.Override.Until
	}
	if s.Route == RoutePSTN && !s.HealthySince.IsZero() && s.Line != LineInCall {
		fb := s.HealthySince.Add(p.FailbackHold)
		if t.IsZero() || fb.Before(t) {
			t = fb
		}
	}
	return t, !t.IsZero()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
