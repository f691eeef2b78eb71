package powerpolicy_test

// Tier 2: the policy driving the real actuator in a private network
// namespace (root; skips otherwise).

import (
	"slices"
	"testing"
	"time"

	"lifeline/daemon/powerpolicy"
	"lifeline/hal/ifctl"
	"lifeline/hal/ifctl/ifctltest"
)

func TestShedAndRestoreInNetns(t *testing.T) {
	ns := ifctltest.NewNS(t)
	ns.AddDummy("wlan1", true)
	ns.AddDummy("guest0", true)
	ns.AddDummy("lan4", false) // the admin's: down before the outage
	act, err := ifctl.New(ifctl.WithNetNS(ns.Fd))
	if err != nil {
		t.Fatal(err)
	}
	defer act.Close()
	c := powerpolicy.Config{OnBatteryDelay: 2 * time.Second, CriticalPercent: 5,
		ShedInterfaces: []string{"wlan1", "lan4", "guest0"}, ShutdownGrace: time.Minute}
	links := func() map[string]bool {
		return map[string]bool{"wlan1": ns.IsUp("wlan1"), "guest0": ns.IsUp("guest0"), "lan4": ns.IsUp("lan4")}
	}
	check := func(when string, want map[string]bool) {
		t.Helper()
		got := links()
		for n, w := range want {
			if got[n] != w {
				t.Errorf("%s: %s up = %v, want %v", when, n, got[n], w)
			}
		}
	}

	var s powerpolicy.State
	s, _ = run(c, s, mains(100), t0, act)
	s, _ = run(c, s, battery(100), t0.Add(time.Second), act)
	check("within the delay", map[string]bool{"wlan1": true, "guest0": true, "lan4": false})
	s, acts := run(c, s, powerpolicy.TickEvent(), t0.Add(3*time.Second), act)
	t.Logf("on battery: %q", acts)
	check("on battery", map[string]bool{"wlan1": false, "guest0": false, "lan4": false})
	if !slices.Equal(s.Shed, []string{"wlan1", "guest0"}) {
		t.Errorf("Shed = %q, want wlan1 guest0", s.Shed)
	}

	// The daemon restarts on battery: the persisted set survives.
	saved := powerpolicy.EncodeShed(s.Shed)
	names, err := powerpolicy.DecodeShed("shed", saved)
	if err != nil {
		t.Fatal(err)
	}
	s = powerpolicy.Resume(names)
	s, _ = run(c, s, battery(90), t0.Add(time.Minute), act)
	s, _ = run(c, s, powerpolicy.TickEvent(), t0.Add(time.Minute+2*time.Second), act)
	check("after restart on battery", map[string]bool{"wlan1": false, "guest0": false, "lan4": false})

	s, acts = run(c, s, mains(90), t0.Add(2*time.Minute), act)
	t.Logf("mains back: %q", acts)
	check("mains back", map[string]bool{"wlan1": true, "guest0": true, "lan4": false})
	if len(s.Shed) != 0 {
		t.Errorf("Shed = %q after restore", s.Shed)
	}
}
