package sipua

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// memNet is an in-memory UDP network: datagrams written to an address go
// to the memConn listening there, or nowhere.
type memNet struct {
	mu    sync.Mutex
	conns map[netip.AddrPort]*memConn
}

func newMemNet() *memNet { return &memNet{conns: map[netip.AddrPort]*memConn{}} }

type packet struct {
	data []byte
	from netip.AddrPort
}

// memConn is a net.PacketConn on a memNet; WriteTo never blocks (a full
// queue drops, as UDP does).
type memConn struct {
	n      *memNet
	addr   netip.AddrPort
	in     chan packet
	closed chan struct{}
	once   sync.Once
}

var _ net.PacketConn = (*memConn)(nil)

func (n *memNet) listen(addr string) *memConn {
	ap := netip.MustParseAddrPort(addr)
	c := &memConn{n: n, addr: ap, in: make(chan packet, 256), closed: make(chan struct{})}
	n.mu.Lock()
	n.conns[ap] = c
	n.mu.Unlock()
	return c
}

func (c *memConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case p := <-c.in:
		return copy(b, p.data), net.UDPAddrFromAddrPort(p.from), nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	}
}

func (c *memConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	ap, ok := addrPort(addr)
	if !ok {
		return 0, net.InvalidAddrError(addr.String())
	}
	c.n.mu.Lock()
	dst := c.n.conns[ap]
	c.n.mu.Unlock()
	if dst != nil {
		select {
		case dst.in <- packet{data: append([]byte(nil), b...), from: c.addr}:
		default:
		}
	}
	return len(b), nil
}

func (c *memConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.n.mu.Lock()
		delete(c.n.conns, c.addr)
		c.n.mu.Unlock()
	})
	return nil
}

func (c *memConn) LocalAddr() net.Addr              { return net.UDPAddrFromAddrPort(c.addr) }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }
