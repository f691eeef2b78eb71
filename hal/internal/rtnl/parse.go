package rtnl

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// ErrShort means a message or attribute is shorter than its header says.
var ErrShort = errors.New("rtnetlink message too short")

// ErrNoAddress means an address message carries no usable IP address.
var ErrNoAddress = errors.New("no IP address")

// ParseLink parses the body of an RTM_NEWLINK/RTM_DELLINK message (after
// the netlink header).
func ParseLink(m []byte) (Link, error) {
	if len(m) < unix.SizeofIfInfomsg {
		return Link{}, fmt.Errorf("link message of %d bytes: %w", len(m), ErrShort)
	}
	msg := nl.DeserializeIfInfomsg(m)
	l := Link{Index: int(msg.Index), Flags: msg.Flags}
	attrs, err := parseAttrs(m[unix.SizeofIfInfomsg:])
	if err != nil {
		return Link{}, fmt.Errorf("link %d attributes: %w", l.Index, err)
	}
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.IFLA_IFNAME:
			l.Name = cString(a.Value)
		case unix.IFLA_OPERSTATE:
			if len(a.Value) >= 1 {
				l.OperState = a.Value[0]
			}
		}
	}
	return l, nil
}

// Addr is one interface address.
type Addr struct {
	Index  int          // the link's ifindex
	Prefix netip.Prefix // the local address with its prefix length
}

// ParseAddr parses the body of an RTM_NEWADDR message. The address is
// IFA_LOCAL when present (on a point-to-point link IFA_ADDRESS is the
// peer), IFA_ADDRESS otherwise; IPv4-mapped addresses are unmapped.
func ParseAddr(m []byte) (Addr, error) {
	if len(m) < unix.SizeofIfAddrmsg {
		return Addr{}, fmt.Errorf("address message of %d bytes: %w", len(m), ErrShort)
	}
	msg := nl.DeserializeIfAddrmsg(m)
	attrs, err := parseAttrs(m[unix.SizeofIfAddrmsg:])
	if err != nil {
		return Addr{}, fmt.Errorf("address of link %d attributes: %w", msg.Index, err)
	}
	var local, address []byte
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.IFA_LOCAL:
			local = a.Value
		case unix.IFA_ADDRESS:
			address = a.Value
		}
	}
	raw := address
	if local != nil {
		raw = local
	}
	ip, ok := netip.AddrFromSlice(raw)
	if !ok {
		return Addr{}, fmt.Errorf("address of link %d: %d bytes: %w", msg.Index, len(raw), ErrNoAddress)
	}
	p := netip.PrefixFrom(ip.Unmap(), int(msg.Prefixlen))
	if !p.IsValid() {
		return Addr{}, fmt.Errorf("address %s of link %d: prefix length %d out of range: %w", ip, msg.Index, msg.Prefixlen, ErrNoAddress)
	}
	return Addr{Index: int(msg.Index), Prefix: p}, nil
}

// Route is what Lifeline reads of a route.
type Route struct {
	Family uint8
	DstLen uint8  // 0: a default route
	Table  uint32 // RTA_TABLE when present, else rtm_table
	Type   uint8  // RTN_UNICAST, RTN_BLACKHOLE, ...
	Flags  uint32 // rtm_flags (RTM_F_CLONED, ...)
	OIF    int    // RTA_OIF, 0 when absent
	Hops   []int  // the ifindex of each RTA_MULTIPATH next hop
}

// ParseRoute parses the body of an RTM_NEWROUTE/RTM_DELROUTE message.
func ParseRoute(m []byte) (Route, error) {
	if len(m) < unix.SizeofRtMsg {
		return Route{}, fmt.Errorf("route message of %d bytes: %w", len(m), ErrShort)
	}
	msg := nl.DeserializeRtMsg(m)
	r := Route{Family: msg.Family, DstLen: msg.Dst_len, Table: uint32(msg.Table), Type: msg.Type, Flags: msg.Flags}
	attrs, err := parseAttrs(m[unix.SizeofRtMsg:])
	if err != nil {
		return Route{}, fmt.Errorf("route attributes: %w", err)
	}
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.RTA_TABLE:
			if len(a.Value) >= 4 {
				r.Table = nl.NativeEndian().Uint32(a.Value)
			}
		case unix.RTA_OIF:
			if len(a.Value) >= 4 {
				r.OIF = int(int32(nl.NativeEndian().Uint32(a.Value)))
			}
		case unix.RTA_MULTIPATH:
			if r.Hops, err = parseHops(a.Value); err != nil {
				return Route{}, err
			}
		}
	}
	return r, nil
}

// parseHops returns the ifindex of each struct rtnexthop in an
// RTA_MULTIPATH attribute.
func parseHops(b []byte) ([]int, error) {
	var hops []int
	for len(b) > 0 {
		if len(b) < unix.SizeofRtNexthop {
			return nil, fmt.Errorf("multipath next hop of %d bytes: %w", len(b), ErrShort)
		}
		nh := nl.DeserializeRtNexthop(b)
		n := int(nh.RtNexthop.Len)
		if n < unix.SizeofRtNexthop || n > len(b) {
			return nil, fmt.Errorf("multipath next hop length %d of %d bytes: %w", n, len(b), ErrShort)
		}
		hops = append(hops, int(nh.RtNexthop.Ifindex))
		b = b[min(align(n), len(b)):]
	}
	return hops, nil
}

// parseAttrs parses rtnetlink attributes with nl.ParseRouteAttr, which
// slices past the end of a buffer whose last attribute is not padded to 4
// bytes (the kernel always pads; a truncated message need not).
func parseAttrs(b []byte) ([]syscall.NetlinkRouteAttr, error) {
	if n := align(len(b)); n != len(b) {
		b = append(b[:len(b):len(b)], make([]byte, n-len(b))...)
	}
	return nl.ParseRouteAttr(b)
}

// align rounds n up to the 4-byte alignment of rtnetlink attributes.
func align(n int) int { return (n + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1) }

// cString returns b up to its first NUL byte.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
