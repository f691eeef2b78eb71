package modemsim_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"runtime"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/modem"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/modem/modemtest"
	"lifeline/hal/modem/serialport"
	"lifeline/hal/voice"
)

// voiceRig is the real path: the VoiceSim on a pty, the serial backend,
// voice.Conn splitting the device, and the AT engine on its command side.
type voiceRig struct {
	t     testing.TB
	sim   *modemsim.VoiceSim
	conn  *voice.Conn
	eng   *modem.Engine
	lines chan string
}

func newVoiceRig(t testing.TB, opts ...modemsim.VoiceOption) *voiceRig {
	t.Helper()
	modemtest.NeedPTY(t)
	opts = append([]modemsim.VoiceOption{modemsim.VoiceRings(2, 10*time.Millisecond), modemsim.VoiceLogger(testLogger(t))}, opts...)
	sim, err := modemsim.NewVoice(t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	port, err := serialport.Open(sim.Path(), serialport.Mode{})
	if err != nil {
		sim.Close()
		t.Fatal(err)
	}
	r := &voiceRig{t: t, sim: sim, lines: make(chan string, 256)}
	r.conn = voice.NewConn(port, voice.WithLineFunc(func(l string) {
		select {
		case r.lines <- l:
		default:
		}
	}))
	r.eng = modem.NewEngine(r.conn.Command(), modem.EngineName(sim.Path()), modem.WithLogger(testLogger(t)))
	t.Cleanup(func() {
		r.eng.Close() // closes the Conn and the port
		sim.Close()
	})
	// A safety net on the real clock: a stuck test fails instead of hanging.
	stop := time.AfterFunc(3*safety, func() { r.conn.Close() })
	t.Cleanup(func() { stop.Stop() })
	return r
}

// cmd runs an AT command and checks its final result.
func (r *voiceRig) cmd(c string, want modem.Result) modem.Reply {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	defer cancel()
	rep, err := r.eng.Command(ctx, c)
	if err != nil {
		r.t.Fatalf("%s: %v", c, err)
	}
	if rep.Final.Result != want {
		r.t.Fatalf("%s answered %q, want %v", c, rep.Final.Line, want)
	}
	return rep
}

// waitLine waits for a command-state line from the modem.
func (r *voiceRig) waitLine(want string) {
	r.t.Helper()
	deadline := time.NewTimer(safety)
	defer deadline.Stop()
	for {
		select {
		case l := <-r.lines:
			if l == want {
				return
			}
		case <-deadline.C:
			r.t.Fatalf("no %q from the modem within %v", want, safety)
		}
	}
}

// call enters voice mode with the +VSM method vsm and dials until VCON.
func (r *voiceRig) call(vsm string) {
	r.t.Helper()
	for _, c := range []string{"ATZ", "ATE0", "AT+FCLASS=8", "AT+VSM=" + vsm + ",8000", "AT+VLS=1"} {
		r.cmd(c, modem.ResultOK)
	}
	// Without ';' VCON, the far end's answer, is the dial's final result
	// code. (With ';' OK comes at once and VCON later, unsolicited: a
	// command sent before it would take it for its own reply.)
	r.cmd("ATDT5551234", modem.ResultVCON)
	if !r.sim.InCall() || r.sim.VLS() != 1 {
		r.t.Fatalf("sim: in call %v, line %d", r.sim.InCall(), r.sim.VLS())
	}
}

// final waits for the OK that ends a data period.
func (r *voiceRig) final(ds *voice.DataStream) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	defer cancel()
	l, err := ds.Final(ctx)
	if err != nil || l != "OK" {
		r.t.Fatalf("data period ended with %q, %v; want OK", l, err)
	}
}

// startData arms the Conn and sends the command that starts a data state.
func (r *voiceRig) startData(c string) *voice.DataStream {
	r.t.Helper()
	for len(r.lines) > 0 { // forget older lines: waitLine("OK") is for this period's end
		<-r.lines
	}
	ds, err := r.conn.ExpectData()
	if err != nil {
		r.t.Fatal(err)
	}
	r.cmd(c, modem.ResultConnect)
	return ds
}

// testAudio is d of a 440 Hz sine with a rising amplitude in f, with
// the shielding-relevant bytes 0x10 and 0x03 forced in every so often.
func testAudio(f voice.Format, d time.Duration) []byte {
	n := int(d.Seconds() * voice.SampleRate)
	lin := make([]int16, n)
	for i := range lin {
		lin[i] = int16(float64(i) / float64(n) * 20000 * math.Sin(2*math.Pi*440*float64(i)/voice.SampleRate))
	}
	b := f.Encode(nil, lin)
	for i := 0; i < len(b); i += 97 {
		b[i] = voice.DLE
	}
	for i := 50; i < len(b); i += 131 {
		b[i] = voice.ETX
	}
	return b
}

// readAudio decodes n audio bytes and the events among them.
func readAudio(t *testing.T, dec *voice.Decoder, n int) ([]byte, []string) {
	t.Helper()
	got := make([]byte, 0, n)
	var evs []string
	p := make([]byte, 512)
	for len(got) < n {
		k, ev, err := dec.Next(p[:min(len(p), n-len(got))])
		got = append(got, p[:k]...)
		if ev != nil {
			evs = append(evs, ev.String())
		}
		if err != nil {
			t.Fatalf("after %d of %d bytes: %v", len(got), n, err)
		}
	}
	return got, evs
}

// drainToEnd reads until <DLE><ETX> and io.EOF, returning the events.
func drainToEnd(t *testing.T, dec *voice.Decoder) []string {
	t.Helper()
	p := make([]byte, 512)
	var evs []string
	for {
		_, ev, err := dec.Next(p)
		if ev != nil {
			evs = append(evs, ev.String())
		}
		if errors.Is(err, io.EOF) {
			if len(evs) == 0 || evs[len(evs)-1] != "end" {
				t.Fatalf("stream ended without <DLE><ETX>: %v", evs)
			}
			return evs
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestVoiceEchoOverPTY: voice mode, dial, one second of audio in full
// duplex, and the far end's echo compared byte for byte, in each format.
func TestVoiceEchoOverPTY(t *testing.T) {
	tests := []struct {
		name string
		vsm  string
		f    voice.Format
	}{
		{"alaw", "5", voice.FormatALaw},
		{"ulaw", "4", voice.FormatULaw},
		{"linear8u", "1", voice.FormatLinear8U},
		{"linear16le", "129", voice.FormatLinear16},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newVoiceRig(t)
			r.call(tc.vsm)
			if r.sim.Format() != tc.f {
				t.Fatalf("sim format %v", r.sim.Format())
			}
			audio := testAudio(tc.f, time.Second)
			ds := r.startData("AT+VTR")
			enc := voice.NewEncoder(ds)
			werr := make(chan error, 1)
			go func() {
				for off := 0; off < len(audio); off += tc.f.FrameBytes() {
					if _, err := enc.Write(audio[off:min(off+tc.f.FrameBytes(), len(audio))]); err != nil {
						werr <- err
						return
					}
				}
				werr <- nil
			}()
			dec := voice.NewDecoder(ds)
			got, evs := readAudio(t, dec, len(audio))
			if err := <-werr; err != nil {
				t.Fatal(err)
			}
			if len(evs) != 0 {
				t.Errorf("events in the echo: %v", evs)
			}
			if !bytes.Equal(got, audio) {
				i := 0
				for i < len(got) && got[i] == audio[i] {
					i++
				}
				t.Fatalf("echo differs from byte %d of %d", i, len(audio))
			}
			if err := enc.Abort(); err != nil {
				t.Fatal(err)
			}
			drainToEnd(t, dec)
			r.final(ds)
			if !bytes.Equal(r.sim.Recorded(), audio) {
				t.Fatalf("the far end heard %d bytes, not the %d sent", len(r.sim.Recorded()), len(audio))
			}
			r.cmd("ATH", modem.ResultOK)
			if r.sim.InCall() || r.sim.Mode() != "command" {
				t.Fatalf("after ATH: in call %v, mode %s", r.sim.InCall(), r.sim.Mode())
			}
		})
	}
}

// TestVoiceTransmitThenReceive: half duplex. What AT+VTX sends is played
// back by the far end during AT+VRX, then silence.
func TestVoiceTransmitThenReceive(t *testing.T) {
	r := newVoiceRig(t)
	r.call("5")
	audio := testAudio(voice.FormatALaw, 300*time.Millisecond)
	ds := r.startData("AT+VTX")
	enc := voice.NewEncoder(ds)
	if _, err := enc.Write(audio); err != nil {
		t.Fatal(err)
	}
	if err := ds.EndTransmit(); err != nil {
		t.Fatal(err)
	}
	r.final(ds)
	if !bytes.Equal(r.sim.Recorded(), audio) {
		t.Fatalf("far end heard %d bytes, want %d", len(r.sim.Recorded()), len(audio))
	}
	ds = r.startData("AT+VRX")
	dec := voice.NewDecoder(ds)
	got, _ := readAudio(t, dec, len(audio)+voice.FrameSamples)
	if !bytes.Equal(got[:len(audio)], audio) {
		t.Fatal("playback differs from what was transmitted")
	}
	if !bytes.Equal(got[len(audio):], bytes.Repeat([]byte{0xD5}, voice.FrameSamples)) {
		t.Fatalf("after the recording: %x, want A-law silence", got[len(audio):len(audio)+8])
	}
	voice.NewEncoder(ds).Abort()
	drainToEnd(t, dec)
	r.final(ds)
	r.cmd("ATH", modem.ResultOK)
}

// TestVoiceToneAndFarEnd: the far end plays a tone during AT+VRX, then
// hangs up (or is busy); the modem reports it in band.
func TestVoiceToneAndFarEnd(t *testing.T) {
	tests := []struct {
		name   string
		cue    func(*modemsim.VoiceSim) error
		events []string
		sent   string // EventsSent afterwards
	}{
		{"remote hangs up", (*modemsim.VoiceSim).HangupRemote, []string{"loop-interrupt", "busy"}, ""},
		{"far end busy", (*modemsim.VoiceSim).FarEndBusy, []string{"busy"}, ""},
		{"dtmf from the line", func(s *modemsim.VoiceSim) error { return s.SendEvent('5') }, []string{"dtmf-5"}, "5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newVoiceRig(t, modemsim.VoiceTone(1000))
			r.sim.SetPlayback(modemsim.PlayTone)
			r.call("4")
			ds := r.startData("AT+VRX")
			dec := voice.NewDecoder(ds)
			const frames = 10
			got, evs := readAudio(t, dec, frames*voice.FrameSamples)
			if len(evs) != 0 {
				t.Fatalf("events %v", evs)
			}
			for i, b := range got {
				want := voice.LinearToULaw(modemsim.ToneSample(1000, uint64(i)))
				if b != want {
					t.Fatalf("tone sample %d: %#02x, want %#02x", i, b, want)
				}
			}
			if err := tc.cue(r.sim); err != nil {
				t.Fatal(err)
			}
			// Read on until the cue's events have come.
			var seen []string
			p := make([]byte, 512)
			for len(seen) < len(tc.events) {
				_, ev, err := dec.Next(p)
				if err != nil {
					t.Fatalf("before the events: %v (seen %v)", err, seen)
				}
				if ev != nil {
					seen = append(seen, ev.String())
				}
			}
			for i := range tc.events {
				if seen[i] != tc.events[i] {
					t.Fatalf("events %v, want %v", seen, tc.events)
				}
			}
			if got := string(r.sim.EventsSent()); got != tc.sent {
				t.Fatalf("EventsSent %q, want %q", got, tc.sent)
			}
			voice.NewEncoder(ds).Abort()
			drainToEnd(t, dec)
			r.final(ds)
			r.cmd("ATH", modem.ResultOK)
		})
	}
}

// TestVoiceDialOutcomes: the far end's scripted answers as final result
// codes through the engine.
func TestVoiceDialOutcomes(t *testing.T) {
	tests := []struct {
		name   string
		answer modemsim.Answer
		lineUp bool
		want   modem.Result
	}{
		{"busy", modemsim.AnswerBusy, true, modem.ResultBusy},
		{"no answer", modemsim.AnswerNever, true, modem.ResultNoAnswer},
		{"no dial tone", modemsim.AnswerAfterRings, false, modem.ResultNoDialtone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newVoiceRig(t)
			r.sim.SetAnswer(tc.answer)
			r.sim.SetLine(tc.lineUp)
			r.cmd("ATE0", modem.ResultOK)
			r.cmd("AT+FCLASS=8", modem.ResultOK)
			r.cmd("ATDT5551234", tc.want)
			if r.sim.InCall() {
				t.Fatal("in call after a failed dial")
			}
		})
	}
	t.Run("voice commands need voice mode", func(t *testing.T) {
		r := newVoiceRig(t)
		r.cmd("AT+VTX", modem.ResultError)
		r.cmd("AT+FCLASS=8", modem.ResultOK)
		r.cmd("AT+VSM=7", modem.ResultError)
		r.cmd("AT+VSM=5,16000", modem.ResultError)
		if rep := r.cmd("AT+FCLASS?", modem.ResultOK); len(rep.Info) != 1 || rep.Info[0] != "8" {
			t.Fatalf("AT+FCLASS? info %q", rep.Info)
		}
	})
}

// TestVoiceDialAborted: a character sent while dialling aborts the dial
// (V.250 6.3.1), as the gateway will do on a SIP CANCEL.
func TestVoiceDialAborted(t *testing.T) {
	r := newVoiceRig(t, modemsim.VoiceRings(1000, time.Hour))
	r.cmd("ATE0", modem.ResultOK)
	r.cmd("AT+FCLASS=8", modem.ResultOK)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.eng.Command(ctx, "ATDT5551234")
		done <- err
	}()
	// Wait until the modem is dialling, then give up on the command.
	deadline := time.Now().Add(safety)
	for !slicesContain(r.sim.Commands(), "ATDT5551234") {
		if time.Now().After(deadline) {
			t.Fatal("the dial never reached the modem")
		}
		runtime.Gosched()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("dial: %v", err)
	}
	r.cmd("AT", modem.ResultNoCarrier) // the abort character's line answers NO CARRIER
	r.cmd("AT", modem.ResultOK)
	if r.sim.InCall() {
		t.Fatal("in call after an aborted dial")
	}
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestVoiceRingCadenceFakeClock: the far end answers after exactly the
// scripted rings, on the injected clock.
func TestVoiceRingCadenceFakeClock(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	r := newVoiceRig(t, modemsim.VoiceClock(clk), modemsim.VoiceRings(3, 5*time.Second))
	r.cmd("ATE0", modem.ResultOK)
	r.cmd("AT+FCLASS=8", modem.ResultOK)
	r.cmd("ATDT5551234;", modem.ResultOK)
	for ring := 1; ring <= 3; ring++ {
		clk.WaitTimers(1)
		if r.sim.InCall() {
			t.Fatalf("answered before ring %d ended", ring)
		}
		clk.Advance(5 * time.Second)
	}
	r.waitLine("VCON")
	if !r.sim.InCall() {
		t.Fatal("VCON but not in call")
	}
}
