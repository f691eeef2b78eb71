package bridge

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Conn is the call's RTP socket as the bridge uses it: Recv never blocks,
// because the bridge reads the socket once per modem frame instead of
// waiting on it. *Socket is the real one.
type Conn interface {
	// Recv copies the next waiting datagram into b and returns its size
	// and source; ok is false when none is waiting. A Socket reads two
	// datagrams at a time: after a read that found only one, the next
	// Recv says none is waiting without asking the kernel (what has
	// arrived since is read by the Recv after it).
	Recv(b []byte) (n int, from netip.AddrPort, ok bool, err error)
	// Send sends b as one datagram to to.
	Send(b []byte, to netip.AddrPort) error
	// Close closes the socket; later calls fail.
	Close() error
}

var _ Conn = (*Socket)(nil)

// Socket is a non-blocking UDP socket for one call's RTP that the Go
// runtime's network poller does not watch. A net.UDPConn is registered
// with the poller's epoll set, so every datagram that arrives wakes a
// thread of the process, even when no goroutine waits on the socket; the
// bridge reads RTP once per 20 ms modem frame instead, and a Socket lets
// the datagrams wait in the kernel until then, at no cost (see
// BenchmarkGatewayCall in cmd/lifeline). Recv, Send and Close are safe
// for concurrent use.
type Socket struct {
	mu      sync.RWMutex // read-held by Recv and Send, held by Close: fd is not reused under them
	fd      int
	closed  bool
	local   netip.AddrPort
	v6      bool
	sendMu  sync.Mutex // guards to4 and to6, Send's destination
	to4     unix.RawSockaddrInet4
	to6     unix.RawSockaddrInet6
	recvMu  sync.Mutex // guards the fields below, Recv's
	msgs    [2]mmsghdr
	iov     [2]unix.Iovec
	from    [2]unix.RawSockaddrAny
	spare   []byte         // the second datagram's buffer (allocated by the first Recv)
	held    int            // bytes of a second datagram waiting in spare, -1 for none
	heldSrc netip.AddrPort // its source
	drained bool           // the last read found the socket empty after one datagram
}

// mmsghdr is struct mmsghdr of recvmmsg(2): the same layout on every
// Linux ABI as a struct of its two fields in Go.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// ErrSocketClosed is returned by a Socket after Close.
var ErrSocketClosed = errors.New("bridge: RTP socket closed")

// ListenRTP opens a Socket bound to addr (port 0 picks a free one).
func ListenRTP(addr netip.AddrPort) (*Socket, error) {
	if !addr.IsValid() {
		return nil, fmt.Errorf("%w: RTP address %v", ErrConfig, addr)
	}
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	v6 := addr.Addr().Is6()
	family := unix.AF_INET
	var sa unix.Sockaddr = &unix.SockaddrInet4{Addr: addr.Addr().As4(), Port: int(addr.Port())}
	if v6 {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Addr: addr.Addr().As16(), Port: int(addr.Port())}
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("RTP socket on %v: %w", addr, err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("RTP socket on %v: %w", addr, err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("RTP socket on %v: %w", addr, err)
	}
	return &Socket{fd: fd, local: addrPort(bound), v6: v6, held: -1}, nil
}

// AddrPort returns the address the socket is bound to.
func (s *Socket) AddrPort() netip.AddrPort { return s.local }

// LocalAddr returns the address the socket is bound to as a *net.UDPAddr.
func (s *Socket) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(s.local) }

// Recv implements Conn. One recvmmsg(2) reads up to two datagrams, into
// b and into a spare buffer that the next Recv returns: a call's RTP is
// one datagram a frame, so the read that would find the socket empty is
// saved (the bridge reads until Recv says none is waiting).
func (s *Socket) Recv(b []byte) (int, netip.AddrPort, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, netip.AddrPort{}, false, ErrSocketClosed
	}
	if len(b) == 0 {
		return 0, netip.AddrPort{}, false, nil
	}
	s.recvMu.Lock()
	defer s.recvMu.Unlock()
	if s.held >= 0 {
		n := copy(b, s.spare[:s.held])
		s.held = -1
		return n, s.heldSrc, true, nil
	}
	if s.drained {
		s.drained = false
		return 0, netip.AddrPort{}, false, nil
	}
	if s.spare == nil {
		s.spare = make([]byte, 2048)
	}
	for i, buf := range [2][]byte{b, s.spare} {
		s.iov[i] = unix.Iovec{Base: &buf[0]}
		s.iov[i].SetLen(len(buf))
		s.msgs[i] = mmsghdr{hdr: unix.Msghdr{Name: (*byte)(unsafe.Pointer(&s.from[i])), Namelen: unix.SizeofSockaddrAny, Iov: &s.iov[i]}}
		s.msgs[i].hdr.SetIovlen(1)
	}
	for {
		// A raw system call: the socket never blocks, and the runtime's
		// entersyscall would wake its sysmon thread out of its idle sleep
		// at every frame (see rawio.go in hal/modem/serialport).
		r, _, errno := syscall.RawSyscall6(unix.SYS_RECVMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msgs[0])), 2,
			unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			if r == 2 {
				s.held, s.heldSrc = int(s.msgs[1].len), rawAddrPort(&s.from[1])
			} else {
				s.drained = true
			}
			return int(s.msgs[0].len), rawAddrPort(&s.from[0]), true, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, netip.AddrPort{}, false, nil
		}
		return 0, netip.AddrPort{}, false, fmt.Errorf("RTP socket %v: %w", s.local, errno)
	}
}

// Send implements Conn.
func (s *Socket) Send(b []byte, to netip.AddrPort) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrSocketClosed
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	var sa unsafe.Pointer
	var salen uintptr
	if s.v6 {
		s.to6 = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: to.Addr().As16()}
		putPort(&s.to6.Port, to.Port())
		sa, salen = unsafe.Pointer(&s.to6), unix.SizeofSockaddrInet6
	} else {
		if !to.Addr().Unmap().Is4() {
			return fmt.Errorf("RTP socket %v: cannot send to %v", s.local, to)
		}
		s.to4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: to.Addr().Unmap().As4()}
		putPort(&s.to4.Port, to.Port())
		sa, salen = unsafe.Pointer(&s.to4), unix.SizeofSockaddrInet4
	}
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	for {
		_, _, errno := syscall.RawSyscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(p), uintptr(len(b)), 0, uintptr(sa), salen)
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return fmt.Errorf("RTP socket %v: send to %v: %w", s.local, to, errno)
	}
}

// Close closes the socket. Idempotent.
func (s *Socket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return unix.Close(s.fd)
}

// String describes the socket for logs.
func (s *Socket) String() string { return "udp " + s.local.String() }

// putPort stores port in network byte order into a sockaddr's port field,
// byte by byte (whatever the host's byte order and alignment rules).
func putPort(field *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(field))
	b[0], b[1] = byte(port>>8), byte(port)
}

// rawAddrPort decodes a source address that recvfrom filled in.
func rawAddrPort(sa *unix.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case unix.AF_INET:
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&a.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&a.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

func addrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port))
	}
	return netip.AddrPort{}
}
