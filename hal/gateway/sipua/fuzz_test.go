package sipua

import (
	"net/netip"
	"testing"

	"lifeline/hal/sip"
)

// FuzzReceive feeds datagrams to the UA's receive path (the parse and
// checks of the reader, then the transaction and dialog dispatch on the
// loop) and runs every timer they arm; nothing may panic or hang.
func FuzzReceive(f *testing.F) {
	inv := dlgReq{method: sip.INVITE, branch: "z9hG4bK-f1", cid: "f1", fromTag: "pt", cseq: 1,
		extra: []string{"Record-Route: <sip:10.0.0.2;lr>, <sip:10.0.0.3:5070>"}}
	for _, seed := range []string{
		inv.String(),
		dlgReq{method: sip.CANCEL, branch: "z9hG4bK-f1", cid: "f1", fromTag: "pt", cseq: 1}.String(),
		dlgReq{method: sip.ACK, branch: "z9hG4bK-f2", cid: "f1", fromTag: "pt", toTag: "x", cseq: 1}.String(),
		dlgReq{method: sip.BYE, branch: "z9hG4bK-f3", cid: "f1", fromTag: "pt", toTag: "x", cseq: 2}.String(),
		dlgReq{method: sip.OPTIONS, branch: "z9hG4bK-f4", cid: "f4", fromTag: "pt", cseq: 1, sentBy: "10.0.0.2:5060;rport"}.String(),
		msg("SIP/2.0 200 OK", "", "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK.x", "From: <sip:a@b>;tag=1",
			"To: <sip:c@d>;tag=2", "Call-ID: r", "CSeq: 1 INVITE"),
		"\r\n\r\n",
		"INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP [::1]:99999;branch=z9hG4bK;received=;rport=x\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	from := netip.MustParseAddrPort(peerAddr)
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newHarness(t, map[sip.Method]func(*ServerTx){
			sip.INVITE: func(tx *ServerTx) {
				tx.Respond(180, "Ringing", nil)
				tx.Respond(200, "OK", []byte("v=0\r\n"))
			},
			sip.OPTIONS: func(tx *ServerTx) { tx.Respond(200, "OK", nil) },
		})
		in, err := parseDatagram(data, from)
		if err != nil || in == nil {
			return
		}
		if err := h.ua.do(func() { h.ua.receive(*in) }); err != nil {
			t.Fatal(err)
		}
		h.advance(64 * t1)
		h.advance(64 * t1)
		h.stop()
	})
}
