package rtnl

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// msg serialises a fixed header followed by attributes, as the kernel
// lays out a message body.
func msg(hdr nl.NetlinkRequestData, attrs ...*nl.RtAttr) []byte {
	b := hdr.Serialize()
	for _, a := range attrs {
		b = append(b, a.Serialize()...)
	}
	return b
}

func linkMsg(index int32, flags uint32, name string, oper uint8) []byte {
	h := nl.NewIfInfomsg(unix.AF_UNSPEC)
	h.Index, h.Flags = index, flags
	return msg(h, nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)),
		nl.NewRtAttr(unix.IFLA_OPERSTATE, []byte{oper}))
}

func addrMsg(family, prefixLen, index int, attrs ...*nl.RtAttr) []byte {
	h := nl.NewIfAddrmsg(family)
	h.Prefixlen, h.Index = uint8(prefixLen), uint32(index)
	return msg(h, attrs...)
}

func routeMsg(family, dstLen, table, typ int, flags uint32, attrs ...*nl.RtAttr) []byte {
	h := &nl.RtMsg{}
	h.Family, h.Dst_len, h.Table, h.Type, h.Flags = uint8(family), uint8(dstLen), uint8(table), uint8(typ), flags
	return msg(h, attrs...)
}

// multipath builds an RTA_MULTIPATH value with one next hop per ifindex,
// each carrying a gateway attribute as the kernel sends it.
func multipath(ifindexes ...int) *nl.RtAttr {
	var v []byte
	for _, i := range ifindexes {
		nh := &nl.RtNexthop{RtNexthop: unix.RtNexthop{Ifindex: int32(i)}}
		nh.Children = []nl.NetlinkRequestData{nl.NewRtAttr(unix.RTA_GATEWAY, []byte{192, 0, 2, 1})}
		b := nh.Serialize()
		v = append(v, b...)
	}
	return nl.NewRtAttr(unix.RTA_MULTIPATH, v)
}

func u32(v uint32) []byte { return nl.Uint32Attr(v) }

func TestParseLink(t *testing.T) {
	l, err := ParseLink(linkMsg(7, unix.IFF_UP|unix.IFF_LOWER_UP, "wan", OperDormant))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Link{Name: "wan", Index: 7, Flags: unix.IFF_UP | unix.IFF_LOWER_UP, OperState: OperDormant}); l != want {
		t.Errorf("got %+v, want %+v", l, want)
	}
	if _, err := ParseLink(make([]byte, unix.SizeofIfInfomsg-1)); !errors.Is(err, ErrShort) {
		t.Errorf("short message: %v, want ErrShort", err)
	}
	bad := append(nl.NewIfInfomsg(0).Serialize(), 0xff, 0x00, 0x03, 0x00) // attribute longer than the message
	if _, err := ParseLink(bad); err == nil {
		t.Error("bad attribute length accepted")
	}
}

func TestParseAddr(t *testing.T) {
	v4 := []byte{192, 0, 2, 2}
	peer := []byte{198, 51, 100, 1}
	mapped := netip.MustParseAddr("::ffff:192.0.2.9").AsSlice()
	tests := []struct {
		name    string
		m       []byte
		want    Addr
		wantErr error
	}{
		{"ipv4 local and address", addrMsg(unix.AF_INET, 24, 7,
			nl.NewRtAttr(unix.IFA_ADDRESS, v4), nl.NewRtAttr(unix.IFA_LOCAL, v4)),
			Addr{7, netip.MustParsePrefix("192.0.2.2/24")}, nil},
		{"point-to-point: local, not the peer", addrMsg(unix.AF_INET, 32, 9,
			nl.NewRtAttr(unix.IFA_ADDRESS, peer), nl.NewRtAttr(unix.IFA_LOCAL, v4)),
			Addr{9, netip.MustParsePrefix("192.0.2.2/32")}, nil},
		{"ipv6 address only", addrMsg(unix.AF_INET6, 64, 7,
			nl.NewRtAttr(unix.IFA_ADDRESS, netip.MustParseAddr("2001:db8::2").AsSlice())),
			Addr{7, netip.MustParsePrefix("2001:db8::2/64")}, nil},
		{"mapped address unmapped", addrMsg(unix.AF_INET6, 24, 7, nl.NewRtAttr(unix.IFA_ADDRESS, mapped)),
			Addr{7, netip.MustParsePrefix("192.0.2.9/24")}, nil},
		{"no address", addrMsg(unix.AF_INET, 24, 7), Addr{}, ErrNoAddress},
		{"prefix too long", addrMsg(unix.AF_INET, 33, 7, nl.NewRtAttr(unix.IFA_LOCAL, v4)), Addr{}, ErrNoAddress},
		{"short", make([]byte, 3), Addr{}, ErrShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAddr(tt.m)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseRoute(t *testing.T) {
	tests := []struct {
		name    string
		m       []byte
		want    Route
		wantErr error
	}{
		{"ipv4 default", routeMsg(unix.AF_INET, 0, unix.RT_TABLE_MAIN, unix.RTN_UNICAST, 0,
			nl.NewRtAttr(unix.RTA_TABLE, u32(unix.RT_TABLE_MAIN)), nl.NewRtAttr(unix.RTA_GATEWAY, []byte{192, 0, 2, 1}),
			nl.NewRtAttr(unix.RTA_OIF, u32(7))),
			Route{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, OIF: 7}, nil},
		{"table past 255", routeMsg(unix.AF_INET, 0, unix.RT_TABLE_COMPAT, unix.RTN_UNICAST, 0,
			nl.NewRtAttr(unix.RTA_TABLE, u32(1000)), nl.NewRtAttr(unix.RTA_OIF, u32(7))),
			Route{Family: unix.AF_INET, Table: 1000, Type: unix.RTN_UNICAST, OIF: 7}, nil},
		{"subnet, cloned", routeMsg(unix.AF_INET6, 64, unix.RT_TABLE_MAIN, unix.RTN_UNICAST, unix.RTM_F_CLONED),
			Route{Family: unix.AF_INET6, DstLen: 64, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Flags: unix.RTM_F_CLONED}, nil},
		{"multipath", routeMsg(unix.AF_INET, 0, unix.RT_TABLE_MAIN, unix.RTN_UNICAST, 0, multipath(3, 7)),
			Route{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Hops: []int{3, 7}}, nil},
		{"multipath hop too short", routeMsg(unix.AF_INET, 0, unix.RT_TABLE_MAIN, unix.RTN_UNICAST, 0,
			nl.NewRtAttr(unix.RTA_MULTIPATH, []byte{4, 0, 0, 0, 0, 0, 0, 0})), Route{}, ErrShort},
		{"multipath hop longer than the attribute", routeMsg(unix.AF_INET, 0, unix.RT_TABLE_MAIN, unix.RTN_UNICAST, 0,
			nl.NewRtAttr(unix.RTA_MULTIPATH, []byte{16, 0, 0, 0, 0, 0, 0, 0})), Route{}, ErrShort},
		{"short", make([]byte, unix.SizeofRtMsg-1), Route{}, ErrShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRoute(tt.m)
			if !errors.Is(err, tt.wantErr) || !routeEqual(got, tt.want) {
				t.Errorf("got %+v, %v; want %+v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func routeEqual(a, b Route) bool {
	return slices.Equal(a.Hops, b.Hops) && a.Family == b.Family && a.DstLen == b.DstLen &&
		a.Table == b.Table && a.Type == b.Type && a.Flags == b.Flags && a.OIF == b.OIF
}

// The parsers read what the kernel sends; fuzzing checks they never panic
// on a truncated or inconsistent message and return something or an error.

func FuzzParseLink(f *testing.F) {
	f.Add(linkMsg(7, unix.IFF_UP, "wan", OperUp))
	f.Add(make([]byte, unix.SizeofIfInfomsg))
	f.Fuzz(func(t *testing.T, b []byte) {
		if l, err := ParseLink(b); err != nil && l != (Link{}) {
			t.Errorf("error %v with a link %+v", err, l)
		}
	})
}

func FuzzParseAddr(f *testing.F) {
	f.Add(addrMsg(unix.AF_INET, 24, 7, nl.NewRtAttr(unix.IFA_LOCAL, []byte{192, 0, 2, 2})))
	f.Add(addrMsg(unix.AF_INET6, 64, 7, nl.NewRtAttr(unix.IFA_ADDRESS, make([]byte, 16))))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAddr(b)
		if err == nil && !a.Prefix.IsValid() {
			t.Errorf("invalid prefix without an error: %+v", a)
		}
	})
}

func FuzzParseRoute(f *testing.F) {
	f.Add(routeMsg(unix.AF_INET, 0, unix.RT_TABLE_MAIN, unix.RTN_UNICAST, 0, nl.NewRtAttr(unix.RTA_OIF, u32(7))))
	f.Add(routeMsg(unix.AF_INET, 0, unix.RT_TABLE_MAIN, unix.RTN_UNICAST, 0, multipath(3, 7)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := ParseRoute(b); err != nil && !routeEqual(r, Route{}) {
			t.Errorf("error %v with a route %+v", err, r)
		}
	})
}
