package guard

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Multi is one net.PacketConn over UDP sockets on several addresses of
// this host (a LAN address and loopback, instead of every address): it
// reads from all of them and writes each datagram from the socket whose
// address family and scope suit the destination (loopback destinations
// from the loopback socket, others from the first). LocalAddr is the
// first socket's. Its reader goroutines, one per socket, end with Close,
// which waits for them. Deadlines are not supported.
type Multi struct {
	conns []*net.UDPConn
	in    chan datagram
	quit  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

type datagram struct {
	data []byte
	from net.Addr
	err  error
}

var _ net.PacketConn = (*Multi)(nil)

// ListenMulti binds UDP sockets on addrs (the first is the main one) and
// returns them as one PacketConn; on an error none stays open.
func ListenMulti(addrs ...netip.AddrPort) (*Multi, error) {
	if len(addrs) == 0 {
		return nil, errors.New("guard: ListenMulti without an address")
	}
	m := &Multi{in: make(chan datagram), quit: make(chan struct{})}
	for _, a := range addrs {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(a))
		if err != nil {
			for _, c := range m.conns {
				c.Close()
			}
			return nil, fmt.Errorf("listen %s: %w", a, err)
		}
		m.conns = append(m.conns, c)
	}
	for _, c := range m.conns {
		m.wg.Add(1)
		go m.read(c) // ends when Close closes c
	}
	return m, nil
}

func (m *Multi) read(c *net.UDPConn) {
	defer m.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := c.ReadFrom(buf)
		d := datagram{data: bytes.Clone(buf[:n]), from: from, err: err}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		select {
		case m.in <- d:
		case <-m.quit:
			return
		}
	}
}

// ReadFrom returns the next datagram from any of the sockets.
func (m *Multi) ReadFrom(p []byte) (int, net.Addr, error) {
	select {
	case d := <-m.in:
		return copy(p, d.data), d.from, d.err
	case <-m.quit:
		return 0, nil, net.ErrClosed
	}
}

// WriteTo sends p from the socket that suits addr.
func (m *Multi) WriteTo(p []byte, addr net.Addr) (int, error) {
	return m.pick(addr).WriteTo(p, addr)
}

func (m *Multi) pick(addr net.Addr) *net.UDPConn {
	u, ok := addr.(*net.UDPAddr)
	if !ok {
		return m.conns[0]
	}
	dst := u.AddrPort().Addr().Unmap()
	for _, c := range m.conns {
		local := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
		if local.IsLoopback() == dst.IsLoopback() && local.Is4() == dst.Is4() {
			return c
		}
	}
	return m.conns[0]
}

// Close closes every socket and waits for the readers.
func (m *Multi) Close() error {
	var err error
	m.once.Do(func() {
		close(m.quit)
		for _, c := range m.conns {
			err = errors.Join(err, c.Close())
		}
		m.wg.Wait()
	})
	return err
}

// LocalAddr is the first socket's address.
func (m *Multi) LocalAddr() net.Addr { return m.conns[0].LocalAddr() }

var errNoDeadlines = errors.New("guard: Multi has no deadlines")

// SetDeadline is not supported.
func (m *Multi) SetDeadline(time.Time) error { return errNoDeadlines }

// SetReadDeadline is not supported.
func (m *Multi) SetReadDeadline(time.Time) error { return errNoDeadlines }

// SetWriteDeadline is not supported.
func (m *Multi) SetWriteDeadline(time.Time) error { return errNoDeadlines }
