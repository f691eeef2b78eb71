package main

// The whole chain with real RTP: a SIPp UAC (Debian package sip-tester)
// calls through Kamailio (package kamailio, the shipped
// scripts/kamailio/lifeline.cfg run by lifeline/hal/kamailio/siprig) whose
// next hop, set by the daemon's `config proxy` while the route is forced to
// pstn, is the daemon's own SIP-to-line gateway; the line is a
// modemsim.VoiceSim that echoes what it hears. SIPp plays a pcap the test
// writes from known PCMA frames (play_pcap_audio; kamailioEchoCall); the offer's c=/m= lines
// name a UDP socket of the test, which reads the echo and compares it,
// frame by frame, with what was sent (through the modem's linear8u and
// back). Skips without kamailio or sipp, or with -short.

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"lifeline/hal/kamailio"
	"lifeline/hal/kamailio/siprig"
	"lifeline/hal/voice"
	"lifeline/hal/voice/rtp"
	"lifeline/hal/voice/voicetest"
)

// gwSIPpUAC calls through a record-routing proxy with an SDP offer whose
// media address is the test's RTP socket (RTP_PORT), plays the pcap once
// the call is up, stays in the call while it plays and the echo comes
// back, then hangs up.
var gwSIPpUAC = sippScenario("Lifeline gateway UAC with RTP", sippInvite(sippPCMA),
	sippProvisional,
	`<recv response="200" rtd="true" rrs="true"/>`, sippInDialog("ACK", 1),
	`<nop><action><exec play_pcap_audio="PCAP_FILE"/></action></nop>`, `<pause milliseconds="HOLD_MS"/>`,
	sippInDialog("BYE", 2), `<recv response="200" crlf="true"/>`)

// sippPCMA is the SDP body of the SIPp scenarios that offer or answer
// PCMA only, with the test's RTP socket (RTP_PORT) as media address.
const sippPCMA = `      v=0
      o=sipp 1 1 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio RTP_PORT RTP/AVP 8
      a=rtpmap:8 PCMA/8000
      a=ptime:20
`

// pcmaPackets are frames as one PCMA RTP stream.
func pcmaPackets(frames [][]byte) [][]byte {
	pk := rtp.NewPacketizer(rtp.PayloadPCMA, 0x4c4c, 100, 1000)
	var packets [][]byte
	for _, f := range frames {
		packets = append(packets, slices.Clone(pk.Packet(f, voice.FrameSamples)))
	}
	return packets
}

// writeRTPPcapPackets writes RTP packets (pcmaPackets) as a classic pcap
// (Ethernet, IPv4, UDP, one packet every 20 ms), the format SIPp's
// play_pcap_audio reads; SIPp replaces the addresses and ports and sends
// the UDP payloads as they are, at the captured pace.
func writeRTPPcapPackets(t *testing.T, path string, packets [][]byte) {
	t.Helper()
	var b bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b2c3d4)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535)
	le.PutUint32(hdr[20:], 1) // LINKTYPE_ETHERNET
	b.Write(hdr)
	for i, payload := range packets {
		udpLen := 8 + len(payload)
		ipLen := 20 + udpLen
		pkt := make([]byte, 14+ipLen)
		copy(pkt[0:6], []byte{2, 0, 0, 0, 0, 2})
		copy(pkt[6:12], []byte{2, 0, 0, 0, 0, 1})
		binary.BigEndian.PutUint16(pkt[12:], 0x0800)
		ip := pkt[14:]
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(ipLen))
		binary.BigEndian.PutUint16(ip[4:], uint16(i))
		ip[8], ip[9] = 64, 17
		copy(ip[12:16], []byte{127, 0, 0, 1})
		copy(ip[16:20], []byte{127, 0, 0, 1})
		var sum uint32
		for k := 0; k < 20; k += 2 {
			sum += uint32(binary.BigEndian.Uint16(ip[k:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
		udp := ip[20:]
		binary.BigEndian.PutUint16(udp[0:], 40000)
		binary.BigEndian.PutUint16(udp[2:], 40002)
		binary.BigEndian.PutUint16(udp[4:], uint16(udpLen))
		copy(udp[8:], payload)
		rec := make([]byte, 16)
		us := uint32(i) * 20000
		le.PutUint32(rec[0:], 1700000000+us/1000000)
		le.PutUint32(rec[4:], us%1000000)
		le.PutUint32(rec[8:], uint32(len(pkt)))
		le.PutUint32(rec[12:], uint32(len(pkt)))
		b.Write(rec)
		b.Write(pkt)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestE2EGatewayKamailio(t *testing.T) {
	e, sim := newGatewayE2E(t)
	// What is sent, and what the echo must be.
	frames, want := echoFrames(100) // 2 s: SIPp plays them at its own pace, not the line's
	k := kamailioEchoCall(t, e, fmt.Sprintf(gwLineConfig, filepath.Join(e.dir, "hooks.d"), sim.Path(), 0), gwSIPpUAC, pcmaPackets(frames), want)
	if !slices.Contains(sim.Commands(), "ATDT5551234") {
		t.Fatalf("the line never dialled 5551234: %q", sim.Commands())
	}
	k.hangUp()
	if cmds := sim.Commands(); !slices.Contains(cmds[slices.Index(cmds, "ATDT5551234"):], "ATH0") {
		t.Fatalf("never hung up: %q", cmds)
	}
}

// kamailioCall is a call of kamailioEchoCall, up and echoed.
type kamailioCall struct {
	t *testing.T
	e *e2e
	p *sippProc
	// rtp is the phone's (SIPp's) RTP socket, read up to the echo.
	rtp net.PacketConn
}

// kamailioEchoCall runs the daemon with lineConfig (a config with a
// gateway section listening on 127.0.0.1:0, replaced here by a free port)
// and a proxy section steering the rig's Kamailio; with the route forced
// to pstn, SIPp calls 5551234 through Kamailio with scenario, playing
// packets (a pcap written here). It reads the echo on the offer's media
// address until echoNeed frames of want (or all of them, if fewer) are
// back, exact and in order. It stops there: SIPp's call lasts HOLD_MS
// whatever the pace of the echo, so waiting for more could outlast the
// call on a loaded machine (67 of 100 back when SIPp hung up, once, under
// stress-ng).
func kamailioEchoCall(t *testing.T, e *e2e, lineConfig, scenario string, packets, want [][]byte) *kamailioCall {
	t.Helper()
	rig := siprig.New(t) // skips without kamailio/sipp or with -short
	gwPort := siprig.FreePort(t)
	gwURI := fmt.Sprintf("sip:127.0.0.1:%d", gwPort)
	e.writeConfig(strings.Replace(lineConfig, "option listen '127.0.0.1:0'", fmt.Sprintf("option listen '127.0.0.1:%d'", gwPort), 1) +
		"\toption prefix '*00'\n" + fmt.Sprintf(gwProxyConfig, rig.RPCSocket, rig.ProviderURI, gwURI))
	if out, errs, code := e.cli("check", "-c", e.cfg, "--board", "generic"); code != 0 {
		t.Fatalf("check: exit %d: %s%s", code, out, errs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), kamailioBudget)
	t.Cleanup(cancel)
	e.start()
	e.waitFor("line idle", func(st map[string]any) bool { return field(st, "line.state") == "idle" })
	e.waitLog("SIP-to-line gateway")

	e.mustCLI("override", "pstn")
	e.waitFor("route pstn", routeIs("pstn"))
	probe := rig.Client(t, "probe")
	waitNextHop(t, ctx, probe, gwURI)
	if hop, err := probe.Get(ctx, kamailio.Table, kamailio.KeyNextHop); err != nil || hop != gwURI {
		t.Fatalf("next hop %q, %v", hop, err)
	}

	pcap := filepath.Join(rig.Dir, "tone.pcap")
	writeRTPPcapPackets(t, pcap, packets)

	rtpConn, rtpPort := voicetest.EvenUDP(t)
	for _, r := range [][2]string{{"RTP_PORT", strconv.Itoa(rtpPort)}, {"PCAP_FILE", pcap}, {"HOLD_MS", "4000"}} {
		scenario = string(bytes.ReplaceAll([]byte(scenario), []byte(r[0]), []byte(r[1])))
	}
	sippCtx, sippCancel := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(sippCancel)
	mediaPort := siprig.FreePort(t) // a free block: SIPp binds it and the port 2 above (video)
	p := startSIPp(t, sippCtx, rig.Dir, "uac_rtp", scenario, "-p", strconv.Itoa(siprig.FreePort(t)),
		"-mp", strconv.Itoa(mediaPort), "-s", "5551234", "-timeout", "25s",
		"-default_behaviors", "all,-abortunexp", fmt.Sprintf("127.0.0.1:%d", rig.SIPPort))
	sippFailed := func(what string) {
		t.Helper()
		sippCancel()
		t.Fatalf("%s (%v)\nkamailio log:\n%s\nlifeline log:\n%s", what, p.wait(), rig.KamailioLog(), e.stderr)
	}

	m := newEchoMatch(want)
	var h rtp.Header
	buf := make([]byte, 2048)
	rtpConn.SetReadDeadline(time.Now().Add(30 * time.Second)) // safety net
	need, n := min(echoNeed, len(want)), 0
	for m.matched < need {
		size, _, err := rtpConn.ReadFrom(buf)
		if err != nil {
			sippFailed(fmt.Sprintf("after %d RTP packets, %d frames echoed exact and in order (want %d): %v", n, m.matched, need, err))
		}
		n++
		payload, err := h.Unmarshal(buf[:size])
		if err != nil || h.PayloadType != rtp.PayloadPCMA {
			sippFailed(fmt.Sprintf("bad RTP %+v: %v", h, err))
		}
		m.feed(payload)
	}
	if len(m.order) > 0 {
		sippFailed(fmt.Sprintf("of %d frames SIPp sent, %d echoed exact and in order (want %d), %d altered, out of order or twice: %v",
			len(want), m.matched, need, m.corrupt, m.order))
	}
	t.Logf("%d of %d frames echoed exact and in order, in %d RTP packets", m.matched, len(want), n)
	select {
	case id := <-rig.PSTN.Calls():
		t.Fatalf("the rig's own PSTN UAS got an INVITE (%s): Kamailio did not use the daemon's next hop", id)
	default:
	}
	return &kamailioCall{t: t, e: e, p: p, rtp: rtpConn}
}

// hangUp waits for SIPp's BYE and the line idle after it.
func (k *kamailioCall) hangUp() {
	k.t.Helper()
	if err := k.p.wait(); err != nil {
		k.t.Fatalf("%v\nlifeline log:\n%s", err, k.e.stderr)
	}
	k.e.waitFor("call gone, line idle after SIPp's BYE", noCallLineIdle)
}
