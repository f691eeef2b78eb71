// Package guard keeps strangers off the gateway's SIP socket: a
// net.PacketConn decorator that delivers only datagrams from allowed
// sources. A request from anyone else (but an ACK) gets one 403 Forbidden,
// sent to the datagram's source address, never larger than the request,
// never retransmitted, and at most Config.RepliesPerSecond of them in all:
// a spoofed source cannot use the gateway to amplify traffic. Everything
// else from an unlisted source is dropped.
package guard

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"lifeline/hal/clock"
)

// DefaultRepliesPerSecond bounds the 403s to unlisted sources.
const DefaultRepliesPerSecond = 10

// Config is what New needs; Allowed is required.
type Config struct {
	// Allowed reports whether a source may talk to the gateway. It is
	// called from ReadFrom's goroutine and must not block.
	Allowed func(netip.Addr) bool
	// RepliesPerSecond bounds the 403s in each second (0: the default;
	// negative: none at all).
	RepliesPerSecond int
	Clock            clock.Clock
	Logger           *slog.Logger
}

// Conn is a net.PacketConn whose ReadFrom returns only datagrams from
// allowed sources. ReadFrom may be called from one goroutine at a time
// (as the SIP user agent's reader does); the other methods are those of
// the wrapped conn and as safe for concurrent use as its own.
type Conn struct {
	net.PacketConn
	cfg Config

	mu      sync.Mutex // guards window, sent and refused: written by ReadFrom's goroutine, refused read by Refused
	window  time.Time
	sent    int
	refused uint64
}

// New wraps conn. Close closes conn.
func New(conn net.PacketConn, cfg Config) *Conn {
	if cfg.RepliesPerSecond == 0 {
		cfg.RepliesPerSecond = DefaultRepliesPerSecond
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Conn{PacketConn: conn, cfg: cfg}
}

// Refused returns how many datagrams from unlisted sources were refused.
func (c *Conn) Refused() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refused
}

// ReadFrom reads the next datagram from an allowed source into p.
func (c *Conn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		src, ok := source(addr)
		if ok && c.cfg.Allowed(src.Addr()) {
			return n, addr, nil
		}
		c.refuse(p[:n], addr, src)
	}
}

func source(a net.Addr) (netip.AddrPort, bool) {
	if u, ok := a.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	return netip.AddrPort{}, false
}

// refuse answers a request from an unlisted source with one 403 if the
// second's reply budget allows; beyond it the datagram is not even read.
// ReadFrom's goroutine only.
func (c *Conn) refuse(req []byte, addr net.Addr, src netip.AddrPort) {
	now := c.cfg.Clock.Now()
	c.mu.Lock()
	c.refused++
	if now.Sub(c.window) >= time.Second || now.Before(c.window) {
		c.window, c.sent = now, 0
	}
	budget := c.sent < c.cfg.RepliesPerSecond
	c.mu.Unlock()
	if !budget {
		return
	}
	res := Forbidden(req)
	if res == nil {
		return
	}
	c.mu.Lock()
	c.sent++
	first := c.sent == 1
	c.mu.Unlock()
	if first {
		c.cfg.Logger.Warn("gateway: SIP request from a source that may not use the gateway refused (logged once a second at most)", "from", src)
	}
	if _, err := c.PacketConn.WriteTo(res, addr); err != nil {
		c.cfg.Logger.Debug("gateway: 403 to an unlisted source", "to", src, "err", err)
	}
}
