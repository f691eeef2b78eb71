// Package rtnl is the small rtnetlink layer hal/netmon and hal/ifctl share:
// one NETLINK_ROUTE request socket (in a chosen network namespace), link
// lookup by name and setting a link up or down, and bounds-checked parsers
// for the link, address and route messages the kernel sends.
//
// It is built on the request/message layer of vishvananda/netlink (package
// nl: sockets, requests, message structs, attribute parsing) and not on
// netlink.Handle, whose methods link in the whole library (xfrm, tc, bpf,
// devlink, ...) — about 260 KB of a mipsle binary for the three requests
// Lifeline makes.
package rtnl

import (
	"errors"
	"net/netip"
	"sync"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrLinkNotFound means no link has the name asked for.
var ErrLinkNotFound = errors.New("link not found")

// Conn is one NETLINK_ROUTE socket for requests. Requests on it are
// serialised by nl (one at a time per socket); Close must not race them.
type Conn struct {
	sh     *nl.SocketHandle
	mu     sync.Mutex // guards byDump
	byDump bool       // the kernel refused a lookup by name: dump and filter
}

// Open opens a request socket in the network namespace ns, or in the
// caller's when ns is not open (netns.None()).
func Open(ns netns.NsHandle) (*Conn, error) {
	s, err := nl.GetNetlinkSocketAt(ns, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	return &Conn{sh: &nl.SocketHandle{Socket: s}}, nil
}

// Close closes the socket.
func (c *Conn) Close() { c.sh.Close() }

// Request returns a request of type typ with flags on this socket.
func (c *Conn) Request(typ, flags int, data ...nl.NetlinkRequestData) *nl.NetlinkRequest {
	req := nl.NewNetlinkRequest(typ, flags)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: c.sh}
	for _, d := range data {
		req.AddData(d)
	}
	return req
}

// Operational states of a link (IFLA_OPERSTATE, RFC 2863; linux/if.h).
const (
	OperUnknown uint8 = iota
	OperNotPresent
	OperDown
	OperLowerLayerDown
	OperTesting
	OperDormant
	OperUp
)

// Link is what Lifeline reads of a link.
type Link struct {
	Name      string
	Index     int
	Flags     uint32 // IFF_* as the kernel reports them (IFF_UP, IFF_LOWER_UP, ...)
	OperState uint8  // IF_OPER_* (RFC 2863)
}

// LinkByName returns the link named name, or ErrLinkNotFound.
func (c *Conn) LinkByName(name string) (Link, error) {
	c.mu.Lock()
	byDump := c.byDump
	c.mu.Unlock()
	if !byDump {
		req := c.Request(unix.RTM_GETLINK, unix.NLM_F_ACK, nl.NewIfInfomsg(unix.AF_UNSPEC),
			nl.NewRtAttr(unix.IFLA_EXT_MASK, nl.Uint32Attr(nl.RTEXT_FILTER_VF)),
			nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
		l, found, err := c.findLink(req, name)
		switch {
		case errors.Is(err, unix.ENODEV):
			return Link{}, ErrLinkNotFound
		case errors.Is(err, unix.EINVAL):
			// Kernels before 2.6.33 cannot look a link up by name.
			c.mu.Lock()
			c.byDump = true
			c.mu.Unlock()
		case err != nil:
			return Link{}, err
		case found:
			return l, nil
		default:
			return Link{}, ErrLinkNotFound
		}
	}
	l, found, err := c.findLink(c.Request(unix.RTM_GETLINK, unix.NLM_F_DUMP, nl.NewIfInfomsg(unix.AF_UNSPEC)), name)
	if err != nil {
		return Link{}, err
	}
	if !found {
		return Link{}, ErrLinkNotFound
	}
	return l, nil
}

// findLink executes req and returns the link named name among the answers.
func (c *Conn) findLink(req *nl.NetlinkRequest, name string) (Link, bool, error) {
	var (
		l     Link
		found bool
	)
	err := req.ExecuteIter(unix.NETLINK_ROUTE, unix.RTM_NEWLINK, func(m []byte) bool {
		if got, err := ParseLink(m); err == nil && got.Name == name {
			l, found = got, true
			return false
		}
		return true
	})
	return l, found, err
}

// SetUp sets the link with index administratively up or down (IFF_UP).
func (c *Conn) SetUp(index int, up bool) error {
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	msg.Change = unix.IFF_UP
	if up {
		msg.Flags = unix.IFF_UP
	}
	_, err := c.Request(unix.RTM_NEWLINK, unix.NLM_F_ACK, msg).Execute(unix.NETLINK_ROUTE, 0)
	return err
}

// Addrs returns the addresses of the link with index (IPv4 and IPv6).
func (c *Conn) Addrs(index int) ([]netip.Prefix, error) {
	var (
		out  []netip.Prefix
		perr error
	)
	err := c.Request(unix.RTM_GETADDR, unix.NLM_F_DUMP, nl.NewIfAddrmsg(unix.AF_UNSPEC)).
		ExecuteIter(unix.NETLINK_ROUTE, unix.RTM_NEWADDR, func(m []byte) bool {
			a, err := ParseAddr(m)
			if errors.Is(err, ErrNoAddress) {
				return true // nothing Lifeline can use
			}
			if err != nil {
				perr = err
				return false
			}
			if a.Index == index {
				out = append(out, a.Prefix)
			}
			return true
		})
	if err == nil {
		err = perr
	}
	return out, err
}

// Routes returns the routes of family (unix.AF_INET, unix.AF_INET6) in the
// main table, cloned (cached) routes left out.
func (c *Conn) Routes(family int) ([]Route, error) {
	var (
		out  []Route
		perr error
	)
	msg := &nl.RtMsg{}
	msg.Family = uint8(family)
	err := c.Request(unix.RTM_GETROUTE, unix.NLM_F_DUMP, msg).
		ExecuteIter(unix.NETLINK_ROUTE, unix.RTM_NEWROUTE, func(m []byte) bool {
			r, err := ParseRoute(m)
			if err != nil {
				perr = err
				return false
			}
			// RTA_TABLE is 254 exactly when rtm_table is (tables past
			// 255 have rtm_table RT_TABLE_COMPAT).
			if r.Family == uint8(family) && r.Flags&unix.RTM_F_CLONED == 0 && r.Table == unix.RT_TABLE_MAIN {
				out = append(out, r)
			}
			return true
		})
	if err == nil {
		err = perr
	}
	return out, err
}
