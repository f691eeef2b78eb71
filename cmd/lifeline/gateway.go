package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"

	"lifeline/boards"
	"lifeline/daemon"
	"lifeline/hal/gateway"
	"lifeline/hal/gateway/guard"
	linecall "lifeline/hal/voice/call"
)

// gatewaySlot holds the running gateway for the status; mu guards g, which
// the daemon's goroutine reads (gatewayCalls) while Start and Stop set it.
type gatewaySlot struct {
	mu sync.Mutex
	g  *gateway.Gateway
}

// checkGateway: a gateway needs a line to carry its calls (the sim board
// brings its own modem), must not listen on the WAN (gatewayBind), and
// gateway.New must accept what the section makes of it — a dry run on a
// line that is never opened and a socket that is never read, so that
// check and reload refuse what start would.
func checkGateway(c *daemon.Config, b *boards.Board) error {
	g := c.Gateway
	if g == nil {
		return nil
	}
	if c.Line == nil && b.Driver != "sim" {
		return fmt.Errorf("%w: %s:%d: gateway '%s': needs a line section to carry the calls",
			daemon.ErrConfig, c.Source, g.SourceLine, g.Name)
	}
	if _, err := gatewayBind(c); err != nil {
		return err
	}
	conn := dryRunConn{addr: net.UDPAddrFromAddrPort(g.Listen)}
	if _, err := gateway.New(gatewayConfig(g, &dryRunLine{}, conn)); err != nil {
		return fmt.Errorf("%w: %s:%d: gateway '%s': %w", daemon.ErrConfig, c.Source, g.SourceLine, g.Name, err)
	}
	return nil
}

// gatewayConfig is what the gateway section makes of gateway.Config, for
// the dry run of checkGateway and for startGateway alike.
func gatewayConfig(gc *daemon.GatewayConfig, line gateway.Line, conn net.PacketConn) gateway.Config {
	rtpTimeout := gc.RTPTimeout
	if rtpTimeout == 0 {
		rtpTimeout = -1 // off
	}
	return gateway.Config{Line: line, Conn: conn, RTPAddr: gc.RTPAddress, Prefix: gc.Prefix,
		Incoming: gc.Incoming, Emergency: gc.Emergency, RTPTimeout: rtpTimeout,
		Numbering: gc.Numbering(), Allow: gc.Allow, Block: gc.Block, Sources: gatewaySources(gc),
		CallsPerMinute: gc.CallsPerMinute, MaxDuration: gc.MaxDuration, AuthUser: gc.AuthUser, AuthPassword: gc.AuthPassword}
}

// bindGateway binds the gateway's SIP socket on the addresses gatewayBind
// allows: one UDP socket, or for a wildcard listen one guard.Multi over
// rtp_address and loopback.
func bindGateway(cfg *daemon.Config) (net.PacketConn, error) {
	gc := cfg.Gateway
	binds, err := gatewayBind(cfg)
	if err != nil {
		return nil, err
	}
	var conn net.PacketConn
	if len(binds) == 1 {
		conn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(binds[0]))
	} else {
		conn, err = guard.ListenMulti(binds...)
	}
	if err != nil {
		var addrs []string
		for _, b := range binds {
			addrs = append(addrs, b.String())
		}
		return nil, fmt.Errorf("gateway '%s' listen %s: %w", gc.Name, strings.Join(addrs, " and "), err)
	}
	return conn, nil
}

// dryRunConn is the socket of checkGateway's dry run: gateway.New reads
// only its address.
type dryRunConn struct {
	net.PacketConn
	addr *net.UDPAddr
}

func (c dryRunConn) LocalAddr() net.Addr { return c.addr }

// dryRunLine is the line of checkGateway's dry run, of any kind: gateway.New
// only asks that it can place and answer calls. It is never called.
type dryRunLine struct{}

func (*dryRunLine) VoiceCall(context.Context, string, linecall.Options, func(context.Context, *linecall.Call) error) error {
	return nil
}

func (*dryRunLine) VoiceAnswer(context.Context, linecall.Options, func(context.Context, *linecall.Call) error) error {
	return nil
}

func (*dryRunLine) SubscribeRings(int) (<-chan linecall.Ring, func()) { return nil, func() {} }

// prepareGateway binds the new gateway's socket while the running one
// still serves, so an address this machine does not have or a port that
// another program holds refuses the reload and leaves the running gateway
// alone. The running gateway's own address is bound after it closes.
func (hw *hardware) prepareGateway(cfg *daemon.Config) (*preparedGateway, error) {
	gc := cfg.Gateway
	if gc == nil || hw.voice.running && hw.voice.gwListen == gc.Listen {
		return nil, nil
	}
	conn, err := bindGateway(cfg)
	if err != nil {
		return nil, err
	}
	return &preparedGateway{conn: conn}, nil
}

// startGateway serves SIP on the gateway's listen address (the socket
// prepareGateway bound, or a new one) and carries the calls over the
// running line, on a goroutine stopVoice waits for: ctx's end hangs up
// every call (BYE to the phone, ATH on the line) and closes the socket.
// Without a gateway section or a line it does nothing.
func (hw *hardware) startGateway(ctx context.Context, cfg *daemon.Config, prep *preparedGateway) error {
	gc := cfg.Gateway
	if gc == nil {
		return nil
	}
	hw.mu.Lock()
	line := hw.line
	hw.mu.Unlock()
	if line == nil {
		prep.close()
		hw.log.Warn("gateway configured but no line to carry its calls", "gateway", gc.Name)
		return nil
	}
	var conn net.PacketConn
	if prep != nil {
		conn = prep.conn
	}
	if conn == nil {
		var err error
		if conn, err = bindGateway(cfg); err != nil {
			return err
		}
	}
	gcfg := gatewayConfig(gc, line.Calls(), conn)
	gcfg.Clock, gcfg.Logger = hw.clk, hw.log.With("part", "gateway")
	// The daemon's queue is short work: status.json shows the call when it
	// starts and ends, not at the next unrelated change.
	gcfg.OnCallsChanged = func() { hw.post(daemon.CallsInput{}) }
	g, err := gateway.New(gcfg)
	if err != nil {
		conn.Close()
		return fmt.Errorf("gateway '%s': %w", gc.Name, err)
	}
	hw.voice.gwListen = gc.Listen
	hw.gw.mu.Lock()
	hw.gw.g = g
	hw.gw.mu.Unlock()
	hw.log.Info("SIP-to-line gateway", "listen", conn.LocalAddr(), "rtp_address", gc.RTPAddress,
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
