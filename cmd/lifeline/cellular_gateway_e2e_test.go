package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"lifeline/hal/kamailio/siprig"
	"lifeline/hal/modem/modemtest"
	"lifeline/hal/voice"
	"lifeline/hal/voice/rtp"
	"lifeline/hal/voice/voicetest"
)

// simCellularConfig is `make run LINE=cellular`'s configuration
// (scripts/sim.config and scripts/sim-cellular.line) for profile, the
// gateway on gwPort and its incoming target at incoming.
func simCellularConfig(t *testing.T, e *e2e, profile string, gwPort int, incoming string) string {
	t.Helper()
	var cfg string
	for _, f := range []string{"sim.config", "sim-cellular.line"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "scripts", f))
		if err != nil {
			t.Fatal(err)
		}
		cfg += string(raw)
	}
	return strings.NewReplacer("@RUN@", e.dir, "@PROFILE@", profile, "option health_interval '5s'", "option health_interval '200ms'",
		"127.0.0.1:5080", "127.0.0.1:"+strconv.Itoa(gwPort), "127.0.0.1:5060", incoming).Replace(cfg)
}

// sendDigit sends one RFC 4733 digit on pk's stream: a start, an update
// and the three end packets.
func sendDigit(t *testing.T, conn *net.UDPConn, gw *net.UDPAddr, pk *rtp.Packetizer, code uint8) {
	t.Helper()
	_, ts := pk.Next()
	for i, d := range []uint16{160, 800, 1280, 1280, 1280} {
		e := rtp.Event{Code: code, Volume: 10, Duration: d, End: i >= 2}
		if _, err := conn.WriteTo(pk.EventPacket(101, ts, i == 0, e), gw); err != nil {
			t.Fatal(err)
		}
	}
	pk.Skip(1280 / voice.FrameSamples)
}

// The gateway carries calls over a cellular line on the sim board, for
// each profile: a phone's call comes up on the module and its audio
// echoes back, each tagged frame compared byte for byte after PCMA -> the
// module's 16-bit PCM -> PCMA (exact); the phone's digits reach the
// module as its DTMF command; the phone's BYE hangs the module up, the far
// end's hang-up sends the phone a BYE; a busy far end is 486; `sim ring`
// offers the module's incoming call with the +CLIP number in From;
// without a SIM, 112 still goes out and other numbers do not.
func TestE2ECellularGatewayEachProfile(t *testing.T) {
	modemtest.NeedPTY(t)
	for _, profile := range []string{"huawei-e1550", "quectel-ec25", "simcom-sim7600"} {
		t.Run(profile, func(t *testing.T) {
			e := e2eWith(t, lifelineBin(t))
			gwPort := siprig.FreePort(t)
			softphone, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer softphone.Close()
			e.writeConfig(simCellularConfig(t, e, profile, gwPort, softphone.LocalAddr().String()))
			if out, errs, code := e.cli("check", "-c", e.cfg); code != 0 {
				t.Fatalf("check: exit %d: %s%s", code, out, errs)
			}
			e.start()
			e.waitFor("cellular line idle", lineState("idle"))
			e.waitLog("SIP-to-line gateway")

			phone := newSIPPhone(t, gwPort)
			sess, rtpConn, gwRTP := answeredCall(t, e, phone, "5551234")
			st := e.waitFor("in call", lineState("in-call"))
			if calls, _ := st["calls"].([]any); len(calls) != 1 || field(calls[0].(map[string]any), "format") != "linear16le" {
				t.Fatalf("calls %v", st["calls"])
			}
			pk := rtp.NewPacketizer(rtp.PayloadPCMA, 42, 100, 1000)
			echoCompareLine(t, rtpConn, gwRTP, pk, voice.FormatLinear16)
			for _, d := range []uint8{1, 11, 9} { // 1 # 9
				sendDigit(t, rtpConn, gwRTP, pk, d)
			}
			deadline := time.Now().Add(15 * time.Second)
			for !strings.Contains(e.mustCLI("sim", "cell", "show"), `DTMF received "1#9"`) {
				if time.Now().After(deadline) {
					t.Fatalf("the module never got the digits: %s\nlog:\n%s", e.mustCLI("sim", "cell", "show"), e.stderr)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := sess.Bye(stepCtx(t)); err != nil {
				t.Fatal(err)
			}
			e.waitFor("line idle after the call", noCallLineIdle)
			if out := e.mustCLI("sim", "cell", "show"); !strings.Contains(out, "call idle +4930") && !strings.Contains(out, "call idle 5551234") {
				t.Fatalf("the module did not hang up: %s", out)
			}

			// The far end hangs up: the phone gets a BYE.
			sess, _, _ = answeredCall(t, e, phone, "5551111")
			e.waitFor("the call in the status", func(st map[string]any) bool { return len(st["calls"].([]any)) == 1 })
			e.mustCLI("sim", "cell", "hangup")
			select {
			case <-phone.byes:
			case <-stepCtx(t).Done():
				t.Fatalf("no BYE from the gateway after the far end hung up\nlog:\n%s", e.stderr)
			}
			e.waitFor("line idle after the far end hung up", noCallLineIdle)

			// Busy is 486.
			e.mustCLI("sim", "cell", "far", "busy")
			_, rtpPort := voicetest.EvenUDP(t)
			if _, codes, _ := phone.invite("5552222", rtpPort); codes[len(codes)-1] != 486 {
				t.Fatalf("busy far end: responses %v", codes)
			}
			e.mustCLI("sim", "cell", "far", "answer")
			e.waitFor("line idle after busy", noCallLineIdle)

			// An incoming call: the INVITE's From has the +CLIP number.
			ringOffered(t, e, softphone, "+4930123456")
			e.waitFor("line ringing", lineState("ringing"))
			e.mustCLI("sim", "ring", "stop")
			e.waitFor("idle after the caller gave up", lineState("idle"))

			// No SIM: 112 still goes out on the module, other numbers not.
			e.mustCLI("sim", "cell", "nosim")
			e.waitFor("no SIM", func(st map[string]any) bool { return field(st, "line.reason") == "no SIM" })
			_, rtpPort = voicetest.EvenUDP(t)
			if _, codes, _ := phone.invite("5551234", rtpPort); codes[len(codes)-1] < 500 {
				t.Fatalf("a call without a SIM: responses %v", codes)
			}
			sess, _, _ = answeredCall(t, e, phone, "112")
			if out := e.mustCLI("sim", "cell", "show"); !strings.Contains(out, "call active 112") {
				t.Fatalf("112 without a SIM: %s", out)
			}
			if err := sess.Bye(stepCtx(t)); err != nil {
				t.Fatal(err)
			}
			e.waitFor("no calls after 112", func(st map[string]any) bool { return len(st["calls"].([]any)) == 0 })
		})
	}
}
