// Package netmon watches the WAN interface through the kernel's rtnetlink
// and reports a typed WANState whenever its link, addresses or default
// routes change.
//
// Netlink messages are only hints: each burst of them is coalesced, the
// whole state of the interface is re-read and compared with the last one,
// and a WANState is emitted only when something differs. The interface is
// followed by name, so it may be deleted and re-created (pppoe-wan coming
// and going) without restarting the Monitor.
package netmon

import (
	"context"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// WANState is one snapshot of the WAN interface as the kernel sees it.
// The zero value with Interface set means "interface not present".
type WANState struct {
	// Interface is the configured interface name.
	Interface string
	// Present reports whether a link with that name exists.
	Present bool
	// Index is the kernel's ifindex (0 when not present); it changes when
	// the interface is deleted and re-created.
	Index int
	// AdminUp reports IFF_UP (the interface was set up by software).
	AdminUp bool
	// Carrier reports IFF_LOWER_UP (the physical or virtual link has carrier).
	Carrier bool
	// OperState is the RFC 2863 operational state as the kernel names it:
	// "up", "down", "lowerlayerdown", "dormant", "unknown", ...
	OperState string
	// Addrs are the interface's addresses, sorted, link-local included.
	Addrs []netip.Prefix
	// DefaultRoute4 and DefaultRoute6 report whether a unicast default route
	// of the main table leaves through this interface (multipath included).
	// The kernel keeps IPv4 routes, marked linkdown, while carrier is lost:
	// judge reachability with Usable, not with these alone.
	DefaultRoute4, DefaultRoute6 bool
}

// Up reports whether the link can carry traffic: present, administratively
// up, with carrier, and an operational state of "up" or "unknown" (PPP and
// tunnel devices report "unknown" while working).
func (s WANState) Up() bool {
	return s.Present && s.AdminUp && s.Carrier && (s.OperState == "up" || s.OperState == "unknown")
}

// DefaultRoute reports whether an IPv4 or IPv6 default route leaves through
// the interface.
func (s WANState) DefaultRoute() bool { return s.DefaultRoute4 || s.DefaultRoute6 }

// Usable reports whether outgoing traffic can use the WAN: Up and a default
// route through it.
func (s WANState) Usable() bool { return s.Up() && s.DefaultRoute() }

// Equal reports whether s and o describe the same state.
func (s WANState) Equal(o WANState) bool { return s.Changed(o) == 0 }

// Change is a set of WANState fields that differ between two snapshots.
type Change uint

// The fields a Change can name.
const (
	ChangePresent Change = 1 << iota
	ChangeIndex
	ChangeAdminUp
	ChangeCarrier
	ChangeOperState
	ChangeAddrs
	ChangeDefaultRoute4
	ChangeDefaultRoute6
	ChangeInterface
)

var changeNames = []string{"present", "index", "admin", "carrier", "operstate", "addrs", "default4", "default6", "interface"}

// String lists the changed fields joined by "|", or "none".
func (c Change) String() string {
	if c == 0 {
		return "none"
	}
	var parts []string
	for i, n := range changeNames {
		if c&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, "|")
}

// Changed returns the fields in which s differs from prev.
func (s WANState) Changed(prev WANState) Change {
	var c Change
	if s.Interface != prev.Interface {
		c |= ChangeInterface
	}
	if s.Present != prev.Present {
		c |= ChangePresent
	}
	if s.Index != prev.Index {
		c |= ChangeIndex
	}
	if s.AdminUp != prev.AdminUp {
		c |= ChangeAdminUp
	}
	if s.Carrier != prev.Carrier {
		c |= ChangeCarrier
	}
	if s.OperState != prev.OperState {
		c |= ChangeOperState
	}
	if !slices.Equal(s.Addrs, prev.Addrs) {
		c |= ChangeAddrs
	}
	if s.DefaultRoute4 != prev.DefaultRoute4 {
		c |= ChangeDefaultRoute4
	}
	if s.DefaultRoute6 != prev.DefaultRoute6 {
		c |= ChangeDefaultRoute6
	}
	return c
}

// sortAddrs sorts and de-duplicates addresses so snapshots compare stably.
// It sorts through sort.Sort, not slices.SortFunc: the generic sort
// instantiated for netip.Prefix costs about 12 KB on mipsle, the interface
// sort is linked anyway.
func sortAddrs(a []netip.Prefix) []netip.Prefix {
	sort.Sort(prefixOrder(a))
	return slices.Compact(a)
}

// prefixOrder orders prefixes by address, then by length.
type prefixOrder []netip.Prefix

func (p prefixOrder) Len() int      { return len(p) }
func (p prefixOrder) Swap(i, j int) { p[i], p[j] = p[j], p[i] }
func (p prefixOrder) Less(i, j int) bool {
	if c := p[i].Addr().Compare(p[j].Addr()); c != 0 {
		return c < 0
	}
	return p[i].Bits() < p[j].Bits()
}

// Source is what a consumer needs from a WAN monitor: *Monitor implements
// it, and so does netmontest.Fake for tests of the consumer.
type Source interface {
	// Run reports states to fn, serially, until ctx is done; see
	// Monitor.Run for the contract.
	Run(ctx context.Context, fn func(WANState)) error
}
