package daemon

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

var testParams = Params{DownAfter: 3, FailbackHold: 30 * time.Second}

// step is one input of a scenario: after `at` (from t0) apply ev, then
// expect the route (and optionally a reason fragment and degraded flag).
type step struct {
	at       time.Duration
	ev       Event
	route    Route
	reason   string // substring; empty: not checked
	degraded bool
}

func runScenario(t *testing.T, p Params, s RouteState, steps []step) (RouteState, []Action) {
	t.Helper()
	var all []Action
	for i, st := range steps {
		var acts []Action
		s, acts = Step(p, s, st.ev, t0.Add(st.at))
		all = append(all, acts...)
		if s.Route != st.route {
			t.Fatalf("step %d (%T%+v at %v): route = %s (%q), want %s", i, st.ev, st.ev, st.at, s.Route, s.Reason, st.route)
		}
		if st.reason != "" && !strings.Contains(s.Reason, st.reason) {
			t.Fatalf("step %d: reason %q lacks %q", i, s.Reason, st.reason)
		}
		if s.Degraded != st.degraded {
			t.Fatalf("step %d: degraded = %v (%q), want %v", i, s.Degraded, s.Reason, st.degraded)
		}
	}
	return s, all
}

func routeChanges(acts []Action) []RouteChanged {
	var out []RouteChanged
	for _, a := range acts {
		if rc, ok := a.(RouteChanged); ok {
			out = append(out, rc)
		}
	}
	return out
}

func healthy() RouteState {
	s := InitialRouteState(RouteSIP, Override{}, t0.Add(-time.Hour))
	s.Line = LineIdle
	return s
}

func TestRouteRules(t *testing.T) {
	sec := time.Second
	tests := []struct {
		name    string
		start   func() RouteState
		p       Params
		steps   []step
		changes int
	}{
		{"carrier loss switches at once", healthy, testParams, []step{
			{0, WANChanged{Link: false, Addressed: true, DefaultRoute: true}, RoutePSTN, "WAN link down", false},
		}, 1},
		{"address loss switches at once", healthy, testParams, []step{
			{0, WANChanged{Link: true, Addressed: false, DefaultRoute: true}, RoutePSTN, "no address on WAN", false},
		}, 1},
		{"default route loss switches at once", healthy, testParams, []step{
			{0, WANChanged{Link: true, Addressed: true, DefaultRoute: false}, RoutePSTN, "no default route", false},
		}, 1},
		{"provider needs down_after losses in a row", healthy, testParams, []step{
			{1 * sec, ProbeResult{OK: false}, RouteSIP, "", false},
			{2 * sec, ProbeResult{OK: false}, RouteSIP, "", false},
			{3 * sec, ProbeResult{OK: true}, RouteSIP, "", false},
			{4 * sec, ProbeResult{OK: false}, RouteSIP, "", false},
			{5 * sec, ProbeResult{OK: false}, RouteSIP, "", false},
			{6 * sec, ProbeResult{OK: false}, RoutePSTN, "3 probes lost", false},
		}, 1},
		{"failback only after failback_hold", healthy, testParams, []step{
			{0, WANChanged{Link: false, Addressed: true, DefaultRoute: true}, RoutePSTN, "", false},
			{10 * sec, WANChanged{Link: true, Addressed: true, DefaultRoute: true}, RoutePSTN, "failback after 30s", false},
			{39*sec + 999*time.Millisecond, Tick{}, RoutePSTN, "", false},
			{40 * sec, Tick{}, RouteSIP, "healthy for 30s", false},
		}, 2},
		{"health interrupted restarts the hold", healthy, testParams, []step{
			{0, WANChanged{Link: false, Addressed: true, DefaultRoute: true}, RoutePSTN, "", false},
			{10 * sec, WANChanged{Link: true, Addressed: true, DefaultRoute: true}, RoutePSTN, "", false},
			{35 * sec, WANChanged{Link: true, Addressed: true, DefaultRoute: false}, RoutePSTN, "", false},
			{36 * sec, WANChanged{Link: true, Addressed: true, DefaultRoute: true}, RoutePSTN, "", false},
			{65 * sec, Tick{}, RoutePSTN, "", false},
			{66 * sec, Tick{}, RouteSIP, "", false},
		}, 2},
		{"no failback during a PSTN call", healthy, testParams, []step{
			{0, WANChanged{Link: false, Addressed: true, DefaultRoute: true}, RoutePSTN, "", false},
			{1 * sec, LineChanged{LineInCall}, RoutePSTN, "", false},
			{2 * sec, WANChanged{Link: true, Addressed: true, DefaultRoute: true}, RoutePSTN, "", false},
			{100 * sec, Tick{}, RoutePSTN, "waits for the PSTN call", false},
			{200 * sec, LineChanged{LineIdle}, RouteSIP, "healthy", false},
		}, 2},
		{"override wins and expires", healthy, testParams, []step{
			{0, SetOverride{Override{Mode: ModePSTN, Until: t0.Add(10 * sec), Source: "cli"}}, RoutePSTN, "override pstn by cli", false},
			{9 * sec, Tick{}, RoutePSTN, "", false},
			// Health has held since before the override: back to SIP at once.
			{10 * sec, Tick{}, RouteSIP, "provider healthy", false},
		}, 2},
		{"override sip while WAN is down is degraded", healthy, testParams, []step{
			{0, WANChanged{Link: false, Addressed: true, DefaultRoute: false}, RoutePSTN, "", false},
			{1 * sec, SetOverride{Override{Mode: ModeSIP, Source: "keypad"}}, RouteSIP, "degraded: WAN link down", true},
			{2 * sec, SetOverride{Override{Mode: ModeAuto}}, RoutePSTN, "WAN link down", false},
		}, 3},
		{"expiry exactly at failback", func() RouteState {
			s := healthy()
			s.Route = RoutePSTN
			s.HealthySince = t0
			s.Override = Override{Mode: ModePSTN, Until: t0.Add(30 * sec), Source: "cli"}
			return s
		}, testParams, []step{
			{29 * sec, Tick{}, RoutePSTN, "override", false},
			{30 * sec, Tick{}, RouteSIP, "healthy for 30s", false},
		}, 1},
		{"override expiring before the hold keeps pstn", func() RouteState {
			s := healthy()
			s.Route = RoutePSTN
			s.HealthySince = t0
			s.Override = Override{Mode: ModePSTN, Until: t0.Add(10 * sec), Source: "cli"}
			return s
		}, testParams, []step{
			{10 * sec, Tick{}, RoutePSTN, "failback after 30s", false},
			{30 * sec, Tick{}, RouteSIP, "", false},
		}, 1},
		{"both paths dead: degraded, route kept", healthy, testParams, []step{
			{0, LineChanged{LineNoLine}, RouteSIP, "", false},
			{1 * sec, WANChanged{Link: false, Addressed: true, DefaultRoute: false}, RouteSIP, "degraded: WAN link down, line no-line", true},
			{2 * sec, LineChanged{LineIdle}, RoutePSTN, "WAN link down", false},
			{3 * sec, LineChanged{LineAbsent}, RoutePSTN, "degraded: WAN link down, line absent", true},
		}, 1},
		{"line dead during the hold fails back at once", healthy, testParams, []step{
			{0, WANChanged{Link: false, Addressed: true, DefaultRoute: true}, RoutePSTN, "", false},
			{1 * sec, WANChanged{Link: true, Addressed: true, DefaultRoute: true}, RoutePSTN, "", false},
			{2 * sec, LineChanged{LineAbsent}, RouteSIP, "line unusable", false},
		}, 2},
		{"prefer pstn on battery", healthy, Params{DownAfter: 3, FailbackHold: 30 * sec, PreferPSTNOnBattery: true}, []step{
			{0, PowerChanged{OnBattery: true}, RoutePSTN, "on battery", false},
			// SIP stayed healthy throughout: no hold to earn.
			{1 * sec, PowerChanged{OnBattery: false}, RouteSIP, "provider healthy", false},
		}, 2},
		{"battery ignored by default", healthy, testParams, []step{
			{0, PowerChanged{OnBattery: true}, RouteSIP, "", false},
		}, 0},
		{"restart in pstn waits for the hold", func() RouteState {
			s := InitialRouteState(RoutePSTN, Override{}, t0)
			s.Line = LineIdle
			return s
		}, testParams, []step{
			{0, Tick{}, RoutePSTN, "", false},
			{29 * sec, Tick{}, RoutePSTN, "", false},
			{30 * sec, Tick{}, RouteSIP, "", false},
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, acts := runScenario(t, tc.p, tc.start(), tc.steps)
			if got := len(routeChanges(acts)); got != tc.changes {
				t.Fatalf("route changes = %d (%+v), want %d", got, routeChanges(acts), tc.changes)
			}
		})
	}
}

func TestOverrideActions(t *testing.T) {
	s := healthy()
	o := Override{Mode: ModePSTN, Until: t0.Add(time.Minute), Source: "keypad"}
	s, acts := Step(testParams, s, SetOverride{o}, t0)
	if len(acts) != 2 || acts[0] != (OverrideChanged{Override: o}) {
		t.Fatalf("set: %+v", acts)
	}
	// Setting the same override again changes nothing.
	if _, acts := Step(testParams, s, SetOverride{o}, t0); len(acts) != 0 {
		t.Fatalf("repeat: %+v", acts)
	}
	s, acts = Step(testParams, s, Tick{}, t0.Add(time.Minute))
	if len(acts) != 2 || acts[0] != (OverrideChanged{Override: Override{Mode: ModeAuto}, Expired: true}) {
		t.Fatalf("expiry: %+v", acts)
	}
	if s.Override.Mode != ModeAuto {
		t.Fatalf("override = %+v", s.Override)
	}
}

// Flapping input at 10 Hz for a minute gives one switch to PSTN and one
// switch back, failback_hold after the flapping stops.
func TestFlappingInputNoFlappingOutput(t *testing.T) {
	s := healthy()
	var changes []RouteChanged
	now := t0
	for i := 0; i < 600; i++ {
		var acts []Action
		s, acts = Step(testParams, s, WANChanged{Link: i%2 == 1, Addressed: true, DefaultRoute: true}, now)
		changes = append(changes, routeChanges(acts)...)
		now = now.Add(100 * time.Millisecond)
	}
	if len(changes) != 1 || changes[0].To != RoutePSTN {
		t.Fatalf("changes during flapping = %+v", changes)
	}
	last := now.Add(-100 * time.Millisecond) // the final event was "up"
	dl, ok := s.NextDeadline(testParams)
	if !ok || !dl.Equal(last.Add(testParams.FailbackHold)) {
		t.Fatalf("deadline = %v %v, want %v", dl, ok, last.Add(testParams.FailbackHold))
	}
	s, acts := Step(testParams, s, Tick{}, dl)
	if rc := routeChanges(acts); len(rc) != 1 || rc[0].To != RouteSIP || s.Route != RouteSIP {
		t.Fatalf("failback = %+v", rc)
	}
}

// Probe results flapping at 10 Hz (one loss in two) never reach down_after.
func TestFlappingProbesNoSwitch(t *testing.T) {
	s := healthy()
	for i := 0; i < 600; i++ {
		var acts []Action
		s, acts = Step(testParams, s, ProbeResult{OK: i%3 == 2}, t0.Add(time.Duration(i)*100*time.Millisecond))
		if len(routeChanges(acts)) != 0 {
			t.Fatalf("switch at probe %d", i)
		}
	}
}

func TestNextDeadline(t *testing.T) {
	s := healthy()
	if _, ok := s.NextDeadline(testParams); ok {
		t.Fatal("healthy sip state has a deadline")
	}
	s.Override = Override{Mode: ModePSTN, Until: t0.Add(time.Hour)}
	if d, ok := s.NextDeadline(testParams); !ok || !d.Equal(t0.Add(time.Hour)) {
		t.Fatalf("deadline = %v", d)
	}
	s.Route = RoutePSTN
	s.HealthySince = t0
	if d, _ := s.NextDeadline(testParams); !d.Equal(t0.Add(30 * time.Second)) {
		t.Fatalf("deadline = %v", d)
	}
	s.Line = LineInCall
	if d, _ := s.NextDeadline(testParams); !d.Equal(t0.Add(time.Hour)) {
		t.Fatalf("in-call deadline = %v", d)
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []string{"auto", "sip", "pstn"} {
		if got, err := ParseMode(m); err != nil || string(got) != m {
			t.Errorf("ParseMode(%q) = %q, %v", m, got, err)
		}
	}
	if _, err := ParseMode("isdn"); err == nil || !strings.Contains(err.Error(), `"isdn"`) {
		t.Errorf("ParseMode(isdn) err = %v", err)
	}
}
