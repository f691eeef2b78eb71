package sipprobe

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Resolver is what the Prober needs from DNS; *net.Resolver implements it.
type Resolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)

// resolveTTL is how long a resolved address is reused before DNS is asked
// again. While DNS fails, the last good address keeps being used: a dead
// resolver must not read as a dead provider.
const resolveTTL = 5 * time.Minute

// resolved is the cached outcome of resolution; guarded by Prober.mu.
type resolved struct {
	addr  netip.AddrPort
	until time.Time
}

// resolve turns the target into an address. An IP literal is used as is;
// a name with Port 0 is looked up as _sip._udp/_sip._tcp SRV first
// (RFC 3263 §4.2: an explicit port means no SRV), then A/AAAA.
func (p *Prober) resolve(ctx context.Context) (netip.AddrPort, error) {
	host := strings.Trim(p.target.Host, "[]")
	port := p.target.Port
	if a, err := netip.ParseAddr(host); err == nil {
		if port == 0 {
			port = DefaultPort
		}
		return netip.AddrPortFrom(a.Unmap(), uint16(port)), nil
	}
	now := p.clk.Now()
	p.mu.Lock()
	cached := p.cache
	p.mu.Unlock()
	if cached.addr.IsValid() && now.Before(cached.until) {
		return cached.addr, nil
	}
	addr, err := p.lookup(ctx, host, port)
	if err != nil {
		if cached.addr.IsValid() {
			p.log.Warn("DNS failed, keeping last address", "host", host, "addr", cached.addr, "err", err)
			return cached.addr, nil
		}
		return netip.AddrPort{}, fmt.Errorf("%w: %s: %w", ErrResolve, host, err)
	}
	p.mu.Lock()
	p.cache = resolved{addr: addr, until: now.Add(resolveTTL)}
	p.mu.Unlock()
	return addr, nil
}

func (p *Prober) lookup(ctx context.Context, host string, port int) (netip.AddrPort, error) {
	name := host
	if port == 0 {
		port = DefaultPort
		_, srvs, err := p.res.LookupSRV(ctx, "sip", p.network(), host)
		if err == nil && len(srvs) > 0 && srvs[0].Target != "." {
			// net.Resolver sorts by priority and randomises by weight.
			name, port = strings.TrimSuffix(srvs[0].Target, "."), int(srvs[0].Port)
			p.log.Debug("SRV", "host", host, "target", name, "port", port)
		}
	}
	addrs, err := p.res.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if len(addrs) == 0 {
		return netip.AddrPort{}, fmt.Errorf("no address for %s", name)
	}
	return netip.AddrPortFrom(addrs[0].Unmap(), uint16(port)), nil
}
