package main

import (
	"fmt"
	"net/netip"
	"strings"

	"lifeline/daemon"
	"lifeline/hal/netmon"
)

// gatewayBind returns the addresses the gateway's SIP socket binds:
// listen, or for a wildcard listen (":5080") rtp_address and loopback with
// listen's port — never every address, so never the WAN's. It refuses a
// bind address or an rtp_address that the WAN interface holds now: the
// gateway must not be reachable from the internet. A WAN interface that
// does not exist (yet) holds no address; a loopback address is reachable
// from this host only, whichever interface holds it.
func gatewayBind(c *daemon.Config) ([]netip.AddrPort, error) {
	g := c.Gateway
	binds := []netip.AddrPort{g.Listen}
	if g.Listen.Addr().IsUnspecified() {
		binds = []netip.AddrPort{netip.AddrPortFrom(g.RTPAddress, g.Listen.Port())}
		lo := netip.IPv6Loopback()
		if g.RTPAddress.Is4() {
			lo = netip.MustParseAddr("127.0.0.1")
		}
		if !g.RTPAddress.IsLoopback() {
			binds = append(binds, netip.AddrPortFrom(lo, g.Listen.Port()))
		}
	}
	wan := wanAddrs(c.WANInterface)
	for _, o := range []struct {
		opt  string
		addr netip.Addr
	}{{"listen", binds[0].Addr()}, {"rtp_address", g.RTPAddress}} {
		if wan[o.addr] && !o.addr.IsLoopback() {
			return nil, fmt.Errorf("%w: %s:%d: gateway '%s' option '%s': %s is an address of the WAN interface %s "+
				"(wan_interface): the gateway must not be reachable from the internet; use a LAN or loopback address",
				daemon.ErrConfig, c.Source, g.SourceLine, g.Name, o.opt, o.addr, c.WANInterface)
		}
	}
	return binds, nil
}

// wanAddrs returns the addresses the WAN interface holds now (none if it
// does not exist or cannot be read).
func wanAddrs(name string) map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	st, err := netmon.Read(name)
	if err != nil {
		return out
	}
	for _, p := range st.Addrs {
		out[p.Addr().Unmap()] = true
	}
	return out
}

// gatewaySources are who may send SIP to the gateway: loopback (a
// Kamailio on the router; the kernel drops loopback and local sources
// arriving from outside), the gateway's own addresses (listen's and
// rtp_address), the host of incoming (the phones' proxy), and
// allow_source.
func gatewaySources(g *daemon.GatewayConfig) []netip.Prefix {
	out := []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{127}), 8), netip.PrefixFrom(netip.IPv6Loopback(), 128),
		netip.PrefixFrom(g.RTPAddress, g.RTPAddress.BitLen())}
	if a := g.Listen.Addr(); !a.IsUnspecified() {
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	if a, ok := incomingHost(g.Incoming); ok {
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return append(out, g.AllowSource...)
}

// incomingHost is the numeric host of a sip:user@host[:port] URI.
func incomingHost(uri string) (netip.Addr, bool) {
	rest, ok := strings.CutPrefix(uri, "sip:")
	if !ok {
		return netip.Addr{}, false
	}
	rest = rest[strings.LastIndexByte(rest, '@')+1:]
	if i := strings.IndexAny(rest, ";?"); i >= 0 {
		rest = rest[:i]
	}
	if ap, err := netip.ParseAddrPort(rest); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(rest, "["), "]"))
	return a.Unmap(), err == nil
}
