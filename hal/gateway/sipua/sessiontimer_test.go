package sipua

import (
	"context"
	"fmt"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"lifeline/hal/sip"
)

// timerCall is an answered, acknowledged call whose INVITE carried extra
// (Session-Expires and the like): its To tag and server transaction.
func timerCall(t *testing.T, h *harness, txs chan *ServerTx, cid string, extra ...string) (string, *ServerTx) {
	t.Helper()
	h.send(dlgReq{method: sip.INVITE, branch: "z9hG4bK-" + cid, cid: cid, fromTag: "pt", cseq: 1, body: phoneSDP(""),
		extra: append([]string{"Content-Type: application/sdp"}, extra...)}.String())
	h.recvResponse(100)
	res := h.recvResponse(200)
	toTag, _ := res.To().Params.Get("tag")
	h.send(dlgReq{method: sip.ACK, branch: "z9hG4bK-" + cid + "-ack", cid: cid, fromTag: "pt", toTag: toTag, cseq: 1}.String())
	tx := <-txs
	barrier(h, cid)
	return toTag, tx
}

// quiet advances the clock by d in one-second steps and fails on anything
// the UA sends meanwhile, or if the call ended.
func quiet(t *testing.T, h *harness, d *Dialog, total time.Duration, what string) {
	t.Helper()
	if got := h.count(time.Second, total); len(got) != 0 {
		t.Fatalf("%s: the UA sent %v", what, got)
	}
	select {
	case <-d.Done():
		t.Fatalf("%s: the call ended", what)
	default:
	}
}

// expires advances one second, expects the UA's BYE and answers it; the
// dialog is then done and says its session expired.
func expires(t *testing.T, h *harness, d *Dialog, toTag string) {
	t.Helper()
	h.advance(time.Second)
	bye := h.recvRequest(sip.BYE)
	if tag, _ := bye.From().Params.Get("tag"); tag != toTag {
		t.Fatalf("BYE from tag %q, want the dialog's %q", tag, toTag)
	}
	h.send(reply(bye, 200, "OK", "pt"))
	select {
	case <-d.Done():
	case <-time.After(safety):
		t.Fatal("Done did not close after the BYE")
	}
	if !d.SessionExpired() {
		t.Fatal("SessionExpired() = false after the session timer's BYE")
	}
}

// TestSessionTimerEnds (issue 15 item 2, RFC 4028 §10): a caller that
// asked for a session timer as refresher and never refreshes is sent a
// BYE at SE − min(32 s, SE/3), not a second before, and the dialog ends.
// (Before, the interval was only echoed and the call lasted for ever.)
func TestSessionTimerEnds(t *testing.T) {
	for _, tc := range []struct {
		se  int
		bye time.Duration // after the 2xx
	}{
		{90, 60 * time.Second},     // SE/3 = 30 < 32
		{1800, 1768 * time.Second}, // 32 < SE/3
	} {
		t.Run(fmt.Sprint(tc.se), func(t *testing.T) {
			txs := make(chan *ServerTx, 1)
			h := newHarness(t, map[sip.Method]func(*ServerTx){sip.INVITE: answerWith(200, []byte(gwSDP), txs)})
			toTag, tx := timerCall(t, h, txs, "se", fmt.Sprintf("Session-Expires: %d;refresher=uac", tc.se), "Supported: timer")
			d := tx.Dialog()
			quiet(t, h, d, tc.bye-time.Second, "before the session timer")
			if d.SessionExpired() {
				t.Fatal("SessionExpired() = true while the call is up")
			}
			expires(t, h, d, toTag)
		})
	}
}

// TestSessionTimerRefresh: a re-INVITE or UPDATE refreshing the session
// re-arms the timer from its 2xx, with the interval it asks for; the
// BYE comes only after the last refresh's interval has run out.
func TestSessionTimerRefresh(t *testing.T) {
	txs := make(chan *ServerTx, 1)
	h := newHarness(t, map[sip.Method]func(*ServerTx){sip.INVITE: answerWith(200, []byte(gwSDP), txs)})
	toTag, tx := timerCall(t, h, txs, "rf", "Session-Expires: 90", "Supported: timer")
	d := tx.Dialog()
	quiet(t, h, d, 45*time.Second, "before the first refresh")

	// A re-INVITE without an offer at 45 s: BYE due at 45+60.
	h.send(dlgReq{method: sip.INVITE, branch: "z9hG4bK-rf-2", cid: "rf", fromTag: "pt", toTag: toTag, cseq: 2,
		extra: []string{"Session-Expires: 90;refresher=uac", "Supported: timer"}}.String())
	h.recvResponse(200)
	h.send(dlgReq{method: sip.ACK, branch: "z9hG4bK-rf-2a", cid: "rf", fromTag: "pt", toTag: toTag, cseq: 2}.String())
	barrier(h, "rf-2")
	quiet(t, h, d, 50*time.Second, "after the re-INVITE")

	// An UPDATE at 95 s asking for 120 s: BYE due at 95+88 (120 − 32).
	h.send(dlgReq{method: sip.UPDATE, branch: "z9hG4bK-rf-3", cid: "rf", fromTag: "pt", toTag: toTag, cseq: 3,
		extra: []string{"Session-Expires: 120", "Supported: timer"}}.String())
	h.recvResponse(200)
	barrier(h, "rf-3")
	quiet(t, h, d, 87*time.Second, "after the UPDATE")
	expires(t, h, d, toTag)
}

// TestSessionTimerOff: no BYE without a session timer: none asked for,
// one asked for by a caller that does not support timers (a proxy may
// have added it; the caller would never refresh), or one turned off by
// a refresh without Session-Expires (its 2xx carries none).
func TestSessionTimerOff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string
		off   bool // a re-INVITE without Session-Expires at 30 s
	}{
		{"none asked for", nil, false},
		{"caller without timer support", []string{"Session-Expires: 90"}, false},
		{"turned off by a re-INVITE", []string{"Session-Expires: 90", "Supported: timer"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			txs := make(chan *ServerTx, 1)
			h := newHarness(t, map[sip.Method]func(*ServerTx){sip.INVITE: answerWith(200, []byte(gwSDP), txs)})
			toTag, tx := timerCall(t, h, txs, "off", tc.extra...)
			d := tx.Dialog()
			if tc.off {
				quiet(t, h, d, 30*time.Second, "before the re-INVITE")
				h.send(dlgReq{method: sip.INVITE, branch: "z9hG4bK-off-2", cid: "off", fromTag: "pt", toTag: toTag, cseq: 2}.String())
				if res := h.recvResponse(200); res.GetHeader("Session-Expires") != nil {
					t.Fatalf("2xx to a re-INVITE without Session-Expires carries %v", res.GetHeader("Session-Expires"))
				}
				h.send(dlgReq{method: sip.ACK, branch: "z9hG4bK-off-2a", cid: "off", fromTag: "pt", toTag: toTag, cseq: 2}.String())
				barrier(h, "off-2")
			}
			quiet(t, h, d, 10*time.Minute, "no session timer")
		})
	}
}

// TestSessionIntervalTooSmall (RFC 4028 §9): an INVITE from a caller
// that supports timers asking for a session interval under 90 s gets 422
// with Min-SE: 90, and no call.
func TestSessionIntervalTooSmall(t *testing.T) {
	h := newHarness(t, map[sip.Method]func(*ServerTx){sip.INVITE: func(tx *ServerTx) {
		t.Error("the handler ran for an interval too small")
		tx.Respond(500, "", nil)
	}})
	h.send(dlgReq{method: sip.INVITE, branch: "z9hG4bK-small", cid: "small", fromTag: "pt", cseq: 1,
		extra: []string{"Session-Expires: 30", "Supported: timer"}}.String())
	res := h.recvResponse(422)
	if m := res.GetHeader("Min-SE"); m == nil || m.Value() != "90" {
		t.Fatalf("Min-SE = %v, want 90", m)
	}
}

// TestSessionTimerUAC: a call the UA placed whose 2xx names the callee
// as refresher (refresher=uas) ends with a BYE when the callee does not
// refresh; one whose 2xx names this UA does not (the UA never refreshes:
// nothing is enforced).
func TestSessionTimerUAC(t *testing.T) {
	for _, tc := range []struct {
		refresher string
		wantBye   bool
	}{{"uas", true}, {"uac", false}} {
		t.Run(tc.refresher, func(t *testing.T) {
			h := newHarness(t, nil)
			ci, err := h.ua.Invite(context.Background(), calleeURI, caller, []byte("v=0\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			inv := h.recvRequest(sip.INVITE)
			se := gosip.NewHeader("Session-Expires", "90;refresher="+tc.refresher)
			h.send(reply(inv, 200, "OK", "callee", se))
			h.recvRequest(sip.ACK)
			codes(t, ci)
			d := ci.Dialog()
			if !tc.wantBye {
				quiet(t, h, d, 10*time.Minute, "this UA the refresher")
				return
			}
			quiet(t, h, d, 59*time.Second, "before the session timer")
			h.advance(time.Second)
			bye := h.recvRequest(sip.BYE)
			h.send(reply(bye, 200, "OK", "callee"))
			<-d.Done()
			if !d.SessionExpired() {
				t.Fatal("SessionExpired() = false")
			}
		})
	}
}
