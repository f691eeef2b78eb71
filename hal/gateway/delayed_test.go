package gateway_test

import (
	"net"
	"testing"

	"github.com/emiago/sipgo/sip"

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
