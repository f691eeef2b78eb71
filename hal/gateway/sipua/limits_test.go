package sipua

import (
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"lifeline/hal/sip"
)

// rawRecv waits for the next datagram the peer receives, unparsed.
func (h *harness) rawRecv() []byte {
	h.t.Helper()
	select {
	case p := <-h.peer.in:
		return p.data
	case <-time.After(safety):
		h.t.Fatal("no message from the UA")
		return nil
	}
}

func (h *harness) liveServers() int {
	n := 0
	if err := h.ua.do(func() { n = len(h.ua.servers) }); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// TestTransactionCap: beyond MaxTransactions, a request outside a dialog
// gets a stateless 503 no longer than itself (or nothing), the table does
// not grow, a BYE in a dialog is still answered, and room comes back as
// transactions end.
func TestTransactionCap(t *testing.T) {
	txs := make(chan *ServerTx, 4)
	h := newHarnessWith(t, map[sip.Method]func(*ServerTx){
		sip.INVITE:  answerWith(200, []byte("v=0\r\n"), txs),
		sip.OPTIONS: func(tx *ServerTx) { tx.Respond(200, "OK", nil) },
	}, func(c *Config) { c.MaxTransactions = 2 })

	inv := dlgReq{method: sip.INVITE, branch: "z9hG4bK-cap-inv", cid: "cap", fromTag: "pt", cseq: 1}
	h.send(inv.String())
	h.recvResponse(100)
	ok := h.recvResponse(200)
	tag, _ := ok.To().Params.Get("tag")
	ack := inv
	ack.method, ack.branch, ack.toTag = sip.ACK, "z9hG4bK-cap-ack", tag
	h.send(ack.String())
	h.send(dlgReq{method: sip.OPTIONS, branch: "z9hG4bK-cap-o1", cid: "o1", fromTag: "a", cseq: 1}.String())
	h.recvResponse(200)
	if n := h.liveServers(); n != 2 {
		t.Fatalf("%d live transactions, want 2 (the INVITE's and the OPTIONS')", n)
	}

	opt := dlgReq{method: sip.OPTIONS, branch: "z9hG4bK-cap-o2", cid: "o2", fromTag: "a", cseq: 1}.String()
	h.send(opt)
	res := h.rawRecv()
	if !strings.HasPrefix(string(res), "SIP/2.0 503 ") || len(res) > len(opt) {
		t.Fatalf("over the cap: %d bytes for a %d-byte request:\n%s", len(res), len(opt), res)
	}
	if n := h.liveServers(); n != 2 {
		t.Fatalf("%d live transactions after the refusal, want 2", n)
	}
	// A request too short to carry a 503 of its own size gets nothing.
	tiny := "OPTIONS sip:x SIP/2.0\r\nv: SIP/2.0/UDP " + peerAddr + ";branch=z9hG4bK-t\r\nf: <sip:a@b>;tag=1\r\nt: <sip:x>\r\ni: t\r\nCSeq: 1 OPTIONS\r\n\r\n"
	h.send(tiny)
	// The BYE of the call is answered: dialogs bound their own requests.
	bye := dlgReq{method: sip.BYE, branch: "z9hG4bK-cap-bye", cid: "cap", fromTag: "pt", toTag: tag, cseq: 2}
	h.send(bye.String())
	if m := h.recv(); short(m) != "200 OK (BYE)" {
		t.Fatalf("got %s, want the BYE's 200 (and nothing for the tiny OPTIONS)", short(m))
	}
	// Timer J and the INVITE's end free the table.
	h.advance(64 * t1)
	h.drain()
	if n := h.liveServers(); n != 0 {
		t.Fatalf("%d live transactions after 64*T1, want 0", n)
	}
	h.send(opt)
	h.recvResponse(200)
}

// TestDatagramCap: a datagram over MaxDatagram is dropped unparsed; the
// next one is served.
func TestDatagramCap(t *testing.T) {
	h := newHarnessWith(t, map[sip.Method]func(*ServerTx){
		sip.OPTIONS: func(tx *ServerTx) { tx.Respond(200, "OK", nil) },
	}, func(c *Config) { c.MaxDatagram = 600 })
	big := dlgReq{method: sip.OPTIONS, branch: "z9hG4bK-big", cid: "big", fromTag: "a", cseq: 1,
		extra: []string{"X-Pad: " + strings.Repeat("p", 400)}}.String()
	if len(big) <= 600 {
		t.Fatalf("test request of %d bytes is not over the cap", len(big))
	}
	h.send(big)
	h.send(dlgReq{method: sip.OPTIONS, branch: "z9hG4bK-small", cid: "small", fromTag: "a", cseq: 1}.String())
	if res := h.recvResponse(200); res.CallID().Value() != "small" { // datagrams are read in order
		t.Fatalf("answered %s, want only the small one", res.CallID().Value())
	}
	if !strings.Contains(h.logs.String(), "datagram too big dropped") {
		t.Errorf("no log of the dropped datagram:\n%s", h.logs)
	}
}

// flood feeds n INVITEs with fresh branches from one source to the UA,
// on its loop, the fake clock moving 1/rate per INVITE, and returns the
// most live server transactions seen. The handler answers 486 and the
// source never ACKs, so each transaction lives for Timer H.
func flood(t testing.TB, h *harness, n, rate int) (maxLive int) {
	from := netip.MustParseAddrPort(peerAddr)
	for i := range n {
		data := []byte(dlgReq{method: sip.INVITE, branch: "z9hG4bK-fl" + itoa(i), cid: "fl" + itoa(i), fromTag: "x", cseq: 1,
			body: "v=0\r\n"}.String())
		in, err := parseDatagram(data, from)
		if err != nil {
			t.Fatal(err)
		}
		live := 0
		if err := h.ua.do(func() { h.ua.receive(*in); live = len(h.ua.servers) }); err != nil {
			t.Fatal(err)
		}
		maxLive = max(maxLive, live)
		h.clk.Advance(time.Second / time.Duration(rate))
		h.sync()
		for len(h.peer.in) > 0 {
			<-h.peer.in
		}
	}
	return maxLive
}

func busyHandlers() map[sip.Method]func(*ServerTx) {
	return map[sip.Method]func(*ServerTx){sip.INVITE: func(tx *ServerTx) { tx.Respond(486, "Busy Here", nil) }}
}

// TestFloodBounded: 300 INVITE/s for longer than Timer H never holds more
// transactions than the cap.
func TestFloodBounded(t *testing.T) {
	h := newHarnessWith(t, busyHandlers(), func(c *Config) { c.MaxTransactions = 50 })
	if got := flood(t, h, 2000, 300); got > 50 {
		t.Fatalf("%d live transactions, cap 50", got)
	}
}

// BenchmarkFlood: 300 INVITE/s that are answered 486 and never ACKed,
// with the default cap; it reports the most live transactions and the heap
// in use after the flood. Compare -benchtime 2000x with 40000x: the heap
// does not grow with the flood's length.
func BenchmarkFlood(b *testing.B) {
	// The test logger keeps every line: leave the logs out of the heap.
	h := newHarnessWith(b, busyHandlers(), func(c *Config) { c.Logger = slog.New(slog.DiscardHandler) })
	b.ReportAllocs()
	maxLive := flood(b, h, b.N, 300)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(maxLive), "max-live-tx")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
}

// TestReflection: to an untrusted source, the responses of a transaction
// (the final and Timer G's retransmissions of it; the 100 is held back)
// add up to no more bytes than the source sent, and the final is among
// them; a retransmission of the request adds its bytes. A trusted source
// gets the 100 and every retransmission.
func TestReflection(t *testing.T) {
	inv := dlgReq{method: sip.INVITE, branch: "z9hG4bK-refl", cid: "refl", fromTag: "pt", cseq: 1}.String()
	for _, tc := range []struct {
		name    string
		trusted func(netip.AddrPort) bool
		resend  bool // the source retransmits the INVITE once, after the final
		max     int  // most bytes the source may receive
		minMsgs int
	}{
		{"untrusted", func(netip.AddrPort) bool { return false }, false, len(inv), 1},
		{"untrusted, retransmitting", func(netip.AddrPort) bool { return false }, true, 2 * len(inv), 2},
		{"trusted", func(netip.AddrPort) bool { return true }, false, 1 << 20, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessWith(t, map[sip.Method]func(*ServerTx){sip.INVITE: func(tx *ServerTx) {
				tx.Respond(100, "Trying", nil)
				tx.Respond(488, "Not Acceptable Here", nil)
			}}, func(c *Config) { c.Trusted = tc.trusted })
			h.send(inv)
			got := h.rawRecv() // the 488 (untrusted: no 100), or the 100
			total, msgs := len(got), 1
			h.sync()
			if tc.resend {
				h.send(inv)
				got := h.rawRecv() // the 488 again, from the cache
				total, msgs = total+len(got), msgs+1
			}
			for d := time.Duration(0); d < 64*t1; d += t1 {
				h.advance(t1)
				for len(h.peer.in) > 0 {
					total += len((<-h.peer.in).data)
					msgs++
				}
			}
			if !tc.resend && tc.max < 1<<20 && !strings.HasPrefix(string(got), "SIP/2.0 488 ") {
				t.Errorf("first response to the untrusted source:\n%s\nwant the 488", got)
			}
			if total > tc.max || msgs < tc.minMsgs {
				t.Fatalf("the source received %d bytes in %d messages for %d-byte INVITE(s); want at most %d bytes, at least %d messages",
					total, msgs, len(inv), tc.max, tc.minMsgs)
			}
		})
	}
}
