package sipprobe

import (
	"context"
	"errors"
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

// isIPLiteral: host is an IP address (IPv6 possibly in brackets).
func isIPLiteral(host string) bool {
	_, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil
}

// lookup resolves host per RFC 3263 §4.2: with an explicit port, its
// A/AAAA records; without one, the _sip._udp (or _sip._tcp) SRV records,
// whose targets are tried in order (net.Resolver sorts them by priority
// and shuffles each priority by weight, RFC 2782) until one has an
// address; without SRV records, the host's A/AAAA records on 5060. A lone
// "." target says the domain offers no SIP service.
func (p *Prober) lookup(ctx context.Context, host string, port int) (netip.AddrPort, error) {
	if port != 0 {
		return p.lookupHost(ctx, host, port)
	}
	_, srvs, err := p.res.LookupSRV(ctx, "sip", p.network(), host)
	if err != nil || len(srvs) == 0 {
		if ctx.Err() != nil {
			return netip.AddrPort{}, ctx.Err()
		}
		p.log.Debug("no SRV records, using the host's address", "host", host, "err", err)
		return p.lookupHost(ctx, host, DefaultPort)
	}
	if len(srvs) == 1 && srvs[0].Target == "." {
		return netip.AddrPort{}, fmt.Errorf("_sip._%s.%s: the domain offers no SIP service (SRV target \".\")", p.network(), host)
	}
	var errs []error
	for _, srv := range srvs {
		name := strings.TrimSuffix(srv.Target, ".")
		addr, err := p.lookupHost(ctx, name, int(srv.Port))
		if err == nil {
			p.log.Debug("SRV", "host", host, "target", name, "port", srv.Port, "priority", srv.Priority, "weight", srv.Weight)
			return addr, nil
		}
		if ctx.Err() != nil {
			return netip.AddrPort{}, ctx.Err()
		}
		errs = append(errs, fmt.Errorf("SRV target %s:%d: %w", name, srv.Port, err))
	}
	return netip.AddrPort{}, errors.Join(errs...)
}

// lookupHost returns the first A/AAAA address of name with port.
func (p *Prober) lookupHost(ctx context.Context, name string, port int) (netip.AddrPort, error) {
	addrs, err := p.res.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if len(addrs) == 0 {
		return netip.AddrPort{}, fmt.Errorf("no address for %s", name)
	}
	return netip.AddrPortFrom(addrs[0].Unmap(), uint16(port)), nil
}
