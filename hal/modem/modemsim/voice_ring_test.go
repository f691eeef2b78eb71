package modemsim_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/modem"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/voice"
)

// ringWatch collects the engine's unsolicited results (RING and caller
// ID) as the line parser sees them.
type ringWatch struct {
	t  *testing.T
	ch <-chan modem.Response
}

func watchRings(t *testing.T, r *voiceRig) *ringWatch {
	ch, cancel := r.eng.Subscribe(64)
	t.Cleanup(cancel)
	return &ringWatch{t: t, ch: ch}
}

// next waits for n responses and returns the RINGs among them and the
// merged caller ID.
func (w *ringWatch) next(n int) (rings int, cid modem.CallerID) {
	w.t.Helper()
	tm := time.NewTimer(safety)
	defer tm.Stop()
	for i := 0; i < n; i++ {
		select {
		case r := <-w.ch:
			if r.Result == modem.ResultRing {
				rings++
			}
			cid.Merge(r.CID)
		case <-tm.C:
			w.t.Fatalf("got %d of %d unsolicited lines", i, n)
		}
	}
	return rings, cid
}

// quiet checks that nothing more arrived (after a command round trip,
// which orders the modem's output).
func (w *ringWatch) quiet(r *voiceRig) {
	w.t.Helper()
	r.cmd("AT", modem.ResultOK)
	select {
	case x := <-w.ch:
		w.t.Fatalf("unexpected %q", x.Line)
	default:
	}
}

// TestVoiceRingCallerID: each caller ID format reaches the engine's parser
// as the profiles expect it; RINGs follow the cadence on the fake clock and
// stop after RingCount.
func TestVoiceRingCallerID(t *testing.T) {
	tests := []struct {
		name   string
		opts   []modemsim.RingOption
		first  int // unsolicited lines of the first ring
		later  int // of each later ring
		number string
		want   modem.CallerID
	}{
		{"vcid", nil, 4, 1, "0301234567", modem.CallerID{Number: "0301234567", Date: "1125", Time: "1530"}},
		{"vcid with name", []modemsim.RingOption{modemsim.RingName("ANNA")}, 5, 1, "0301234567", modem.CallerID{Number: "0301234567", Name: "ANNA", Date: "1125", Time: "1530"}},
		{"vcid no caller ID", nil, 1, 1, "", modem.CallerID{}},
		{"clip", []modemsim.RingOption{modemsim.RingCallerIDFormat(modem.CallerIDCLIP)}, 2, 2, "+4930123", modem.CallerID{Number: "+4930123"}},
		{"ring suffix", []modemsim.RingOption{modemsim.RingCallerIDFormat(modem.CallerIDRingSuffix)}, 1, 1, "02416069820", modem.CallerID{Number: "02416069820"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC))
			r := newVoiceRig(t, modemsim.VoiceClock(clk))
			r.cmd("ATE0", modem.ResultOK)
			w := watchRings(t, r)
			base := clk.Pending()
			opts := append([]modemsim.RingOption{modemsim.RingCount(3), modemsim.RingPeriod(6 * time.Second)}, tc.opts...)
			if err := r.sim.Ring(tc.number, opts...); err != nil {
				t.Fatal(err)
			}
			rings, cid := w.next(tc.first)
			if rings != 1 || cid != tc.want {
				t.Fatalf("first ring: %d RINGs, caller %+v, want %+v", rings, cid, tc.want)
			}
			if err := r.sim.Ring("1"); !errors.Is(err, modemsim.ErrNotIdle) {
				t.Fatalf("second Ring while ringing = %v", err)
			}
			for i := 2; i <= 3; i++ {
				w.quiet(r)
				clk.WaitTimers(base + 1)
				clk.Advance(6 * time.Second)
				if rings, _ := w.next(tc.later); rings != 1 {
					t.Fatalf("ring %d: %d RINGs", i, rings)
				}
			}
			clk.WaitTimers(base + 1)
			clk.Advance(6 * time.Second) // the caller gives up
			w.quiet(r)
			if r.sim.Ringing() || r.sim.RingsSent() != 3 {
				t.Fatalf("ringing %v after %d rings", r.sim.Ringing(), r.sim.RingsSent())
			}
		})
	}
}

// TestVoiceAnswer: ATA in voice mode while ringing answers VCON and the far
// end echoes as on an outgoing call; the RINGs stop.
func TestVoiceAnswer(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC))
	r := newVoiceRig(t, modemsim.VoiceClock(clk))
	for _, c := range []string{"ATE0", "AT+FCLASS=8", "AT+VSM=5,8000", "AT+VLS=1"} {
		r.cmd(c, modem.ResultOK)
	}
	w := watchRings(t, r)
	if err := r.sim.Ring("5551234", modemsim.RingPeriod(time.Second)); err != nil {
		t.Fatal(err)
	}
	w.next(4)
	r.cmd("ATA", modem.ResultVCON)
	if !r.sim.InCall() || r.sim.Ringing() {
		t.Fatalf("in call %v, ringing %v", r.sim.InCall(), r.sim.Ringing())
	}
	clk.Advance(10 * time.Second)
	w.quiet(r)
	if err := r.sim.Ring("1"); !errors.Is(err, modemsim.ErrNotIdle) {
		t.Fatalf("Ring during a call = %v", err)
	}
	ds := r.startData("AT+VTR")
	audio := testAudio(voice.FormatALaw, 200*time.Millisecond)
	go func() { voice.NewEncoder(ds).Write(audio) }()
	got, _ := readAudio(t, voice.NewDecoder(ds), len(audio))
	if !bytes.Equal(got, audio) {
		t.Fatal("echo differs")
	}
	if err := r.sim.HangupRemote(); err != nil {
		t.Fatal(err)
	}
	if r.sim.InCall() {
		t.Fatal("in call after HangupRemote")
	}
	if _, err := ds.Write([]byte{voice.DLE, voice.CmdAbort}); err != nil {
		t.Fatal(err)
	}
	drainToEnd(t, voice.NewDecoder(ds))
	r.final(ds)
	if cmds := r.sim.Commands(); !slices.Contains(cmds, "ATA") {
		t.Fatalf("commands %q", cmds)
	}
}

// TestVoiceAnswerRefused: ATA with nobody calling, or outside voice mode,
// answers NO CARRIER; StopRinging ends the RINGs.
func TestVoiceAnswerRefused(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*voiceRig)
	}{
		{"not ringing", func(r *voiceRig) { r.cmd("AT+FCLASS=8", modem.ResultOK) }},
		{"data mode", func(r *voiceRig) {
			if err := r.sim.Ring("5551234"); err != nil {
				r.t.Fatal(err)
			}
		}},
		{"caller hung up", func(r *voiceRig) {
			r.cmd("AT+FCLASS=8", modem.ResultOK)
			if err := r.sim.Ring("5551234"); err != nil {
				r.t.Fatal(err)
			}
			r.sim.StopRinging()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC))
			r := newVoiceRig(t, modemsim.VoiceClock(clk))
			r.cmd("ATE0", modem.ResultOK)
			tc.setup(r)
			r.cmd("ATA", modem.ResultNoCarrier)
			if r.sim.InCall() || r.sim.Ringing() {
				t.Fatalf("in call %v, ringing %v", r.sim.InCall(), r.sim.Ringing())
			}
		})
	}
}
