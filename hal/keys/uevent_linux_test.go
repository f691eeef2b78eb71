package keys

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lifeline/hal/clock"
)

// TestUeventSourceNetns runs the real netlink socket in a network
// namespace of its own, where this test (as root) broadcasts button
// payloads to group 1 as the kernel would: nothing reaches the host's
// procd/udev. Kernel-only filtering is relaxed for the test sender, and
// checked separately.
func TestUeventSourceNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace (unshare CLONE_NEWNET)")
	}
	// The thread stays locked and dies with the test goroutine, so the
	// namespace never leaks to other goroutines.
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		t.Skipf("needs unshare(CLONE_NEWNET): %v", err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	relaxed, err := ListenUevents(ctx, WithClock(clk), WithNames(map[string]string{"BTN_0": "phone"}), func(c *config) { c.acceptUser = true })
	if err != nil {
		t.Fatal(err)
	}
	defer relaxed.Close()
	strict, err := ListenUevents(ctx, WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()

	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{payloadNetAdd, payloadRfkillSw, payloadWPSPressed, payloadBTN0, payloadWPSReleased} {
		if err := unix.Sendto(fd, []byte(p), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1}); err != nil {
			t.Skipf("cannot broadcast to uevent group 1 in a netns: %v", err)
		}
	}
	want := []Event{{"wps", true, clk.Now()}, {"phone", false, clk.Now()}, {"wps", false, clk.Now()}}
	for i, w := range want {
		select {
		case got := <-relaxed.Events():
			if got != w {
				t.Fatalf("event %d = %+v, want %+v", i, got, w)
			}
		case <-time.After(5 * time.Second): // safety net
			t.Fatalf("event %d never arrived", i)
		}
	}
	relaxed.Close()
	if _, ok := <-relaxed.Events(); ok {
		t.Fatal("Events open after Close")
	}
	// The strict source drops them all (the sender was not the kernel);
	// whether it had read them before Close is not synchronised, so the
	// filter itself is tested in TestFromKernel.
	strict.Close()
	for e := range strict.Events() {
		t.Fatalf("strict source passed a userspace message: %+v", e)
	}
}

func TestFromKernel(t *testing.T) {
	cases := []struct {
		name string
		sa   unix.Sockaddr
		want bool
	}{
		{"kernel", &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1, Pid: 0}, true},
		{"userspace process", &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1, Pid: 4242}, false},
		{"not netlink", &unix.SockaddrUnix{Name: "/x"}, false},
		{"nil", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := fromKernel(tc.sa); got != tc.want {
				t.Fatalf("fromKernel = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUeventSourceContextStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := ListenUevents(ctx)
	if err != nil {
		t.Skipf("no uevent socket here: %v", err)
	}
	cancel()
	for range s.Events() {
	}
	s.Close()
	s.Close()
	if s.Err() != nil {
		t.Fatalf("Err = %v after a clean stop", s.Err())
	}
}

// TestRealKernelUevent captures a genuine kernel uevent — the "add" of a
// veth network device created in a private network namespace — and checks
// that it parses, comes from the kernel (port id 0), and is not a button.
func TestRealKernelUevent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace (unshare CLONE_NEWNET)")
	}
	ipBin, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("needs the ip command (iproute2)")
	}
	runtime.LockOSThread() // never unlocked: the thread dies with the test
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		t.Skipf("needs unshare(CLONE_NEWNET): %v", err)
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1}); err != nil {
		t.Fatal(err)
	}
	tv := unix.NsecToTimeval((5 * time.Second).Nanoseconds()) // safety net
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	// The child is forked from this locked thread, so it runs in the new
	// namespace.
	if out, err := exec.Command(ipBin, "link", "add", "lltest0", "type", "veth", "peer", "name", "lltest1").CombinedOutput(); err != nil {
		t.Skipf("cannot create a veth pair: %v %s", err, out)
	}
	buf := make([]byte, 8192)
	for {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			t.Fatalf("no uevent for the veth link: %v", err)
		}
		if !fromKernel(from) {
			continue
		}
		u, err := ParseUevent(buf[:n])
		if err != nil {
			t.Fatalf("kernel payload %q: %v", buf[:n], err)
		}
		if u.Env["INTERFACE"] != "lltest0" {
			continue // some other device's event
		}
		t.Logf("captured: %q", buf[:n])
		if u.Action != "add" || u.Env["SUBSYSTEM"] != "net" || u.Env["ACTION"] != "add" || !strings.HasSuffix(u.DevPath, "/lltest0") {
			t.Fatalf("parsed %+v", u)
		}
		if _, ok := u.ButtonEvent(); ok {
			t.Fatal("a net uevent taken for a button")
		}
		return
	}
}
