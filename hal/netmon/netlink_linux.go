package netmon

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netlinkOS is the real kernel seam over vishvananda/netlink.
type netlinkOS struct {
	ns     netns.NsHandle // netns.None() for the caller's namespace
	rcvbuf int            // SO_RCVBUFFORCE for subscriptions; 0 = kernel default (tests shrink it to provoke ENOBUFS)

	mu sync.Mutex // guards h
	h  *netlink.Handle
}

var _ osNet = (*netlinkOS)(nil)

func newNetlinkOS(ns netns.NsHandle) *netlinkOS { return &netlinkOS{ns: ns} }

// subscribe opens the three subscriptions with ListExisting, each forwarded
// by one goroutine that turns updates into hints. close stops and drains
// them (netlink's receivers block on a full channel, so they must be
// drained until they close it) and waits.
func (o *netlinkOS) subscribe(hint func(), lost func(error)) (func(), error) {
	done := make(chan struct{})
	var stopped atomic.Bool
	errcb := func(err error) {
		if stopped.Load() {
			return // "use of closed file" after close is expected
		}
		if errors.Is(err, netlink.ErrDumpInterrupted) {
			hint()
			return
		}
		if isForeignSender(err) {
			// A datagram from a user-space sender, not the kernel:
			// netlink dropped it and the subscription goes on. Any
			// root process can send one; resubscribing would let it
			// make us re-dump at will.
			return
		}
		lost(err)
	}
	var ns *netns.NsHandle
	if o.ns.IsOpen() {
		ns = &o.ns
	}
	var wg sync.WaitGroup
	forward := func(what string, n func() (bool, bool)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				relevant, ok := n()
				if !ok {
					if !stopped.Load() {
						lost(fmt.Errorf("%s subscription closed", what))
					}
					return
				}
				if relevant {
					hint()
				}
			}
		}()
	}
	closeAll := func() {
		stopped.Store(true)
		close(done)
		wg.Wait()
	}

	lch := make(chan netlink.LinkUpdate, 16)
	if err := netlink.LinkSubscribeWithOptions(lch, done, netlink.LinkSubscribeOptions{
		Namespace: ns, ErrorCallback: errcb, ListExisting: true,
		ReceiveBufferSize: o.rcvbuf, ReceiveBufferForceSize: o.rcvbuf != 0,
	}); err != nil {
		closeAll()
		return nil, fmt.Errorf("%w: link: %w", ErrSubscribe, err)
	}
	forward("link", func() (bool, bool) { _, ok := <-lch; return true, ok })

	ach := make(chan netlink.AddrUpdate, 16)
	if err := netlink.AddrSubscribeWithOptions(ach, done, netlink.AddrSubscribeOptions{
		Namespace: ns, ErrorCallback: errcb, ListExisting: true,
		ReceiveBufferSize: o.rcvbuf, ReceiveBufferForceSize: o.rcvbuf != 0,
	}); err != nil {
		closeAll()
		return nil, fmt.Errorf("%w: addr: %w", ErrSubscribe, err)
	}
	forward("addr", func() (bool, bool) { _, ok := <-ach; return true, ok })

	rch := make(chan netlink.RouteUpdate, 16)
	if err := netlink.RouteSubscribeWithOptions(rch, done, netlink.RouteSubscribeOptions{
		Namespace: ns, ErrorCallback: errcb, ListExisting: true,
		ReceiveBufferSize: o.rcvbuf, ReceiveBufferForceSize: o.rcvbuf != 0,
	}); err != nil {
		closeAll()
		return nil, fmt.Errorf("%w: route: %w", ErrSubscribe, err)
	}
	// Only default routes can change DefaultRoute4/6; a busy routing table
	// must not make us re-dump for every prefix.
	forward("route", func() (bool, bool) {
		u, ok := <-rch
		return ok && isDefaultDst(u.Dst), ok
	})
	return closeAll, nil
}

func (o *netlinkOS) handle() (*netlink.Handle, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.h != nil {
		return o.h, nil
	}
	var (
		h   *netlink.Handle
		err error
	)
	// NETLINK_ROUTE only: without families, netlink opens XFRM, NETFILTER
	// and GENERIC sockets too, and a small kernel without xfrm_user (or
	// qemu-user) refuses the handle with EPROTONOSUPPORT.
	if o.ns.IsOpen() {
		h, err = netlink.NewHandleAt(o.ns, unix.NETLINK_ROUTE)
	} else {
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
	}
	if err != nil {
		return nil, err
	}
	o.h = h
	return h, nil
}

// release closes the dump handle; the next read opens a new one.
func (o *netlinkOS) release() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.h != nil {
		o.h.Close()
		o.h = nil
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
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		o.release() // a broken socket must not fail every later read
	}
	return st, err
}

func (o *netlinkOS) readOnce(iface string) (WANState, error) {
	h, err := o.handle()
	if err != nil {
		return WANState{}, wrapRead(iface, "netlink handle", err)
	}
	link, err := h.LinkByName(iface)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return WANState{Interface: iface}, nil
		}
		return WANState{}, wrapRead(iface, "link", err)
	}
	addrs, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) { // deleted between the two dumps
			return WANState{Interface: iface}, nil
		}
		return WANState{}, wrapRead(iface, "addresses", err)
	}
	r4, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return WANState{}, wrapRead(iface, "ipv4 routes", err)
	}
	r6, err := h.RouteList(nil, netlink.FAMILY_V6)
	if err != nil {
		return WANState{}, wrapRead(iface, "ipv6 routes", err)
	}
	return stateFrom(iface, link.Attrs(), addrs, r4, r6), nil
}

// stateFrom builds a WANState from netlink values; it is pure so the
// conversion is table-tested without a kernel.
func stateFrom(iface string, a *netlink.LinkAttrs, addrs []netlink.Addr, r4, r6 []netlink.Route) WANState {
	st := WANState{
		Interface: iface,
		Present:   true,
		Index:     a.Index,
		AdminUp:   a.Flags&net.FlagUp != 0,
		Carrier:   a.RawFlags&unix.IFF_LOWER_UP != 0,
		OperState: operState(a.OperState),
	}
	for _, ad := range addrs {
		if ad.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(ad.IP)
		if !ok {
			continue
		}
		ones, _ := ad.Mask.Size()
		st.Addrs = append(st.Addrs, netip.PrefixFrom(ip.Unmap(), ones))
	}
	st.Addrs = sortAddrs(st.Addrs)
	st.DefaultRoute4 = hasDefaultVia(r4, a.Index)
	st.DefaultRoute6 = hasDefaultVia(r6, a.Index)
	return st
}

// operState names an operational state as the kernel does in
// /sys/class/net/*/operstate (netlink's String uses other spellings).
func operState(s netlink.LinkOperState) string {
	switch s {
	case netlink.OperNotPresent:
		return "notpresent"
	case netlink.OperDown:
		return "down"
	case netlink.OperLowerLayerDown:
		return "lowerlayerdown"
	case netlink.OperTesting:
		return "testing"
	case netlink.OperDormant:
		return "dormant"
	case netlink.OperUp:
		return "up"
	default:
		return "unknown"
	}
}

// isDefaultDst reports whether dst is a default destination (nil or /0).
func isDefaultDst(dst *net.IPNet) bool {
	if dst == nil || dst.IP == nil {
		return true
	}
	ones, _ := dst.Mask.Size()
	return ones == 0 && dst.IP.IsUnspecified()
}

// hasDefaultVia reports whether a unicast default route of the main table
// leaves through ifindex, directly or as one of its multipath next hops.
func hasDefaultVia(routes []netlink.Route, ifindex int) bool {
	for _, r := range routes {
		if !isDefaultDst(r.Dst) {
			continue
		}
		if r.Type != unix.RTN_UNICAST && r.Type != unix.RTN_UNSPEC {
			continue // blackhole, unreachable, prohibit
		}
		if r.Table != 0 && r.Table != unix.RT_TABLE_MAIN {
			continue
		}
		if r.LinkIndex == ifindex {
			return true
		}
		for _, nh := range r.MultiPath {
			if nh != nil && nh.LinkIndex == ifindex {
				return true
			}
		}
	}
	return false
}

// isForeignSender reports netlink's "Wrong sender portid N, expected 0",
// which its subscription receivers pass to the error callback before
// skipping the message (vishvananda/netlink v1.3.1 link_linux.go,
// addr_linux.go, route_linux.go; the error is not exported).
func isForeignSender(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "Wrong sender portid ")
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
