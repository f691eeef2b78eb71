package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"lifeline/daemon"
	"lifeline/hal/clock"
	"lifeline/hal/kamailio"
)

// proxyFeature is the SIP proxy adapter: with a proxy section, it steers
// Kamailio's next hop to each route, attached to the daemon as a route
// actuator while it runs; restarted when the proxy section or the numbers
// it sends to the line change, stopped and detached when the section goes.
var proxyFeature = featureDef{name: "proxy", new: func(hw *hardware) feature {
	return &keyed{hw: hw, name: "proxy",
		key: func(cfg *daemon.Config) string {
			if cfg.Proxy == nil {
				return ""
			}
			p := *cfg.Proxy
			p.PSTNURISourceLine = 0 // moves when other sections are edited
			return fmt.Sprintf("%#v %#v", p, lineNumbers(cfg))
		},
		start: func(ctx context.Context, cfg *daemon.Config, goOwned func(func())) error {
			p := newProxyAdapter(hw.log, hw.clk)
			detach, err := hw.attach(ctx, p, nil)
			if err != nil {
				return fmt.Errorf("proxy: %w", err)
			}
			goOwned(func() {
				defer detach()
				p.run(ctx, cfg)
			})
			return nil
		},
	}
}}

// proxyAdapter steers the SIP proxy's next hop. SetRoute, called from the
// daemon's goroutine, only records the latest route and wakes the adapter's
// goroutine, which owns the Kamailio client and keeper; so a proxy that is
// down or slow never blocks the daemon, and a burst of changes applies only
// the last one. Start (per configuration) and Stop bound the goroutine.
type proxyAdapter struct {
	log *slog.Logger
	clk clock.Clock

	mu    sync.Mutex // guards route
	route daemon.Route
	wake  chan struct{}
}

func newProxyAdapter(log *slog.Logger, clk clock.Clock) *proxyAdapter {
	return &proxyAdapter{log: log, clk: clk, wake: make(chan struct{}, 1)}
}

// SetRoute implements daemon.RouteActuator.
func (p *proxyAdapter) SetRoute(r daemon.Route, reason string) {
	p.mu.Lock()
	p.route = r
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// lineNumbers are the numbers the proxy sends to the line whatever the
// route: with a gateway section, its dial prefix and emergency numbers go
// to the pstn_uri (the gateway itself, in the reference setup). Without
// one they are empty, which clears what an earlier configuration wrote.
func lineNumbers(cfg *daemon.Config) kamailio.LineNumbers {
	if cfg.Proxy == nil || cfg.Gateway == nil {
		return kamailio.LineNumbers{}
	}
	return kamailio.LineNumbers{URI: cfg.Proxy.PSTNURI, Prefix: cfg.Gateway.Prefix, Emergency: cfg.Gateway.Emergency}
}

// run applies routes to the proxy of cfg until ctx ends.
func (p *proxyAdapter) run(ctx context.Context, full *daemon.Config) {
	cfg := full.Proxy
	c, err := kamailio.Dial(cfg.Socket)
	if err != nil {
		p.log.Error("proxy: cannot open the JSON-RPC client", "socket", cfg.Socket, "err", err)
		return
	}
	defer c.Close()
	opts := []kamailio.KeeperOption{kamailio.WithClock(p.clk), kamailio.WithLogger(p.log),
		kamailio.WithInterval(cfg.CheckInterval),
		kamailio.WithHops(kamailio.Hops{Provider: cfg.ProviderURI, PSTN: cfg.PSTNURI})}
	n := lineNumbers(full)
	opts = append(opts, kamailio.WithLineNumbers(n))
	if n.URI != "" {
		p.log.Info("proxy: numbers that always use the line", "uri", n.URI, "prefix", n.Prefix, "emergency", n.Emergency)
	}
	k := kamailio.StartKeeper(ctx, c, opts...)
	defer k.Close()
	for {
		p.mu.Lock()
		r := p.route
		p.mu.Unlock()
		if r != "" {
			uri := cfg.ProviderURI
			if r == daemon.RoutePSTN {
				uri = cfg.PSTNURI
			}
			if err := k.Set(ctx, string(r), uri); err != nil && ctx.Err() == nil {
				p.log.Warn("proxy: next hop not set yet, the keeper retries", "route", r, "uri", uri, "err", err)
			} else if err == nil {
				p.log.Info("proxy next hop set", "route", r, "uri", uri)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
	}
}
