package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"lifeline/hal/netmon/netnstest"
)

// The WAN's link is netmon's judgement, not carrier alone: a WAN in
// dormant mode whose carrier comes back stays "dormant" (as an 802.1X port
// is until its supplicant authenticates), keeps its carrier and its
// default route, and carries nothing: the status says link down and the
// route stays pstn. (Before, the daemon took Present && Carrier and showed
// link up.) Back in default mode it is up again and the route fails back.
func TestE2ENetnsDormantWANIsDown(t *testing.T) {
	p, e := netnsGeneric(t)
	flap := func() {
		p.In(p.Internet, "link", "set", netnstest.Peer, "down")
		p.In(p.Internet, "link", "set", netnstest.Peer, "up")
	}
	p.In(p.Router, "link", "set", netnstest.WAN, "mode", "dormant")
	flap()
	st := e.waitFor("dormant WAN with carrier", func(st map[string]any) bool {
		return field(st, "wan.operstate") == "dormant" && field(st, "wan.carrier") == true
	})
	if field(st, "wan.link") != "down" || st["route"] != "pstn" || !strings.Contains(st["reason"].(string), "WAN link down") {
		t.Fatalf("dormant WAN: link %v, route %v (%v); want link down, pstn for WAN link down", field(st, "wan.link"), st["route"], st["reason"])
	}
	p.In(p.Router, "link", "set", netnstest.WAN, "mode", "default")
	flap()
	e.waitFor("WAN up again → sip", func(st map[string]any) bool {
		return field(st, "wan.link") == "up" && st["route"] == "sip"
	})
}

// netnsGeneric runs the real binary on the generic board in the router
// namespace of a fresh veth pair (failback_hold 1s) and waits for its WAN
// to be healthy. It skips unless root with ip(8).
func netnsGeneric(t *testing.T) (*netnstest.Pair, *e2e) {
	p := netnstest.NewPair(t)
	e := newE2E(t, "1s")
	e.wrap = []string{"ip", "netns", "exec", p.Router}
	e.board = "generic"
	e.writeConfig(fmt.Sprintf("config lifeline 'main'\n\toption wan_interface '%s'\n\toption failback_hold '1s'\n\toption hooks_dir '%s'\n",
		netnstest.WAN, filepath.Join(e.dir, "hooks.d")))
	e.start()
	e.waitFor("healthy WAN", func(st map[string]any) bool {
		return st["route"] == "sip" && field(st, "wan.link") == "up" && field(st, "wan.default_route") == true
	})
	return p, e
}
