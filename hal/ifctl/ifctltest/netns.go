// Package ifctltest helps tests that need real interfaces: a private network
// namespace with dummy interfaces in it. It needs root (CAP_SYS_ADMIN and
// CAP_NET_ADMIN); NewNS skips the test otherwise.
package ifctltest

import (
	"errors"
	"os"
	"runtime"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// NS is a network namespace private to one test, removed at cleanup.
type NS struct {
	t *testing.T
	// Fd is the namespace's file descriptor, for ifctl.WithNetNS.
	Fd int
	h  *netlink.Handle
}

// NewNS creates a namespace without moving the calling goroutine into it,
// or skips the test when it cannot (not root, no CONFIG_NET_NS).
func NewNS(t *testing.T) *NS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	type result struct {
		ns  netns.NsHandle
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// A thread whose namespace could not be restored must die: stay
		// locked and let the goroutine exit.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ch <- result{err: err}
			runtime.UnlockOSThread()
			return
		}
		defer orig.Close()
		ns, err := netns.New()
		if err != nil {
			ch <- result{err: err}
			runtime.UnlockOSThread()
			return
		}
		if err := netns.Set(orig); err != nil {
			ns.Close()
			ch <- result{err: errors.Join(errors.New("restore namespace"), err)}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{ns: ns}
	}()
	r := <-ch
	if r.err != nil {
		t.Skipf("needs network namespaces (root, CONFIG_NET_NS): %v", r.err)
	}
	h, err := netlink.NewHandleAt(r.ns, syscall.NETLINK_ROUTE)
	if err != nil {
		r.ns.Close()
		t.Fatalf("netlink in namespace: %v", err)
	}
	n := &NS{t: t, Fd: int(r.ns), h: h}
	t.Cleanup(func() {
		h.Close()
		r.ns.Close() // the namespace goes with its last reference
	})
	return n
}

// AddDummy creates a stand-alone interface in the namespace, up or down: a
// dummy, or where the kernel lacks CONFIG_DUMMY a port-less bridge (which
// behaves the same for IFF_UP). It skips the test when neither driver
// exists.
func (n *NS) AddDummy(name string, up bool) {
	n.t.Helper()
	attrs := netlink.LinkAttrs{Name: name}
	var l netlink.Link = &netlink.Dummy{LinkAttrs: attrs}
	err := n.h.LinkAdd(l)
	if err != nil {
		l = &netlink.Bridge{LinkAttrs: attrs}
		if err2 := n.h.LinkAdd(l); err2 != nil {
			n.t.Skipf("needs the dummy or bridge interface driver: add %s: %v; %v", name, err, err2)
		}
	}
	if up {
		if err := n.h.LinkSetUp(l); err != nil {
			n.t.Fatalf("set %s up: %v", name, err)
		}
	}
}

// IsUp reports whether the interface is administratively up, read directly
// through netlink (independent of package ifctl).
func (n *NS) IsUp(name string) bool {
	n.t.Helper()
	l, err := n.h.LinkByName(name)
	if err != nil {
		n.t.Fatalf("link %s: %v", name, err)
	}
	return l.Attrs().Flags&1 != 0 // net.FlagUp
}
