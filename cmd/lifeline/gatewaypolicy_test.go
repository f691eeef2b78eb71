package main

import (
	"net/netip"
	"slices"
	"testing"

	"lifeline/daemon"
)

func TestIncomingHost(t *testing.T) {
	for in, want := range map[string]string{
		"sip:phones@192.168.1.1:5060":        "192.168.1.1",
		"sip:phones@192.168.1.1":             "192.168.1.1",
		"sip:192.168.1.2;transport=udp":      "192.168.1.2",
		"sip:a@[fd00::1]:5060":               "fd00::1",
		"sip:a@[fd00::2]":                    "fd00::2",
		"sip:a@::ffff:10.0.0.1":              "10.0.0.1",
		"sip:phones@kamailio.lan:5060":       "",
		"sips:phones@192.168.1.1":            "",
		"":                                   "",
		"sip:user:pw@192.168.1.3:5060?x=y":   "192.168.1.3",
		"sip:phones@192.168.1.1:5060;lr=1@x": "",
	} {
		a, ok := incomingHost(in)
		if got := ""; ok {
			got = a.String()
			if got != want {
				t.Errorf("incomingHost(%q) = %s, want %q", in, got, want)
			}
		} else if want != "" {
			t.Errorf("incomingHost(%q) failed, want %s", in, want)
		}
	}
}

func TestGatewaySources(t *testing.T) {
	g := &daemon.GatewayConfig{Listen: netip.MustParseAddrPort("[::]:5080"), RTPAddress: netip.MustParseAddr("192.168.1.1"), Incoming: "sip:phones@192.168.1.5:5060",
		GatewayPolicy: daemon.GatewayPolicy{AllowSource: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	src := gatewaySources(g)
	in := func(a string) bool {
		return slices.ContainsFunc(src, func(p netip.Prefix) bool { return p.Contains(netip.MustParseAddr(a)) })
	}
	for _, a := range []string{"127.0.0.1", "127.1.2.3", "::1", "192.168.1.1", "192.168.1.5", "10.9.8.7"} {
		if !in(a) {
			t.Errorf("%s may not place calls; sources %v", a, src)
		}
	}
	for _, a := range []string{"192.168.1.2", "203.0.113.9", "fd00::1"} {
		if in(a) {
			t.Errorf("%s may place calls; sources %v", a, src)
		}
	}
}

func TestGatewayBind(t *testing.T) {
	cfg := func(listen, rtp string) *daemon.Config {
		return &daemon.Config{WANInterface: "no-such-wan0", Gateway: &daemon.GatewayConfig{Name: "gw",
			Listen: netip.MustParseAddrPort(listen), RTPAddress: netip.MustParseAddr(rtp)}}
	}
	for _, tc := range []struct {
		listen, rtp string
		want        []string
	}{
		{"192.168.1.1:5080", "192.168.1.1", []string{"192.168.1.1:5080"}},
		{"[::]:5080", "192.168.1.1", []string{"192.168.1.1:5080", "127.0.0.1:5080"}},
		{"[::]:5080", "fd00::1", []string{"[fd00::1]:5080", "[::1]:5080"}},
		{"[::]:5080", "127.0.0.1", []string{"127.0.0.1:5080"}},
	} {
		binds, err := gatewayBind(cfg(tc.listen, tc.rtp))
		var got []string
		for _, b := range binds {
			got = append(got, b.String())
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("listen %s rtp %s: %v, %v; want %v", tc.listen, tc.rtp, got, err, tc.want)
		}
	}
	// The loopback interface as the WAN: its addresses are loopback,
	// reachable from this host only, so allowed.
	c := cfg("127.0.0.1:5080", "127.0.0.1")
	c.WANInterface = "lo"
	if _, err := gatewayBind(c); err != nil {
		t.Fatalf("loopback on a WAN named lo: %v", err)
	}
}
