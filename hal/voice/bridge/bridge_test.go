package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/hal/modem"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/modem/modemtest"
	"lifeline/hal/modem/serialport"
	"lifeline/hal/voice"
	"lifeline/hal/voice/bridge"
	"lifeline/hal/voice/rtp"
	"lifeline/hal/voice/voicetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// safety is the real-clock net: the tests wait on packets and events,
// never on time, but must not hang.
const safety = 10 * time.Second

func logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// line is the modem side: the VoiceSim on a pty (its far end echoes on
// the modem's 20 ms clock), the serial backend, Conn and the AT engine,
// in a call and in full duplex.
type line struct {
	sim  *modemsim.VoiceSim
	conn *voice.Conn
	eng  *modem.Engine
	ds   *voice.DataStream
}

func newLineTB(t testing.TB, vsm string, playback modemsim.Playback) *line {
	t.Helper()
	modemtest.NeedPTY(t)
	sim, err := modemsim.NewVoice(t.TempDir(), modemsim.VoiceRings(1, time.Millisecond), modemsim.VoiceLogger(logger()))
	if err != nil {
		t.Fatal(err)
	}
	sim.SetPlayback(playback)
	port, err := serialport.Open(sim.Path(), serialport.Mode{})
	if err != nil {
		sim.Close()
		t.Fatal(err)
	}
	l := &line{sim: sim}
	l.conn = voice.NewConn(port)
	l.eng = modem.NewEngine(l.conn.Command(), modem.EngineName(sim.Path()))
	t.Cleanup(func() {
		l.eng.Close()
		sim.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	defer cancel()
	for _, c := range []string{"ATE0", "AT+FCLASS=8", "AT+VSM=" + vsm, "AT+VLS=1", "ATDT5551234"} {
		want := modem.ResultOK
		if c == "ATDT5551234" {
			want = modem.ResultVCON // the far end answered
		}
		if rep, err := l.eng.Command(ctx, c); err != nil || rep.Final.Result != want {
			t.Fatalf("%s: %q %v", c, rep.Final.Line, err)
		}
	}
	if l.ds, err = l.conn.ExpectData(); err != nil {
		t.Fatal(err)
	}
	if rep, err := l.eng.Command(ctx, "AT+VTR"); err != nil || rep.Final.Result != modem.ResultConnect {
		t.Fatalf("AT+VTR: %q %v", rep.Final.Line, err)
	}
	return l
}

func newLine(t *testing.T, vsm string, playback modemsim.Playback) *line {
	t.Helper()
	return newLineTB(t, vsm, playback)
}

func (l *line) hangup(t *testing.T) { t.Helper(); l.hangupTB(t) }

// hangupTB waits for the OK that ends the data period and hangs up.
func (l *line) hangupTB(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	defer cancel()
	if s, err := l.ds.Final(ctx); err != nil || s != "OK" {
		t.Fatalf("end of data period: %q %v", s, err)
	}
	if rep, err := l.eng.Command(ctx, "ATH"); err != nil || rep.Final.Result != modem.ResultOK {
		t.Fatalf("ATH: %q %v", rep.Final.Line, err)
	}
}

// rtpSocket is the bridge's side: a Socket on loopback, which the bridge
// closes.
func rtpSocket(tb testing.TB) *bridge.Socket {
	tb.Helper()
	s, err := bridge.ListenRTP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		tb.Skipf("needs loopback UDP: %v", err)
	}
	return s
}

func udp(t *testing.T) net.PacketConn {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("needs loopback UDP: %v", err)
	}
	return c
}

// TestBridgeEcho: a phone sends one second of RTP through the bridge to
// the line, whose far end echoes; what comes back as RTP is compared with
// what was sent. The phone sends one packet for each it receives (after
// two to prime the jitter buffer), so the modem's clock paces both ends.
func TestBridgeEcho(t *testing.T) {
	if arch := os.Getenv("LIFELINE_QEMU_USER"); arch != "" {
		// This test holds the bridge to zero loss at the modem's real 20 ms
		// pace; an emulated CPU shared with other emulated tests cannot keep it.
		t.Skipf("real-time audio pacing is not checked under qemu-user (%s)", arch)
	}
	tests := []struct {
		name  string
		vsm   string // modem format
		codec string
		pt    uint8
		exact bool // the modem format round-trips the codec losslessly
	}{
		{"PCMA over an A-law modem", "5", "PCMA", rtp.PayloadPCMA, true},
		{"PCMU over a µ-law modem", "4", "PCMU", rtp.PayloadPCMU, true},
		{"PCMU over a 16-bit linear modem", "129", "PCMU", rtp.PayloadPCMU, true},
		{"PCMA over a µ-law modem", "4", "PCMA", rtp.PayloadPCMA, false},
		{"PCMA over an 8-bit linear modem", "1", "PCMA", rtp.PayloadPCMA, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLine(t, tc.vsm, modemsim.PlayEchoPaced)
			phone, gw := udp(t), rtpSocket(t)
			defer phone.Close()
			var mu sync.Mutex
			var modemEvents []string
			b, err := bridge.Start(bridge.Config{
				Audio: voice.NewDLEAudio(l.ds, l.sim.Format()), Codec: tc.codec, PayloadType: tc.pt, EventPT: -1,
				Conn: gw, Remote: phone.LocalAddr(), Logger: logger(),
				// Slack for a loaded machine: 80 ms before a late packet
				// would cost a frame.
				JitterDepth: 16, JitterPrefill: 4,
				OnModemEvent: func(e voice.Event) { mu.Lock(); modemEvents = append(modemEvents, e.String()); mu.Unlock() },
			})
			if err != nil {
				t.Fatal(err)
			}
			codecFmt, _ := voice.CodecFormat(tc.codec)
			audio := voicetest.Tone(codecFmt, 50)
			pk := rtp.NewPacketizer(tc.pt, 99, 1000, 5000)
			sent := 0
			send := func() {
				if sent < len(audio) {
					if _, err := phone.WriteTo(pk.Packet(audio[sent], voice.FrameSamples), gw.LocalAddr()); err != nil {
						t.Fatal(err)
					}
					sent++
				}
			}
			for i := 0; i < 4; i++ {
				send()
			}
			var got [][]byte
			var h rtp.Header
			buf := make([]byte, 2048)
			silence := bytes.Repeat([]byte{codecFmt.SilenceByte()}, voice.FrameSamples)
			lastSeq, packets := uint16(0), 0
			phone.SetReadDeadline(time.Now().Add(safety))
			for len(got) < len(audio) {
				n, _, err := phone.ReadFrom(buf)
				if err != nil {
					t.Fatalf("after %d packets, %d echoed frames: %v", packets, len(got), err)
				}
				payload, err := h.Unmarshal(buf[:n])
				if err != nil || h.PayloadType != tc.pt || len(payload) != voice.FrameSamples {
					t.Fatalf("bad packet %+v %d bytes: %v", h, len(payload), err)
				}
				if packets > 0 && h.SequenceNumber != lastSeq+1 {
					t.Fatalf("sequence %d after %d", h.SequenceNumber, lastSeq)
				}
				lastSeq = h.SequenceNumber
				packets++
				if packets > len(audio)+50 {
					t.Fatalf("%d packets and only %d frames echoed", packets, len(got))
				}
				send()
				if !bytes.Equal(payload, silence) {
					got = append(got, append([]byte(nil), payload...))
				}
			}
			for i := range audio {
				if tc.exact {
					if !bytes.Equal(got[i], audio[i]) {
						t.Fatalf("frame %d differs", i)
					}
					continue
				}
				a, g := codecFmt.Decode(nil, audio[i]), codecFmt.Decode(nil, got[i])
				for k := range a {
					if d := math.Abs(float64(a[k]) - float64(g[k])); d > max(300, math.Abs(float64(a[k]))/16) {
						t.Fatalf("frame %d sample %d: sent %d, echoed %d", i, k, a[k], g[k])
					}
				}
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			st := b.Stats()
			if st.Jitter.Late != 0 || st.Jitter.Overflow != 0 || st.Jitter.Duplicate != 0 || st.Jitter.Played < uint64(len(audio)) || st.SendErrors != 0 {
				t.Fatalf("frames lost on the way: %+v", st)
			}
			t.Logf("%d RTP packets for %d frames; stats %+v", packets, len(audio), st)
			l.hangup(t)
			mu.Lock()
			defer mu.Unlock()
			if len(modemEvents) != 0 && modemEvents[len(modemEvents)-1] != "end" {
				t.Fatalf("modem events %v", modemEvents)
			}
		})
	}
}

// TestBridgeEventsAndHangup: RFC 4733 digits from the phone reach
// OnDigit once each; the far end hanging up reaches OnModemEvent; the
// modem's end of stream ends the bridge.
func TestBridgeEventsAndHangup(t *testing.T) {
	l := newLine(t, "5", modemsim.PlayEchoPaced)
	phone, gw := udp(t), rtpSocket(t)
	defer phone.Close()
	digits := make(chan byte, 16)
	events := make(chan string, 16)
	b, err := bridge.Start(bridge.Config{
		Audio: voice.NewDLEAudio(l.ds, voice.FormatALaw), Codec: "PCMA", PayloadType: 8, EventPT: 101,
		Conn: gw, Remote: phone.LocalAddr(),
		OnDigit:      func(d byte) { digits <- d },
		OnModemEvent: func(e voice.Event) { events <- e.String() },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ev := rtp.NewPacketizer(101, 7, 1, 8000)
	for i, p := range []struct {
		code uint8
		end  bool
	}{{5, false}, {5, true}, {5, true}, {11, false}, {11, true}} {
		if i == 3 {
			ev.Skip(800) // the next digit starts later: a new timestamp
		}
		pkt := ev.Packet(rtp.Event{Code: p.code, End: p.end, Volume: 10, Duration: 160}.Append(nil), 0)
		if _, err := phone.WriteTo(pkt, gw.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(safety)
	var got []byte
	for len(got) < 2 {
		select {
		case d := <-digits:
			got = append(got, d)
		case <-deadline:
			t.Fatalf("digits %q", got)
		}
	}
	if string(got) != "5#" {
		t.Fatalf("digits %q, want 5#", got)
	}
	if err := l.sim.HangupRemote(); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for len(seen) < 2 {
		select {
		case e := <-events:
			seen = append(seen, e)
		case <-deadline:
			t.Fatalf("modem events %v", seen)
		}
	}
	if seen[0] != "loop-interrupt" || seen[1] != "busy" {
		t.Fatalf("modem events %v", seen)
	}
	// The modem ends the stream on its own (its inactivity timer).
	if err := l.sim.EndStream(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.Done():
	case <-deadline:
		t.Fatal("bridge did not end with the modem stream")
	}
	if err := b.Err(); err != nil {
		t.Fatalf("Err = %v", err)
	}
	if err := b.Close(); err != nil && !errors.Is(err, voice.ErrConnClosed) {
		t.Fatal(err)
	}
	l.hangup(t)
}

func TestStartConfig(t *testing.T) {
	c := rtpSocket(t)
	defer c.Close()
	tests := []struct {
		name string
		cfg  bridge.Config
	}{
		{"G722", bridge.Config{Codec: "G722", Audio: voice.NewDLEAudio(nopRWC{}, voice.FormatALaw)}},
		{"no modem format", bridge.Config{Codec: "PCMA", Audio: voice.NewDLEAudio(nopRWC{}, 0), Conn: c, Remote: c.LocalAddr()}},
		{"no modem", bridge.Config{Codec: "PCMA", Conn: c, Remote: c.LocalAddr()}},
		{"depth", bridge.Config{Codec: "PCMA", Audio: voice.NewDLEAudio(nopRWC{}, voice.FormatALaw), Conn: c, Remote: c.LocalAddr(), JitterDepth: 4, JitterPrefill: 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := bridge.Start(tc.cfg); !errors.Is(err, bridge.ErrConfig) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

type nopRWC struct{}

func (nopRWC) Read([]byte) (int, error)    { return 0, nil }
func (nopRWC) Write(p []byte) (int, error) { return len(p), nil }
func (nopRWC) Close() error                { return nil }

// TestBridgeTrimsDelay: a phone that bursts five frames at the start and
// then keeps pace leaves the jitter buffer three frames deeper than its
// prefill; in the quiet frames that follow the bridge skips one a second
// until the delay is back.
func TestBridgeTrimsDelay(t *testing.T) {
	if arch := os.Getenv("LIFELINE_QEMU_USER"); arch != "" {
		t.Skipf("real-time audio pacing is not checked under qemu-user (%s)", arch)
	}
	l := newLine(t, "5", modemsim.PlayEchoPaced)
	phone, gw := udp(t), rtpSocket(t)
	defer phone.Close()
	b, err := bridge.Start(bridge.Config{Audio: voice.NewDLEAudio(l.ds, l.sim.Format()), Codec: "PCMA", PayloadType: rtp.PayloadPCMA,
		EventPT: -1, Conn: gw, Remote: phone.LocalAddr(), Logger: logger(), JitterDepth: 8, JitterPrefill: 2})
	if err != nil {
		t.Fatal(err)
	}
	quiet := make([]int16, voice.FrameSamples) // a faint hum, not the silence byte
	for i := range quiet {
		quiet[i] = int16(40 * math.Sin(2*math.Pi*float64(i)/16))
	}
	frame := voice.FormatALaw.Encode(nil, quiet)
	if !bridge.Quiet(voice.FormatALaw.Decode(nil, frame)) {
		t.Fatal("the test's quiet frame is not quiet")
	}
	pk := rtp.NewPacketizer(rtp.PayloadPCMA, 7, 1, 1)
	send := func() {
		if _, err := phone.WriteTo(pk.Packet(frame, voice.FrameSamples), gw.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		send()
	}
	buf := make([]byte, 2048)
	phone.SetReadDeadline(time.Now().Add(3 * safety)) // the loop's 20 s, and more
	// One packet per packet from the gateway: the delay the first five
	// bought stays unless the bridge trims it. Quiet, that takes three
	// windows (three seconds at the modem's pace); a loaded machine may
	// bunch the packets (overflow, concealment) and need more, so the
	// loop runs until two frames are trimmed, up to 20 windows.
	var st rtp.JitterStats
	for i := 0; i < 20*bridge.TrimWindow; i++ {
		if st = b.Stats().Jitter; st.Trimmed >= 2 {
			break
		}
		if _, _, err := phone.ReadFrom(buf); err != nil {
			t.Fatal(err)
		}
		send()
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if st.Trimmed < 2 || st.Late != 0 {
		t.Fatalf("jitter %+v: want at least 2 frames trimmed and none late", st)
	}
	t.Logf("jitter %+v", st)
	l.hangup(t)
}

func TestQuiet(t *testing.T) {
	for _, tc := range []struct {
		name string
		peak int16
		want bool
	}{{"silence", 0, true}, {"hum", bridge.QuietPeak - 1, true}, {"speech", bridge.QuietPeak, false}, {"negative", -bridge.QuietPeak, false}} {
		f := make([]int16, voice.FrameSamples)
		f[77] = tc.peak
		if got := bridge.Quiet(f); got != tc.want {
			t.Errorf("%s: Quiet = %v", tc.name, got)
		}
	}
}
