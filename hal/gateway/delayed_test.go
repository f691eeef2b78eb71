package gateway_test

import (
	"net"
	"net/netip"
	"testing"

	"github.com/emiago/sipgo/sip"

	"lifeline/hal/gateway"
	"lifeline/hal/modem"
	"lifeline/hal/voice"
	"lifeline/hal/voice/rtp"
	"lifeline/hal/voice/sdp"
	"lifeline/hal/voice/voicetest"
)

// TestDelayedOffer: an INVITE without SDP (RFC 3261 §13.2.1) is dialled
// like any other; the gateway's 200 carries its offer, the phone's ACK the
// answer, and the call's audio flows to where the answer says: the far
// end's echo comes back. (Before: 488 Not Acceptable Here.)
func TestDelayedOffer(t *testing.T) {
	r := newRig(t)
	phone, port := voicetest.EvenUDP(t)
	defer phone.Close()
	c := r.invite(r.ctx(), "5551234", nil, nil)
	if c.err != nil || c.codes[len(c.codes)-1] != 200 {
		t.Fatalf("INVITE without an offer: %v (responses %v)", c.err, c.codes)
	}
	offer, err := sdp.Parse(c.sess.InviteResponse.Body())
	if err != nil || len(offer.Media) == 0 {
		t.Fatalf("the 200 carries no offer: %v\n%s", err, c.sess.InviteResponse.Body())
	}
	ack := sip.NewRequest(sip.ACK, c.sess.InviteResponse.Contact().Address)
	ack.SetBody(offerFor(t, port, "PCMA"))
	ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	if err := c.sess.WriteAck(r.ctx(), ack); err != nil {
		t.Fatal(err)
	}
	echoCheck(t, phone, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: offer.Media[0].Port}, rtp.PayloadPCMA, voice.FormatALaw)
	if err := c.sess.Bye(r.ctx()); err != nil {
		t.Fatal(err)
	}
	r.waitIdle()
}

// TestDelayedOfferAnswerElsewhere: the answer in the ACK of a delayed
// offer is held to the rule an offer is held to: a media address that is
// neither the signalling source nor on the gateway's networks (here a
// documentation address) gets no audio; the gateway ends the call with a
// BYE and the line is hung up.
func TestDelayedOfferAnswerElsewhere(t *testing.T) {
	r := newRigWith(t, func(c *gateway.Config, _ *modem.Profile, _ string) {
		c.MediaNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} // not the host's networks
	})
	c := r.invite(r.ctx(), "5551234", nil, nil)
	if c.err != nil || c.codes[len(c.codes)-1] != 200 {
		t.Fatalf("INVITE without an offer: %v (responses %v)", c.err, c.codes)
	}
	elsewhere, err := sdp.Offer(sdp.Local{Addr: netip.MustParseAddr("198.51.100.7"), Port: 40000, SessionID: 7, Version: 1}, "PCMA")
	if err != nil {
		t.Fatal(err)
	}
	ack := sip.NewRequest(sip.ACK, c.sess.InviteResponse.Contact().Address)
	ack.SetBody(elsewhere)
	ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	if err := c.sess.WriteAck(r.ctx(), ack); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.byes:
	case <-r.ctx().Done():
		t.Fatal("no BYE after an answer aiming the audio elsewhere")
	}
	r.waitIdle()
	if r.sim.InCall() {
		t.Fatal("the line is still in the call")
	}
}
