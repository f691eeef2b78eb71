package sipua

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"lifeline/hal/sip"
)

var (
	calleeURI = sip.URI{Scheme: "sip", User: "callee", Host: "10.0.0.2", Port: 5060}
	caller    = sip.Address{URI: sip.URI{Scheme: "sip", User: "caller", Host: "10.0.0.1"}}
)

// codes collects the status codes of ci's responses until it closes.
func codes(t *testing.T, ci *ClientInvite) []int {
	t.Helper()
	var out []int
	timeout := time.After(safety)
	for {
		select {
		case r, ok := <-ci.Responses():
			if !ok {
				return out
			}
			out = append(out, r.Status)
		case <-timeout:
			t.Fatalf("Responses never closed; got %v", out)
		}
	}
}

func routeURIs(req *gosip.Request) []string {
	var out []string
	for _, h := range req.GetHeaders("Route") {
		out = append(out, h.Value())
	}
	return out
}

// TestInviteClient: the INVITE client transaction and the UAC's ACK,
// CANCEL and dialog, each case a script of the far end.
func TestInviteClient(t *testing.T) {
	tests := []struct {
		name  string
		run   func(t *testing.T, h *harness, ci *ClientInvite, inv *gosip.Request)
		codes []int
		err   error
	}{
		{"Timer A retransmits, Timer B gives up", func(t *testing.T, h *harness, ci *ClientInvite, inv *gosip.Request) {
			got := h.count(t1/2, 64*t1)
			if n := got["INVITE sip:callee@10.0.0.2:5060"]; n != 6 { // 0.5 1.5 3.5 7.5 15.5 31.5
				t.Errorf("%d retransmissions, want 6: %v", n, got)
			}
		}, nil, ErrTimeout},
		{"180 stops retransmissions, 486 is ACKed on the branch", func(t *testing.T, h *harness, ci *ClientInvite, inv *gosip.Request) {
			h.send(reply(inv, 180, "Ringing", "callee1"))
			h.sync()
			<-ci.Responses()
			if got := h.count(t1/2, 8*t1); len(got) != 0 {
				t.Errorf("after the 180: %v", got)
			}
			h.send(reply(inv, 486, "Busy Here", "callee1"))
			ack := h.recvRequest(sip.ACK)
			if b, _ := ack.Via().Params.Get("branch"); b != branchOf(inv) {
				t.Errorf("ACK on branch %s, want the INVITE's %s", b, branchOf(inv))
			}
			if tag, _ := ack.To().Params.Get("tag"); tag != "callee1" || ack.CSeq().SeqNo != 1 || ack.Recipient.String() != inv.Recipient.String() {
				t.Errorf("ACK %s", ack)
			}
			h.send(reply(inv, 486, "Busy Here", "callee1")) // lost ACK: again
			h.recvRequest(sip.ACK)
		}, []int{486}, nil},
		{"200 through two record-routing proxies: ACK and BYE on the reversed route set", func(t *testing.T, h *harness, ci *ClientInvite, inv *gosip.Request) {
			h.send(reply(inv, 200, "OK", "callee2",
				&gosip.RecordRouteHeader{Address: gosip.Uri{Scheme: "sip", Host: "10.0.0.3", Port: 5060, UriParams: gosip.HeaderParams{{K: "lr", V: ""}}}},
				&gosip.RecordRouteHeader{Address: gosip.Uri{Scheme: "sip", Host: "10.0.0.2", Port: 5060, UriParams: gosip.HeaderParams{{K: "lr", V: ""}}}},
				&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "callee", Host: "10.0.0.9", Port: 5062}}))
			ack := h.recvRequest(sip.ACK)
			wantRoutes := []string{"<sip:10.0.0.2:5060;lr>", "<sip:10.0.0.3:5060;lr>"}
			if ack.Recipient.String() != "sip:callee@10.0.0.9:5062" || !slices.Equal(routeURIs(ack), wantRoutes) ||
				branchOf(ack) == branchOf(inv) || ack.CSeq().SeqNo != 1 {
				t.Errorf("ACK for the 2xx:\n%s", ack)
			}
			h.send(reply(inv, 200, "OK", "callee2")) // retransmitted 2xx: ACK again
			h.recvRequest(sip.ACK)
			d := ci.Dialog()
			if d == nil {
				t.Fatal("no dialog after the 200")
			}
			bye := make(chan error, 1)
			go func() { bye <- d.Bye(context.Background()) }()
			b := h.recvRequest(sip.BYE)
			if b.Recipient.String() != "sip:callee@10.0.0.9:5062" || !slices.Equal(routeURIs(b), wantRoutes) || b.CSeq().SeqNo != 2 {
				t.Errorf("BYE:\n%s", b)
			}
			if tag, _ := b.To().Params.Get("tag"); tag != "callee2" {
				t.Errorf("BYE to tag %q", tag)
			}
			h.send(reply(b, 200, "OK", "callee2"))
			if err := <-bye; err != nil {
				t.Errorf("Bye = %v", err)
			}
			<-d.Done()
		}, []int{200}, nil},
		{"CANCEL after 180", func(t *testing.T, h *harness, ci *ClientInvite, inv *gosip.Request) {
			h.send(reply(inv, 180, "Ringing", "callee3"))
			<-ci.Responses()
			ci.Cancel()
			c := h.recvRequest(sip.CANCEL)
			if branchOf(c) != branchOf(inv) || c.CSeq().SeqNo != 1 || c.Recipient.String() != inv.Recipient.String() {
				t.Errorf("CANCEL:\n%s", c)
			}
			h.send(reply(c, 200, "OK", "callee3"))
			h.send(reply(inv, 487, "Request Terminated", "callee3"))
			h.recvRequest(sip.ACK)
		}, []int{487}, nil},
		{"CANCEL before any response waits for the 1xx", func(t *testing.T, h *harness, ci *ClientInvite, inv *gosip.Request) {
			ci.Cancel()
			h.sync()
			if got := h.drain(); len(got) != 0 {
				t.Errorf("sent before a provisional: %v", got)
			}
			h.send(reply(inv, 100, "Trying", ""))
			c := h.recvRequest(sip.CANCEL)
			h.send(reply(c, 200, "OK", ""))
			h.send(reply(inv, 487, "Request Terminated", "callee4"))
			h.recvRequest(sip.ACK)
		}, []int{100, 487}, nil},
		{"200 crossing the CANCEL: ACK, then BYE", func(t *testing.T, h *harness, ci *ClientInvite, inv *gosip.Request) {
			h.send(reply(inv, 180, "Ringing", "callee5"))
			<-ci.Responses()
			ci.Cancel()
			c := h.recvRequest(sip.CANCEL)
			h.send(reply(inv, 200, "OK", "callee5"))
			h.recvRequest(sip.ACK)
			b := h.recvRequest(sip.BYE)
			h.send(reply(c, 200, "OK", "callee5"))
			h.send(reply(b, 200, "OK", "callee5"))
			<-ci.Dialog().Done()
		}, []int{200}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			ci, err := h.ua.Invite(context.Background(), calleeURI, caller, []byte("v=0\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			inv := h.recvRequest(sip.INVITE)
			if ct := inv.ContentType(); ct == nil || ct.Value() != "application/sdp" || inv.Contact() == nil ||
				inv.MaxForwards() == nil || len(branchOf(inv)) < 20 {
				t.Fatalf("INVITE:\n%s", inv)
			}
			tc.run(t, h, ci, inv)
			got := codes(t, ci)
			if len(tc.codes) > 0 && !slices.Equal(got[len(got)-len(tc.codes):], tc.codes) {
				t.Errorf("responses %v, want them to end with %v", got, tc.codes)
			}
			if !errors.Is(ci.Err(), tc.err) || (tc.err == nil && ci.Err() != nil) {
				t.Errorf("Err = %v, want %v", ci.Err(), tc.err)
			}
		})
	}
}

func branchOf(m gosip.Message) string {
	b, _ := m.Via().Params.Get("branch")
	return b
}

// TestUASDialogRouting: a BYE from the UAS side goes along the INVITE's
// Record-Route in order (loose routing), or with a strict first route
// per RFC 3261 §12.2.1.1; without a response Timer E retransmits it and
// Timer F ends it.
func TestUASDialogRouting(t *testing.T) {
	tests := []struct {
		name      string
		rr        []string
		wantURI   string
		wantRoute []string
		answer    bool
	}{
		{"no route set", nil, "sip:phone@10.0.0.2:5060", nil, true},
		{"two loose routes", []string{"Record-Route: <sip:10.0.0.2:5060;lr>, <sip:10.0.0.3;lr>"},
			"sip:phone@10.0.0.2:5060", []string{"<sip:10.0.0.2:5060;lr>", "<sip:10.0.0.3;lr>"}, true},
		{"strict route", []string{"Record-Route: <sip:10.0.0.2:5060>"},
			"sip:10.0.0.2:5060", []string{"<sip:phone@10.0.0.2:5060>"}, true},
		{"no answer: Timer E and F", nil, "sip:phone@10.0.0.2:5060", nil, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			txs := make(chan *ServerTx, 1)
			h := newHarness(t, map[sip.Method]func(*ServerTx){sip.INVITE: answerWith(200, nil, txs)})
			inv := dlgReq{method: sip.INVITE, branch: "z9hG4bK-rr" + itoa(i), cid: "rr" + itoa(i), fromTag: "pt", cseq: 1, extra: tc.rr}
			h.send(inv.String())
			h.recvResponse(100)
			ok := h.recvResponse(200)
			if got := len(ok.GetHeaders("Record-Route")); got != len(tc.wantRoute) && tc.wantURI != "sip:10.0.0.2:5060" {
				t.Errorf("200 carries %d Record-Route, want them copied", got)
			}
			tag, _ := ok.To().Params.Get("tag")
			ack := inv
			ack.method, ack.branch, ack.toTag = sip.ACK, "z9hG4bK-ackrr", tag
			h.send(ack.String())
			tx := <-txs
			bye := make(chan error, 1)
			go func() { bye <- tx.Dialog().Bye(context.Background()) }()
			b := h.recvRequest(sip.BYE)
			if b.Recipient.String() != tc.wantURI || !slices.Equal(routeURIs(b), tc.wantRoute) {
				t.Errorf("BYE %s routes %q, want %s %q", b.Recipient.String(), routeURIs(b), tc.wantURI, tc.wantRoute)
			}
			if ft, _ := b.From().Params.Get("tag"); ft != tag {
				t.Errorf("BYE From tag %q, want ours %q", ft, tag)
			}
			if tt, _ := b.To().Params.Get("tag"); tt != "pt" {
				t.Errorf("BYE To tag %q", tt)
			}
			select {
			case <-tx.Dialog().Done():
			default:
				t.Error("Done open after Bye")
			}
			if tc.answer {
				h.send(reply(b, 200, "OK", "pt"))
				if err := <-bye; err != nil {
					t.Fatal(err)
				}
				return
			}
			got := h.count(t1/2, 64*t1)
			if n := got[short(b)]; n != 10 { // 0.5 1.5 3.5 7.5 11.5 ... 31.5
				t.Errorf("%d BYE retransmissions, want 10: %v", n, got)
			}
			if err := <-bye; !errors.Is(err, ErrTimeout) {
				t.Errorf("Bye = %v, want ErrTimeout", err)
			}
		})
	}
}

// TestServeEnds: Serve cancels the handlers' context, answers 503 while
// they finish (their BYE still gets its answer), then returns; calls
// after it fail with ErrClosed.
func TestServeEnds(t *testing.T) {
	txs := make(chan *ServerTx, 1)
	byeErr := make(chan error, 1)
	h := newHarness(t, map[sip.Method]func(*ServerTx){sip.INVITE: func(tx *ServerTx) {
		tx.Respond(200, "OK", nil)
		txs <- tx
		<-tx.Context().Done()
		byeErr <- tx.Dialog().Bye(context.Background())
	}})
	inv := dlgReq{method: sip.INVITE, branch: "z9hG4bK-s1", cid: "s1", fromTag: "pt", cseq: 1}
	h.send(inv.String())
	ok := h.recvResponse(200)
	tx := <-txs
	tag, _ := ok.To().Params.Get("tag")
	ack := inv
	ack.method, ack.branch, ack.toTag = sip.ACK, "z9hG4bK-s1ack", tag
	h.send(ack.String())
	stopped := make(chan struct{})
	go func() { h.stop(); close(stopped) }()
	b := h.recvRequest(sip.BYE)
	h.send(dlgReq{method: sip.INVITE, branch: "z9hG4bK-s2", cid: "s2", fromTag: "pt", cseq: 1}.String())
	h.recvResponse(503)
	h.send(reply(b, 200, "OK", "pt"))
	if err := <-byeErr; err != nil {
		t.Fatalf("BYE while stopping: %v", err)
	}
	<-stopped
	if _, err := h.ua.Invite(context.Background(), calleeURI, caller, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Invite after Serve = %v", err)
	}
	if err := tx.Respond(200, "OK", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Respond after Serve = %v", err)
	}
	if err := h.ua.Serve(context.Background()); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Serve = %v", err)
	}
}

// TestGoOutboundCall: a call placed in UA.Go through an outbound proxy
// (a Route with ;lr) with a display name in From; when Serve's context
// ends, the call's BYE still goes out and Serve waits for it.
func TestGoOutboundCall(t *testing.T) {
	h := newHarness(t, nil)
	byeErr := make(chan error, 1)
	phone := sip.URI{Scheme: "sip", User: "100", Host: "10.0.0.9", Port: 5060}
	proxy := sip.Field{Name: "Route", Value: "<sip:10.0.0.2:5060;lr>"}
	from := sip.Address{Display: "5551234", URI: sip.URI{Scheme: "sip", User: "5551234", Host: "10.0.0.1"}}
	err := h.ua.Go(func(ctx context.Context) {
		ci, err := h.ua.Invite(ctx, phone, from, nil, proxy)
		if err != nil {
			byeErr <- err
			return
		}
		for range ci.Responses() {
		}
		if ci.Dialog() == nil {
			byeErr <- ci.Err()
			return
		}
		<-ctx.Done()
		byeErr <- ci.Dialog().Bye(context.WithoutCancel(ctx))
	})
	if err != nil {
		t.Fatal(err)
	}
	inv := h.recvRequest(sip.INVITE) // at the proxy
	if inv.Recipient.String() != "sip:100@10.0.0.9:5060" || !slices.Equal(routeURIs(inv), []string{"<sip:10.0.0.2:5060;lr>"}) ||
		inv.From().DisplayName != "5551234" || !inv.From().Params.Has("tag") || len(inv.GetHeaders("From")) != 1 {
		t.Fatalf("INVITE:\n%s", inv)
	}
	h.send(reply(inv, 200, "OK", "ph",
		gosip.NewHeader("Record-Route", proxy.Value),
		gosip.NewHeader("Contact", "<"+phone.String()+">")))
	ack := h.recvRequest(sip.ACK)
	if !slices.Equal(routeURIs(ack), []string{"<sip:10.0.0.2:5060;lr>"}) {
		t.Fatalf("ACK:\n%s", ack)
	}
	stopped := make(chan struct{})
	go func() { h.stop(); close(stopped) }()
	bye := h.recvRequest(sip.BYE)
	h.send(reply(bye, 200, "OK", "ph"))
	if err := <-byeErr; err != nil {
		t.Fatalf("BYE while stopping: %v", err)
	}
	<-stopped
	if err := h.ua.Go(func(context.Context) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Go after Serve = %v", err)
	}
}
