// Package netnstest builds throw-away network namespaces for integration
// tests: a "router" namespace whose WAN interface is one end of a veth
// pair, and an "internet" namespace holding the other end. It needs root
// and the ip(8) command; without them the test is skipped with a message
// that says what is missing.
//
// Everything created is removed in t.Cleanup. Names are unique per
// process and call, so parallel tests and concurrent test binaries do not
// collide.
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Addresses used by Pair: the documentation prefixes of RFC 5737 and 3849.
const (
	RouterIP4   = "192.0.2.2"
	InternetIP4 = "192.0.2.1"
	RouterIP6   = "2001:db8::2"
	InternetIP6 = "2001:db8::1"
	// WAN is the router-side interface name, Peer the internet-side one.
	WAN  = "wan0"
	Peer = "peer0"
)

var seq atomic.Int64

// Require skips t unless it runs as root with ip(8) (and the extra
// commands named) on PATH.
func Require(t testing.TB, cmds ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces (ip netns add): not root")
	}
	for _, c := range append([]string{"ip"}, cmds...) {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("needs %s on PATH: %v", c, err)
		}
	}
}

// Pair is a router namespace and an internet namespace joined by a veth
// pair, addressed and with IPv4 and IPv6 default routes in the router
// pointing at the internet side.
type Pair struct {
	t                testing.TB
	Router, Internet string         // namespace names
	RouterNS         netns.NsHandle // open handle on Router, closed in Cleanup
	InternetNS       netns.NsHandle // open handle on Internet, closed in Cleanup
	created          int            // CreateWAN calls, for fresh ifindexes
}

// NewPair creates and wires the two namespaces (skipping t when it cannot).
func NewPair(t testing.TB) *Pair {
	t.Helper()
	Require(t)
	n := seq.Add(1)
	p := &Pair{
		t:        t,
		Router:   fmt.Sprintf("llr%d-%d", os.Getpid(), n),
		Internet: fmt.Sprintf("lli%d-%d", os.Getpid(), n),
	}
	for _, ns := range []string{p.Router, p.Internet} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Skipf("needs network namespaces: ip netns add %s: %v: %s", ns, err, out)
		}
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	}
	var err error
	if p.RouterNS, err = netns.GetFromName(p.Router); err != nil {
		t.Fatalf("open netns %s: %v", p.Router, err)
	}
	t.Cleanup(func() { p.RouterNS.Close() })
	if p.InternetNS, err = netns.GetFromName(p.Internet); err != nil {
		t.Fatalf("open netns %s: %v", p.Internet, err)
	}
	t.Cleanup(func() { p.InternetNS.Close() })
	requireNetlink(t, p.RouterNS)
	p.In(p.Router, "link", "set", "lo", "up")
	p.In(p.Internet, "link", "set", "lo", "up")
	p.CreateWAN()
	p.In(p.Internet, "addr", "add", InternetIP4+"/24", "dev", Peer)
	p.In(p.Internet, "addr", "add", InternetIP6+"/64", "dev", Peer, "nodad")
	p.In(p.Internet, "link", "set", Peer, "up")
	p.ConfigureWAN()
	return p
}

// requireNetlink skips t when rtnetlink does not work from this process:
// qemu-user emulating a big-endian target (go test -exec qemu-mips-static)
// does not translate every netlink attribute, so link lookups fail with
// EINVAL there although they work on the real hardware.
func requireNetlink(t testing.TB, ns netns.NsHandle) {
	t.Helper()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Skipf("needs rtnetlink: %v", err)
	}
	defer h.Close()
	if _, err := h.LinkByName("lo"); err != nil {
		t.Skipf("needs working rtnetlink (qemu-user on a big-endian target mistranslates it): link lo: %v", err)
	}
}

// CreateWAN (re-)creates the veth pair, router end WAN, internet end Peer.
//
// Each creation uses fresh, distinct ifindexes for the two ends. Were they
// equal (both would be 2 in fresh namespaces), the kernel's linkwatch would
// treat the veth's carrier changes as non-urgent and rate-limit their
// RTM_NEWLINK to one per second, as it does for a physical NIC; distinct
// indexes make the pair behave like a link whose events are delivered at
// once, so tests and benchmarks measure Lifeline, not linkwatch's batching.
func (p *Pair) CreateWAN() {
	p.t.Helper()
	p.created++
	wi, pi := fmt.Sprint(10+p.created), fmt.Sprint(100+p.created)
	p.In(p.Router, "link", "add", WAN, "index", wi, "type", "veth", "peer", "name", Peer, "index", pi, "netns", p.Internet)
}

// ConfigureWAN gives the router end its addresses, sets it up and adds the
// IPv4 and IPv6 default routes through it.
func (p *Pair) ConfigureWAN() {
	p.t.Helper()
	p.In(p.Router, "addr", "add", RouterIP4+"/24", "dev", WAN)
	p.In(p.Router, "addr", "add", RouterIP6+"/64", "dev", WAN, "nodad")
	p.In(p.Router, "link", "set", WAN, "up")
	p.In(p.Router, "route", "add", "default", "via", InternetIP4, "dev", WAN)
	p.In(p.Router, "-6", "route", "add", "default", "via", InternetIP6, "dev", WAN)
}

// In runs "ip -n ns args..." and fails the test on error.
func (p *Pair) In(ns string, args ...string) {
	p.t.Helper()
	if out, err := p.TryIn(ns, args...); err != nil {
		p.t.Fatalf("ip -n %s %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
}

// TryIn runs "ip -n ns args..." and returns its combined output.
func (p *Pair) TryIn(ns string, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	return string(out), err
}

// Exec runs an arbitrary command inside namespace ns ("ip netns exec")
// and fails the test on error.
func (p *Pair) Exec(ns string, name string, args ...string) string {
	p.t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("ip netns exec %s %s %s: %v: %s", ns, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Command returns an unstarted command that runs inside namespace ns.
func (p *Pair) Command(ns string, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}
