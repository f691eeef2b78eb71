package guard_test

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/hal/clock"
	"lifeline/hal/gateway/guard"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const invite = "INVITE sip:0900123@127.0.0.1:5080 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-1;rport\r\n" +
	"Max-Forwards: 70\r\n" +
	"From: \"x\" <sip:x@127.0.0.1>;tag=abc\r\n" +
	"To: <sip:0900123@127.0.0.1>\r\n" +
	"Call-ID: 1@x\r\n" +
	"CSeq: 1 INVITE\r\n" +
	"Contact: <sip:x@127.0.0.1:5999>\r\n" +
	"Content-Length: 0\r\n\r\n"

func TestForbidden(t *testing.T) {
	res := guard.Forbidden([]byte(invite))
	want := "SIP/2.0 403 Forbidden\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-1;rport\r\n" +
		"From: \"x\" <sip:x@127.0.0.1>;tag=abc\r\n" +
		"To: <sip:0900123@127.0.0.1>;tag=lifeline-403\r\n" +
		"Call-ID: 1@x\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Content-Length: 0\r\n\r\n"
	if string(res) != want {
		t.Fatalf("Forbidden =\n%s\nwant\n%s", res, want)
	}
	compact := strings.NewReplacer("Via:", "v:", "From:", "f:", "To:", "t:", "Call-ID:", "i:").Replace(invite)
	if res := guard.Forbidden([]byte(compact)); !bytes.Equal(res, []byte(want)) {
		t.Fatalf("compact headers: %q", res)
	}
	for name, req := range map[string]string{
		"ACK":         strings.Replace(invite, "INVITE sip", "ACK sip", 1),
		"response":    "SIP/2.0 200 OK\r\n" + invite[strings.Index(invite, "\r\n")+2:],
		"no Call-ID":  strings.Replace(invite, "Call-ID: 1@x\r\n", "", 1),
		"junk":        "\x00\x01hello",
		"empty":       "",
		"larger 403":  "OPTIONS sip:x SIP/2.0\r\nv:a\r\nf:b\r\nt:c\r\ni:d\r\nCSeq:1 OPTIONS\r\n\r\n",
		"bad version": strings.Replace(invite, "SIP/2.0\r\n", "SIP/3.0\r\n", 1),
	} {
		if res := guard.Forbidden([]byte(req)); res != nil {
			t.Errorf("%s: got a response %q", name, res)
		}
	}
}

// FuzzForbidden: the 403 is nil or no larger than the request, has the
// status line and only the copied headers, each on its own line.
func FuzzForbidden(f *testing.F) {
	f.Add([]byte(invite))
	f.Add([]byte("BYE sip:x SIP/2.0\r\nv: a\r\n b\r\nf: c\r\nt: d;tag=1\r\ni: e\r\nCSeq: 2 BYE\r\n\r\n"))
	f.Add([]byte("INVITE x SIP/2.0\r\nTo:\r\n\r\n"))
	f.Fuzz(func(t *testing.T, req []byte) {
		res := guard.Forbidden(req)
		if res == nil {
			return
		}
		if len(res) > len(req) {
			t.Fatalf("403 of %d bytes to a request of %d", len(res), len(req))
		}
		head, ok := strings.CutSuffix(string(res), "\r\nContent-Length: 0\r\n\r\n")
		lines := strings.Split(head, "\r\n")
		if !ok || lines[0] != "SIP/2.0 403 Forbidden" {
			t.Fatalf("bad 403 %q", res)
		}
		for _, l := range lines[1:] {
			name, _, _ := strings.Cut(l, ": ")
			switch name {
			case "Via", "From", "To", "Call-ID", "CSeq":
			default:
				t.Fatalf("header %q in %q", l, res)
			}
			if strings.ContainsAny(l, "\r\n\x00") {
				t.Fatalf("header %q", l)
			}
		}
	})
}

func listen(t *testing.T, addr string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Skipf("needs loopback UDP on %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// pending reads every datagram already queued on c without waiting (a
// recv with MSG_DONTWAIT): on loopback a datagram is queued when its
// sendto returns.
func pending(t *testing.T, c *net.UDPConn) [][]byte {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	buf := make([]byte, 2048)
	for {
		n := -1
		var rerr error
		if err := rc.Control(func(fd uintptr) {
			n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
		}); err != nil {
			t.Fatal(err)
		}
		if errors.Is(rerr, syscall.EAGAIN) {
			return out
		}
		if rerr != nil {
			t.Fatal(rerr)
		}
		out = append(out, bytes.Clone(buf[:n]))
	}
}

// TestConn: datagrams from the allowed source are delivered; a stranger's
// requests are not, each gets one 403 until the second's budget is spent,
// and its responses and ACKs get nothing.
func TestConn(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	gwSock := listen(t, "127.0.0.1:0")
	g := guard.New(gwSock, guard.Config{Allowed: func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.2") },
		RepliesPerSecond: 3, Clock: clk})
	friend := listen(t, "127.0.0.2:0")
	stranger := listen(t, "127.0.0.1:0")
	gw := gwSock.LocalAddr()
	buf := make([]byte, 2048)
	// read sends a marker from the friend and returns what ReadFrom
	// delivers: everything the stranger sent before has been handled.
	read := func(marker string) {
		t.Helper()
		if _, err := friend.WriteTo([]byte(marker), gw); err != nil {
			t.Fatal(err)
		}
		n, from, err := g.ReadFrom(buf)
		if err != nil || string(buf[:n]) != marker || from.String() != friend.LocalAddr().String() {
			t.Fatalf("ReadFrom = %q from %v, %v; want the friend's %q", buf[:n], from, err, marker)
		}
	}
	send := func(msg string, times int) {
		for range times {
			if _, err := stranger.WriteTo([]byte(msg), gw); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(invite, 1)
	read("one")
	got := pending(t, stranger)
	if len(got) != 1 || !bytes.HasPrefix(got[0], []byte("SIP/2.0 403 Forbidden\r\n")) || len(got[0]) > len(invite) {
		t.Fatalf("stranger got %q, want one 403 no larger than its INVITE", got)
	}
	send("SIP/2.0 200 OK\r\n\r\n", 2)
	send(strings.Replace(invite, "INVITE sip", "ACK sip", 1), 2)
	read("two")
	if got := pending(t, stranger); len(got) != 0 {
		t.Fatalf("responses and ACKs answered: %q", got)
	}
	send(invite, 5) // 2 left in this second's budget of 3
	read("three")
	if got := pending(t, stranger); len(got) != 2 {
		t.Fatalf("%d replies beyond the budget, want 2", len(got))
	}
	clk.Advance(time.Second)
	send(invite, 1)
	read("four")
	if got := pending(t, stranger); len(got) != 1 {
		t.Fatalf("next second: %d replies, want 1", len(got))
	}
	if n := g.Refused(); n != 11 {
		t.Fatalf("Refused = %d, want 11", n)
	}
}

// TestMulti: one PacketConn on a LAN address and loopback with the same
// port: datagrams to either arrive, and the answer leaves from the socket
// the peer reaches (loopback peers from loopback).
func TestMulti(t *testing.T) {
	lan := lanAddr(t)
	probe := listen(t, "127.0.0.1:0")
	port := probe.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	probe.Close()
	m, err := guard.ListenMulti(netip.AddrPortFrom(lan, port), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port))
	if err != nil {
		t.Skipf("cannot bind %s and loopback on port %d: %v", lan, port, err)
	}
	defer m.Close()
	if got := m.LocalAddr().(*net.UDPAddr).AddrPort(); got != netip.AddrPortFrom(lan, port) {
		t.Fatalf("LocalAddr %v", got)
	}
	buf := make([]byte, 100)
	for _, tc := range []struct{ peer, to netip.Addr }{
		{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.1")},
		{lan, lan},
	} {
		peer := listen(t, netip.AddrPortFrom(tc.peer, 0).String())
		if _, err := peer.WriteTo([]byte("ping"), net.UDPAddrFromAddrPort(netip.AddrPortFrom(tc.to, port))); err != nil {
			t.Fatal(err)
		}
		n, from, err := m.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "ping" || from.String() != peer.LocalAddr().String() {
			t.Fatalf("ReadFrom = %q from %v, %v", buf[:n], from, err)
		}
		if _, err := m.WriteTo([]byte("pong"), from); err != nil {
			t.Fatal(err)
		}
		peer.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, src, err := peer.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "pong" || src.(*net.UDPAddr).AddrPort() != netip.AddrPortFrom(tc.to, port) {
			t.Fatalf("peer %s got %q from %v, %v; want pong from %s:%d", tc.peer, buf[:n], src, err, tc.to, port)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.ReadFrom(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadFrom after Close: %v", err)
	}
	m.Close() // idempotent
}

// lanAddr is a non-loopback IPv4 address of this host; it skips without.
func lanAddr(t *testing.T) netip.Addr {
	t.Helper()
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP.To4()); ok && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
				return ip
			}
		}
	}
	t.Skip("needs a non-loopback IPv4 address on this host")
	return netip.Addr{}
}

// BenchmarkForbidden: the cost of answering one INVITE from an unlisted
// source (the work a flood of them makes).
func BenchmarkForbidden(b *testing.B) {
	req := []byte(invite)
	b.ReportAllocs()
	for b.Loop() {
		if guard.Forbidden(req) == nil {
			b.Fatal("no 403")
		}
	}
}
