package netmon

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"lifeline/hal/internal/rtnl"
)

// netlinkOS is the real kernel seam over rtnetlink (hal/internal/rtnl, on
// vishvananda/netlink's nl layer).
type netlinkOS struct {
	ns     netns.NsHandle // netns.None() for the caller's namespace
	rcvbuf int            // SO_RCVBUFFORCE for subscriptions; 0 = kernel default (tests shrink it to provoke ENOBUFS)

	mu sync.Mutex // guards c
	c  *rtnl.Conn
}

var _ osNet = (*netlinkOS)(nil)

func newNetlinkOS(ns netns.NsHandle) *netlinkOS { return &netlinkOS{ns: ns} }

// subscribe opens one socket on the link, address and route groups of
// IPv4 and IPv6; one goroutine turns its messages into hints. close
// closes the socket, which ends the receive, and waits for the goroutine.
func (o *netlinkOS) subscribe(hint func(), lost func(error)) (func(), error) {
	s, err := nl.SubscribeAt(o.ns, netns.None(), unix.NETLINK_ROUTE,
		unix.RTNLGRP_LINK, unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR,
		unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSubscribe, err)
	}
	if o.rcvbuf != 0 {
		if err := s.SetReceiveBufferSize(o.rcvbuf, true); err != nil {
			s.Close()
			return nil, fmt.Errorf("%w: receive buffer: %w", ErrSubscribe, err)
		}
	}
	var (
		stopped atomic.Bool
		wg      sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			msgs, from, err := s.Receive()
			if stopped.Load() {
				return // "use of closed file" after close is expected
			}
			if err != nil {
				lost(fmt.Errorf("receive: %w", err)) // ENOBUFS: messages were dropped
				return
			}
			if from.Pid != nl.PidKernel {
				// A datagram from a user-space sender, not the kernel:
				// dropped, and the subscription goes on. Any root process
				// can send one; resubscribing would let it make us
				// re-dump at will.
				continue
			}
			if relevant(msgs) {
				hint()
			}
		}
	}()
	return func() {
		stopped.Store(true)
		s.Close()
		wg.Wait()
	}, nil
}

// relevant reports whether a batch of messages may change a WANState:
// any link or address message, and route messages for a default
// destination only, so a busy routing table does not make us re-dump for
// every prefix.
func relevant(msgs []syscall.NetlinkMessage) bool {
	for _, m := range msgs {
		switch m.Header.Type {
		case unix.RTM_NEWLINK, unix.RTM_DELLINK, unix.RTM_NEWADDR, unix.RTM_DELADDR:
			return true
		case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
			if r, err := rtnl.ParseRoute(m.Data); err != nil || r.DstLen == 0 {
				return true // unparsable: re-read rather than miss a change
			}
		}
	}
	return false
}

func (o *netlinkOS) conn() (*rtnl.Conn, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.c != nil {
		return o.c, nil
	}
	c, err := rtnl.Open(o.ns)
	if err != nil {
		return nil, err
	}
	o.c = c
	return c, nil
}

// release closes the dump socket; the next read opens a new one.
func (o *netlinkOS) release() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.c != nil {
		o.c.Close()
		o.c = nil
	}
}

// read dumps the link, its addresses and the main table's default routes.
// An interrupted dump (the table changed under it) is retried.
func (o *netlinkOS) read(iface string) (WANState, error) {
	var (
		st  WANState
		err error
	)
	for range 3 {
		st, err = o.readOnce(iface)
		if !errors.Is(err, nl.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		o.release() // a broken socket must not fail every later read
	}
	return st, err
}

func (o *netlinkOS) readOnce(iface string) (WANState, error) {
	c, err := o.conn()
	if err != nil {
		return WANState{}, wrapRead(iface, "netlink socket", err)
	}
	link, err := c.LinkByName(iface)
	if err != nil {
		if errors.Is(err, rtnl.ErrLinkNotFound) {
			return WANState{Interface: iface}, nil
		}
		return WANState{}, wrapRead(iface, "link", err)
	}
	addrs, err := c.Addrs(link.Index)
	if err != nil {
		return WANState{}, wrapRead(iface, "addresses", err)
	}
	r4, err := c.Routes(unix.AF_INET)
	if err != nil {
		return WANState{}, wrapRead(iface, "ipv4 routes", err)
	}
	r6, err := c.Routes(unix.AF_INET6)
	if err != nil {
		return WANState{}, wrapRead(iface, "ipv6 routes", err)
	}
	return stateFrom(iface, link, addrs, r4, r6), nil
}

// stateFrom builds a WANState from rtnetlink values; it is pure so the
// conversion is table-tested without a kernel.
func stateFrom(iface string, l rtnl.Link, addrs []netip.Prefix, r4, r6 []rtnl.Route) WANState {
	if len(addrs) == 0 {
		addrs = nil
	} else {
		addrs = sortAddrs(slices.Clone(addrs))
	}
	return WANState{
		Interface:     iface,
		Present:       true,
		Index:         l.Index,
		AdminUp:       l.Flags&unix.IFF_UP != 0,
		Carrier:       l.Flags&unix.IFF_LOWER_UP != 0,
		OperState:     operState(l.OperState),
		Addrs:         addrs,
		DefaultRoute4: hasDefaultVia(r4, l.Index),
		DefaultRoute6: hasDefaultVia(r6, l.Index),
	}
}

// operState names an operational state as the kernel does in
// /sys/class/net/*/operstate (netlink's String uses other spellings).
func operState(s uint8) string {
	switch s {
	case rtnl.OperNotPresent:
		return "notpresent"
	case rtnl.OperDown:
		return "down"
	case rtnl.OperLowerLayerDown:
		return "lowerlayerdown"
	case rtnl.OperTesting:
		return "testing"
	case rtnl.OperDormant:
		return "dormant"
	case rtnl.OperUp:
		return "up"
	default:
		return "unknown"
	}
}

// hasDefaultVia reports whether a unicast default route of the main table
// leaves through ifindex, directly or as one of its multipath next hops.
func hasDefaultVia(routes []rtnl.Route, ifindex int) bool {
	for _, r := range routes {
		if r.DstLen != 0 {
			continue
		}
		if r.Type != unix.RTN_UNICAST && r.Type != unix.RTN_UNSPEC {
			continue // blackhole, unreachable, prohibit
		}
		if r.Table != 0 && r.Table != unix.RT_TABLE_MAIN {
			continue
		}
		if r.OIF == ifindex || slices.Contains(r.Hops, ifindex) {
			return true
		}
	}
	return false
}

// Read returns the interface's state now, from one netlink dump, for a
// caller that needs it once (the gateway's check that it does not listen
// on the WAN's addresses). An interface that does not exist is a WANState
// with Present false.
func Read(iface string) (WANState, error) {
	o := newNetlinkOS(netns.None())
	defer o.release()
	return o.read(iface)
}
