package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"lifeline/hal/modem"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/modem/modemtest"
	"lifeline/hal/voice"
	"lifeline/hal/voice/bridge"
	"lifeline/hal/voice/rtp"
)

// The detector below is written from the standards, apart from the
// bridge's generator, so that it checks it: ITU-T Q.23 frequencies, a
// Goertzel filter per frequency over each tone burst.
var (
	q23Low  = [4]float64{697, 770, 852, 941}
	q23High = [4]float64{1209, 1336, 1477, 1633}
	q23Keys = [4][4]byte{{'1', '2', '3', 'A'}, {'4', '5', '6', 'B'}, {'7', '8', '9', 'C'}, {'*', '0', '#', 'D'}}
)

// goertzel returns the amplitude of the component of x at hz (8000
// samples a second): the Goertzel filter's power, scaled so that a sine of
// amplitude a over whole periods gives a.
func goertzel(x []int16, hz float64) (amplitude float64) {
	w := 2 * math.Pi * hz / voice.SampleRate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return 2 * math.Sqrt(p) / float64(len(x))
}

// dbm0 is the level of a sine of amplitude a in 16-bit linear G.711.
func dbm0(a float64) float64 { return 20*math.Log10(a/32767) + 3.14 }

// burst is one detected tone.
type burst struct {
	digit         byte
	start, length int // samples
	gapBefore     int // silence before it (samples); -1 for the first
	low, high     float64
	lowDB, highDB float64
	rejectDB      float64 // how far the strongest other Q.23 frequency is below the weaker tone
}

// detectDTMF cuts lin into bursts (runs of samples where no 5 ms stretch
// stays below a low threshold) and names each with Goertzel filters on the
// eight Q.23 frequencies.
func detectDTMF(lin []int16) []burst {
	const thr, quiet = 600, 40
	var out []burst
	lastEnd := -1
	for i := 0; i < len(lin); {
		if abs(lin[i]) < thr {
			i++
			continue
		}
		start, end, below := i, i, 0
		for ; i < len(lin); i++ {
			if abs(lin[i]) < thr {
				below++
				if below >= quiet {
					break
				}
				continue
			}
			below, end = 0, i+1
		}
		seg := lin[start:end]
		var lows, highs [4]float64
		for k := range 4 {
			lows[k], highs[k] = goertzel(seg, q23Low[k]), goertzel(seg, q23High[k])
		}
		li, hi := argmax(lows[:]), argmax(highs[:])
		other := 0.0
		for k := range 4 {
			if k != li {
				other = max(other, lows[k])
			}
			if k != hi {
				other = max(other, highs[k])
			}
		}
		b := burst{digit: q23Keys[li][hi], start: start, length: end - start, gapBefore: -1,
			low: q23Low[li], high: q23High[hi], lowDB: dbm0(lows[li]), highDB: dbm0(highs[hi]),
			rejectDB: 20 * math.Log10(min(lows[li], highs[hi])/math.Max(other, 1e-9))}
		if lastEnd >= 0 {
			b.gapBefore = start - lastEnd
		}
		lastEnd = end
		out = append(out, b)
	}
	return out
}

func abs(v int16) int {
	if v < 0 {
		return -int(v)
	}
	return int(v)
}

func argmax(v []float64) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

// checkBursts checks the detected tones against the digits sent and Q.24
// practice: each tone at least 65 ms (exactly want[i] samples when given),
// at least 65 ms of silence between tones, levels -7/-5 dBm0 within 1 dB,
// a positive twist under 4 dB, other Q.23 frequencies 20 dB down.
func checkBursts(t *testing.T, bursts []burst, digits string, want []int) {
	t.Helper()
	var got strings.Builder
	for _, b := range bursts {
		got.WriteByte(b.digit)
	}
	if got.String() != digits {
		t.Fatalf("detected %q, sent %q", got.String(), digits)
	}
	const ms65 = 65 * voice.SampleRate / 1000
	for i, b := range bursts {
		if b.length < ms65-2 || want != nil && (b.length < want[i]-3 || b.length > want[i]+3) {
			t.Errorf("digit %c: %d samples, want %d (at least %d)", b.digit, b.length, want[i], ms65)
		}
		if b.gapBefore >= 0 && b.gapBefore < ms65 {
			t.Errorf("digit %c: %d samples of pause before it, want at least %d", b.digit, b.gapBefore, ms65)
		}
		if math.Abs(b.lowDB-bridge.DTMFLowLevel) > 1 || math.Abs(b.highDB-bridge.DTMFHighLevel) > 1 {
			t.Errorf("digit %c: levels %.1f / %.1f dBm0, want %.0f / %.0f", b.digit, b.lowDB, b.highDB, bridge.DTMFLowLevel, bridge.DTMFHighLevel)
		}
		if twist := b.highDB - b.lowDB; twist < 0 || twist > 4 {
			t.Errorf("digit %c: twist %.1f dB", b.digit, twist)
		}
		if b.rejectDB < 15 {
			t.Errorf("digit %c: other frequencies only %.1f dB down", b.digit, b.rejectDB)
		}
	}
}

// fakeModem is a modem data period in memory: the test writes the modem's
// frames with feed, the bridge's writes are kept. One Write per frame.
type fakeModem struct {
	r      *io.PipeReader
	w      *io.PipeWriter
	mu     sync.Mutex
	out    bytes.Buffer
	writes chan struct{}
}

func newFakeModem() *fakeModem {
	r, w := io.Pipe()
	return &fakeModem{r: r, w: w, writes: make(chan struct{}, 1<<16)}
}

func (m *fakeModem) Read(p []byte) (int, error) { return m.r.Read(p) }
func (m *fakeModem) Write(p []byte) (int, error) {
	m.mu.Lock()
	m.out.Write(p)
	m.mu.Unlock()
	m.writes <- struct{}{}
	return len(p), nil
}
func (m *fakeModem) Close() error { m.r.Close(); return nil }

// feed sends n silent frames in f and waits for the bridge's n answers.
func (m *fakeModem) feed(t *testing.T, f voice.Format, n int) {
	t.Helper()
	frame := voice.Shield(nil, bytes.Repeat([]byte{f.SilenceByte()}, f.FrameBytes()))
	if f == voice.FormatLinear16 {
		frame = make([]byte, f.FrameBytes())
	}
	tm := time.NewTimer(safety)
	defer tm.Stop()
	for i := 0; i < n; i++ {
		if _, err := m.w.Write(frame); err != nil {
			t.Fatal(err)
		}
		select {
		case <-m.writes:
		case <-tm.C:
			t.Fatalf("bridge answered %d of %d frames", i, n)
		}
	}
}

// audio decodes what the bridge wrote to the modem.
func (m *fakeModem) audio(t *testing.T, f voice.Format) []int16 {
	t.Helper()
	m.mu.Lock()
	raw := append([]byte(nil), m.out.Bytes()...)
	m.mu.Unlock()
	return decodeStream(t, f, raw)
}

func decodeStream(t *testing.T, f voice.Format, raw []byte) []int16 {
	t.Helper()
	dec := voice.NewDecoder(bytes.NewReader(raw))
	var data []byte
	p := make([]byte, 4096)
	for {
		n, _, err := dec.Next(p)
		data = append(data, p[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	data = data[:len(data)/f.BytesPerSample()*f.BytesPerSample()]
	return f.Decode(nil, data)
}

// digitEvent is one digit as a phone sends it (RFC 4733 section 2.5):
// updates every 50 ms with the duration so far, then three end packets.
type digitEvent struct {
	digit byte
	dur   uint16 // samples; 0 sends only a start packet and never an end
}

func sendDigits(t *testing.T, phone net.PacketConn, to net.Addr, evs []digitEvent) {
	t.Helper()
	seq, ts := uint16(100), uint32(8000)
	send := func(h rtp.Header, e rtp.Event) {
		b, err := h.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := phone.WriteTo(e.Append(b), to); err != nil {
			t.Fatal(err)
		}
	}
	for _, ev := range evs {
		code, ok := rtp.EventCode(ev.digit)
		if !ok {
			t.Fatalf("no event code for %q", ev.digit)
		}
		h := rtp.Header{Marker: true, PayloadType: 101, Timestamp: ts, SSRC: 7}
		if ev.dur == 0 {
			h.SequenceNumber = seq
			seq++
			send(h, rtp.Event{Code: code, Volume: 10, Duration: 160})
		} else {
			for d := uint16(160); d < ev.dur; d += 400 {
				h.SequenceNumber = seq
				seq++
				send(h, rtp.Event{Code: code, Volume: 10, Duration: d})
				h.Marker = false
			}
			for range 3 {
				h.SequenceNumber = seq
				seq++
				send(h, rtp.Event{Code: code, End: true, Volume: 10, Duration: ev.dur})
			}
		}
		ts += uint32(ev.dur) + 800
	}
	// A packet the bridge ignores (Stats.PacketsIgnored). On loopback
	// every datagram is queued on the bridge's socket when WriteTo
	// returns: the bridge reads them all with the next frames.
	if _, err := phone.WriteTo([]byte{0}, to); err != nil {
		t.Fatal(err)
	}
}

// TestDTMFTones: RFC 4733 digits become Q.23 dual tones in the audio
// written to the modem, in each modem format: every digit 0-9 * # A-D is
// detected in order, each tone lasts the event's duration (at least 65
// ms), pauses are at least 65 ms, levels and twist follow Q.24 practice.
func TestDTMFTones(t *testing.T) {
	all := "0123456789*#ABCD"
	var evs []digitEvent
	var want []int
	for i := range len(all) {
		d := uint16(480 + 160*(i%4)) // 60 to 120 ms: the shortest are lengthened
		evs = append(evs, digitEvent{all[i], d})
		want = append(want, max(int(d), bridge.DTMFMinTone))
	}
	tests := []struct {
		name   string
		format voice.Format
		codec  string
		pt     uint8
		evs    []digitEvent
		digits string
		want   []int
	}{
		{"alaw modem", voice.FormatALaw, "PCMA", rtp.PayloadPCMA, evs, all, want},
		{"ulaw modem", voice.FormatULaw, "PCMU", rtp.PayloadPCMU, evs, all, want},
		{"8-bit linear modem", voice.FormatLinear8U, "PCMA", rtp.PayloadPCMA, evs, all, want},
		{"16-bit linear modem", voice.FormatLinear16, "PCMU", rtp.PayloadPCMU, evs, all, want},
		{"long press", voice.FormatALaw, "PCMA", rtp.PayloadPCMA, []digitEvent{{'5', 8000}, {'#', 200}}, "5#", []int{8000, 520}},
		{"end packets lost", voice.FormatALaw, "PCMA", rtp.PayloadPCMA, []digitEvent{{'7', 0}, {'8', 800}}, "78", []int{160 + 1600, 800}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newFakeModem()
			phone, gw := udp(t), rtpSocket(t)
			defer phone.Close()
			var mu sync.Mutex
			var heard []byte
			b, err := bridge.Start(bridge.Config{
				Audio: voice.NewDLEAudio(m, tc.format), Codec: tc.codec, PayloadType: tc.pt, EventPT: 101,
				Conn: gw, Remote: phone.LocalAddr(), Logger: logger(),
				OnDigit: func(d byte) { mu.Lock(); heard = append(heard, d); mu.Unlock() },
			})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			sendDigits(t, phone, gw.LocalAddr(), tc.evs)
			total := 10 // frames: the tones, their pauses and some silence
			for _, w := range tc.want {
				total += (w+bridge.DTMFMinPause)/voice.FrameSamples + 2
			}
			m.feed(t, tc.format, total)
			st := b.Stats()
			b.Close()
			bursts := detectDTMF(m.audio(t, tc.format))
			checkBursts(t, bursts, tc.digits, tc.want)
			mu.Lock()
			if string(heard) != tc.digits {
				t.Errorf("OnDigit got %q", heard)
			}
			mu.Unlock()
			if st.Digits != uint64(len(tc.digits)) || st.DTMFFrames == 0 || st.DTMFFrames >= uint64(total) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestDTMFTonesDisabled: with DisableDTMFTones the modem hears the RTP
// audio only (silence here); OnDigit still reports the digits.
func TestDTMFTonesDisabled(t *testing.T) {
	m := newFakeModem()
	phone, gw := udp(t), rtpSocket(t)
	defer phone.Close()
	digits := make(chan byte, 4)
	b, err := bridge.Start(bridge.Config{
		Audio: voice.NewDLEAudio(m, voice.FormatALaw), Codec: "PCMA", PayloadType: rtp.PayloadPCMA, EventPT: 101,
		Conn: gw, Remote: phone.LocalAddr(), Logger: logger(), DisableDTMFTones: true,
		OnDigit: func(d byte) { digits <- d },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sendDigits(t, phone, gw.LocalAddr(), []digitEvent{{'1', 800}})
	m.feed(t, voice.FormatALaw, 20)
	b.Close()
	if bursts := detectDTMF(m.audio(t, voice.FormatALaw)); len(bursts) != 0 {
		t.Fatalf("tones played: %+v", bursts)
	}
	if d := <-digits; d != '1' {
		t.Fatalf("OnDigit %q", d)
	}
	if s := b.Stats(); s.DTMFFrames != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestDTMFToLineOverPTY: through the real path (VoiceSim on a pty, the
// serial backend, voice.Conn, AT+VTR) the line hears the digits: the
// simulator's Recorded audio is run through the detector.
func TestDTMFToLineOverPTY(t *testing.T) {
	tests := []struct {
		name string
		vsm  string
	}{
		{"alaw", "5"},
		{"8-bit linear", "1"},
	}
	const digits = "159*#D"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLine(t, tc.vsm, modemsim.PlayEchoPaced)
			phone, gw := udp(t), rtpSocket(t)
			defer phone.Close()
			ds := &countingStream{DataStream: l.ds, writes: make(chan struct{}, 1<<12)}
			b, err := bridge.Start(bridge.Config{
				Audio: voice.NewDLEAudio(ds, l.sim.Format()), Codec: "PCMA", PayloadType: rtp.PayloadPCMA, EventPT: 101,
				Conn: gw, Remote: phone.LocalAddr(), Logger: logger(),
			})
			if err != nil {
				t.Fatal(err)
			}
			var evs []digitEvent
			var want []int
			for i := range len(digits) {
				evs = append(evs, digitEvent{digits[i], 800})
				want = append(want, 800)
			}
			sendDigits(t, phone, gw.LocalAddr(), evs)
			// Wait until the tones and their pauses have been written.
			need := len(digits)*((800+bridge.DTMFMinPause)/voice.FrameSamples+1) + 10
			tm := time.NewTimer(safety)
			defer tm.Stop()
			for i := 0; i < need; i++ {
				select {
				case <-ds.writes:
				case <-tm.C:
					t.Fatalf("%d of %d frames written", i, need)
				}
			}
			b.Close()
			l.hangup(t)
			lin := l.sim.Format().Decode(nil, l.sim.Recorded())
			bursts := detectDTMF(lin)
			checkBursts(t, bursts, digits, want)
		})
	}
}

// countingStream signals each write to the modem; Abort still reaches
// the DataStream.
type countingStream struct {
	*voice.DataStream
	writes chan struct{}
}

func (c *countingStream) Write(p []byte) (int, error) {
	n, err := c.DataStream.Write(p)
	select {
	case c.writes <- struct{}{}:
	default:
	}
	return n, err
}

// ExampleDTMFFrequencies shows the Q.23 pair of a key.
func ExampleDTMFFrequencies() {
	low, high, _ := bridge.DTMFFrequencies('#')
	fmt.Println(low, high)
	// Output: 941 1477
}

// TestAnswerAndDial is the incoming path without SIP, as the gateway
// wires it: the line rings with caller ID, Line.VoiceAnswer takes the call
// in voice mode, the bridge carries its audio, and the phone's RFC 4733
// digits reach the line as tones (the simulator's Recorded audio).
func TestAnswerAndDial(t *testing.T) {
	modemtest.NeedPTY(t)
	sim, err := modemsim.NewVoice(t.TempDir(), modemsim.VoiceLogger(logger()))
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	sim.SetPlayback(modemsim.PlayEchoPaced)
	p, err := modem.LoadProfile("analog")
	if err != nil {
		t.Fatal(err)
	}
	p.Hangup.DTRDrop = 0 // a pty has no DTR
	p.Voice.Formats = []modem.VoiceFormat{{VSM: 1, Format: "linear8u"}, {VSM: 5, Format: "alaw"}}
	idle := make(chan struct{}, 1)
	line := modem.New(sim.Path(), p, modem.WithLogger(logger()), modem.WithHealthInterval(time.Hour),
		modem.WithStateFunc(func(c modem.StateChange) {
			if c.To == modem.StateIdle {
				select {
				case idle <- struct{}{}:
				default:
				}
			}
		}))
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	defer cancel()
	runDone := make(chan error, 1)
	runCtx, stop := context.WithCancel(context.Background())
	go func() { runDone <- line.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-runDone; err != nil {
			t.Error(err)
		}
	}()
	rings, unsub := line.SubscribeRings(16)
	defer unsub()
	// Ring only once the line is up: before, its init would eat RINGs.
	select {
	case <-idle:
	case <-ctx.Done():
		t.Fatal("line never idle")
	}
	if err := sim.Ring("0301234567", modemsim.RingPeriod(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	for r := range rings {
		if r.Caller.Number != "" {
			break
		}
	}
	const digits = "42"
	err = line.VoiceAnswer(ctx, modem.VoiceOptions{Prefer: []voice.Format{voice.FormatALaw}}, func(cctx context.Context, c *modem.Call) error {
		if c.Number != "0301234567" || c.Format != voice.FormatALaw {
			t.Errorf("call %+v", c)
		}
		phone, gw := udp(t), rtpSocket(t)
		defer phone.Close()
		ds := &countingStream{DataStream: c.Stream, writes: make(chan struct{}, 1<<12)}
		b, err := bridge.Start(bridge.Config{Audio: voice.NewDLEAudio(ds, c.Format), Codec: "PCMA", PayloadType: rtp.PayloadPCMA,
			EventPT: 101, Conn: gw, Remote: phone.LocalAddr(), Logger: logger()})
		if err != nil {
			return err
		}
		defer b.Close()
		sendDigits(t, phone, gw.LocalAddr(), []digitEvent{{'4', 800}, {'2', 800}})
		need := len(digits)*((800+bridge.DTMFMinPause)/voice.FrameSamples+1) + 10
		for i := 0; i < need; i++ {
			select {
			case <-ds.writes:
			case <-cctx.Done():
				return cctx.Err()
			}
		}
		// The modem's audio came back as RTP all along.
		buf := make([]byte, 2048)
		phone.SetReadDeadline(time.Now().Add(safety))
		if _, _, err := phone.ReadFrom(buf); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lin := sim.Format().Decode(nil, sim.Recorded())
	checkBursts(t, detectDTMF(lin), digits, []int{800, 800})
	if st := line.State(); st != modem.StateIdle {
		t.Fatalf("state %v after the call", st)
	}
}
