package gateway_test

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"lifeline/hal/clock"
	"lifeline/hal/gateway"
	"lifeline/hal/modem"
	"lifeline/hal/voice"
	"lifeline/hal/voice/rtcp"
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
	// A deadline in the future, however short: with one already passed Go
	// fails the read without looking at the socket.
	phone.SetReadDeadline(time.Now().Add(time.Millisecond))
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

// phoneRTCP opens the phone's RTCP socket on its RTP port + 1.
func phoneRTCP(t *testing.T, port int) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port + 1})
	if err != nil {
		t.Skipf("the phone's RTCP port %d: %v", port+1, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// nextRTCP reads compound RTCP packets at the phone until one holds a
// packet of type typ; it returns that compound packet.
func nextRTCP(t *testing.T, c *net.UDPConn, typ uint8) []rtcp.Packet {
	t.Helper()
	buf := make([]byte, 1500)
	c.SetReadDeadline(time.Now().Add(safety))
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no RTCP packet of type %d at the phone: %v", typ, err)
		}
		ps, err := rtcp.Parse(buf[:n])
		if err != nil {
			t.Fatalf("RTCP from the gateway: %v", err)
		}
		for _, p := range ps {
			if p.Type == typ {
				return ps
			}
		}
	}
}

// TestRTCPReports: during a call the gateway sends the phone's RTCP port
// (its RTP port + 1) a compound SR + SDES every few seconds of its clock,
// and SR + SDES + BYE when the call ends. Before, it sent no RTCP.
func TestRTCPReports(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	r := newRigWith(t, func(c *gateway.Config, _ *modem.Profile, _ string) { c.Clock = clk })
	_, port := voicetest.EvenUDP(t)
	ctl := phoneRTCP(t, port)
	c := r.invite(r.ctx(), "5551234", offerFor(t, port), nil)
	if c.err != nil || c.codes[len(c.codes)-1] != 200 {
		t.Fatalf("responses %v (%v), want 200", c.codes, c.err)
	}
	if err := c.sess.Ack(r.ctx()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(7 * time.Second) // past the first interval (at most 3.1 s)
	ps := nextRTCP(t, ctl, rtcp.TypeSR)
	if len(ps) != 2 || ps[1].Type != rtcp.TypeSDES || ps[1].CNAME != "lifeline@127.0.0.1" || ps[1].SSRC != ps[0].SSRC {
		t.Fatalf("report %+v, want SR + SDES with the gateway's CNAME", ps)
	}
	if err := c.sess.Bye(r.ctx()); err != nil {
		t.Fatal(err)
	}
	bye := nextRTCP(t, ctl, rtcp.TypeBYE)
	if bye[len(bye)-1].SSRCs[0] != ps[0].SSRC {
		t.Errorf("BYE %+v for another source than %#x", bye, ps[0].SSRC)
	}
	r.waitIdle()
}

// TestHeldCallSendsNoRTP: a phone whose session is a=sendonly (it holds
// the call) gets recvonly and no RTP, while the line's frames still flow.
// Before, the gateway sent it RTP regardless of the direction.
func TestHeldCallSendsNoRTP(t *testing.T) {
	r := newRig(t)
	phone, port := voicetest.EvenUDP(t)
	offer := bytes.ReplaceAll(offerFor(t, port), []byte("a=sendrecv"), []byte("a=sendonly"))
	if !bytes.Contains(offer, []byte("a=sendonly")) {
		offer = append(offer, "a=sendonly\r\n"...)
	}
	c := r.invite(r.ctx(), "5551234", offer, nil)
	if c.err != nil || c.codes[len(c.codes)-1] != 200 {
		t.Fatalf("responses %v (%v), want 200", c.codes, c.err)
	}
	if err := c.sess.Ack(r.ctx()); err != nil {
		t.Fatal(err)
	}
	start := len(r.sim.Recorded())
	frames := 10 * voice.FormatLinear8U.FrameBytes()
	deadline := time.Now().Add(safety)
	for len(r.sim.Recorded()) < start+frames {
		if time.Now().After(deadline) {
			t.Fatalf("the line heard %d bytes after the ACK, want %d", len(r.sim.Recorded())-start, frames)
		}
		time.Sleep(5 * time.Millisecond) // polling the simulator's state, not timing
	}
	// A deadline already past fails a read before it looks at the socket:
	// a millisecond's is a non-blocking read of what is waiting.
	phone.SetReadDeadline(time.Now().Add(time.Millisecond))
	if n, from, err := phone.ReadFrom(make([]byte, 2048)); err == nil {
		t.Fatalf("RTP to a phone that holds the call: %d bytes from %v", n, from)
	}
	if err := c.sess.Bye(r.ctx()); err != nil {
		t.Fatal(err)
	}
	r.waitIdle()
}

// update sends the phone's UPDATE with an SDP body of direction dir in
// the call's dialog and returns the answer's body.
func update(t *testing.T, r *rig, c *call, port int, dir string) string {
	t.Helper()
	body := bytes.ReplaceAll(offerFor(t, port), []byte("a=sendrecv"), []byte("a="+dir))
	if !bytes.Contains(body, []byte("a="+dir)) {
		body = append(body, "a="+dir+"\r\n"...)
	}
	req := sip.NewRequest(sip.UPDATE, c.sess.InviteResponse.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	res, err := c.sess.Do(r.ctx(), req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("UPDATE %s: %v %v", dir, res, err)
	}
	return string(res.Body())
}

// quietFor waits until the line has heard frames frames in a row during
// which no RTP reached phone (what was waiting is drained first); false
// when the RTP never stops.
func quietFor(t *testing.T, r *rig, phone *net.UDPConn, frames int) bool {
	t.Helper()
	buf := make([]byte, 2048)
	deadline := time.Now().Add(safety)
	for time.Now().Before(deadline) {
		for { // drain: a millisecond's deadline reads what is waiting
			phone.SetReadDeadline(time.Now().Add(time.Millisecond))
			if _, _, err := phone.ReadFrom(buf); err != nil {
				break
			}
		}
		start := len(r.sim.Recorded())
		for len(r.sim.Recorded()) < start+frames*voice.FormatLinear8U.FrameBytes() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond) // polling the simulator's state, not timing
		}
		phone.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, _, err := phone.ReadFrom(buf); err != nil {
			return true
		}
	}
	return false
}

// TestHoldByUpdate: a phone that puts the call on hold in the dialog
// (UPDATE with a=sendonly) gets recvonly and no more RTP while the line's
// audio goes on; a=sendrecv resumes it. Before, the gateway answered the
// hold and kept sending.
func TestHoldByUpdate(t *testing.T) {
	r := newRig(t)
	phone, port := voicetest.EvenUDP(t)
	c := r.invite(r.ctx(), "5551234", offerFor(t, port), nil)
	if c.err != nil || c.codes[len(c.codes)-1] != 200 {
		t.Fatalf("responses %v (%v), want 200", c.codes, c.err)
	}
	if err := c.sess.Ack(r.ctx()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	phone.SetReadDeadline(time.Now().Add(safety))
	if _, _, err := phone.ReadFrom(buf); err != nil {
		t.Fatalf("no RTP once the call is up: %v", err)
	}
	if ans := update(t, r, c, port, "sendonly"); !strings.Contains(ans, "a=recvonly") {
		t.Fatalf("hold answered:\n%s", ans)
	}
	if !quietFor(t, r, phone, 10) {
		t.Fatal("RTP kept going to the phone that holds the call")
	}
	update(t, r, c, port, "sendrecv")
	phone.SetReadDeadline(time.Now().Add(safety))
	if _, _, err := phone.ReadFrom(buf); err != nil {
		t.Fatalf("no RTP after the resume: %v", err)
	}
	if err := c.sess.Bye(r.ctx()); err != nil {
		t.Fatal(err)
	}
	r.waitIdle()
}
