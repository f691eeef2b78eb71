package serialport

import (
	"errors"
	"io"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawIO reads and writes the port's non-blocking descriptor with raw
// system calls, waiting for readiness in Go's network poller.
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
// Each direction is used by one goroutine at a time (Port's contract);
// the closures are made once, so a call allocates nothing.
type rawIO struct {
	rc syscall.RawConn

	rbuf   []byte
	rn     int
	rerrno syscall.Errno
	readFn func(fd uintptr) bool

	wbuf    []byte
	wn      int
	werrno  syscall.Errno
	writeFn func(fd uintptr) bool
}

func newRawIO(f *os.File) (*rawIO, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &rawIO{rc: rc}
	r.readFn = r.readOnce
	r.writeFn = r.writeSome
	return r, nil
}

// readOnce reads once into rbuf; false (EAGAIN) makes the poller wait.
func (r *rawIO) readOnce(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&r.rbuf[0])), uintptr(len(r.rbuf)))
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

// writeSome writes what is left of wbuf; false (EAGAIN, or more to
// write) makes the poller wait until the device takes more.
func (r *rawIO) writeSome(fd uintptr) bool {
	for r.wn < len(r.wbuf) {
		b := r.wbuf[r.wn:]
		n, _, errno := syscall.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch errno {
		case 0:
			r.wn += int(n)
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			r.werrno = errno
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
	err := r.rc.Read(r.readFn)
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
	r.wbuf, r.wn, r.werrno = b, 0, 0
	err := r.rc.Write(r.writeFn)
	r.wbuf = nil
	switch {
	case err != nil:
		return r.wn, closedErr(err)
	case r.werrno != 0:
		return r.wn, r.werrno
	}
	return r.wn, nil
}

// closedErr: the poller's error for a descriptor closed under a waiting
// Read or Write ("use of closed file") as os.File reports it.
func closedErr(err error) error {
	if errors.Is(err, os.ErrClosed) {
		return err
	}
	return &os.PathError{Op: "raw I/O", Path: "", Err: os.ErrClosed}
}
