package gateway_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/gateway"
	"lifeline/hal/modem"
	"lifeline/hal/voice"
	"lifeline/hal/voice/voicetest"
)

// TestOfferMediaAddressRefused: an offer whose media address the gateway
// cannot justify (unspecified, multicast, broadcast, a third party, a
// service on the router's loopback) gets 488 and the line is not dialled.
// Before the check every one got 200 and the line's audio.
func TestOfferMediaAddressRefused(t *testing.T) {
	r := newRigWith(t, func(c *gateway.Config, _ *modem.Profile, _ string) {
		c.MediaNetworks = []netip.Prefix{netip.MustParsePrefix("10.9.8.1/24")} // the phones' LAN
	})
	for _, addr := range []string{"0.0.0.0", "224.0.0.1", "255.255.255.255", "198.51.100.7", "127.0.0.53", "10.9.8.255"} {
		t.Run(addr, func(t *testing.T) {
			_, port := voicetest.EvenUDP(t)
			offer := bytes.ReplaceAll(offerFor(t, port), []byte("IN IP4 127.0.0.1"), []byte("IN IP4 "+addr))
			c := r.invite(r.ctx(), "5551234", offer, nil)
			if len(c.codes) == 0 || c.codes[len(c.codes)-1] != 488 {
				t.Fatalf("responses %v (%v), want 488", c.codes, c.err)
			}
			if cmds := r.sim.Commands(); len(cmds) > 0 && bytes.Contains([]byte(cmds[len(cmds)-1]), []byte("D")) {
				t.Fatalf("the line was dialled: %q", cmds)
			}
		})
	}
	// A phone on the configured LAN is allowed: the offer is answered.
	_, port := voicetest.EvenUDP(t)
	offer := bytes.ReplaceAll(offerFor(t, port), []byte("IN IP4 127.0.0.1"), []byte("IN IP4 10.9.8.23"))
	c := r.invite(r.ctx(), "5551234", offer, nil)
	if c.err != nil || c.codes[len(c.codes)-1] != 200 {
		t.Fatalf("phone on the media network: responses %v (%v), want 200", c.codes, c.err)
	}
	if err := c.sess.Ack(r.ctx()); err != nil {
		t.Fatal(err)
	}
	if err := c.sess.Bye(r.ctx()); err != nil {
		t.Fatal(err)
	}
	r.waitIdle()
}

// TestNoMediaBeforeACK: the gateway answers 200 and the line's frames
// flow, but no RTP goes to the offer's address until the phone's ACK;
// then it does. Before, RTP went out from the 200 on, ACK or not.
func TestNoMediaBeforeACK(t *testing.T) {
	r := newRig(t)
	phone, port := voicetest.EvenUDP(t)
	c := r.invite(r.ctx(), "5551234", offerFor(t, port), nil)
	if c.err != nil || c.codes[len(c.codes)-1] != 200 {
		t.Fatalf("responses %v (%v), want 200", c.codes, c.err)
	}
	// The bridge runs: it answers the modem's frames (heard by the far
	// end) while it holds the RTP back.
	frames := 10 * voice.FormatLinear8U.FrameBytes()
	deadline := time.Now().Add(safety)
	for len(r.sim.Recorded()) < frames {
		if time.Now().After(deadline) {
			t.Fatalf("the line heard %d bytes, want %d", len(r.sim.Recorded()), frames)
		}
		time.Sleep(5 * time.Millisecond) // polling the simulator's state, not timing
	}
	buf := make([]byte, 2048)
	phone.SetReadDeadline(time.Now())
	if n, from, err := phone.ReadFrom(buf); err == nil {
		t.Fatalf("RTP before the ACK: %d bytes from %v", n, from)
	}
	if err := c.sess.Ack(r.ctx()); err != nil {
		t.Fatal(err)
	}
	phone.SetReadDeadline(time.Now().Add(safety))
	if _, _, err := phone.ReadFrom(buf); err != nil {
		t.Fatalf("no RTP after the ACK: %v", err)
	}
	if err := c.sess.Bye(r.ctx()); err != nil {
		t.Fatal(err)
	}
	r.waitIdle()
}

// TestRTPTimeout: a phone that sends INVITE and ACK and then no RTP loses
// the call after RTPTimeout on the gateway's clock: a BYE to the phone,
// the line hung up. Before, such a call held the line for ever.
func TestRTPTimeout(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	r := newRigWith(t, func(c *gateway.Config, _ *modem.Profile, _ string) {
		c.Clock = clk
		c.RTPTimeout = 20 * time.Second
	})
	r.answered("silent phone", "5551234")
	clk.Advance(19 * time.Second)
	select {
	case <-r.byes:
		t.Fatal("BYE before the timeout")
	default:
	}
	clk.Advance(time.Second)
	select {
	case <-r.byes:
	case <-time.After(safety):
		t.Fatal("no BYE after 20 s without RTP")
	}
	r.waitIdle()
	if calls := r.gw.Calls(); len(calls) != 0 {
		t.Fatalf("calls %+v after the timeout", calls)
	}
}
