// Package ifctl sets network interfaces administratively up and down: the
// load-shedding actuator. Netlink does it through the kernel's rtnetlink;
// Fake stands in for it in tests.
//
// The package only acts; which interfaces to shed and which to restore is
// the daemon's power policy. Down reports whether the interface was up, so
// the policy restores only what it took down.
package ifctl

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"

	"github.com/vishvananda/netns"

	"lifeline/hal/internal/rtnl"
)

// Actuator sets interfaces up and down. Implementations are safe for
// concurrent use.
type Actuator interface {
	// Down sets the interface administratively down. wasUp reports
	// whether it was up before; an interface already down is left alone
	// and gives wasUp false with no error.
	Down(name string) (wasUp bool, err error)
	// Up sets the interface administratively up.
	Up(name string) error
	// IsUp reports whether the interface is administratively up (IFF_UP;
	// carrier is not considered).
	IsUp(name string) (bool, error)
}

// Sentinel errors; returned errors wrap one of them and name the interface.
var (
	ErrInvalidName     = errors.New("invalid interface name")
	ErrNoSuchInterface = errors.New("no such interface")
	ErrPermission      = errors.New("permission denied (needs CAP_NET_ADMIN)")
	ErrNetlink         = errors.New("netlink request failed")
	ErrClosed          = errors.New("ifctl closed")
)

// ValidName reports whether name can be a Linux interface name.
func ValidName(name string) bool {
	return name != "" && len(name) < 16 && name != "." && name != ".." &&
		!strings.ContainsAny(name, "/: \t\n\x00")
}

// Netlink is the kernel Actuator. One mutex serialises its requests on one
// rtnetlink socket.
type Netlink struct {
	mu sync.Mutex
	c  *rtnl.Conn // nil after Close
}

var _ Actuator = (*Netlink)(nil)

// Option configures New.
type Option func(*options)

type options struct{ nsFd int }

// WithNetNS makes the Netlink act inside the network namespace open as fd
// (e.g. from /proc/PID/ns/net or /run/netns/NAME). The caller keeps fd
// open until New returns; tests use it with a namespace of their own.
func WithNetNS(fd int) Option { return func(o *options) { o.nsFd = fd } }

// New opens an rtnetlink socket in the current (or the given) network
// namespace.
func New(opts ...Option) (*Netlink, error) {
	o := options{nsFd: -1}
	for _, f := range opts {
		f(&o)
	}
	ns := netns.None()
	if o.nsFd >= 0 {
		ns = netns.NsHandle(o.nsFd)
	}
	c, err := rtnl.Open(ns)
	if err != nil {
		return nil, fmt.Errorf("ifctl: open rtnetlink: %w", wrap(err))
	}
	return &Netlink{c: c}, nil
}

// Close releases the socket. Idempotent.
func (n *Netlink) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.c != nil {
		n.c.Close()
		n.c = nil
	}
	return nil
}

// wrap classifies a netlink error.
func wrap(err error) error {
	switch {
	case errors.Is(err, rtnl.ErrLinkNotFound), errors.Is(err, syscall.ENODEV):
		return fmt.Errorf("%w: %w", ErrNoSuchInterface, err)
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return fmt.Errorf("%w: %w", ErrNetlink, err)
}

// link looks the interface up. Callers hold mu.
func (n *Netlink) link(op, name string) (rtnl.Link, error) {
	if !ValidName(name) {
		return rtnl.Link{}, fmt.Errorf("ifctl: %s %q: %w", op, name, ErrInvalidName)
	}
	if n.c == nil {
		return rtnl.Link{}, fmt.Errorf("ifctl: %s %q: %w", op, name, ErrClosed)
	}
	l, err := n.c.LinkByName(name)
	if err != nil {
		return rtnl.Link{}, fmt.Errorf("ifctl: %s %q: %w", op, name, wrap(err))
	}
	return l, nil
}

// Down implements Actuator.
func (n *Netlink) Down(name string) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	l, err := n.link("down", name)
	if err != nil {
		return false, err
	}
	if l.Flags&syscall.IFF_UP == 0 {
		return false, nil
	}
	if err := n.c.SetUp(l.Index, false); err != nil {
		return true, fmt.Errorf("ifctl: down %q: %w", name, wrap(err))
	}
	return true, nil
}

// Up implements Actuator.
func (n *Netlink) Up(name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	l, err := n.link("up", name)
	if err != nil {
		return err
	}
	if err := n.c.SetUp(l.Index, true); err != nil {
		return fmt.Errorf("ifctl: up %q: %w", name, wrap(err))
	}
	return nil
}

// IsUp implements Actuator.
func (n *Netlink) IsUp(name string) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	l, err := n.link("query", name)
	if err != nil {
		return false, err
	}
	return l.Flags&syscall.IFF_UP != 0, nil
}
