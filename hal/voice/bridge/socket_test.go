package bridge_test

import (
	"net"
	"net/netip"
	"testing"

	"lifeline/hal/voice/bridge"
)

// Recv returns every datagram waiting, in order, with its source, then
// says none is waiting; one that arrives later is read by a later Recv,
// however many datagrams each read found.
func TestSocketRecvInOrder(t *testing.T) {
	s, err := bridge.ListenRTP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Skipf("needs loopback UDP: %v", err)
	}
	defer s.Close()
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	src := peer.LocalAddr().(*net.UDPAddr).AddrPort()
	send := func(p string) {
		t.Helper()
		if _, err := peer.WriteToUDPAddrPort([]byte(p), s.AddrPort()); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64)
	// recv drains the socket: loopback delivers a sent datagram before
	// the send returns, so everything sent is waiting.
	recv := func() []string {
		t.Helper()
		var got []string
		for range 10 {
			n, from, ok, err := s.Recv(buf)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return got
			}
			if from != src {
				t.Fatalf("datagram %q from %v, want %v", buf[:n], from, src)
			}
			got = append(got, string(buf[:n]))
		}
		t.Fatalf("Recv never said the socket was empty: %q", got)
		return nil
	}
	for _, batch := range [][]string{{"a", "b", "c"}, {"d"}, {}, {"e", "f"}, {"g"}, {"h", "i", "j", "k"}, {}} {
		for _, p := range batch {
			send(p)
		}
		var got []string
		// A read that found one datagram may say "none" once before
		// looking again: drain twice.
		got = append(got, recv()...)
		got = append(got, recv()...)
		if len(got) != len(batch) {
			t.Fatalf("sent %q, received %q", batch, got)
		}
		for i := range got {
			if got[i] != batch[i] {
				t.Fatalf("sent %q, received %q", batch, got)
			}
		}
	}
	// A datagram longer than the buffer is cut to it, held or not.
	send("0123456789")
	send("abcdefghij")
	short := make([]byte, 4)
	for _, want := range []string{"0123", "abcd"} {
		n, _, ok, err := s.Recv(short)
		if err != nil || !ok || string(short[:n]) != want {
			t.Fatalf("Recv into 4 bytes = %q, %v, %v; want %q", short[:n], ok, err, want)
		}
	}
	s.Close()
	if _, _, _, err := s.Recv(buf); err == nil {
		t.Fatal("Recv after Close: no error")
	}
}
