package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"lifeline/hal/kamailio/siprig"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/voice/sdp"
	"lifeline/hal/voice/voicetest"
)

// hostAddr returns an interface of this machine with a non-loopback IPv4
// address, to play the WAN (or a stranger on it); it skips without one.
func hostAddr(t *testing.T) (string, netip.Addr) {
	t.Helper()
	ifs, _ := net.Interfaces()
	for _, ifi := range ifs {
		addrs, _ := ifi.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP.To4()); ok && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() && ifi.Flags&net.FlagUp != 0 {
					return ifi.Name, ip
				}
			}
		}
	}
	t.Skip("needs an interface with a non-loopback IPv4 address")
	return "", netip.Addr{}
}

// TestE2EGatewayListenNotOnWAN (issue 15 item 1): a gateway whose listen
// or rtp_address is an address of the WAN interface is refused by check
// and by run, naming the option and the interface.
func TestE2EGatewayListenNotOnWAN(t *testing.T) {
	wan, addr := hostAddr(t)
	e, sim := newGatewayE2E(t)
	base := fmt.Sprintf(gwLineConfig, filepath.Join(e.dir, "hooks.d"), sim.Path(), 5080)
	base = strings.Replace(base, "option wan_interface 'lo'", "option wan_interface '"+wan+"'", 1)
	for _, tc := range []struct{ name, config, opt string }{
		{"listen", strings.Replace(base, "127.0.0.1:5080", addr.String()+":5080", 1), "listen"},
		{"wildcard listen binds rtp_address", strings.Replace(base, "'127.0.0.1:5080'", "':5080'\n\toption rtp_address '"+addr.String()+"'", 1), "listen"},
		{"rtp_address", strings.Replace(base, "'127.0.0.1:5080'", "'127.0.0.1:5080'\n\toption rtp_address '"+addr.String()+"'", 1), "rtp_address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.writeConfig(tc.config)
			want := fmt.Sprintf("gateway 'gw' option '%s': %s is an address of the WAN interface %s", tc.opt, addr, wan)
			for _, args := range [][]string{
				{"check", "-c", e.cfg, "--board", "generic"},
				{"run", "-c", e.cfg, "--board", "generic", "--state-dir", e.dir, "--socket", e.sock},
			} {
				_, errs, code := e.cli(args...)
				if code != 1 || !strings.Contains(errs, want) {
					t.Fatalf("lifeline %s: exit %d, stderr %q; want exit 1 and %q", args[0], code, errs, want)
				}
			}
		})
	}
}

// TestE2EGatewayPolicy (issues 14 item 7 and 15 item 1) through the real
// binary with the default policy and a country code: E.164 numbers are
// dialled in the national form, international and premium-rate numbers
// get 403, a source that is not the proxy gets one 403 and dials nothing,
// and beyond calls_per_minute an INVITE gets 503.
func TestE2EGatewayPolicy(t *testing.T) {
	_, stranger := hostAddr(t)
	e, sim, sipPort := startGatewayPolicy(t, "\toption country_code '49'\n\toption calls_per_minute '1'\n")
	phone := newSIPPhone(t, sipPort)
	final := func(codes []int) int {
		if len(codes) == 0 {
			return 0
		}
		return codes[len(codes)-1]
	}
	dialled := func() []string {
		var out []string
		for _, c := range sim.Commands() {
			if strings.HasPrefix(c, "ATD") && c != "ATDT;" {
				out = append(out, c)
			}
		}
		return out
	}

	var rtpPort int
	for _, user := range []string{"*00%2B33123456", "0033123456", "*0009001234567", "11833"} {
		_, rtpPort = voicetest.EvenUDP(t)
		if _, codes, _ := phone.invite(user, rtpPort); final(codes) != 403 {
			t.Fatalf("%s: responses %v, want 403", user, codes)
		}
	}

	// A stranger (this host's address is not loopback, not the gateway's
	// and not listed) gets one 403 no larger than its INVITE.
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(stranger, 0)))
	if err != nil {
		t.Skipf("cannot bind %s: %v", stranger, err)
	}
	defer conn.Close()
	inv := fmt.Sprintf("INVITE sip:5551234@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-stranger\r\n"+
		"From: <sip:x@%s>;tag=1\r\nTo: <sip:5551234@127.0.0.1>\r\nCall-ID: stranger\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"+
		"Content-Length: 0\r\n\r\n", sipPort, conn.LocalAddr(), stranger)
	if _, err := conn.WriteTo([]byte(inv), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sipPort}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	n, err := conn.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 403 Forbidden\r\n") || n > len(inv) {
		t.Fatalf("stranger got %q, %v; want one 403 no larger than its %d-byte INVITE", buf[:n], err, len(inv))
	}
	e.waitLog("SIP request from a source that may not use the gateway refused")

	_, rtpPort = voicetest.EvenUDP(t)
	sess, codes, err := phone.invite("*00+4930123", rtpPort)
	if err != nil || final(codes) != 200 {
		t.Fatalf("+4930123: %v, responses %v; want 200\nlog:\n%s", err, codes, e.stderr)
	}
	if err := sess.Ack(stepCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := sess.Bye(stepCtx(t)); err != nil {
		t.Fatal(err)
	}
	e.waitFor("line idle", noCallLineIdle)
	_, rtpPort = voicetest.EvenUDP(t)
	if _, codes, _ := phone.invite("5559876", rtpPort); final(codes) != 503 {
		t.Fatalf("second call in a minute with calls_per_minute 1: responses %v, want 503", codes)
	}
	if got, want := dialled(), []string{"ATDT030123"}; !slices.Equal(got, want) {
		t.Fatalf("dialled %q, want %q", got, want)
	}
}

// TestE2EGatewayWildcardListen (issue 15 item 1): listen ':PORT' binds
// rtp_address and loopback, not every address: a phone on loopback
// calls, another loopback address has nothing listening.
func TestE2EGatewayWildcardListen(t *testing.T) {
	_, lan := hostAddr(t)
	e, sim := newGatewayE2E(t)
	sipPort := siprig.FreePort(t)
	cfg := fmt.Sprintf(gwE2EConfig, filepath.Join(e.dir, "hooks.d"), sim.Path(), sipPort)
	cfg = strings.Replace(cfg, fmt.Sprintf("'127.0.0.1:%d'", sipPort), fmt.Sprintf("':%d'\n\toption rtp_address '%s'", sipPort, lan), 1)
	e.writeConfig(cfg)
	e.start()
	e.waitFor("line idle", func(st map[string]any) bool { return field(st, "line.state") == "idle" })
	e.waitLog("SIP-to-line gateway")

	phone := newSIPPhone(t, sipPort)
	_, rtpPort := voicetest.EvenUDP(t)
	sess, codes, err := phone.invite("5551234", rtpPort)
	if err != nil || codes[len(codes)-1] != 200 {
		t.Fatalf("call over loopback: %v, responses %v\nlog:\n%s", err, codes, e.stderr)
	}
	if err := sess.Ack(stepCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := sess.Bye(stepCtx(t)); err != nil {
		t.Fatal(err)
	}

	// 127.0.0.2 is this host's too, but not bound: the kernel answers
	// port unreachable, which a connected UDP socket reads as refused.
	c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: sipPort})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("OPTIONS sip:x@127.0.0.2 SIP/2.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 100)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("127.0.0.2:%d: %v, want connection refused (nothing bound there)", sipPort, err)
	}
}

// TestE2EGatewayMaxDuration (issue 15 item 2) through the real binary:
// with max_duration '1s' an answered call is ended by the gateway: BYE
// to the phone, the line hung up. (The gateway's own test runs the
// default 4 h on a fake clock.)
func TestE2EGatewayMaxDuration(t *testing.T) {
	e, sim, sipPort := startGatewayPolicy(t, "\toption max_duration '1s'\n")
	phone := newSIPPhone(t, sipPort)
	_, rtpPort := voicetest.EvenUDP(t)
	sess, codes, err := phone.invite("5551234", rtpPort)
	if err != nil || codes[len(codes)-1] != 200 {
		t.Fatalf("call: %v, responses %v", err, codes)
	}
	if err := sess.Ack(stepCtx(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-phone.byes:
	case <-stepCtx(t).Done():
		t.Fatalf("no BYE from the gateway after max_duration\nlog:\n%s", e.stderr)
	}
	e.waitFor("call gone, line idle", noCallLineIdle)
	e.waitLog("maximum call duration 1s reached")
	if cmds := sim.Commands(); !slices.Contains(cmds[slices.Index(cmds, "ATDT5551234"):], "ATH0") {
		t.Fatalf("the line was not hung up: %q", cmds)
	}
}

// TestE2EGatewayDigestAuth (issue 15 item 1) through the real binary:
// with auth_user and auth_password a call without credentials gets 401,
// one that answers the challenge goes out.
func TestE2EGatewayDigestAuth(t *testing.T) {
	e, sim, sipPort := startGatewayPolicy(t, "\toption auth_user 'kamailio'\n\toption auth_password 's3cret'\n")
	phone := newSIPPhone(t, sipPort)
	_, rtpPort := voicetest.EvenUDP(t)
	if _, codes, _ := phone.invite("5551234", rtpPort); len(codes) == 0 || codes[len(codes)-1] != 401 {
		t.Fatalf("without credentials: responses %v, want 401", codes)
	}
	offer, err := sdp.Offer(sdp.Local{Addr: loopback4, Port: rtpPort, SessionID: 7, Version: 1}, "PCMA")
	if err != nil {
		t.Fatal(err)
	}
	sess, err := phone.dc.Invite(stepCtx(t), sip.Uri{Scheme: "sip", User: "5551234", Host: "127.0.0.1", Port: sipPort}, offer,
		sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.WaitAnswer(stepCtx(t), sipgo.AnswerOptions{Username: "kamailio", Password: "s3cret"}); err != nil {
		t.Fatalf("with credentials: %v\nlog:\n%s", err, e.stderr)
	}
	if err := sess.Ack(stepCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := sess.Bye(stepCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got := sim.Commands(); !slices.Contains(got, "ATDT5551234") {
		t.Fatalf("the authenticated call was not dialled: %q", got)
	}
}

// startGatewayPolicy starts the binary with gwE2EConfig plus extra options
// of the gateway section and waits until its gateway serves; it returns
// the gateway's SIP port.
func startGatewayPolicy(t *testing.T, extra string) (*e2e, *modemsim.VoiceSim, int) {
	t.Helper()
	e, sim := newGatewayE2E(t)
	sipPort := siprig.FreePort(t)
	e.writeConfig(fmt.Sprintf(gwE2EConfig, filepath.Join(e.dir, "hooks.d"), sim.Path(), sipPort) + extra)
	e.start()
	e.waitFor("line idle", func(st map[string]any) bool { return field(st, "line.state") == "idle" })
	e.waitLog("SIP-to-line gateway")
	return e, sim, sipPort
}
