package netmon

import (
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func pfx(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, x := range s {
		out = append(out, netip.MustParsePrefix(x))
	}
	return out
}

func ipnet(s string) *net.IPNet {
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	n.IP = ip
	return n
}

func healthy() WANState {
	return WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up",
		Addrs: pfx("192.0.2.2/24", "2001:db8::2/64"), DefaultRoute4: true, DefaultRoute6: true}
}

func TestWANStatePredicates(t *testing.T) {
	tests := []struct {
		name                 string
		mut                  func(*WANState)
		up, defRoute, usable bool
	}{
		{"healthy", func(*WANState) {}, true, true, true},
		{"absent", func(s *WANState) { *s = WANState{Interface: "wan"} }, false, false, false},
		{"no carrier", func(s *WANState) { s.Carrier = false }, false, true, false},
		{"admin down", func(s *WANState) { s.AdminUp = false }, false, true, false},
		{"operstate down", func(s *WANState) { s.OperState = "down" }, false, true, false},
		{"operstate lowerlayerdown", func(s *WANState) { s.OperState = "lowerlayerdown" }, false, true, false},
		{"operstate dormant", func(s *WANState) { s.OperState = "dormant" }, false, true, false},
		{"operstate unknown (ppp)", func(s *WANState) { s.OperState = "unknown" }, true, true, true},
		{"v4 default only", func(s *WANState) { s.DefaultRoute6 = false }, true, true, true},
		{"v6 default only", func(s *WANState) { s.DefaultRoute4 = false }, true, true, true},
		{"no default route", func(s *WANState) { s.DefaultRoute4, s.DefaultRoute6 = false, false }, true, false, false},
		{"no addresses still up", func(s *WANState) { s.Addrs = nil }, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := healthy()
			tt.mut(&s)
			if got := s.Up(); got != tt.up {
				t.Errorf("Up() = %v, want %v", got, tt.up)
			}
			if got := s.DefaultRoute(); got != tt.defRoute {
				t.Errorf("DefaultRoute() = %v, want %v", got, tt.defRoute)
			}
			if got := s.Usable(); got != tt.usable {
				t.Errorf("Usable() = %v, want %v", got, tt.usable)
			}
		})
	}
}

func TestChanged(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*WANState)
		want Change
	}{
		{"identical", func(*WANState) {}, 0},
		{"interface name", func(s *WANState) { s.Interface = "wan6" }, ChangeInterface},
		{"vanished", func(s *WANState) { *s = WANState{Interface: "wan"} },
			ChangePresent | ChangeIndex | ChangeAdminUp | ChangeCarrier | ChangeOperState | ChangeAddrs | ChangeDefaultRoute4 | ChangeDefaultRoute6},
		{"re-created with new index", func(s *WANState) { s.Index = 8 }, ChangeIndex},
		{"admin down", func(s *WANState) { s.AdminUp = false }, ChangeAdminUp},
		{"carrier lost", func(s *WANState) { s.Carrier = false; s.OperState = "lowerlayerdown" }, ChangeCarrier | ChangeOperState},
		{"operstate only", func(s *WANState) { s.OperState = "dormant" }, ChangeOperState},
		{"address removed", func(s *WANState) { s.Addrs = pfx("2001:db8::2/64") }, ChangeAddrs},
		{"address added", func(s *WANState) { s.Addrs = append(s.Addrs, pfx("198.51.100.1/32")...) }, ChangeAddrs},
		{"prefix length changed", func(s *WANState) { s.Addrs = pfx("192.0.2.2/25", "2001:db8::2/64") }, ChangeAddrs},
		{"v4 default gone", func(s *WANState) { s.DefaultRoute4 = false }, ChangeDefaultRoute4},
		{"v6 default gone", func(s *WANState) { s.DefaultRoute6 = false }, ChangeDefaultRoute6},
		{"both defaults gone", func(s *WANState) { s.DefaultRoute4, s.DefaultRoute6 = false, false }, ChangeDefaultRoute4 | ChangeDefaultRoute6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev := healthy()
			cur := healthy()
			tt.mut(&cur)
			if got := cur.Changed(prev); got != tt.want {
				t.Errorf("Changed = %v, want %v", got, tt.want)
			}
			if got := prev.Changed(cur); got != tt.want {
				t.Errorf("Changed is not symmetric: %v, want %v", got, tt.want)
			}
			if cur.Equal(prev) != (tt.want == 0) {
				t.Errorf("Equal = %v, want %v", cur.Equal(prev), tt.want == 0)
			}
		})
	}
}

func TestChangedNilVersusEmptyAddrs(t *testing.T) {
	a, b := healthy(), healthy()
	a.Addrs, b.Addrs = nil, []netip.Prefix{}
	if c := a.Changed(b); c != 0 {
		t.Errorf("nil and empty address lists differ: %v", c)
	}
}

func TestChangeString(t *testing.T) {
	tests := []struct {
		name string
		c    Change
		want string
	}{
		{"none", 0, "none"},
		{"one", ChangeCarrier, "carrier"},
		{"several", ChangePresent | ChangeAddrs | ChangeDefaultRoute6, "present|addrs|default6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStateFrom(t *testing.T) {
	up := &netlink.LinkAttrs{Index: 7, Name: "wan", Flags: net.FlagUp | net.FlagRunning,
		RawFlags: unix.IFF_UP | unix.IFF_RUNNING | unix.IFF_LOWER_UP, OperState: netlink.OperUp}
	noCarrier := &netlink.LinkAttrs{Index: 7, Name: "wan", Flags: net.FlagUp,
		RawFlags: unix.IFF_UP, OperState: netlink.OperLowerLayerDown}
	down := &netlink.LinkAttrs{Index: 7, Name: "wan", OperState: netlink.OperDown}
	ppp := &netlink.LinkAttrs{Index: 9, Name: "pppoe-wan", Flags: net.FlagUp | net.FlagPointToPoint,
		RawFlags: unix.IFF_UP | unix.IFF_LOWER_UP | unix.IFF_POINTOPOINT, OperState: netlink.OperUnknown}

	def4 := netlink.Route{LinkIndex: 7, Gw: net.ParseIP("192.0.2.1"), Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST}
	def4zero := netlink.Route{LinkIndex: 7, Dst: ipnet("0.0.0.0/0"), Gw: net.ParseIP("192.0.2.1"), Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST}
	def6 := netlink.Route{LinkIndex: 7, Dst: ipnet("::/0"), Gw: net.ParseIP("fe80::1"), Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST}
	other4 := netlink.Route{LinkIndex: 3, Gw: net.ParseIP("10.0.0.1"), Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST}
	subnet4 := netlink.Route{LinkIndex: 7, Dst: ipnet("192.0.2.0/24"), Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST}
	table100 := netlink.Route{LinkIndex: 7, Gw: net.ParseIP("192.0.2.1"), Table: 100, Type: unix.RTN_UNICAST}
	blackhole := netlink.Route{Table: unix.RT_TABLE_MAIN, Type: unix.RTN_BLACKHOLE, LinkIndex: 7}
	unreach6 := netlink.Route{Dst: ipnet("::/0"), Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNREACHABLE, LinkIndex: 7}
	multipath := netlink.Route{Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST,
		MultiPath: []*netlink.NexthopInfo{{LinkIndex: 3}, nil, {LinkIndex: 7}}}
	multipathOther := netlink.Route{Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST,
		MultiPath: []*netlink.NexthopInfo{{LinkIndex: 3}, {LinkIndex: 4}}}
	typeUnspec := netlink.Route{LinkIndex: 7, Gw: net.ParseIP("192.0.2.1")}
	addr := func(s string) netlink.Addr { return netlink.Addr{IPNet: ipnet(s)} }

	tests := []struct {
		name   string
		attrs  *netlink.LinkAttrs
		addrs  []netlink.Addr
		r4, r6 []netlink.Route
		want   WANState
	}{
		{"healthy dual stack", up,
			[]netlink.Addr{addr("2001:db8::2/64"), addr("192.0.2.2/24"), addr("fe80::2/64")},
			[]netlink.Route{other4, subnet4, def4}, []netlink.Route{def6},
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up",
				Addrs: pfx("192.0.2.2/24", "2001:db8::2/64", "fe80::2/64"), DefaultRoute4: true, DefaultRoute6: true}},
		{"no carrier keeps addresses", noCarrier, []netlink.Addr{addr("192.0.2.2/24")}, nil, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, OperState: "lowerlayerdown",
				Addrs: pfx("192.0.2.2/24")}},
		{"admin down", down, nil, nil, nil,
			WANState{Interface: "wan", Present: true, Index: 7, OperState: "down"}},
		{"ppp operstate unknown", ppp, []netlink.Addr{addr("198.51.100.7/32")},
			[]netlink.Route{{LinkIndex: 9, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST}}, nil,
			WANState{Interface: "wan", Present: true, Index: 9, AdminUp: true, Carrier: true, OperState: "unknown",
				Addrs: pfx("198.51.100.7/32"), DefaultRoute4: true}},
		{"explicit 0.0.0.0/0 dst", up, nil, []netlink.Route{def4zero}, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up", DefaultRoute4: true}},
		{"default via another interface", up, nil, []netlink.Route{other4}, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up"}},
		{"only the connected subnet", up, nil, []netlink.Route{subnet4}, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up"}},
		{"default in another table ignored", up, nil, []netlink.Route{table100}, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up"}},
		{"blackhole and unreachable defaults ignored", up, nil, []netlink.Route{blackhole}, []netlink.Route{unreach6},
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up"}},
		{"multipath next hop through wan", up, nil, []netlink.Route{multipath}, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up", DefaultRoute4: true}},
		{"multipath elsewhere", up, nil, []netlink.Route{multipathOther}, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up"}},
		{"route type and table unset", up, nil, []netlink.Route{typeUnspec}, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up", DefaultRoute4: true}},
		{"duplicate, mapped and nil addresses", up,
			[]netlink.Addr{addr("192.0.2.2/24"), {IPNet: &net.IPNet{IP: net.ParseIP("192.0.2.2"), Mask: net.CIDRMask(24, 32)}}, {}},
			nil, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up",
				Addrs: pfx("192.0.2.2/24")}},
		{"v6 default only", up, nil, nil, []netlink.Route{def6},
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up", DefaultRoute6: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := stateFrom("wan", tt.attrs, tt.addrs, tt.r4, tt.r6)
			if c := got.Changed(tt.want); c != 0 {
				t.Errorf("stateFrom differs in %v:\n got %+v\nwant %+v", c, got, tt.want)
			}
			if !slices.IsSortedFunc(got.Addrs, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) }) {
				t.Errorf("addresses not sorted: %v", got.Addrs)
			}
		})
	}
}
