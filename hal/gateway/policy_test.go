package gateway_test

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"lifeline/hal/clock"
	"lifeline/hal/gateway"
	"lifeline/hal/gateway/dialplan"
	"lifeline/hal/modem"
	"lifeline/hal/voice/voicetest"
)

var germany = dialplan.Numbering{CountryCode: "49", InternationalPrefix: "00", NationalPrefix: "0"}

// dialledAs places a call to ruri, waits for its 200, hangs up and returns
// the dial command the line got.
func (r *rig) dialledAs(ruri sip.Uri) string {
	r.t.Helper()
	before := len(r.sim.Commands())
	_, port := voicetest.EvenUDP(r.t)
	// A tel: URI has no host: a loose Route takes it to the gateway.
	route := &sip.RouteHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: r.gwAddr.Port, UriParams: sip.HeaderParams{{K: "lr"}}}}
	// sipgo makes From and To from the Request-URI's parts, which a tel:
	// URI has not: the phone's own From, the tel: URI as To.
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "phone", Host: "127.0.0.1"},
		Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(16)}}}
	to := &sip.ToHeader{Address: ruri, Params: sip.NewParams()}
	c := r.inviteURI(r.ctx(), ruri, offerFor(r.t, port), nil, route, from, to)
	if c.err != nil || c.codes[len(c.codes)-1] != 200 {
		r.t.Fatalf("%s: %v, responses %v; want 200", ruri.String(), c.err, c.codes)
	}
	if err := c.sess.Ack(r.ctx()); err != nil {
		r.t.Fatal(err)
	}
	if err := c.sess.Bye(r.ctx()); err != nil {
		r.t.Fatal(err)
	}
	r.waitIdle()
	for _, cmd := range r.sim.Commands()[before:] {
		if isDial(cmd) {
			return cmd
		}
	}
	r.t.Fatalf("%s: nothing dialled: %q", ruri.String(), r.sim.Commands()[before:])
	return ""
}

// isDial: a dial command, not the analog profile's dial-tone check.
func isDial(cmd string) bool { return strings.HasPrefix(cmd, "ATD") && cmd != "ATDT;" }

// TestDialledNumbers (issue 14 item 7): RFC 3261 escapes, phone-context
// and tel: URIs reach the line as the digits they stand for, and E.164
// numbers in the national or international form: never a "+".
func TestDialledNumbers(t *testing.T) {
	r := newRigWith(t, func(c *gateway.Config, _ *modem.Profile, _ string) { c.Numbering = germany })
	at := func(user string) sip.Uri {
		return sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: r.gwAddr.Port}
	}
	var tel sip.Uri
	if err := sip.ParseUri("tel:+49-30-1234;phone-context=+49", &tel); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ruri sip.Uri
		want string
	}{
		{"escaped star and hash", at("%2A00%2A21%23"), "ATDT*21#"},
		{"phone-context", at("0301234;phone-context=+49"), "ATDT0301234"},
		{"own country", at("+49301234"), "ATDT0301234"},
		{"other country", at("+33123456"), "ATDT0033123456"},
		{"tel URI", tel, "ATDT0301234"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.dialledAs(tc.ruri); got != tc.want {
				t.Fatalf("%s dialled as %q, want %q", tc.ruri.String(), got, tc.want)
			}
		})
	}
	for _, user := range []string{"030%3B123", "030W123", "alice"} {
		c := r.dial(user)
		if got := c.codes[len(c.codes)-1]; got != 484 {
			t.Errorf("%q: responses %v, want 484", user, c.codes)
		}
	}
	for _, c := range r.sim.Commands() {
		if isDial(c) && strings.ContainsAny(c[3:], "+;W,@!") {
			t.Fatalf("dialled %q", c)
		}
	}
}

// TestDialPlan (issue 15 item 1): blocked numbers get 403 and nothing is
// dialled; an allowed pattern and an emergency number go out.
func TestDialPlan(t *testing.T) {
	r := newRigWith(t, func(c *gateway.Config, _ *modem.Profile, _ string) {
		c.Numbering = germany
		c.Block = dialplan.DefaultBlock(germany)
		c.Allow = []string{"0033"}
		c.Emergency = []string{"112"}
	})
	for _, user := range []string{"*0000900123", "+44123456", "09001234567", "0137123", "11833"} {
		c := r.dial(user)
		if got := c.codes[len(c.codes)-1]; got != 403 || slices.Contains(c.codes, 100) {
			t.Errorf("%q: responses %v, want 403 alone", user, c.codes)
		}
	}
	if cmds := r.sim.Commands(); slices.ContainsFunc(cmds, isDial) {
		t.Fatalf("blocked numbers dialled: %q", cmds)
	}
	for _, user := range []string{"+33123", "112", "0301234"} {
		c := r.answered(user, user)
		if err := c.sess.Bye(r.ctx()); err != nil {
			t.Fatal(err)
		}
		r.waitIdle()
	}
}

// TestCallsPerMinute (issue 15 item 1): beyond CallsPerMinute in 60 s an
// INVITE gets 503 with Retry-After and is not dialled; emergency calls
// still go out; a minute later calls go out again.
func TestCallsPerMinute(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	r := newRigWith(t, func(c *gateway.Config, _ *modem.Profile, _ string) {
		c.Clock, c.CallsPerMinute, c.Emergency = clk, 2, []string{"112"}
		c.RTPTimeout = -1 // the fake clock's minutes are no silence
	})
	hangup := func(c *call) {
		if err := c.sess.Bye(r.ctx()); err != nil {
			t.Fatal(err)
		}
		r.waitIdle()
	}
	hangup(r.answered("first", "5551"))
	clk.Advance(30 * time.Second)
	hangup(r.answered("second", "5552"))
	var retry string
	third := r.invite(r.ctx(), "5553", offerFor(t, 4000), func(res *sip.Response) {
		if h := res.GetHeader("Retry-After"); h != nil {
			retry = h.Value()
		}
	})
	if got := third.codes[len(third.codes)-1]; got != 503 || retry != "30" {
		t.Fatalf("third call in a minute: responses %v, Retry-After %q; want 503 and 30", third.codes, retry)
	}
	hangup(r.answered("emergency", "112"))
	clk.Advance(30 * time.Second) // the first call is a minute old
	hangup(r.answered("a minute later", "5554"))
	var dialled []string
	for _, c := range r.sim.Commands() {
		if isDial(c) {
			dialled = append(dialled, c)
		}
	}
	if want := []string{"ATDT5551", "ATDT5552", "ATDT112", "ATDT5554"}; !slices.Equal(dialled, want) {
		t.Fatalf("dialled %q, want %q", dialled, want)
	}
}

// TestMaxDuration (issue 15 item 2): a call that reaches MaxDuration on
// the gateway's clock ends: BYE to the phone, the line hung up.
func TestMaxDuration(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	r := newRigWith(t, func(c *gateway.Config, _ *modem.Profile, _ string) {
		c.Clock, c.MaxDuration = clk, 4*time.Hour
		c.RTPTimeout = -1 // the phone sends no RTP: only the duration ends the call
	})
	r.answered("call", "5551234")
	clk.Advance(4*time.Hour - time.Second)
	select {
	case <-r.byes:
		t.Fatal("BYE before the maximum duration")
	default:
	}
	if !r.sim.InCall() {
		t.Fatal("call ended before the maximum duration")
	}
	clk.Advance(time.Second)
	select {
	case <-r.byes:
	case <-time.After(safety):
		t.Fatal("no BYE at the maximum duration")
	}
	r.waitIdle()
	if !slices.Contains(r.sim.Commands(), "ATH0") {
		t.Fatalf("line not hung up: %q", r.sim.Commands())
	}
}

// TestSources (issue 15 item 1): an INVITE from a source not in Sources
// gets one 403 and nothing is dialled; the listed source places calls.
func TestSources(t *testing.T) {
	r := newRigWith(t, func(c *gateway.Config, _ *modem.Profile, _ string) {
		c.Sources = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	stranger, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Skipf("needs 127.0.0.2 on loopback: %v", err)
	}
	defer stranger.Close()
	inv := "INVITE sip:5551234@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-x\r\n" +
		"From: <sip:x@127.0.0.2>;tag=1\r\nTo: <sip:5551234@127.0.0.1>\r\nCall-ID: stranger\r\nCSeq: 1 INVITE\r\n" +
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := stranger.WriteTo([]byte(inv), r.gwAddr); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	stranger.SetReadDeadline(time.Now().Add(safety))
	n, err := stranger.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 403 Forbidden\r\n") || n > len(inv) {
		t.Fatalf("stranger got %q, %v; want a 403 no larger than its INVITE", buf[:n], err)
	}
	// The proxy's call goes through: the stranger's INVITE, read before
	// it, was never dialled.
	c := r.answered("proxy's call", "5559")
	if err := c.sess.Bye(r.ctx()); err != nil {
		t.Fatal(err)
	}
	r.waitIdle()
	if cmds := r.sim.Commands(); slices.Contains(cmds, "ATDT5551234") {
		t.Fatalf("the stranger's number was dialled: %q", cmds)
	}
}

// TestDigestAuth (issue 15 item 1): with AuthUser and AuthPassword an
// INVITE is challenged (401); sipgo's client answers the challenge and
// the call goes out; a wrong password gets 403, no credentials 401, and
// nothing is dialled for them; an emergency call needs none.
func TestDigestAuth(t *testing.T) {
	r := newRigWith(t, func(c *gateway.Config, _ *modem.Profile, _ string) {
		c.AuthUser, c.AuthPassword, c.Emergency = "kamailio", "s3cret", []string{"112"}
	})
	call := func(user, name, password string) (*sipgo.DialogClientSession, []int, error) {
		_, port := voicetest.EvenUDP(t)
		sess, err := r.dc.Invite(r.ctx(), sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: r.gwAddr.Port},
			offerFor(t, port), sip.NewHeader("Content-Type", "application/sdp"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sess.Close() })
		var codes []int
		err = sess.WaitAnswer(r.ctx(), sipgo.AnswerOptions{Username: name, Password: password,
			OnResponse: func(res *sip.Response) error { codes = append(codes, int(res.StatusCode)); return nil }})
		if sess.InviteResponse != nil {
			codes = append(codes, int(sess.InviteResponse.StatusCode))
		}
		return sess, codes, err
	}
	hangup := func(sess *sipgo.DialogClientSession) {
		if err := sess.Ack(r.ctx()); err != nil {
			t.Fatal(err)
		}
		if err := sess.Bye(r.ctx()); err != nil {
			t.Fatal(err)
		}
		r.waitIdle()
	}
	sess, codes, err := call("5551", "kamailio", "s3cret")
	if err != nil || !slices.Contains(codes, 401) || codes[len(codes)-1] != 200 {
		t.Fatalf("with credentials: %v, responses %v; want 401 then 200", err, codes)
	}
	hangup(sess)
	if _, codes, _ := call("5552", "kamailio", "guess"); codes[len(codes)-1] != 403 {
		t.Fatalf("wrong password: responses %v, want 403 at last", codes)
	}
	if _, codes, _ := call("5553", "", ""); codes[len(codes)-1] != 401 {
		t.Fatalf("no credentials: responses %v, want 401", codes)
	}
	sess, codes, err = call("112", "", "")
	if err != nil || slices.Contains(codes, 401) || codes[len(codes)-1] != 200 {
		t.Fatalf("emergency without credentials: %v, responses %v; want 200 without a challenge", err, codes)
	}
	hangup(sess)
	var dialled []string
	for _, c := range r.sim.Commands() {
		if isDial(c) {
			dialled = append(dialled, c)
		}
	}
	if want := []string{"ATDT5551", "ATDT112"}; !slices.Equal(dialled, want) {
		t.Fatalf("dialled %q, want %q", dialled, want)
	}
}
