package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"lifeline/hal/netmon/netnstest"
)

// TestE2EPhonesBaresip: baresip, a phone people own, on the LAN behind
// Kamailio and the real binary in network namespaces. Each case asserts on
// both ends: the phone's events and audio, and the line (the simulated
// modem's commands and audio), the provider or the daemon's status.
func TestE2EPhonesBaresip(t *testing.T) {
	r := newPhoneRig(t, "alice@"+lanPhoneIP+":5060", "baresip")
	e, sim := r.e, r.sim

	// The route is pstn (a manual override with a healthy provider): calls
	// go to the line, registrations still to the provider.
	e.mustCLI("override", "pstn")
	e.waitFor("route pstn", routeIs("pstn"))
	r.waitNextHop(r.gwURI)
	phone := r.startBaresip(0)

	t.Run("REGISTER while the route is pstn reaches the provider", func(t *testing.T) {
		// A second account on the phone, registering every 60 s.
		phone.command(t, "uanew", fmt.Sprintf("<sip:bob@%s>;outbound=\"sip:%s:5060\";regint=60", netnstest.InternetIP4, lanRouterIP))
		ev := phone.waitEvent(t, "REGISTER_OK", 10*time.Second, "REGISTER_FAIL")
		select {
		case to := <-r.provider.regs:
			if !strings.Contains(to, "bob@"+netnstest.InternetIP4) {
				t.Fatalf("the provider got a REGISTER for %q", to)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the provider never got the REGISTER (phone: %+v)\n%s", ev, r.logs())
		}
	})

	t.Run("outgoing over the line: audio both ways, DTMF, the phone hangs up", func(t *testing.T) {
		phone.command(t, "dial", "sip:5551234@"+netnstest.InternetIP4)
		phone.waitEvent(t, "CALL_ESTABLISHED", 15*time.Second, "CALL_CLOSED")
		r.lineInCall(t, "5551234")
		r.lineHearsTone(t, 0)
		// DTMF from the phone (RFC 4733) is played to the line: digit 5 is
		// 770 Hz + 1336 Hz.
		phone.command(t, "sndcode", "5")
		deadline := time.Now().Add(10 * time.Second)
		for dtmfBlocks(modemHeard(sim.Recorded()), 770, 1336) < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("the line never heard the phone's DTMF 5\n%s", r.logs())
			}
			time.Sleep(50 * time.Millisecond) // polling a separate process's progress
		}
		phone.command(t, "hangup", "")
		phone.waitEvent(t, "CALL_CLOSED", 10*time.Second)
		r.lineIdle(t, "5551234")
		if share := toneShare(phone.heard(t), phoneToneHz); share < 0.5 {
			t.Fatalf("the phone heard its tone echoed by the line at %.2f of the energy", share)
		}
	})

	t.Run("incoming with the caller's number, the line hangs up", func(t *testing.T) {
		if err := sim.Ring("+4930123456"); err != nil {
			t.Fatal(err)
		}
		ev := phone.waitEvent(t, "CALL_INCOMING", 15*time.Second)
		if !strings.Contains(ev.PeerURI, "4930123456") {
			t.Fatalf("the phone shows the caller as %q (%q)", ev.PeerURI, ev.PeerName)
		}
		phone.command(t, "accept", "")
		phone.waitEvent(t, "CALL_ESTABLISHED", 10*time.Second, "CALL_CLOSED")
		r.lineInCall(t, "")
		if !sim.InCall() {
			t.Fatal("the line is not in the call the phone answered")
		}
		if err := sim.HangupRemote(); err != nil {
			t.Fatal(err)
		}
		phone.waitEvent(t, "CALL_CLOSED", 10*time.Second)
		r.lineIdle(t, "")
	})

	// A call that is held and resumed (re-INVITE with a=sendonly, then
	// a=sendrecv), and then transferred (REFER): it survives both, the
	// phone's audio reaches the line again after each.
	t.Run("hold, resume and a transfer attempt keep the call", func(t *testing.T) {
		phone.command(t, "dial", "sip:5550000@"+netnstest.InternetIP4)
		phone.waitEvent(t, "CALL_ESTABLISHED", 15*time.Second, "CALL_CLOSED")
		r.lineInCall(t, "5550000")
		mark := r.lineHearsTone(t, len(sim.Recorded()))
		phone.command(t, "hold", "")
		phone.command(t, "resume", "")
		mark = r.lineHearsTone(t, mark)
		phone.command(t, "transfer", "5550001")
		mark = r.lineHearsTone(t, mark)
		r.lineHearsTone(t, mark)
		for len(phone.events) > 0 {
			if ev := <-phone.events; ev.Type == "CALL_CLOSED" || ev.Type == "CALL_TRANSFER_FAILED" {
				t.Fatalf("the phone: %s %s\nbaresip:\n%s\n%s", ev.Type, ev.Param, phone.out, r.logs())
			}
		}
		phone.command(t, "hangup", "")
		phone.waitEvent(t, "CALL_CLOSED", 10*time.Second)
		r.lineIdle(t, "5550000")
	})
	// Digits the line's far end keys (the modem reports <DLE>7, <DLE>#)
	// reach the phone as RFC 4733 telephone-events: baresip reports each
	// as CALL_DTMF_START with the digit, then CALL_DTMF_END.
	t.Run("DTMF from the line to the phone", func(t *testing.T) {
		phone.command(t, "dial", "sip:5552222@"+netnstest.InternetIP4)
		phone.waitEvent(t, "CALL_ESTABLISHED", 15*time.Second, "CALL_CLOSED")
		r.lineInCall(t, "5552222")
		const digits = "7#"
		r.lineKeys(t, digits)
		for _, d := range digits {
			ev := phone.waitEvent(t, "CALL_DTMF_START", 10*time.Second, "CALL_CLOSED")
			if ev.Param != string(d) {
				t.Fatalf("the phone received DTMF %q, want %q\nbaresip:\n%s", ev.Param, d, phone.out)
			}
			phone.waitEvent(t, "CALL_DTMF_END", 10*time.Second, "CALL_CLOSED", "CALL_DTMF_START")
		}
		phone.command(t, "hangup", "")
		phone.waitEvent(t, "CALL_CLOSED", 10*time.Second)
		r.lineIdle(t, "5552222")
	})
}
