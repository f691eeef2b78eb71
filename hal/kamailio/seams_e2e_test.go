package kamailio_test

// The seams real phones found in scripts/kamailio/lifeline.cfg, against the
// real Kamailio of the siprig rig: the peers that must see what the proxy
// relays are plain UDP sockets of the test (sipPeer), bound where the rig
// expects the provider, a phone or the line gateway, so each test knows
// exactly when a request arrived and what its Request-URI was.

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"lifeline/hal/kamailio"
	"lifeline/hal/kamailio/siprig"
)

// sipPeer is a SIP endpoint of the test on 127.0.0.1: it sends raw
// requests and reads what arrives. Used from the test goroutine only.
type sipPeer struct {
	t    *testing.T
	c    *net.UDPConn
	Port int
}

// listenPeer binds 127.0.0.1:port (0: any free port).
func listenPeer(t *testing.T, port int) *sipPeer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatalf("bind the test's SIP peer on port %d: %v", port, err)
	}
	t.Cleanup(func() { c.Close() })
	return &sipPeer{t: t, c: c, Port: c.LocalAddr().(*net.UDPAddr).Port}
}

func (p *sipPeer) URI() string { return fmt.Sprintf("sip:127.0.0.1:%d", p.Port) }

// request sends an out-of-dialog request for method to ruri through the
// proxy at port kam.
func (p *sipPeer) request(kam int, method, ruri, callID string) {
	p.t.Helper()
	msg := fmt.Sprintf("%s %s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:5551234@127.0.0.1>;tag=%s\r\n"+
		"To: <%s>\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: 1 %s\r\n"+
		"Contact: <sip:5551234@127.0.0.1:%d>\r\n"+
		"Expires: 60\r\n"+
		"Content-Length: 0\r\n\r\n",
		method, ruri, p.Port, callID, callID, ruri, callID, method, p.Port)
	p.send(kam, msg)
}

func (p *sipPeer) send(port int, msg string) {
	p.t.Helper()
	if _, err := p.c.WriteToUDP([]byte(msg), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}); err != nil {
		p.t.Fatal(err)
	}
}

// recv returns the first message whose first line starts with prefix and
// that carries callID, and its sender; retransmissions and other messages
// are skipped. Fails the test after 10 s (real-clock bound: the proxy is a
// separate process).
func (p *sipPeer) recv(prefix, callID string) (string, *net.UDPAddr) {
	p.t.Helper()
	buf := make([]byte, 65536)
	_ = p.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var seen []string
	for {
		n, from, err := p.c.ReadFromUDP(buf)
		if err != nil {
			p.t.Fatalf("peer %d: no %q for %s: %v (first lines seen: %q)", p.Port, prefix, callID, err, seen)
		}
		msg := string(buf[:n])
		first, _, _ := strings.Cut(msg, "\r\n")
		if strings.HasPrefix(first, prefix) && strings.Contains(msg, "Call-ID: "+callID) {
			return msg, from
		}
		seen = append(seen, first)
	}
}

// reply answers req (as received from to) with code, copying the headers
// a response must echo and tagging To.
func (p *sipPeer) reply(to *net.UDPAddr, req string, code int, reason string) {
	p.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, line := range strings.Split(req, "\r\n") {
		name, _, _ := strings.Cut(line, ":")
		switch strings.ToLower(name) {
		case "via", "from", "call-id", "cseq", "record-route":
			b.WriteString(line + "\r\n")
		case "to":
			b.WriteString(line + ";tag=peer\r\n")
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	p.send(to.Port, b.String())
}

// requestURI returns the Request-URI of a request's first line.
func requestURI(msg string) string {
	f := strings.Fields(strings.SplitN(msg, "\r\n", 2)[0])
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// TestE2EKamailioFailoverJudgesTheHopTaken: a call leaves for the provider
// while the route is sip; the provider swallows it; Lifeline switches to
// pstn before the proxy's timer fires. The failure route must still try the
// PSTN gateway, because the call went to the provider (on the old script,
// which tested the route of the moment of failure, the caller got 408).
func TestE2EKamailioFailoverJudgesTheHopTaken(t *testing.T) {
	r := siprig.New(t, siprig.ProviderScenario(siprig.Silent), siprig.Define("FR_TIMER=1000"))
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	defer cancel()
	provider := listenPeer(t, r.Provider.Port) // the silent provider: it reads and never answers
	c := r.Client(t, "lifeline")
	if err := c.SetNextHop(ctx, "sip", r.ProviderURI); err != nil {
		t.Fatal(err)
	}
	type result struct {
		callees []string
		err     error
	}
	uac := make(chan result, 1)
	go func() {
		callees, err := r.PlaceCalls(ctx, 1, 0)
		uac <- result{callees, err}
	}()
	if req, _ := provider.recv("INVITE ", ""); requestURI(req) == "" {
		t.Fatalf("the provider got no INVITE: %q", req)
	}
	// Lifeline notices the provider is silent and switches, while the call
	// still waits for the provider's first reply.
	if err := c.SetNextHop(ctx, "pstn", r.PSTNURI); err != nil {
		t.Fatal(err)
	}
	res := <-uac
	if res.err != nil {
		t.Fatalf("the call that went to the silent provider was lost: %v", res.err)
	}
	if len(res.callees) != 1 || res.callees[0] != siprig.CalleePSTN {
		t.Fatalf("answered by %v, want the PSTN gateway", res.callees)
	}
	if !strings.Contains(string(r.KamailioLog()), "trying the PSTN gateway") {
		t.Fatalf("Kamailio's log does not say why it failed over:\n%s", r.KamailioLog())
	}
}

// TestE2EKamailioNonCallsGoToTheProvider: while the route is pstn (the
// daemon's next hop is the PSTN gateway, as after a failover or under
// `override pstn` with a healthy provider), REGISTER, SUBSCRIBE, MESSAGE
// and OPTIONS to a user still reach the provider, and the phone gets the
// provider's answer; only INVITEs follow the route. The provider's URI
// comes from the define, or from the htable key Lifeline writes.
func TestE2EKamailioNonCallsGoToTheProvider(t *testing.T) {
	for _, viaKey := range []bool{false, true} {
		t.Run(fmt.Sprintf("provider key set %v", viaKey), func(t *testing.T) {
			r := siprig.New(t, siprig.ProviderScenario(siprig.Silent))
			ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
			defer cancel()
			provider := listenPeer(t, r.Provider.Port)
			if viaKey {
				provider = listenPeer(t, 0) // the key wins over the define
			}
			phone := listenPeer(t, 0)
			c := r.Client(t, "lifeline")
			if viaKey {
				if err := c.SetHops(ctx, kamailio.Hops{Provider: provider.URI(), PSTN: r.PSTNURI}); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.SetNextHop(ctx, "pstn", r.PSTNURI); err != nil {
				t.Fatal(err)
			}
			for _, method := range []string{"REGISTER", "SUBSCRIBE", "MESSAGE", "OPTIONS"} {
				ruri := "sip:5551234@sip.example.net"
				if method == "REGISTER" {
					ruri = "sip:sip.example.net"
				}
				id := fmt.Sprintf("%s-%v@test", strings.ToLower(method), viaKey)
				phone.request(r.SIPPort, method, ruri, id)
				req, from := provider.recv(method+" ", id)
				if got := requestURI(req); got != ruri {
					t.Fatalf("%s reached the provider for %q, want %q", method, got, ruri)
				}
				provider.reply(from, req, 200, "OK")
				if resp, _ := phone.recv("SIP/2.0 200", id); !strings.Contains(resp, "CSeq: 1 "+method) {
					t.Fatalf("the phone got %q for its %s", resp, method)
				}
			}
			// A call still follows the route.
			r.PlaceOne(t, ctx, siprig.CalleePSTN)
		})
	}
}

// TestE2EKamailioCallFromTheLineReachesThePhone: the gateway offers a ring
// as INVITE sip:phones@<proxy> (the README's `incoming` form); with PHONES
// set, the phone gets an INVITE whose Request-URI is PHONES — its own
// user, which a real phone accepts (baresip answers 404 to "phones") — and
// the gateway gets the phone's answer.
func TestE2EKamailioCallFromTheLineReachesThePhone(t *testing.T) {
	phonePort := siprig.FreePort(t)
	phones := fmt.Sprintf("sip:alice@127.0.0.1:%d", phonePort)
	r := siprig.New(t, siprig.Define(fmt.Sprintf("PHONES=%q", phones)))
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	defer cancel()
	phone := listenPeer(t, phonePort)
	gw := listenPeer(t, 0)
	c := r.Client(t, "lifeline")
	if err := c.SetLineNumbers(ctx, kamailio.LineNumbers{URI: gw.URI()}); err != nil {
		t.Fatal(err)
	}
	const id = "ring-1@test"
	gw.request(r.SIPPort, "INVITE", fmt.Sprintf("sip:phones@127.0.0.1:%d", r.SIPPort), id)
	req, from := phone.recv("INVITE ", id)
	if got := requestURI(req); got != phones {
		t.Fatalf("the phone got INVITE %s, want %s", got, phones)
	}
	if !strings.Contains(req, "From: <sip:5551234@") {
		t.Fatalf("the caller's number is not in From:\n%s", req)
	}
	phone.reply(from, req, 486, "Busy Here")
	if resp, _ := gw.recv("SIP/2.0 486", id); resp == "" {
		t.Fatal("the gateway never got the phone's answer")
	}
}
