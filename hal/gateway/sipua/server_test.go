package sipua

import (
	"errors"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"lifeline/hal/sip"
)

const (
	t1 = 500 * time.Millisecond
	t4 = 5 * time.Second
)

// answerWith is an INVITE handler that sends 100, then code.
func answerWith(code int, body []byte, got chan<- *ServerTx) func(*ServerTx) {
	return func(tx *ServerTx) {
		tx.Respond(100, "Trying", nil)
		if code >= 200 {
			tx.Respond(code, statusText(code), body)
		}
		if got != nil {
			got <- tx
		}
	}
}

// TestInviteServerFinal: the INVITE server transaction's timers, counted
// on the fake clock. A non-2xx final is retransmitted by Timer G (T1
// doubling to T2) until the ACK or Timer H (64*T1: 10 retransmissions),
// and a retransmitted INVITE gets it again; a 2xx is retransmitted by the
// UAS core the same way until the ACK, which comes on a new branch.
func TestInviteServerFinal(t *testing.T) {
	tests := []struct {
		name        string
		code        int
		ackAfter    time.Duration // 0: never
		wantRetrans int           // final responses after the first
		wantBye     bool          // the UA gave up on the 2xx's ACK
	}{
		{"486, ACK at once", 486, t1 / 2, 0, false},
		{"486, ACK after 2 retransmissions", 486, 2 * time.Second, 2, false},
		{"486, Timer H", 486, 0, 10, false},
		{"200, ACK at once", 200, t1 / 2, 0, false},
		{"200, ACK after 3 retransmissions", 200, 4 * time.Second, 3, false},
		{"200 never ACKed: BYE", 200, 0, 10, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			txs := make(chan *ServerTx, 1)
			h := newHarness(t, map[sip.Method]func(*ServerTx){sip.INVITE: answerWith(tc.code, nil, txs)})
			inv := dlgReq{method: sip.INVITE, branch: "z9hG4bK-inv1", cid: "c1", fromTag: "pt", cseq: 1}
			h.send(inv.String())
			h.recvResponse(100)
			res := h.recvResponse(tc.code)
			toTag, _ := res.To().Params.Get("tag")
			if toTag == "" {
				t.Fatal("final without a To tag")
			}
			tx := <-txs
			if tc.code == 200 {
				if tx.Dialog() == nil || res.Contact() == nil {
					t.Fatalf("2xx without a dialog (%v) or Contact (%v)", tx.Dialog(), res.Contact())
				}
			}
			// A retransmitted INVITE gets the final again.
			h.send(inv.String())
			h.recvResponse(tc.code)

			ack := inv
			ack.method, ack.toTag = sip.ACK, toTag
			if tc.code == 200 {
				ack.branch = "z9hG4bK-ack2xx"
			}
			got := map[string]int{}
			step := t1 / 2
			for d := step; d <= 64*t1+step; d += step {
				h.advance(step)
				for _, m := range h.drain() {
					got[short(m)]++
				}
				if d == tc.ackAfter {
					h.send(ack.String())
					// the ACK is in once a message sent after it is answered
					h.send(dlgReq{method: sip.OPTIONS, branch: "z9hG4bK-probe" + d.String(), cid: "probe", fromTag: "x", cseq: 1}.String())
					if r := h.recvResponse(405); r == nil {
						t.Fatal("no probe answer")
					}
				}
			}
			if n := got[short(res)]; n != tc.wantRetrans {
				t.Errorf("%d retransmissions of the final, want %d (all: %v)", n, tc.wantRetrans, got)
			}
			if bye := got["BYE sip:phone@10.0.0.2:5060"] > 0; bye != tc.wantBye {
				t.Errorf("BYE sent %v, want %v (all: %v)", bye, tc.wantBye, got)
			}
			if tc.code == 200 {
				select {
				case <-tx.Dialog().Done():
					if !tc.wantBye {
						t.Error("dialog ended")
					}
				default:
					if tc.wantBye {
						t.Error("dialog still up after the 2xx went unACKed")
					}
				}
			}
			if err := tx.Respond(180, "Ringing", nil); !errors.Is(err, ErrFinal) {
				t.Errorf("Respond after the final = %v, want ErrFinal", err)
			}
		})
	}
}

// TestCancel: CANCEL before any response, after a 1xx, after the 200, and
// for an unknown transaction.
func TestCancel(t *testing.T) {
	tests := []struct {
		name      string
		before    int // what the handler sends before the CANCEL: 0, 180, 200
		wantFinal int // the INVITE's final after the CANCEL, 0 for none
		cancelRes int
		known     bool
	}{
		{"before 1xx", 0, 487, 200, true},
		{"after 180", 180, 487, 200, true},
		{"after 200", 200, 0, 200, true},
		{"unknown INVITE", 0, 0, 481, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ready := make(chan *ServerTx, 1)
			result := make(chan error, 1)
			h := newHarness(t, map[sip.Method]func(*ServerTx){sip.INVITE: func(tx *ServerTx) {
				if tc.before > 0 {
					tx.Respond(tc.before, statusText(tc.before), nil)
				}
				ready <- tx
				select {
				case <-tx.Cancelled():
					result <- tx.Respond(200, "OK", nil)
				case <-tx.Context().Done():
					result <- nil
				}
			}})
			inv := dlgReq{method: sip.INVITE, branch: "z9hG4bK-c1", cid: "c2", fromTag: "pt", cseq: 1}
			if tc.known {
				h.send(inv.String())
				tx := <-ready
				var toTag string
				if tc.before > 0 {
					r := h.recvResponse(tc.before)
					toTag, _ = r.To().Params.Get("tag")
				}
				defer func() {
					if tc.before == 200 {
						if d := tx.Dialog(); d == nil || isClosed(d.done) {
							t.Error("a CANCEL after the 200 ended the dialog")
						}
					}
					_ = toTag
				}()
			}
			cancel := inv
			cancel.method = sip.CANCEL
			if !tc.known {
				cancel.branch = "z9hG4bK-nothing"
			}
			h.send(cancel.String())
			seen := map[string]int{}
			want := 1
			if tc.wantFinal != 0 {
				want = 2
			}
			for range want {
				seen[short(h.recv())]++
			}
			if seen[short(&gosip.Response{StatusCode: tc.cancelRes, Reason: statusText(tc.cancelRes), MessageData: cseqOnly(sip.CANCEL)})] != 1 {
				t.Errorf("responses %v, want %d to the CANCEL", seen, tc.cancelRes)
			}
			if tc.wantFinal != 0 {
				if seen[short(&gosip.Response{StatusCode: tc.wantFinal, Reason: statusText(tc.wantFinal), MessageData: cseqOnly(sip.INVITE)})] != 1 {
					t.Errorf("responses %v, want %d to the INVITE", seen, tc.wantFinal)
				}
				if err := <-result; !errors.Is(err, ErrFinal) {
					t.Errorf("Respond after the CANCEL = %v, want ErrFinal", err)
				}
				// A retransmitted CANCEL gets its 200 again.
				h.send(cancel.String())
				h.recvResponse(200)
			}
			h.sync()
			if extra := h.drain(); len(extra) != 0 {
				t.Errorf("more messages: %v", extra)
			}
		})
	}
}

func cseqOnly(m sip.Method) gosip.MessageData {
	r := gosip.NewResponse(0, "")
	r.AppendHeader(&gosip.CSeqHeader{SeqNo: 1, MethodName: gosip.RequestMethod(m)})
	return r.MessageData
}

// TestNonInviteServer: OPTIONS answered once by the handler, its
// retransmission from the cache until Timer J; a method without a handler
// gets 405 with Allow; BYE in and out of a dialog; a handler that returns
// without answering gets 500 sent for it.
func TestNonInviteServer(t *testing.T) {
	calls := make(chan struct{}, 8)
	txs := make(chan *ServerTx, 1)
	h := newHarness(t, map[sip.Method]func(*ServerTx){
		sip.OPTIONS: func(tx *ServerTx) { calls <- struct{}{}; tx.Respond(200, "OK", nil) },
		sip.INVITE:  answerWith(200, []byte("v=0\r\n"), txs),
		sip.MESSAGE: func(*ServerTx) {},
	})
	opt := dlgReq{method: sip.OPTIONS, branch: "z9hG4bK-o1", cid: "o1", fromTag: "pt", cseq: 1}
	h.send(opt.String())
	h.recvResponse(200)
	h.send(opt.String())
	h.recvResponse(200)
	h.advance(64 * t1) // Timer J
	h.send(opt.String())
	h.recvResponse(200)
	if len(calls) != 2 {
		t.Fatalf("handler called %d times, want 2 (once per transaction)", len(calls))
	}

	info := dlgReq{method: sip.INFO, branch: "z9hG4bK-i1", cid: "i1", fromTag: "pt", cseq: 1}
	h.send(info.String())
	r := h.recvResponse(405)
	if allow := r.GetHeader("Allow"); allow == nil || !strings.Contains(allow.Value(), "OPTIONS") {
		t.Fatalf("405 without Allow: %v", r)
	}
	h.send(dlgReq{method: sip.MESSAGE, branch: "z9hG4bK-m1", cid: "m1", fromTag: "pt", cseq: 1}.String())
	h.recvResponse(500)

	bye := dlgReq{method: sip.BYE, branch: "z9hG4bK-b0", cid: "nodialog", fromTag: "pt", toTag: "x", cseq: 2}
	h.send(bye.String())
	h.recvResponse(481)

	inv := dlgReq{method: sip.INVITE, branch: "z9hG4bK-inv", cid: "d1", fromTag: "pt", cseq: 1,
		extra: []string{"Content-Type: application/sdp"}, body: "v=0\r\n"}
	h.send(inv.String())
	h.recvResponse(100)
	ok := h.recvResponse(200)
	if ct := ok.ContentType(); ct == nil || ct.Value() != "application/sdp" || string(ok.Body()) != "v=0\r\n" {
		t.Fatalf("200 body %q type %v", ok.Body(), ct)
	}
	tag, _ := ok.To().Params.Get("tag")
	tx := <-txs
	ack := inv
	ack.method, ack.branch, ack.toTag, ack.body, ack.extra = sip.ACK, "z9hG4bK-ack", tag, "", nil
	h.send(ack.String())
	bye = dlgReq{method: sip.BYE, branch: "z9hG4bK-b1", cid: "d1", fromTag: "pt", toTag: tag, cseq: 2}
	h.send(bye.String())
	h.recvResponse(200)
	select {
	case <-tx.Dialog().Done():
	case <-time.After(safety):
		t.Fatal("BYE did not end the dialog")
	}
	h.send(bye.String()) // retransmitted BYE: 200 from the cache
	h.recvResponse(200)
	if err := tx.Dialog().Bye(t.Context()); !errors.Is(err, ErrDialogEnded) {
		t.Fatalf("Bye after a BYE = %v", err)
	}
}

// TestResponseRouting: responses go where the top Via says: to the
// source port with rport (RFC 3581), to the sent-by port without.
func TestResponseRouting(t *testing.T) {
	h := newHarness(t, map[sip.Method]func(*ServerTx){
		sip.OPTIONS: func(tx *ServerTx) { tx.Respond(200, "OK", nil) }})
	nat := h.net.listen("10.0.0.2:40000") // the peer behind a NAT
	t.Cleanup(func() { nat.Close() })
	parent := h.t
	defer func() { h.t = parent }()
	for i, tc := range []struct {
		name   string
		via    string
		wantAt *memConn
	}{
		{"rport: source port", "10.0.0.2:5060;rport", nat},
		{"no rport: sent-by port", "10.0.0.2:5060", h.peer},
		{"no rport, sent-by a name: received", "phone.invalid:5060", h.peer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			r := dlgReq{method: sip.OPTIONS, branch: "z9hG4bK-r" + itoa(i), cid: "r" + itoa(i), fromTag: "a", cseq: 1,
				sentBy: tc.via}
			h.sendFrom(nat, r.String())
			res, ok := h.recvOn(tc.wantAt).(*gosip.Response)
			if !ok || res.StatusCode != 200 {
				t.Fatalf("got %v", res)
			}
		})
	}
}

// TestBadDatagrams: garbage and messages without the headers a
// transaction needs are dropped with a debug log naming the source.
func TestBadDatagrams(t *testing.T) {
	h := newHarness(t, map[sip.Method]func(*ServerTx){
		sip.OPTIONS: func(tx *ServerTx) { tx.Respond(200, "OK", nil) }})
	for _, d := range []string{
		"garbage\r\n\r\n",
		msg("OPTIONS sip:a@10.0.0.1 SIP/2.0", "", "Call-ID: x", "CSeq: 1 OPTIONS"),
		msg("OPTIONS sip:a@10.0.0.1 SIP/2.0", "", "Via: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKx", "CSeq: 1 OPTIONS"),
		"\r\n\r\n", // keep-alive
	} {
		h.send(d)
	}
	h.send(dlgReq{method: sip.OPTIONS, branch: "z9hG4bK-ok", cid: "ok", fromTag: "a", cseq: 1}.String())
	h.recvResponse(200)
	if n := strings.Count(h.logs.String(), "bad datagram dropped"); n != 3 {
		t.Fatalf("%d drops logged, want 3:\n%s", n, h.logs)
	}
	if !strings.Contains(h.logs.String(), "from="+peerAddr) {
		t.Fatalf("drop log does not name the source:\n%s", h.logs)
	}
}

func statusText(code int) string {
	switch code {
	case 180:
		return "Ringing"
	case 200:
		return "OK"
	case 481:
		return "Call/Transaction Does Not Exist"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	}
	return "Status"
}

// TestByeBeforeAck: a BYE for a 2xx whose ACK was lost ends the dialog
// and the 2xx retransmissions.
func TestByeBeforeAck(t *testing.T) {
	txs := make(chan *ServerTx, 1)
	h := newHarness(t, map[sip.Method]func(*ServerTx){sip.INVITE: answerWith(200, nil, txs)})
	inv := dlgReq{method: sip.INVITE, branch: "z9hG4bK-ba", cid: "ba", fromTag: "pt", cseq: 1}
	h.send(inv.String())
	h.recvResponse(100)
	ok := h.recvResponse(200)
	tag, _ := ok.To().Params.Get("tag")
	tx := <-txs
	h.advance(t1)
	h.recvResponse(200) // retransmitted: no ACK yet
	h.send(dlgReq{method: sip.BYE, branch: "z9hG4bK-bab", cid: "ba", fromTag: "pt", toTag: tag, cseq: 2}.String())
	h.recvResponse(200)
	<-tx.Dialog().Done()
	if got := h.count(t1/2, 64*t1); len(got) != 0 {
		t.Fatalf("after the BYE: %v", got)
	}
}

// TestInviteRetransmittedBeforeAnyResponse: the UA answers a retransmitted
// INVITE with 100 Trying while the handler has sent nothing.
func TestInviteRetransmittedBeforeAnyResponse(t *testing.T) {
	release := make(chan struct{})
	h := newHarness(t, map[sip.Method]func(*ServerTx){sip.INVITE: func(tx *ServerTx) {
		<-release
		tx.Respond(486, "Busy Here", nil)
	}})
	inv := dlgReq{method: sip.INVITE, branch: "z9hG4bK-rt", cid: "rt", fromTag: "pt", cseq: 1}
	h.send(inv.String())
	h.send(inv.String())
	h.recvResponse(100)
	h.send(inv.String())
	h.recvResponse(100)
	close(release)
	h.recvResponse(486)
}
