package serialport

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawIO reads and writes the port's non-blocking descriptor with raw
// system calls, waiting for readiness in Go's network poller through two
// epoll instances of its own.
//
// Why raw: a system call made through syscall.Syscall (os.File.Read,
// go.bug.st/serial's Write) enters the runtime's syscall state, and the
// first one after the process has been idle wakes the runtime's sysmon
// thread out of its deep sleep; sysmon then sleeps and polls again in
// 20 µs steps until it sees the process idle. During a voice call that is
// at every 20 ms frame, and it was about a quarter of the daemon's CPU
// per call and two of its context switches per frame
// (BenchmarkGatewayCall in cmd/lifeline). The descriptor is non-blocking,
// so a raw call returns at once and needs none of what entersyscall is
// for (handing the P to another thread while the call blocks).
//
// Why not the tty itself in the poller: Go registers every descriptor
// for readable and writable, edge-triggered, and a tty signals writable
// each time its peer drains what was written (the modem takes the frame
// the bridge wrote): that woke the poller's thread once more per 20 ms
// frame, with nothing to run (a context switch and three epoll_pwait
// calls a frame). The tty is instead in an epoll instance of ours (rep)
// for readable only, and that instance, readable when the tty is, is
// what the poller watches. Writes that find the tty full arm a second
// instance (wep) for writable, once (EPOLLONESHOT), and wait on it.
//
// Each direction is used by one goroutine at a time (Port's contract);
// the closures are made once, so a call allocates nothing. The tty's
// descriptor is used only inside the instances' RawConn calls, so close
// (which waits for those to return) may close it safely.
type rawIO struct {
	fd       int      // the tty, non-blocking, in no poller
	rep, wep *os.File // epoll instances: fd readable; fd writable, armed by a waiting write
	rrc, wrc syscall.RawConn

	rbuf   []byte
	rn     int
	rerrno syscall.Errno
	readFn func(uintptr) bool

	wbuf    []byte
	wn      int
	werr    error
	writeFn func(uintptr) bool
}

// newRawIO takes over fd (non-blocking): close closes it.
func newRawIO(fd int, name string) (*rawIO, error) {
	r := &rawIO{fd: fd}
	var err error
	if r.rep, r.rrc, err = newEpoll(name+" (read)", fd, unix.EPOLLIN|unix.EPOLLRDHUP); err != nil {
		return nil, err
	}
	// Registered disarmed: no events until a write arms it.
	if r.wep, r.wrc, err = newEpoll(name+" (write)", fd, unix.EPOLLONESHOT); err != nil {
		r.rep.Close()
		return nil, err
	}
	r.readFn = r.readOnce
	r.writeFn = r.writeSome
	return r, nil
}

// newEpoll returns an epoll instance watching fd for events, as a file in
// Go's network poller.
func newEpoll(name string, fd int, events uint32) (*os.File, syscall.RawConn, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("epoll for %s: %w", name, err)
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: events, Fd: int32(fd)}); err != nil {
		unix.Close(ep)
		return nil, nil, fmt.Errorf("epoll for %s: %w", name, err)
	}
	if err := unix.SetNonblock(ep, true); err != nil {
		unix.Close(ep)
		return nil, nil, fmt.Errorf("epoll for %s: %w", name, err)
	}
	f := os.NewFile(uintptr(ep), "epoll "+name) // non-blocking: in the poller
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, rc, nil
}

// readOnce reads once into rbuf; false (EAGAIN) makes the poller wait.
func (r *rawIO) readOnce(uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall(unix.SYS_READ, uintptr(r.fd), uintptr(unsafe.Pointer(&r.rbuf[0])), uintptr(len(r.rbuf)))
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		r.rn, r.rerrno = int(n), errno
		return true
	}
}

// writeSome writes what is left of wbuf; false (EAGAIN) arms wep (ep,
// its descriptor) and makes the poller wait until the device takes more.
func (r *rawIO) writeSome(ep uintptr) bool {
	for r.wn < len(r.wbuf) {
		b := r.wbuf[r.wn:]
		n, _, errno := syscall.RawSyscall(unix.SYS_WRITE, uintptr(r.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch errno {
		case 0:
			r.wn += int(n)
		case unix.EINTR:
		case unix.EAGAIN:
			// Armed after the poller's reset of this wait (RawConn.Read
			// resets, then calls us): an fd already writable is
			// reported by the EPOLL_CTL_MOD itself.
			ev := unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLONESHOT, Fd: int32(r.fd)}
			if err := unix.EpollCtl(int(ep), unix.EPOLL_CTL_MOD, r.fd, &ev); err != nil {
				r.werr = err
				return true
			}
			return false
		default:
			r.werr = errno
			return true
		}
	}
	return true
}

// read is os.File.Read's contract: at least one byte, or an error (io.EOF
// when the device hung up; os.ErrClosed after Close).
func (r *rawIO) read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	r.rbuf, r.rn, r.rerrno = b, 0, 0
	err := r.rrc.Read(r.readFn)
	r.rbuf = nil
	switch {
	case err != nil:
		return 0, closedErr(err)
	case r.rerrno != 0:
		return 0, r.rerrno
	case r.rn == 0:
		return 0, io.EOF
	}
	return r.rn, nil
}

// write writes all of b, or fails.
func (r *rawIO) write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	r.wbuf, r.wn, r.werr = b, 0, nil
	err := r.wrc.Read(r.writeFn) // wep is readable when the tty is writable
	r.wbuf = nil
	switch {
	case err != nil:
		return r.wn, closedErr(err)
	case r.werr != nil:
		return r.wn, r.werr
	}
	return r.wn, nil
}

// control runs fn on the tty's descriptor while the port is open.
func (r *rawIO) control(fn func(fd int) error) error {
	var ferr error
	if err := r.rrc.Control(func(uintptr) { ferr = fn(r.fd) }); err != nil {
		return closedErr(err)
	}
	return ferr
}

// close makes a waiting read and write return (os.ErrClosed), waits for
// them, then closes the tty's descriptor.
func (r *rawIO) close() error {
	err1 := r.rep.Close()
	err2 := r.wep.Close()
	return errors.Join(err1, err2, unix.Close(r.fd))
}

// closedErr: the poller's error for a descriptor closed under a waiting
// Read or Write ("use of closed file") as os.File reports it.
func closedErr(err error) error {
	if errors.Is(err, os.ErrClosed) {
		return err
	}
	return &os.PathError{Op: "raw I/O", Path: "", Err: os.ErrClosed}
}
