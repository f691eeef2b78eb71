package power

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Uevent is one kernel uevent: the header ("change@/devices/...") and its
// KEY=VALUE pairs.
type Uevent struct {
	Action  string // ACTION, or the header's part before '@'
	DevPath string
	Vars    map[string]string
}

// ErrUevent is returned by ParseUevent for a message that is not a kernel
// uevent (udev's "libudev" messages on other groups included).
var ErrUevent = errors.New("not a kernel uevent")

// ParseUevent parses a NETLINK_KOBJECT_UEVENT message: "ACTION@DEVPATH\0"
// followed by NUL-separated KEY=VALUE pairs.
func ParseUevent(msg []byte) (Uevent, error) {
	fields := bytes.Split(msg, []byte{0})
	head := string(fields[0])
	at := -1
	for i := 0; i < len(head); i++ {
		if head[i] == '@' {
			at = i
			break
		}
	}
	if at <= 0 || at == len(head)-1 {
		return Uevent{}, fmt.Errorf("%w: header %.40q", ErrUevent, head)
	}
	ev := Uevent{Action: head[:at], DevPath: head[at+1:], Vars: make(map[string]string, len(fields))}
	for _, f := range fields[1:] {
		k, v, ok := bytes.Cut(f, []byte{'='})
		if !ok || len(k) == 0 {
			continue
		}
		ev.Vars[string(k)] = string(v)
	}
	if a := ev.Vars["ACTION"]; a != "" {
		ev.Action = a
	}
	if p := ev.Vars["DEVPATH"]; p != "" {
		ev.DevPath = p
	}
	return ev, nil
}

// PowerSupply reports whether the uevent concerns the power-supply class.
func (u Uevent) PowerSupply() bool { return u.Vars["SUBSYSTEM"] == "power_supply" }

// hintSource delivers raw uevents; the Monitor treats them as hints to
// re-read the class. Receive blocks; Close makes it return an error.
type hintSource interface {
	Receive(buf []byte) (int, error)
	Close() error
}

// ueventSocket is the kernel's uevent broadcast (group 1), read through the
// runtime poller so that Close interrupts a blocked Receive.
type ueventSocket struct{ f *os.File }

func openUevents() (hintSource, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return nil, fmt.Errorf("uevent socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("uevent bind: %w", err)
	}
	return &ueventSocket{f: os.NewFile(uintptr(fd), "uevent")}, nil
}

func (u *ueventSocket) Receive(buf []byte) (int, error) { return u.f.Read(buf) }
func (u *ueventSocket) Close() error                    { return u.f.Close() }
