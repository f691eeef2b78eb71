package modem

import (
	"context"
	"errors"
	"io"
)

// Port is an open modem device as Line uses it: the byte stream, the DTR
// line, and Close. serialport.Port implements it over a real serial device;
// modemtest.Modem is the fake beside it.
type Port interface {
	io.ReadWriteCloser
	// SetDTR drives DTR; false drops it, which hangs up a modem set to &D2.
	// Devices without modem control lines (pseudo-terminals) return an
	// error, which Line logs and ignores.
	SetDTR(on bool) error
}

// Checker is implemented by ports that can tell, without I/O on the stream,
// that the device has gone (the path was removed or now names another
// device). Line calls Check before each health check.
type Checker interface {
	Check() error
}

// Opener opens the device named path. It is called from Line's goroutine
// only, and again after each loss of the device. An error wrapping
// ErrNotPresent means "not plugged in" and is retried quietly.
type Opener interface {
	Open(ctx context.Context, path string) (Port, error)
}

// OpenerFunc adapts a function to Opener.
type OpenerFunc func(ctx context.Context, path string) (Port, error)

// Open calls f.
func (f OpenerFunc) Open(ctx context.Context, path string) (Port, error) { return f(ctx, path) }

// ErrNotPresent: the device is not there (no such file, unplugged).
var ErrNotPresent = errors.New("modem: device not present")
