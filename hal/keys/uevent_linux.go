package keys

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// UeventSource listens to kernel uevents (NETLINK_KOBJECT_UEVENT, multicast
// group 1) and reports OpenWrt button events (SUBSYSTEM=button). Every
// listener gets its own copy of each broadcast, so it coexists with procd.
// Messages not sent by the kernel (sender port id != 0) are ignored.
//
// One goroutine, owned by the source, reads the socket; it stops when the
// context given to ListenUevents is done or Close is called, then closes
// Events. Close is idempotent and waits for it.
type UeventSource struct {
	cfg    config
	f      *os.File
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}

	mu  sync.Mutex
	err error
}

var _ Source = (*UeventSource)(nil)

// ListenUevents opens and binds the uevent socket.
func ListenUevents(ctx context.Context, opts ...Option) (*UeventSource, error) {
	cfg := newConfig(opts)
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return nil, fmt.Errorf("keys: uevent socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("keys: bind uevent socket to group 1: %w", err)
	}
	// A burst of hotplug events must not crowd out a button press.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 256*1024)
	s := &UeventSource{
		cfg:    cfg,
		f:      os.NewFile(uintptr(fd), "uevent"),
		events: make(chan Event, cfg.buffer),
		done:   make(chan struct{}),
	}
	ctx, s.cancel = context.WithCancel(ctx)
	stop := context.AfterFunc(ctx, func() { s.f.Close() }) // unblocks the read
	go func() {
		defer stop()
		s.run(ctx)
	}()
	return s, nil
}

// Events returns the event channel.
func (s *UeventSource) Events() <-chan Event { return s.events }

// Err returns the error that stopped the source, if any.
func (s *UeventSource) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close stops the source and waits for its goroutine.
func (s *UeventSource) Close() error {
	s.cancel()
	<-s.done
	return nil
}

func (s *UeventSource) run(ctx context.Context) {
	defer close(s.done)
	defer close(s.events)
	defer s.f.Close()
	rc, err := s.f.SyscallConn()
	if err != nil {
		s.setErr(fmt.Errorf("keys: uevent socket: %w", err))
		return
	}
	buf := make([]byte, 8192)
	for {
		var (
			n    int
			from unix.Sockaddr
			rerr error
		)
		err := rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN
		})
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = rerr
		}
		switch {
		case err == nil:
		case errors.Is(err, unix.ENOBUFS):
			s.cfg.log.Warn("uevent socket overrun; button events may have been lost")
			continue
		case errors.Is(err, unix.EINTR):
			continue
		default:
			s.setErr(fmt.Errorf("keys: read uevent socket: %w", err))
			s.cfg.log.Error("uevent source stopped", "err", err)
			return
		}
		if !fromKernel(from) && !s.cfg.acceptUser {
			continue
		}
		u, err := ParseUevent(buf[:n])
		if err != nil {
			s.cfg.log.Debug("ignoring uevent", "err", err)
			continue
		}
		b, ok := u.ButtonEvent()
		if !ok || b.Switch {
			continue
		}
		ev := Event{Key: s.cfg.rename(b.Name), Pressed: b.Pressed, At: s.cfg.clk.Now()}
		select {
		case s.events <- ev:
		case <-ctx.Done():
			return
		}
	}
}

func (s *UeventSource) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// fromKernel reports whether a uevent datagram came from the kernel (port
// id 0) rather than from a userspace process spoofing a button press.
func fromKernel(sa unix.Sockaddr) bool {
	nl, ok := sa.(*unix.SockaddrNetlink)
	return ok && nl.Pid == 0
}
