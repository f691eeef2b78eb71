// Package voicetest holds what the voice, bridge and gateway tests share:
// known audio to send and compare, and RTP sockets.
package voicetest

import (
	"errors"
	"math"
	"net"
	"syscall"
	"testing"

	"lifeline/hal/voice"
)

// Tone is n frames (20 ms each) of a 350 Hz tone in f with a level that
// rises frame by frame, so that no frame is silent and no two are alike:
// an echo can be compared frame by frame with what was sent.
func Tone(f voice.Format, frames int) [][]byte {
	var out [][]byte
	for k := range frames {
		lin := make([]int16, voice.FrameSamples)
		for i := range lin {
			n := k*voice.FrameSamples + i
			lin[i] = int16(6000*math.Sin(2*math.Pi*350*float64(n)/8000)) + int16(k*40) + 300
		}
		out = append(out, f.Encode(nil, lin))
	}
	return out
}

// EvenUDP is a UDP socket on an even loopback port (RTP, RFC 3550
// section 11), closed when tb ends. It skips tb without loopback UDP.
func EvenUDP(tb testing.TB) (*net.UDPConn, int) {
	tb.Helper()
	for range 32 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			tb.Skipf("needs loopback UDP: %v", err)
		}
		if p := c.LocalAddr().(*net.UDPAddr).Port; p%2 == 0 {
			tb.Cleanup(func() { c.Close() })
			return c, p
		}
		c.Close()
	}
	tb.Fatal("no even port")
	return nil, 0
}

// Drain drops the datagrams waiting on conn without waiting for more, and
// returns how many it dropped. A test that answers each packet with one
// of its own drains first: a backlog (the line's silence while nobody
// read) would otherwise become a burst deeper than the gateway's jitter
// buffer. Unlike reading with a short deadline it does not depend on
// timing: a deadline that passes before the read (a busy machine) would
// leave the backlog in place.
func Drain(tb testing.TB, conn *net.UDPConn) int {
	tb.Helper()
	rc, err := conn.SyscallConn()
	if err != nil {
		tb.Fatal(err)
	}
	buf := make([]byte, 2048)
	for n := 0; ; n++ {
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			_, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			return true // never wait for readiness
		}); err != nil {
			tb.Fatal(err)
		}
		if errors.Is(rerr, syscall.EAGAIN) {
			return n
		}
		if rerr != nil {
			tb.Fatal(rerr)
		}
	}
}
