package daemon

import (
	"net/netip"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/modem"
	"lifeline/hal/netmon"
)

// A line state the daemon does not know is not usable: a line in it while
// the WAN is down leaves the route degraded (the old string copy counted
// any unknown word as a working line).
func TestUnknownLineStateNotUsable(t *testing.T) {
	for _, tc := range []struct {
		state  LineState
		usable bool
	}{
		{LineNone, true}, {LineInitialising, true}, {LineIdle, true}, {LineRinging, true}, {LineInCall, true},
		{LineAbsent, false}, {LineNoLine, false}, {LineUnknown, false}, {LineState("off-hook"), false}, {LineState(""), false},
	} {
		if got := tc.state.Usable(); got != tc.usable {
			t.Errorf("%q.Usable() = %v, want %v", tc.state, got, tc.usable)
		}
	}
	h := startDaemon(t, t.TempDir(), clock.NewFake(time.Unix(1_800_000_000, 0)), nil)
	h.post(wanIn(false))
	h.post(LineInput{State: LineState("off-hook")})
	if st := h.status(); st.Route != RoutePSTN || !st.Degraded {
		t.Fatalf("WAN down, line in an unknown state: route %s degraded %v, want pstn and degraded", st.Route, st.Degraded)
	}
}

// Every state of hal/modem has the daemon state of the same word; one the
// daemon does not know is LineUnknown.
func TestLineStateOf(t *testing.T) {
	for s := modem.StateAbsent; s <= modem.StateNoLine; s++ {
		if got := LineStateOf(s); string(got) != s.String() || got == LineUnknown {
			t.Errorf("LineStateOf(%v) = %q", s, got)
		}
	}
	if got := LineStateOf(modem.StateNoLine + 1); got != LineUnknown || got.Usable() {
		t.Errorf("LineStateOf(a new modem state) = %q (usable %v), want unknown, not usable", got, got.Usable())
	}
}

// The WAN's link is netmon's judgement (WANState.Up), not carrier alone: an
// interface set down by software, or dormant, keeps its carrier but
// carries nothing; a PPP link reports operstate unknown while it works.
func TestWANLinkIsNetmonsJudgement(t *testing.T) {
	working := wanIn(true).State
	for _, tc := range []struct {
		name  string
		edit  func(*netmon.WANState)
		route Route
		link  string
	}{
		{"working", func(*netmon.WANState) {}, RouteSIP, "up"},
		{"admin down, carrier kept", func(s *netmon.WANState) { s.AdminUp = false }, RoutePSTN, "down"},
		{"dormant", func(s *netmon.WANState) { s.OperState = "dormant" }, RoutePSTN, "down"},
		{"ppp, operstate unknown", func(s *netmon.WANState) { s.OperState = "unknown" }, RouteSIP, "up"},
		{"link-local address only", func(s *netmon.WANState) {
			s.Addrs = []netip.Prefix{netip.MustParsePrefix("fe80::1/64")}
		}, RoutePSTN, "up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startDaemon(t, t.TempDir(), clock.NewFake(time.Unix(1_800_000_000, 0)), nil)
			s := working
			s.Addrs = append([]netip.Prefix(nil), working.Addrs...)
			tc.edit(&s)
			h.post(WANInput{State: s})
			if st := h.status(); st.Route != tc.route || st.WAN.Link != tc.link {
				t.Fatalf("route %s link %s, want %s %s", st.Route, st.WAN.Link, tc.route, tc.link)
			}
		})
	}
}
