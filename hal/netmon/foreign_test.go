package netmon

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"unsafe"

	"lifeline/hal/netmon/netnstest"
)

// TestNetnsForeignSender: a root process in the namespace multicasts forged
// rtnetlink messages to the groups the Monitor listens on. netlink drops
// them (the sender is not the kernel) and the Monitor must neither take
// them for a lost subscription — which would let any process make it
// re-dump at will — nor miss the real change that follows.
func TestNetnsForeignSender(t *testing.T) {
	p := netnstest.NewPair(t)
	m := New(netnstest.WAN, withOS(newNetlinkOS(p.RouterNS)), WithLogger(slog.New(slog.DiscardHandler)))
	states := make(chan WANState, 64)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = m.Run(ctx, func(s WANState) { states <- s })
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	wait := func(what string, pred func(WANState) bool) {
		t.Helper()
		limit := time.After(10 * time.Second) // safety net: the kernel answers in ms
		for {
			select {
			case s := <-states:
				if pred(s) {
					return
				}
			case <-limit:
				t.Fatalf("never saw %s", what)
			}
		}
	}
	wait("the usable WAN", func(s WANState) bool { return s.Usable() })

	sendForged(t, p.RouterNS, 50)
	p.In(p.Router, "link", "set", netnstest.WAN, "down")
	wait("the carrier loss", func(s WANState) bool { return !s.Usable() })
	if n := m.losses.Load(); n != 0 {
		t.Fatalf("%d subscriptions dropped for forged messages", n)
	}
}

// sendForged multicasts n RTM_NEWLINK messages from a user-space netlink
// socket in ns to the link, IPv4 address and route groups.
func sendForged(t *testing.T, ns netns.NsHandle, n int) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { // a thread of its own: it changes namespace and dies with it
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		errc <- func() error {
			if err := netns.Set(ns); err != nil {
				return err
			}
			fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
				return err
			}
			msg := make([]byte, unix.NLMSG_HDRLEN+unix.SizeofIfInfomsg)
			*(*unix.NlMsghdr)(unsafePointer(msg)) = unix.NlMsghdr{Len: uint32(len(msg)), Type: unix.RTM_NEWLINK}
			dst := &unix.SockaddrNetlink{Family: unix.AF_NETLINK,
				Groups: unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV4_ROUTE}
			for range n {
				if err := unix.Sendto(fd, msg, 0, dst); err != nil {
					return err
				}
			}
			return nil
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatalf("forged netlink multicast: %v", err)
	}
}

func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
