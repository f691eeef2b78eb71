package gateway_test

import (
	"slices"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"lifeline/hal/clock"
	"lifeline/hal/gateway"
	"lifeline/hal/modem"
	"lifeline/hal/voice/voicetest"
)

// TestSessionTimerHangsUp (issue 15 item 2, RFC 4028 §10): a phone that
// asked for a 90 s session timer, as refresher, and never refreshes gets
// the gateway's BYE 60 s after the 200 (90 − min(32, 90/3)), on the
// gateway's clock, and the line is hung up. (The refresh and the cases
// without a timer are sipua's tests.)
func TestSessionTimerHangsUp(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	r := newRigWith(t, func(c *gateway.Config, _ *modem.Profile, _ string) {
		c.Clock = clk
		c.RTPTimeout = -1 // the phone sends no RTP: only the session timer ends the call
	})
	_, port := voicetest.EvenUDP(t)
	c := r.inviteURI(r.ctx(), sip.Uri{Scheme: "sip", User: "5551234", Host: "127.0.0.1", Port: r.gwAddr.Port}, offerFor(t, port), nil,
		sip.NewHeader("Session-Expires", "90"), sip.NewHeader("Supported", "timer"))
	if c.err != nil || c.codes[len(c.codes)-1] != 200 {
		t.Fatalf("call: %v, responses %v; want 200", c.err, c.codes)
	}
	if se := c.sess.InviteResponse.GetHeader("Session-Expires"); se == nil || se.Value() != "90;refresher=uac" {
		t.Fatalf("Session-Expires in the 200: %v, want 90;refresher=uac", se)
	}
	if err := c.sess.Ack(r.ctx()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(59 * time.Second)
	select {
	case <-r.byes:
		t.Fatal("BYE before the session timer ran out")
	default:
	}
	if !r.sim.InCall() {
		t.Fatal("call ended before the session timer ran out")
	}
	clk.Advance(time.Second)
	select {
	case <-r.byes:
	case <-time.After(safety):
		t.Fatal("no BYE when the session timer ran out")
	}
	r.waitIdle()
	if !slices.Contains(r.sim.Commands(), "ATH0") {
		t.Fatalf("line not hung up: %q", r.sim.Commands())
	}
}
