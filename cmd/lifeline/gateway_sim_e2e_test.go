package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"lifeline/hal/kamailio/siprig"
	"lifeline/hal/modem/modemtest"
	"lifeline/hal/voice/sdp"
	"lifeline/hal/voice/voicetest"
)

// answeredCall calls number through the gateway from phone, ACKs the 200
// and returns the dialog, the phone's RTP socket and the gateway's RTP
// address from its answer.
func answeredCall(t *testing.T, e *e2e, phone *sipPhone, number string) (*sipgo.DialogClientSession, *net.UDPConn, *net.UDPAddr) {
	t.Helper()
	rtpConn, rtpPort := voicetest.EvenUDP(t)
	sess, codes, err := phone.invite(number, rtpPort)
	if err != nil || codes[len(codes)-1] != 200 {
		t.Fatalf("call %s: %v (responses %v)\nlog:\n%s", number, err, codes, e.stderr)
	}
	if err := sess.Ack(stepCtx(t)); err != nil {
		t.Fatal(err)
	}
	ans, err := sdp.Parse(sess.InviteResponse.Body())
	if err != nil || len(ans.Media) == 0 {
		t.Fatalf("SDP answer: %v", err)
	}
	return sess, rtpConn, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ans.Media[0].Port}
}

// TestE2ESimBoardGateway runs `make run`'s configuration
// (scripts/sim.config, its ports moved to free ones) on the sim board: its
// line is a voice modem, so a phone's call through the gateway comes up
// and echoes (before, every call failed with 503 "unexpected CONNECT"),
// and `lifeline sim ring +4930123456` rings the line, which the gateway
// offers to its incoming target with the caller's number in From.
func TestE2ESimBoardGateway(t *testing.T) {
	modemtest.NeedPTY(t)
	raw, err := os.ReadFile(filepath.Join("..", "..", "scripts", "sim.config"))
	if err != nil {
		t.Fatal(err)
	}
	e := e2eWith(t, lifelineBin(t))
	gwPort := siprig.FreePort(t)
	softphone, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer softphone.Close()
	cfg := strings.NewReplacer("@RUN@", e.dir,
		"127.0.0.1:5080", "127.0.0.1:"+strconv.Itoa(gwPort),
		"127.0.0.1:5060", softphone.LocalAddr().String()).Replace(string(raw))
	if !strings.Contains(cfg, "config gateway") {
		t.Fatal("scripts/sim.config has no gateway section")
	}
	e.writeConfig(cfg)
	if out, errs, code := e.cli("check", "-c", e.cfg); code != 0 {
		t.Fatalf("check: exit %d: %s%s", code, out, errs)
	}
	e.start()
	e.waitFor("line idle", func(st map[string]any) bool { return field(st, "line.state") == "idle" })
	e.waitLog("SIP-to-line gateway")

	phone := newSIPPhone(t, gwPort)
	sess, rtpConn, gwRTP := answeredCall(t, e, phone, "5551234")
	echoCompare(t, rtpConn, gwRTP)
	if err := sess.Bye(stepCtx(t)); err != nil {
		t.Fatal(err)
	}
	e.waitFor("line idle after the call", noCallLineIdle)

	if _, errs, code := e.cli("sim", "ring", "12ab", "--socket", e.sock); code == 0 || !strings.Contains(errs, "ring") {
		t.Fatalf("sim ring 12ab: exit %d, %q: want a refusal naming the signal", code, errs)
	}
	ringOffered(t, e, softphone, "+4930123456")
	e.waitFor("line ringing", func(st map[string]any) bool { return field(st, "line.state") == "ringing" })
	e.mustCLI("sim", "ring", "stop")
}

// ringOffered rings the sim board's line from caller (`sim ring`) and
// waits for the gateway's INVITE at softphone, which must show caller in
// From.
func ringOffered(t *testing.T, e *e2e, softphone *net.UDPConn, caller string) {
	t.Helper()
	e.mustCLI("sim", "ring", caller)
	buf := make([]byte, 65536)
	_ = softphone.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		n, _, err := softphone.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("the softphone never got the ring's INVITE: %v\nlog:\n%s", err, e.stderr)
		}
		msg := string(buf[:n])
		if !strings.HasPrefix(msg, "INVITE ") {
			continue
		}
		if from := sipHeader(msg, "from"); !strings.Contains(from, caller) {
			t.Fatalf("the INVITE does not show the caller's number: %q", from)
		}
		return
	}
}
