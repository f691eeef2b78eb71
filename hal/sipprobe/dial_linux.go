package sipprobe

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"syscall"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// dialNet dials with the socket bound to the WAN interface
// (SO_BINDTODEVICE, skipped when iface is empty) and, when ns is open,
// created inside that network namespace.
func dialNet(ctx context.Context, iface string, ns netns.NsHandle, network, address string) (Conn, error) {
	d := net.Dialer{}
	if iface != "" {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface)
			}); err != nil {
				return err
			}
			if serr != nil {
				return fmt.Errorf("%w %q: %w", ErrBindDevice, iface, serr)
			}
			return nil
		}
	}
	if !ns.IsOpen() {
		return d.DialContext(ctx, network, address)
	}
	// A socket belongs to the namespace of the thread that creates it:
	// create it on a locked thread switched into ns, then switch back.
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("get current netns: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("enter netns: %w", err)
	}
	c, derr := d.DialContext(ctx, network, address)
	if err := netns.Set(orig); err != nil {
		// Leave the thread locked: it dies with this goroutine rather than
		// running other goroutines in the wrong namespace.
		if c != nil {
			c.Close()
		}
		return nil, fmt.Errorf("restore netns: %w", err)
	}
	runtime.UnlockOSThread()
	return c, derr
}
