package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"lifeline/hal/cellular/cellsim"
	"lifeline/hal/modem/modemtest"
	"lifeline/hal/voice"
	"lifeline/hal/voice/rtp"
)

// gwCellularLineConfig is gwLineConfig with a cellular line on the
// module simulator's ports (AT, audio).
const gwCellularLineConfig = `config lifeline 'main'
	option wan_interface 'lo'
	option hooks_dir '%s'

config line 'mobile'
	option profile '%s'
	option device '%s'
	option audio_device '%s'

config gateway 'gw'
	option listen '127.0.0.1:0'
`

// gwSIPpUACDTMF is gwSIPpUAC offering telephone-event too, so that the
// pcap's RFC 4733 packets are digits to the gateway.
var gwSIPpUACDTMF = strings.Replace(gwSIPpUAC, "m=audio RTP_PORT RTP/AVP 8\n", "m=audio RTP_PORT RTP/AVP 8 101\n      a=rtpmap:101 telephone-event/8000\n      a=fmtp:101 0-15\n", 1)

// The whole chain on a cellular line: SIPp through Kamailio to the
// daemon's gateway (generic board), whose line is a cellular module
// simulator (hal/cellular/cellsim, real clock) that answers and echoes.
// The echo is compared frame by frame after the two transcodings (PCMA
// to the module's 16-bit linear and back: exact; tagged frames, at least
// 80% back and in order, as the analog test wants), and the digits SIPp
// sends as RFC 4733 events reach the module as its DTMF command.
func TestE2ECellularGatewayKamailio(t *testing.T) {
	modemtest.NeedPTY(t)
	if !strings.Contains(gwSIPpUACDTMF, "telephone-event") {
		t.Fatal("the SIPp offer has no telephone-event")
	}
	sim := gwbCellSim(t)
	e := e2eWith(t, lifelineBin(t))
	e.board = "generic"

	frames, _, echo := gwbFrames(50, voice.FormatLinear16)
	packets := pcmaPackets(frames)
	// Then the digits 5 and #, each a start, an update and three ends,
	// continuing the stream.
	pk := rtp.NewPacketizer(rtp.PayloadPCMA, 0x4c4c, 100+uint16(len(frames)), 1000+uint32(len(frames)*voice.FrameSamples))
	for _, code := range []uint8{5, 11} {
		_, ts := pk.Next()
		for i, d := range []uint16{160, 800, 1280, 1280, 1280} {
			packets = append(packets, slices.Clone(pk.EventPacket(101, ts, i == 0, rtp.Event{Code: code, Volume: 10, Duration: d, End: i >= 2})))
		}
		pk.Skip(1280 + 2*voice.FrameSamples)
	}
	k := kamailioEchoCall(t, e, fmt.Sprintf(gwCellularLineConfig, filepath.Join(e.dir, "hooks.d"), "quectel-ec25", sim.ATPath(), sim.AudioPath()),
		gwSIPpUACDTMF, packets, echo)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := sim.Wait(ctx, func(s cellsim.State) bool { return s.DTMF == "5#" }); err != nil {
		t.Fatalf("digits: %v\nlog:\n%s", err, e.stderr)
	}
	if st := sim.State(); st.Number != "5551234" || st.Call != cellsim.CallActive {
		t.Fatalf("module: %+v", st)
	}
	k.hangUp()
	if err := sim.Wait(ctx, func(s cellsim.State) bool { return s.Call == cellsim.CallIdle }); err != nil {
		t.Fatalf("the module was not hung up: %v", err)
	}
}
