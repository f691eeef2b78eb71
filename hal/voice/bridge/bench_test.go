package bridge_test

import (
	"bytes"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"lifeline/hal/modem/modemsim"
	"lifeline/hal/voice"
	"lifeline/hal/voice/bridge"
	"lifeline/hal/voice/rtp"
	"lifeline/hal/voice/voicetest"
)

// BenchmarkBridgeEcho runs a 2 s call per iteration in real time: a phone
// on loopback UDP sends PCMA frames, one per packet it receives, through
// the bridge to the simulated line whose far end echoes on the modem's 20
// ms clock. It reports the median and worst round trip of a frame
// (phone → bridge → jitter buffer → modem → echo → modem → bridge →
// phone) and the frames lost. The round trip holds the jitter buffer's
// prefill (2 frames, 40 ms) and the simulated far end's frame of queueing
// (up to 20 ms) besides the bridge's own work.
//
//	go test -run XXX -bench BridgeEcho -benchtime 1x ./hal/voice/bridge
func BenchmarkBridgeEcho(b *testing.B) {
	for _, prefill := range []int{1, 2} {
		b.Run("prefill="+strconv.Itoa(prefill), func(b *testing.B) {
			const frames = 100
			var rtts []time.Duration
			lost := 0
			for b.Loop() {
				r, l := runEcho(b, frames, prefill)
				rtts = append(rtts, r...)
				lost += l
			}
			slices.Sort(rtts)
			if len(rtts) > 0 {
				b.ReportMetric(float64(rtts[len(rtts)/2])/1e6, "rtt-median-ms")
				b.ReportMetric(float64(rtts[len(rtts)-1])/1e6, "rtt-max-ms")
			}
			b.ReportMetric(float64(lost), "frames-lost")
		})
	}
}

func runEcho(b *testing.B, frames, prefill int) ([]time.Duration, int) {
	l := newLineTB(b, "5", modemsim.PlayEchoPaced)
	phone, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Skip(err)
	}
	defer phone.Close()
	gw, err := bridge.ListenRTP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		b.Skip(err)
	}
	br, err := bridge.Start(bridge.Config{Audio: voice.NewDLEAudio(l.ds, voice.FormatALaw), Codec: "PCMA", PayloadType: 8, EventPT: -1, Conn: gw, Remote: phone.LocalAddr(), JitterPrefill: prefill})
	if err != nil {
		b.Fatal(err)
	}
	audio := voicetest.Tone(voice.FormatALaw, frames)
	pk := rtp.NewPacketizer(8, 1, 1, 1)
	sentAt := make([]time.Time, 0, frames)
	send := func() {
		if len(sentAt) < frames {
			sentAt = append(sentAt, time.Now())
			phone.WriteTo(pk.Packet(audio[len(sentAt)-1], voice.FrameSamples), gw.LocalAddr())
		}
	}
	for i := 0; i < prefill; i++ {
		send()
	}
	var rtts []time.Duration
	next := 0
	var h rtp.Header
	buf := make([]byte, 2048)
	phone.SetReadDeadline(time.Now().Add(safety))
	for packets := 0; next < frames && packets < frames+50; packets++ {
		n, _, err := phone.ReadFrom(buf)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		payload, _ := h.Unmarshal(buf[:n])
		send()
		if next < frames && bytes.Equal(payload, audio[next]) {
			rtts = append(rtts, now.Sub(sentAt[next]))
			next++
		}
	}
	br.Close()
	st := br.Stats()
	l.hangupTB(b)
	return rtts, frames - next + int(st.Jitter.Late+st.Jitter.Overflow)
}
