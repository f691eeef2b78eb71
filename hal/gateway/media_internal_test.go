package gateway

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"lifeline/hal/clock"
)

// TestCheckMediaAddr: the SDP media address rule, case by case.
func TestCheckMediaAddr(t *testing.T) {
	lan := []netip.Prefix{netip.MustParsePrefix("192.168.1.1/24"), netip.MustParsePrefix("127.0.0.1/8"), netip.MustParsePrefix("fd00::1/64")}
	proxy := netip.MustParseAddr("192.168.1.1")
	tests := []struct {
		name       string
		addr, from string
		ok         bool
	}{
		{"a phone on the LAN behind the proxy", "192.168.1.23", "192.168.1.1", true},
		{"the signalling source itself", "203.0.113.9", "203.0.113.9", true},
		{"loopback from loopback", "127.0.0.1", "127.0.0.1", true},
		{"IPv6 on the LAN", "fd00::23", "192.168.1.1", true},
		{"IPv4-mapped LAN address", "::ffff:192.168.1.23", "192.168.1.1", true},
		{"third party on the internet", "198.51.100.7", "192.168.1.1", false},
		{"unspecified", "0.0.0.0", "192.168.1.1", false},
		{"unspecified even from itself", "0.0.0.0", "0.0.0.0", false},
		{"IPv6 unspecified", "::", "192.168.1.1", false},
		{"multicast", "224.0.0.1", "192.168.1.1", false},
		{"IPv6 multicast", "ff02::1", "192.168.1.1", false},
		{"limited broadcast", "255.255.255.255", "192.168.1.1", false},
		{"the LAN's broadcast", "192.168.1.255", "192.168.1.1", false},
		{"the LAN's network address", "192.168.1.0", "192.168.1.1", false},
		{"a service on the router's loopback", "127.0.0.53", "192.168.1.1", false},
		{"invalid", "", "192.168.1.1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var addr netip.Addr
			if tc.addr != "" {
				addr = netip.MustParseAddr(tc.addr)
			}
			from := proxy
			if tc.from != "" {
				from = netip.MustParseAddr(tc.from)
			}
			err := checkMediaAddr(addr, from, lan)
			if (err == nil) != tc.ok {
				t.Fatalf("checkMediaAddr(%v, %v) = %v, want ok %v", addr, from, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrMediaAddr) {
				t.Fatalf("error %v does not wrap ErrMediaAddr", err)
			}
		})
	}
}

// TestRTPWatchHold: a call on hold (the phone's SDP not sendrecv) and a
// switched-off timeout arm no timer; a sendrecv call does.
func TestRTPWatchHold(t *testing.T) {
	for _, tc := range []struct {
		dir     string
		timeout time.Duration
		armed   bool
	}{{"sendrecv", 0, true}, {"sendonly", 0, false}, {"inactive", 0, false}, {"recvonly", 0, false}, {"sendrecv", -1, false}} {
		g := &Gateway{cfg: Config{RTPTimeout: tc.timeout, Clock: clock.NewFake(time.Unix(0, 0))}}
		w := g.newRTPWatch(nil, tc.dir)
		if armed := w.C() != nil; armed != tc.armed {
			t.Errorf("direction %s timeout %v: armed %v, want %v", tc.dir, tc.timeout, armed, tc.armed)
		}
		w.Stop()
	}
}

// TestRTPWatchFollowsHold: a call put on hold by a re-INVITE arms no
// timer however long the phone is silent; resumed, its silence counts
// from the resume, not from its last packet before the hold.
func TestRTPWatchFollowsHold(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	g := &Gateway{cfg: Config{RTPTimeout: 30 * time.Second, Clock: clk}}
	last := fixedLast{clk.Now()}
	w := g.newRTPWatch(nil, "sendrecv")
	defer w.Stop()
	w.last = last.LastReceived
	w.SetDirection("recvonly")
	if w.C() != nil {
		t.Fatal("timer armed on hold")
	}
	clk.Advance(10 * time.Minute)
	w.SetDirection("sendrecv")
	if w.C() == nil {
		t.Fatal("no timer after the resume")
	}
	clk.Advance(29 * time.Second)
	if silent, expired := w.Expired(); expired {
		t.Fatalf("expired %v after the resume", silent)
	}
	clk.Advance(time.Second)
	select {
	case <-w.C():
	default:
		t.Fatal("the timer did not fire 30 s after the resume")
	}
	if silent, expired := w.Expired(); !expired || silent != 30*time.Second {
		t.Fatalf("Expired = %v, %v; want 30s, true", silent, expired)
	}
}

type fixedLast struct{ t time.Time }

func (f fixedLast) LastReceived() time.Time { return f.t }
