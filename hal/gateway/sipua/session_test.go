package sipua

import (
	"fmt"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"lifeline/hal/sip"
)

const gwSDP = "v=0\r\no=gw 7 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"

func phoneSDP(dir string) string {
	s := "v=0\r\no=phone 1 2 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n"
	if dir != "" {
		s += "a=" + dir + "\r\n"
	}
	return s
}

// barrier returns once the UA has handled what the peer sent before: a
// request sent after it (an OPTIONS the harness has no handler for) is
// answered.
func barrier(h *harness, id string) {
	h.t.Helper()
	h.send(dlgReq{method: sip.OPTIONS, branch: "z9hG4bK-barrier-" + id, cid: "barrier-" + id, fromTag: "x", cseq: 1}.String())
	h.recvResponse(405)
}

// established answers an INVITE with 200 and gwSDP, ACKs it, and returns
// the dialog's To tag and the server transaction.
func established(t *testing.T, h *harness, txs chan *ServerTx) (string, *ServerTx) {
	t.Helper()
	h.send(dlgReq{method: sip.INVITE, branch: "z9hG4bK-i1", cid: "c1", fromTag: "pt", cseq: 1, body: phoneSDP("")}.String())
	h.recvResponse(100)
	res := h.recvResponse(200)
	toTag, _ := res.To().Params.Get("tag")
	h.send(dlgReq{method: sip.ACK, branch: "z9hG4bK-a1", cid: "c1", fromTag: "pt", toTag: toTag, cseq: 1}.String())
	tx := <-txs
	barrier(h, "established")
	return toTag, tx
}

// TestReinviteAndUpdate: re-INVITEs and UPDATEs in a call are answered 200
// with the session as it stands, the direction the mirror of the offer's,
// the version raised only when the description changed; a re-INVITE
// without an offer gets the session as an offer; session timers are
// echoed with the requester as refresher when it supports them, and not
// at all when it does not. The call goes on. (Before, every
// re-INVITE got 488 and UPDATE 405.)
func TestReinviteAndUpdate(t *testing.T) {
	txs := make(chan *ServerTx, 1)
	h := newHarness(t, map[sip.Method]func(*ServerTx){sip.INVITE: answerWith(200, []byte(gwSDP), txs)})
	toTag, tx := established(t, h, txs)
	steps := []struct {
		name     string
		method   sip.Method
		offer    string
		extra    []string
		wantDir  string // "" for none in the answer
		wantVer  string
		wantBody bool
		wantHdrs []string
	}{
		{"hold", sip.INVITE, phoneSDP("sendonly"), nil, "recvonly", "2", true, nil},
		{"hold again, unchanged", sip.INVITE, phoneSDP("sendonly"), nil, "recvonly", "2", true, nil},
		{"resume", sip.INVITE, phoneSDP("sendrecv"), nil, "", "3", true, nil},
		{"inactive by UPDATE", sip.UPDATE, phoneSDP("inactive"), nil, "inactive", "4", true, nil},
		{"resume by UPDATE", sip.UPDATE, phoneSDP(""), nil, "", "5", true, nil},
		{"session refresh without an offer", sip.INVITE, "", []string{"Session-Expires: 90;refresher=uac", "Supported: timer"},
			"", "5", true, []string{"Session-Expires: 90;refresher=uac", "Require: timer"}},
		{"UPDATE refresh without an offer", sip.UPDATE, "", []string{"Session-Expires: 90", "Supported: timer"}, "", "", false,
			[]string{"Session-Expires: 90;refresher=uac", "Require: timer"}},
		// A Session-Expires a proxy put in for a phone that does not know
		// timers (RFC 4028 §8): that phone would never refresh as the
		// refresher=uac the 2xx named, and a proxy timing the session
		// (Kamailio's sst) would end the call; no timer is the answer.
		{"Session-Expires without timer support", sip.UPDATE, "", []string{"Session-Expires: 90"}, "", "", false,
			[]string{"Session-Expires:", "Require:"}},
	}
	for i, s := range steps {
		cseq := 2 + i
		branch := "z9hG4bK-r" + string(rune('a'+i))
		extra := s.extra
		if s.offer != "" {
			extra = append(extra, "Content-Type: application/sdp")
		}
		h.send(dlgReq{method: s.method, branch: branch, cid: "c1", fromTag: "pt", toTag: toTag, cseq: cseq, extra: extra, body: s.offer}.String())
		res := h.recvResponse(200)
		body := string(res.Body())
		if !s.wantBody {
			if body != "" {
				t.Fatalf("%s: body %q, want none", s.name, body)
			}
		} else {
			lines := sdpLines([]byte(body))
			if got := direction([]byte(body)); (s.wantDir == "" && got != "sendrecv") || (s.wantDir != "" && got != s.wantDir) {
				t.Fatalf("%s: answer direction %q, want %q:\n%s", s.name, got, s.wantDir, body)
			}
			if s.wantDir == "" && strings.Contains(body, "a=sendrecv") {
				t.Fatalf("%s: a=sendrecv written:\n%s", s.name, body)
			}
			if o := strings.Fields(lines[1]); len(o) < 3 || o[2] != s.wantVer {
				t.Fatalf("%s: %q, want version %s", s.name, lines[1], s.wantVer)
			}
			if !strings.Contains(body, "m=audio 4000 RTP/AVP 8 101") {
				t.Fatalf("%s: not the current session:\n%s", s.name, body)
			}
		}
		for _, want := range s.wantHdrs { // "Name:" alone: no such header
			name, val, _ := strings.Cut(want, ":")
			val = strings.TrimSpace(val)
			if h := res.GetHeader(name); (val == "" && h != nil) || (val != "" && (h == nil || h.Value() != val)) {
				t.Fatalf("%s: %s = %v, want %q", s.name, name, h, val)
			}
		}
		if s.method == sip.INVITE {
			h.send(dlgReq{method: sip.ACK, branch: branch + "-ack", cid: "c1", fromTag: "pt", toTag: toTag, cseq: cseq}.String())
			barrier(h, branch)
			// The ACK stopped the 2xx retransmissions.
			h.advance(4 * time.Second)
			if msgs := h.drain(); len(msgs) != 0 {
				t.Fatalf("%s: after the ACK the UA sent %s (CSeq %v)", s.name, short(msgs[0]), msgs[0].(*gosip.Response).CSeq())
			}
		}
	}
	select {
	case <-tx.Dialog().Done():
		t.Fatal("the call ended")
	default:
	}
}

// TestReferKeepsTheCall: a REFER in a call is accepted (202) and its
// implicit subscription ended at once with a NOTIFY carrying no outcome
// (100 Trying, terminated;reason=noresource): the transferor keeps the
// call, which is still up. (Before: 405, and baresip hung up.)
func TestReferKeepsTheCall(t *testing.T) {
	txs := make(chan *ServerTx, 1)
	h := newHarness(t, map[sip.Method]func(*ServerTx){sip.INVITE: answerWith(200, []byte(gwSDP), txs)})
	toTag, tx := established(t, h, txs)
	h.send(dlgReq{method: sip.REFER, branch: "z9hG4bK-ref", cid: "c1", fromTag: "pt", toTag: toTag, cseq: 2,
		extra: []string{"Refer-To: <sip:5550001@10.0.0.1>", "Referred-By: <sip:phone@10.0.0.2>"}}.String())
	h.recvResponse(202)
	n := h.recvRequest(sip.NOTIFY)
	for name, want := range map[string]string{"Event": "refer", "Subscription-State": "terminated;reason=noresource",
		"Content-Type": "message/sipfrag;version=2.0", "Call-ID": "c1"} {
		if got := n.GetHeader(name); got == nil || got.Value() != want {
			t.Fatalf("NOTIFY %s = %v, want %q", name, got, want)
		}
	}
	if from, _ := n.From().Params.Get("tag"); from != toTag {
		t.Fatalf("NOTIFY outside the call: From tag %q", from)
	}
	if string(n.Body()) != "SIP/2.0 100 Trying\r\n" {
		t.Fatalf("NOTIFY sipfrag %q", n.Body())
	}
	h.send(reply(n, 200, "OK", "pt"))
	barrier(h, "notified")
	select {
	case <-tx.Dialog().Done():
		t.Fatal("the call ended after the REFER")
	default:
	}
}

// TestRequireAndAllow: a request requiring an option tag the UA does not
// support gets 420 with Unsupported listing it (RFC 3261 §8.2.2.3); one
// requiring only timer is served. Allow lists the methods in a fixed
// order, UPDATE and REFER included. (Before: no 420; Allow in map order.)
func TestRequireAndAllow(t *testing.T) {
	h := newHarness(t, map[sip.Method]func(*ServerTx){
		sip.INVITE:  answerWith(486, nil, nil),
		sip.MESSAGE: func(tx *ServerTx) { tx.Respond(200, "OK", nil) },
	})
	h.send(dlgReq{method: sip.INVITE, branch: "z9hG4bK-q1", cid: "q1", fromTag: "pt", cseq: 1,
		extra: []string{"Require: 100rel, timer", "Require: foo"}}.String())
	res := h.recvResponse(420)
	if u := res.GetHeader("Unsupported"); u == nil || u.Value() != "100rel, foo" {
		t.Fatalf("Unsupported = %v, want \"100rel, foo\"", u)
	}
	tag, _ := res.To().Params.Get("tag")
	h.send(dlgReq{method: sip.ACK, branch: "z9hG4bK-q1", cid: "q1", fromTag: "pt", toTag: tag, cseq: 1}.String())
	h.send(dlgReq{method: sip.INVITE, branch: "z9hG4bK-q2", cid: "q2", fromTag: "pt", cseq: 1, extra: []string{"Require: timer"}}.String())
	h.recvResponse(100)
	h.recvResponse(486)
	for i := range 3 {
		h.send(dlgReq{method: sip.SUBSCRIBE, branch: fmt.Sprintf("z9hG4bK-s%d", i), cid: "s1", fromTag: "pt", cseq: 1 + i}.String())
		res := h.recvResponse(405)
		if a := res.GetHeader("Allow"); a == nil || a.Value() != "INVITE, ACK, CANCEL, BYE, UPDATE, REFER, MESSAGE" {
			t.Fatalf("Allow = %v", a)
		}
	}
}
