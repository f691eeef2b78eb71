//go:build gateway

package main

import (
	"context"
	"fmt"
	"net"
	"sync"

	"lifeline/boards"
	"lifeline/daemon"
	"lifeline/hal/gateway"
	"lifeline/hal/gateway/guard"
)

// gatewaySlot holds the running gateway for the status; mu guards g, which
// the daemon's goroutine reads (gatewayCalls) while Start and Stop set it.
type gatewaySlot struct {
	mu sync.Mutex
	g  *gateway.Gateway
}

// checkGateway: a gateway needs a line to carry its calls (the sim board
// brings its own modem), and must not listen on the WAN.
func checkGateway(c *daemon.Config, b *boards.Board) error {
	g := c.Gateway
	if g == nil {
		return nil
	}
	if c.Line == nil && b.Driver != "sim" {
		return fmt.Errorf("%w: %s:%d: gateway '%s': needs a line section to carry the calls",
			daemon.ErrConfig, c.Source, g.Line, g.Name)
	}
	_, err := gatewayBind(c)
	return err
}

// startGateway serves SIP on the gateway's listen address and carries the
// calls over the running line, on a goroutine stopVoice waits for: ctx's end
// hangs up every call (BYE to the phone, ATH on the line) and closes the
// socket. Without a gateway section or a line it does nothing.
func (hw *hardware) startGateway(ctx context.Context, cfg *daemon.Config) error {
	gc := cfg.Gateway
	if gc == nil {
		return nil
	}
	hw.mu.Lock()
	line := hw.line
	hw.mu.Unlock()
	if line == nil {
		hw.log.Warn("gateway configured but no line to carry its calls", "gateway", gc.Name)
		return nil
	}
	binds, err := gatewayBind(cfg)
	if err != nil {
		return err
	}
	var conn net.PacketConn
	if len(binds) == 1 {
		conn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(binds[0]))
	} else {
		conn, err = guard.ListenMulti(binds...)
	}
	if err != nil {
		return fmt.Errorf("gateway '%s' listen %s: %w", gc.Name, binds, err)
	}
	g, err := gateway.New(gateway.Config{Line: line, Conn: conn, RTPAddr: gc.RTPAddress, Prefix: gc.Prefix,
		Incoming: gc.Incoming, Emergency: gc.Emergency, Clock: hw.clk, Logger: hw.log.With("part", "gateway"),
		Numbering: gc.Numbering(), Allow: gc.Allow, Block: gc.Block, Sources: gatewaySources(gc, binds[0].Addr()),
		CallsPerMinute: gc.CallsPerMinute, MaxDuration: gc.MaxDuration, AuthUser: gc.AuthUser, AuthPassword: gc.AuthPassword,
		// The daemon's queue is short work: status.json shows the call
		// when it starts and ends, not at the next unrelated change.
		OnCallsChanged: func() { hw.post(daemon.CallsInput{}) }})
	if err != nil {
		conn.Close()
		return fmt.Errorf("gateway '%s': %w", gc.Name, err)
	}
	hw.gw.mu.Lock()
	hw.gw.g = g
	hw.gw.mu.Unlock()
	hw.log.Info("SIP-to-line gateway", "listen", binds, "rtp_address", gc.RTPAddress,
		"prefix", gc.Prefix, "emergency", gc.Emergency, "incoming", gc.Incoming,
		"block", gc.Block, "allow", gc.Allow, "allow_source", gc.AllowSource,
		"calls_per_minute", gc.CallsPerMinute, "max_duration", gc.MaxDuration, "auth_user", gc.AuthUser)
	hw.goVoice(func() {
		defer func() {
			hw.gw.mu.Lock()
			if hw.gw.g == g {
				hw.gw.g = nil
			}
			hw.gw.mu.Unlock()
		}()
		if err := g.Run(ctx); err != nil {
			hw.log.Error("gateway stopped", "err", err)
		}
	})
	return nil
}

// gatewayCalls is daemon.Options.Calls: the calls in progress, without
// blocking (the gateway's mutex is held only to copy its table).
func (hw *hardware) gatewayCalls() []daemon.CallStatus {
	hw.gw.mu.Lock()
	g := hw.gw.g
	hw.gw.mu.Unlock()
	if g == nil {
		return nil
	}
	var out []daemon.CallStatus
	for _, c := range g.Calls() {
		out = append(out, daemon.CallStatus{Direction: c.Direction, Number: c.Number, Codec: c.Codec,
			Format: c.Format.String(), Started: c.Started.UTC()})
	}
	return out
}
