package netmon

import (
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"lifeline/hal/internal/rtnl"
)

func pfx(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, x := range s {
		out = append(out, netip.MustParsePrefix(x))
	}
	return out
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
	up := rtnl.Link{Index: 7, Name: "wan", Flags: unix.IFF_UP | unix.IFF_RUNNING | unix.IFF_LOWER_UP, OperState: rtnl.OperUp}
	noCarrier := rtnl.Link{Index: 7, Name: "wan", Flags: unix.IFF_UP, OperState: rtnl.OperLowerLayerDown}
	down := rtnl.Link{Index: 7, Name: "wan", OperState: rtnl.OperDown}
	dormant := rtnl.Link{Index: 7, Name: "wan", Flags: unix.IFF_UP | unix.IFF_LOWER_UP | unix.IFF_DORMANT, OperState: rtnl.OperDormant}
	ppp := rtnl.Link{Index: 9, Name: "pppoe-wan", Flags: unix.IFF_UP | unix.IFF_LOWER_UP | unix.IFF_POINTOPOINT, OperState: rtnl.OperUnknown}

	main := uint32(unix.RT_TABLE_MAIN)
	def4 := rtnl.Route{OIF: 7, Table: main, Type: unix.RTN_UNICAST}
	def6 := rtnl.Route{Family: unix.AF_INET6, OIF: 7, Table: main, Type: unix.RTN_UNICAST}
	other4 := rtnl.Route{OIF: 3, Table: main, Type: unix.RTN_UNICAST}
	subnet4 := rtnl.Route{OIF: 7, DstLen: 24, Table: main, Type: unix.RTN_UNICAST}
	table100 := rtnl.Route{OIF: 7, Table: 100, Type: unix.RTN_UNICAST}
	blackhole := rtnl.Route{Table: main, Type: unix.RTN_BLACKHOLE, OIF: 7}
	unreach6 := rtnl.Route{Table: main, Type: unix.RTN_UNREACHABLE, OIF: 7}
	multipath := rtnl.Route{Table: main, Type: unix.RTN_UNICAST, Hops: []int{3, 0, 7}}
	multipathOther := rtnl.Route{Table: main, Type: unix.RTN_UNICAST, Hops: []int{3, 4}}
	typeUnspec := rtnl.Route{OIF: 7}

	tests := []struct {
		name   string
		link   rtnl.Link
		addrs  []netip.Prefix
		r4, r6 []rtnl.Route
		want   WANState
	}{
		{"healthy dual stack", up,
			pfx("2001:db8::2/64", "192.0.2.2/24", "fe80::2/64"),
			[]rtnl.Route{other4, subnet4, def4}, []rtnl.Route{def6},
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up",
				Addrs: pfx("192.0.2.2/24", "2001:db8::2/64", "fe80::2/64"), DefaultRoute4: true, DefaultRoute6: true}},
		{"no carrier keeps addresses", noCarrier, pfx("192.0.2.2/24"), nil, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, OperState: "lowerlayerdown",
				Addrs: pfx("192.0.2.2/24")}},
		{"admin down", down, nil, nil, nil,
			WANState{Interface: "wan", Present: true, Index: 7, OperState: "down"}},
		{"dormant", dormant, nil, []rtnl.Route{def4}, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "dormant", DefaultRoute4: true}},
		{"ppp operstate unknown", ppp, pfx("198.51.100.7/32"),
			[]rtnl.Route{{OIF: 9, Table: main, Type: unix.RTN_UNICAST}}, nil,
			WANState{Interface: "wan", Present: true, Index: 9, AdminUp: true, Carrier: true, OperState: "unknown",
				Addrs: pfx("198.51.100.7/32"), DefaultRoute4: true}},
		{"default via another interface", up, nil, []rtnl.Route{other4}, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up"}},
		{"only the connected subnet", up, nil, []rtnl.Route{subnet4}, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up"}},
		{"default in another table ignored", up, nil, []rtnl.Route{table100}, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up"}},
		{"blackhole and unreachable defaults ignored", up, nil, []rtnl.Route{blackhole}, []rtnl.Route{unreach6},
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up"}},
		{"multipath next hop through wan", up, nil, []rtnl.Route{multipath}, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up", DefaultRoute4: true}},
		{"multipath elsewhere", up, nil, []rtnl.Route{multipathOther}, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up"}},
		{"route type and table unset", up, nil, []rtnl.Route{typeUnspec}, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up", DefaultRoute4: true}},
		{"duplicate addresses", up, pfx("192.0.2.2/24", "192.0.2.2/24"), nil, nil,
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up",
				Addrs: pfx("192.0.2.2/24")}},
		{"v6 default only", up, nil, nil, []rtnl.Route{def6},
			WANState{Interface: "wan", Present: true, Index: 7, AdminUp: true, Carrier: true, OperState: "up", DefaultRoute6: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := stateFrom("wan", tt.link, tt.addrs, tt.r4, tt.r6)
			if c := got.Changed(tt.want); c != 0 {
				t.Errorf("stateFrom differs in %v:\n got %+v\nwant %+v", c, got, tt.want)
			}
			if !slices.IsSortedFunc(got.Addrs, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) }) {
				t.Errorf("addresses not sorted: %v", got.Addrs)
			}
		})
	}
}
