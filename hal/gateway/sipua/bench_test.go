package sipua

import (
	"testing"
	"time"

	"lifeline/hal/sip"
)

// BenchmarkCallSetupTeardown: one call through the UAS side per
// iteration, over the in-memory network: INVITE → 100/180/200 → ACK →
// BYE → 200, the peer's messages preformatted. Every 256 calls the fake
// clock moves past Timer J, as real time would, so the BYE transactions
// that linger for retransmissions end and the transaction cap
// (MaxTransactions) is never what the benchmark measures.
func BenchmarkCallSetupTeardown(b *testing.B) {
	h := newHarness(b, map[sip.Method]func(*ServerTx){sip.INVITE: func(tx *ServerTx) {
		tx.Respond(100, "Trying", nil)
		tx.Respond(180, "Ringing", nil)
		tx.Respond(200, "OK", []byte("v=0\r\n"))
	}})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%256 == 255 {
			h.clk.Advance(64 * 500 * time.Millisecond) // Timer J with the default T1
		}
		cid := "bench" + itoa(i)
		inv := dlgReq{method: sip.INVITE, branch: "z9hG4bK-b" + itoa(i), cid: cid, fromTag: "pt", cseq: 1}
		h.send(inv.String())
		h.recvResponse(100)
		h.recvResponse(180)
		ok := h.recvResponse(200)
		tag, _ := ok.To().Params.Get("tag")
		h.send(dlgReq{method: sip.ACK, branch: "z9hG4bK-a" + itoa(i), cid: cid, fromTag: "pt", toTag: tag, cseq: 1}.String())
		h.send(dlgReq{method: sip.BYE, branch: "z9hG4bK-y" + itoa(i), cid: cid, fromTag: "pt", toTag: tag, cseq: 2}.String())
		h.recvResponse(200)
	}
}
