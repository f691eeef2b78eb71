package netmon_test

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lifeline/hal/netmon"
	"lifeline/hal/netmon/netnstest"
)

// watch runs a Monitor on the pair's router namespace and returns its
// states; it stops in t.Cleanup.
func watch(t testing.TB, p *netnstest.Pair) <-chan netmon.WANState {
	t.Helper()
	ch := make(chan netmon.WANState, 1024)
	m := netmon.New(netnstest.WAN, netmon.WithNetns(p.RouterNS),
		netmon.WithLogger(slog.New(slog.DiscardHandler)))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := m.Run(ctx, func(s netmon.WANState) { ch <- s }); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return ch
}

// waitFor reads states until pred holds; the real-time limit is only a
// safety net against a hang.
func waitFor(t testing.TB, ch <-chan netmon.WANState, what string, pred func(netmon.WANState) bool) netmon.WANState {
	t.Helper()
	limit := time.After(10 * time.Second)
	for {
		select {
		case s := <-ch:
			if pred(s) {
				return s
			}
		case <-limit:
			t.Fatalf("no WANState with %s within 10s", what)
		}
	}
}

func hasAddr(s netmon.WANState, a string) bool {
	return slices.ContainsFunc(s.Addrs, func(p netip.Prefix) bool { return p.Addr() == netip.MustParseAddr(a) })
}

func healthyWAN(s netmon.WANState) bool {
	return s.Usable() && s.DefaultRoute4 && s.DefaultRoute6 && hasAddr(s, netnstest.RouterIP4) && hasAddr(s, netnstest.RouterIP6)
}

func TestNetnsWANChanges(t *testing.T) {
	p := netnstest.NewPair(t)
	ch := watch(t, p)
	first := waitFor(t, ch, "a healthy WAN", healthyWAN)
	t.Logf("initial: %+v", first)

	steps := []struct {
		name   string
		break_ func()
		broken func(netmon.WANState) bool
		repair func()
	}{
		{"carrier loss (peer down)",
			func() { p.In(p.Internet, "link", "set", netnstest.Peer, "down") },
			func(s netmon.WANState) bool { return s.Present && !s.Carrier && !s.Up() },
			func() { p.In(p.Internet, "link", "set", netnstest.Peer, "up") }},
		{"admin down",
			func() { p.In(p.Router, "link", "set", netnstest.WAN, "down") },
			func(s netmon.WANState) bool { return !s.AdminUp && !s.Up() },
			func() {
				p.In(p.Router, "link", "set", netnstest.WAN, "up")
				// Setting a link down flushes its routes and its IPv6
				// addresses: restore them.
				p.In(p.Router, "addr", "replace", netnstest.RouterIP6+"/64", "dev", netnstest.WAN, "nodad")
				p.In(p.Router, "route", "replace", "default", "via", netnstest.InternetIP4, "dev", netnstest.WAN)
				p.In(p.Router, "-6", "route", "replace", "default", "via", netnstest.InternetIP6, "dev", netnstest.WAN)
			}},
		{"ipv4 default route deleted",
			func() { p.In(p.Router, "route", "del", "default") },
			func(s netmon.WANState) bool { return s.Up() && !s.DefaultRoute4 && s.DefaultRoute6 },
			func() { p.In(p.Router, "route", "add", "default", "via", netnstest.InternetIP4, "dev", netnstest.WAN) }},
		{"ipv6 default route deleted",
			func() { p.In(p.Router, "-6", "route", "del", "default") },
			func(s netmon.WANState) bool { return s.Up() && s.DefaultRoute4 && !s.DefaultRoute6 },
			func() {
				p.In(p.Router, "-6", "route", "add", "default", "via", netnstest.InternetIP6, "dev", netnstest.WAN)
			}},
		{"both default routes deleted",
			func() {
				p.In(p.Router, "route", "del", "default")
				p.In(p.Router, "-6", "route", "del", "default")
			},
			func(s netmon.WANState) bool { return s.Up() && !s.DefaultRoute() && !s.Usable() },
			func() {
				p.In(p.Router, "route", "add", "default", "via", netnstest.InternetIP4, "dev", netnstest.WAN)
				p.In(p.Router, "-6", "route", "add", "default", "via", netnstest.InternetIP6, "dev", netnstest.WAN)
			}},
		{"ipv4 address removed",
			func() { p.In(p.Router, "addr", "del", netnstest.RouterIP4+"/24", "dev", netnstest.WAN) },
			// The kernel drops the IPv4 default route with its gateway's subnet.
			func(s netmon.WANState) bool {
				return !hasAddr(s, netnstest.RouterIP4) && hasAddr(s, netnstest.RouterIP6) && !s.DefaultRoute4
			},
			func() {
				p.In(p.Router, "addr", "add", netnstest.RouterIP4+"/24", "dev", netnstest.WAN)
				p.In(p.Router, "route", "add", "default", "via", netnstest.InternetIP4, "dev", netnstest.WAN)
			}},
		{"interface deleted and re-created",
			func() { p.In(p.Router, "link", "del", netnstest.WAN) },
			func(s netmon.WANState) bool { return !s.Present && !s.Up() && !s.DefaultRoute() && len(s.Addrs) == 0 },
			func() {
				p.CreateWAN()
				p.In(p.Internet, "addr", "add", netnstest.InternetIP4+"/24", "dev", netnstest.Peer)
				p.In(p.Internet, "addr", "add", netnstest.InternetIP6+"/64", "dev", netnstest.Peer, "nodad")
				p.In(p.Internet, "link", "set", netnstest.Peer, "up")
				p.ConfigureWAN()
			}},
	}
	prev := first
	// One sequence on one pair (not subtests: the Pair fails the parent).
	for _, st := range steps {
		st.break_()
		bad := waitFor(t, ch, st.name, st.broken)
		t.Logf("%s: %v -> %+v", st.name, bad.Changed(prev), bad)
		st.repair()
		good := waitFor(t, ch, st.name+" repaired", healthyWAN)
		t.Logf("%s repaired: %v -> %+v", st.name, good.Changed(bad), good)
		if st.name == "interface deleted and re-created" && good.Index == first.Index {
			t.Errorf("re-created interface kept ifindex %d", good.Index)
		}
		prev = good
	}
}

// BenchmarkNetnsCarrierLoss measures carrier loss (peer set down through
// netlink) to the WANState that reports it, and the way back, over b.N
// flaps (run with -benchtime=200x or more). Reports p50/p99/max in µs.
func BenchmarkNetnsCarrierLoss(b *testing.B) {
	p := netnstest.NewPair(b)
	ch := watch(b, p)
	waitFor(b, ch, "a healthy WAN", healthyWAN)
	h, err := netlink.NewHandleAt(p.InternetNS, unix.NETLINK_ROUTE)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	peer, err := h.LinkByName(netnstest.Peer)
	if err != nil {
		b.Fatal(err)
	}
	var down, up []time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := h.LinkSetDown(peer); err != nil {
			b.Fatal(err)
		}
		waitFor(b, ch, "carrier loss", func(s netmon.WANState) bool { return !s.Carrier })
		down = append(down, time.Since(t0))
		t0 = time.Now()
		if err := h.LinkSetUp(peer); err != nil {
			b.Fatal(err)
		}
		waitFor(b, ch, "carrier back", func(s netmon.WANState) bool { return s.Carrier && s.Up() })
		up = append(up, time.Since(t0))
	}
	b.StopTimer()
	report(b, "down", down)
	report(b, "up", up)
}

func report(b *testing.B, name string, d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	q := func(f float64) float64 { return float64(d[int(f*float64(len(d)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(q(0.50), name+"-p50-us")
	b.ReportMetric(q(0.99), name+"-p99-us")
	b.ReportMetric(q(1), name+"-max-us")
	b.ReportMetric(float64(len(d)), name+"-n")
}

// BenchmarkNetnsDefaultRoute measures deleting the IPv4 default route (and
// adding it back) through netlink to the WANState that reports it.
func BenchmarkNetnsDefaultRoute(b *testing.B) {
	p := netnstest.NewPair(b)
	ch := watch(b, p)
	waitFor(b, ch, "a healthy WAN", healthyWAN)
	h, err := netlink.NewHandleAt(p.RouterNS, unix.NETLINK_ROUTE)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	wan, err := h.LinkByName(netnstest.WAN)
	if err != nil {
		b.Fatal(err)
	}
	route := &netlink.Route{LinkIndex: wan.Attrs().Index, Gw: net.ParseIP(netnstest.InternetIP4)}
	var del, add []time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := h.RouteDel(route); err != nil {
			b.Fatal(err)
		}
		waitFor(b, ch, "default route gone", func(s netmon.WANState) bool { return !s.DefaultRoute4 })
		del = append(del, time.Since(t0))
		t0 = time.Now()
		if err := h.RouteAdd(route); err != nil {
			b.Fatal(err)
		}
		waitFor(b, ch, "default route back", func(s netmon.WANState) bool { return s.DefaultRoute4 })
		add = append(add, time.Since(t0))
	}
	b.StopTimer()
	report(b, "del", del)
	report(b, "add", add)
}

// TestNetnsInterfaceAppears starts watching a name that does not exist yet
// (pppoe-wan before the PPP session) and sees it appear and vanish. (The
// test kernel has no dummy or ppp module; a veth pair stands in.)
func TestNetnsInterfaceAppears(t *testing.T) {
	p := netnstest.NewPair(t)
	ch := make(chan netmon.WANState, 64)
	m := netmon.New("pppoe-wan", netmon.WithNetns(p.RouterNS), netmon.WithLogger(slog.New(slog.DiscardHandler)))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = m.Run(ctx, func(s netmon.WANState) { ch <- s }) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	if s := waitFor(t, ch, "initial state", func(netmon.WANState) bool { return true }); s.Present || s.Interface != "pppoe-wan" {
		t.Fatalf("initial %+v, want absent", s)
	}
	p.In(p.Router, "link", "add", "pppoe-wan", "type", "veth", "peer", "name", "pppoe-peer")
	p.In(p.Router, "link", "set", "pppoe-peer", "up")
	p.In(p.Router, "addr", "add", "198.51.100.7/32", "dev", "pppoe-wan")
	p.In(p.Router, "link", "set", "pppoe-wan", "up")
	p.In(p.Router, "route", "replace", "default", "dev", "pppoe-wan")
	waitFor(t, ch, "pppoe-wan usable", func(s netmon.WANState) bool { return s.Usable() && hasAddr(s, "198.51.100.7") })
	p.In(p.Router, "link", "del", "pppoe-wan")
	waitFor(t, ch, "pppoe-wan gone", func(s netmon.WANState) bool { return !s.Present && !s.DefaultRoute() })
}
