package modem_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"lifeline/hal/modem"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/modem/modemtest"
	"lifeline/hal/voice"
)

// voiceLine is the real path for VoiceCall: a VoiceSim on a pty, the
// default serial backend, a Line on the analog profile (real clock; the
// health check is put off for the test's length).
type voiceLine struct {
	t      *testing.T
	sim    *modemsim.VoiceSim
	line   *modem.Line
	states chan modem.StateChange
}

func newVoiceLine(t *testing.T, profile string, edit func(*modem.Profile), opts ...modemsim.VoiceOption) *voiceLine {
	t.Helper()
	return newVoiceLineWith(t, profile, edit, nil, opts...)
}

// newVoiceLineWith is newVoiceLine with options for the Line too (a fake
// clock).
func newVoiceLineWith(t *testing.T, profile string, edit func(*modem.Profile), lineOpts []modem.Option, opts ...modemsim.VoiceOption) *voiceLine {
	t.Helper()
	modemtest.NeedPTY(t)
	p, err := modem.LoadProfile(profile)
	if err != nil {
		t.Fatal(err)
	}
	p.Hangup.DTRDrop = 0 // a pty has no DTR
	if edit != nil {
		edit(p)
	}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	opts = append([]modemsim.VoiceOption{modemsim.VoiceRings(1, 10*time.Millisecond), modemsim.VoiceLogger(log)}, opts...)
	sim, err := modemsim.NewVoice(t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	v := &voiceLine{t: t, sim: sim, states: make(chan modem.StateChange, 256)}
	v.line = modem.New(sim.Path(), p, append([]modem.Option{modem.WithLogger(log), modem.WithHealthInterval(time.Hour),
		modem.WithStateFunc(func(c modem.StateChange) {
			select {
			case v.states <- c:
			default:
			}
		})}, lineOpts...)...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.line.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		sim.Close()
	})
	v.waitState(modem.StateIdle)
	return v
}

func (v *voiceLine) waitState(want modem.State) {
	v.t.Helper()
	tm := time.NewTimer(safety)
	defer tm.Stop()
	for {
		select {
		case c := <-v.states:
			if c.To == want {
				return
			}
		case <-tm.C:
			st, why := v.line.Status()
			v.t.Fatalf("no transition to %v; state %v (%s)", want, st, why)
		}
	}
}

// ctx is a context with the real-clock safety net.
func (v *voiceLine) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	v.t.Cleanup(cancel)
	return ctx
}

// allFormats gives the analog profile the simulator's G.711 methods too.
func allFormats(p *modem.Profile) {
	p.Voice.Formats = []modem.VoiceFormat{{VSM: 1, Format: "linear8u"}, {VSM: 4, Format: "ulaw"}, {VSM: 5, Format: "alaw"}, {VSM: 129, Format: "linear16le"}}
}

// sine is d of a 440 Hz tone in f with DLE and ETX bytes forced in, so
// the shielding is exercised both ways.
func sine(f voice.Format, d time.Duration) []byte {
	n := int(d.Seconds() * voice.SampleRate)
	lin := make([]int16, n)
	for i := range lin {
		lin[i] = int16(12000 * math.Sin(2*math.Pi*440*float64(i)/voice.SampleRate))
	}
	b := f.Encode(nil, lin)
	for i := 0; i < len(b); i += 89 {
		b[i] = voice.DLE
	}
	for i := 40; i < len(b); i += 113 {
		b[i] = voice.ETX
	}
	return b
}

// TestVoiceCallEcho: a voice call in each format; the far end echoes what
// the call sends and the echo is compared byte for byte; the line is idle
// and the modem on hook and out of voice mode afterwards.
func TestVoiceCallEcho(t *testing.T) {
	tests := []struct {
		name   string
		prefer []voice.Format
		want   voice.Format
		vsm    string
	}{
		{"profile order", nil, voice.FormatLinear8U, "AT+VSM=1,8000"},
		{"a-law preferred", []voice.Format{voice.FormatALaw}, voice.FormatALaw, "AT+VSM=5,8000"},
		{"µ-law preferred", []voice.Format{voice.FormatULaw, voice.FormatALaw}, voice.FormatULaw, "AT+VSM=4,8000"},
		{"16-bit linear", []voice.Format{voice.FormatLinear16}, voice.FormatLinear16, "AT+VSM=129,8000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVoiceLine(t, "analog", allFormats)
			dialing := make(chan struct{}, 1)
			err := v.line.VoiceCall(v.ctx(), "5551234", modem.VoiceOptions{Prefer: tc.prefer, Dialing: func() { dialing <- struct{}{} }},
				func(ctx context.Context, c *modem.Call) error {
					if c.Number != "5551234" || c.Format != tc.want || v.sim.Format() != tc.want || c.Started.IsZero() {
						t.Errorf("call %+v, sim format %v", c, v.sim.Format())
					}
					if st, why := v.line.Status(); st != modem.StateInCall {
						t.Errorf("state %v (%s) during the call", st, why)
					}
					if err := v.line.Dial(ctx, "123"); !errors.Is(err, modem.ErrLineBusy) {
						t.Errorf("Dial during the call: %v", err)
					}
					if err := v.line.CheckNow(ctx); !errors.Is(err, modem.ErrLineBusy) {
						t.Errorf("CheckNow during the call: %v", err)
					}
					audio := sine(c.Format, 400*time.Millisecond)
					enc := voice.NewEncoder(c.Stream)
					werr := make(chan error, 1)
					go func() {
						for off := 0; off < len(audio); off += c.Format.FrameBytes() {
							if _, err := enc.Write(audio[off:min(off+c.Format.FrameBytes(), len(audio))]); err != nil {
								werr <- err
								return
							}
						}
						werr <- nil
					}()
					dec := voice.NewDecoder(c.Stream)
					got := make([]byte, 0, len(audio))
					p := make([]byte, 512)
					for len(got) < len(audio) {
						n, ev, err := dec.Next(p[:min(len(p), len(audio)-len(got))])
						got = append(got, p[:n]...)
						if ev != nil {
							t.Errorf("event %v in the echo", ev)
						}
						if err != nil {
							return err
						}
					}
					if err := <-werr; err != nil {
						return err
					}
					if !bytes.Equal(got, audio) {
						t.Errorf("echo differs from what was sent")
					}
					return nil // VoiceCall ends the data period
				})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-dialing:
			default:
				t.Error("Dialing was not called")
			}
			v.idleAfter(t, tc.vsm, "ATDT5551234")
		})
	}
}

// idleAfter checks the line after a voice call: idle, the modem back in
// command mode with no call ringing, the commands from AT+FCLASS=8 on
// exactly voice mode, the format (vsm), the line, the connect (the dial or
// ATA), the stream, the hang-up and data mode; and, as the line works on,
// the health check running again.
func (v *voiceLine) idleAfter(t *testing.T, vsm, connect string) {
	t.Helper()
	if st, why := v.line.Status(); st != modem.StateIdle {
		t.Fatalf("state %v (%s) after the call", st, why)
	}
	if v.sim.InCall() || v.sim.Mode() != "command" || v.sim.Ringing() {
		t.Fatalf("sim in call %v, mode %s, ringing %v", v.sim.InCall(), v.sim.Mode(), v.sim.Ringing())
	}
	cmds := v.sim.Commands()
	i := slices.Index(cmds, "AT+FCLASS=8")
	if i < 0 || !slices.Equal(cmds[i:], []string{"AT+FCLASS=8", vsm, "AT+VLS=1", connect, "AT+VTR", "ATH0", "AT+FCLASS=0"}) {
		t.Fatalf("commands %q", cmds)
	}
	if err := v.line.CheckNow(v.ctx()); err != nil {
		t.Fatal(err)
	}
}

// drain reads the call's stream until the call ends, so that the modem's
// stream never backs up while a test waits for something else.
func drain(c *modem.Call) {
	go func() {
		p := make([]byte, 512)
		for {
			if _, err := c.Stream.Read(p); err != nil {
				return
			}
		}
	}()
}

// farEndHangsUp hangs up at the simulated far end and reads the call's
// stream until the modem reports the loop interrupt.
func (v *voiceLine) farEndHangsUp(c *modem.Call) error {
	if err := v.sim.HangupRemote(); err != nil {
		return err
	}
	dec := voice.NewDecoder(c.Stream)
	p := make([]byte, 512)
	for {
		_, ev, err := dec.Next(p)
		if err != nil {
			return err
		}
		if ev != nil && ev.Code == voice.EventLoopInterrupt {
			return nil
		}
	}
}

// TestVoiceCallFailures: the dial's outcomes and set-up refusals come back
// as sentinels, fn never runs, and the line is left on hook in the right
// state.
func TestVoiceCallFailures(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		edit    func(*modem.Profile)
		setup   func(*modemsim.VoiceSim)
		want    error
		state   modem.State
	}{
		{"busy", "analog", nil, func(s *modemsim.VoiceSim) { s.SetAnswer(modemsim.AnswerBusy) }, modem.ErrBusy, modem.StateIdle},
		{"no answer", "analog", nil, func(s *modemsim.VoiceSim) { s.SetAnswer(modemsim.AnswerNever) }, modem.ErrNoAnswer, modem.StateIdle},
		{"no dial tone", "analog", nil, func(s *modemsim.VoiceSim) { s.SetLine(false) }, modem.ErrNoDialtone, modem.StateNoLine},
		{"no format accepted", "analog", func(p *modem.Profile) { p.Voice.Formats = []modem.VoiceFormat{{VSM: 7, Format: "alaw"}} }, nil, modem.ErrNoVoiceFormat, modem.StateIdle},
		{"voice mode refused", "analog", func(p *modem.Profile) { p.Voice.Enter = []string{"AT+FCLASS=9"} }, nil, modem.ErrCommand, modem.StateIdle},
		{"no voice in the profile", "isdn-ta", nil, nil, modem.ErrNoVoice, modem.StateIdle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVoiceLine(t, tc.profile, tc.edit)
			if tc.setup != nil {
				tc.setup(v.sim)
			}
			err := v.line.VoiceCall(v.ctx(), "5551234", modem.VoiceOptions{}, func(context.Context, *modem.Call) error {
				t.Error("fn ran for a failed call")
				return nil
			})
			if !errors.Is(err, tc.want) {
				t.Fatalf("VoiceCall = %v, want %v", err, tc.want)
			}
			if st, why := v.line.Status(); st != tc.state {
				t.Fatalf("state %v (%s), want %v", st, why, tc.state)
			}
			if v.sim.InCall() {
				t.Fatal("sim still in a call")
			}
		})
	}
	t.Run("bad number", func(t *testing.T) {
		var l modem.Line
		if err := l.VoiceCall(context.Background(), "55a", modem.VoiceOptions{}, nil); !errors.Is(err, modem.ErrBadNumber) {
			t.Fatalf("VoiceCall = %v", err)
		}
	})
}

// TestVoiceCallCancelDuringDial: ending the context while the far end
// rings aborts the dial (the hang-up's first character), as a SIP CANCEL
// does.
func TestVoiceCallCancelDuringDial(t *testing.T) {
	v := newVoiceLine(t, "analog", nil, modemsim.VoiceRings(1000, time.Hour))
	ctx, cancel := context.WithCancel(v.ctx())
	done := make(chan error, 1)
	go func() {
		done <- v.line.VoiceCall(ctx, "5551234", modem.VoiceOptions{}, func(context.Context, *modem.Call) error {
			t.Error("fn ran for a cancelled call")
			return nil
		})
	}()
	deadline := time.Now().Add(safety)
	for !slices.Contains(v.sim.Commands(), "ATDT5551234") {
		if time.Now().After(deadline) {
			t.Fatalf("never dialled: %q", v.sim.Commands())
		}
		runtime.Gosched()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("VoiceCall = %v, want context.Canceled", err)
	}
	if st, why := v.line.Status(); st != modem.StateIdle {
		t.Fatalf("state %v (%s)", st, why)
	}
	if v.sim.InCall() {
		t.Fatal("sim in call")
	}
	if err := v.line.CheckNow(v.ctx()); err != nil {
		t.Fatalf("line unusable after the abort: %v", err)
	}
}

// TestVoiceCallEnds: Hangup, the caller's context and the loss of the
// device each end fn's context; the far end's hang-up shows in the stream.
func TestVoiceCallEnds(t *testing.T) {
	tests := []struct {
		name string
		end  func(v *voiceLine, cancel context.CancelFunc)
		want error
		st   modem.State
	}{
		{"hangup", func(v *voiceLine, _ context.CancelFunc) {
			if err := v.line.Hangup(v.ctx()); err != nil {
				v.t.Error(err)
			}
		}, nil, modem.StateIdle},
		{"caller context", func(_ *voiceLine, cancel context.CancelFunc) { cancel() }, nil, modem.StateIdle},
		{"device lost", func(v *voiceLine, _ context.CancelFunc) { v.sim.Close() }, modem.ErrCallLost, modem.StateAbsent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVoiceLine(t, "analog", nil)
			ctx, cancel := context.WithCancel(v.ctx())
			defer cancel()
			err := v.line.VoiceCall(ctx, "5551234", modem.VoiceOptions{}, func(cctx context.Context, c *modem.Call) error {
				drain(c)
				tc.end(v, cancel)
				<-cctx.Done()
				return nil
			})
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("VoiceCall = %v, want %v", err, tc.want)
			}
			if st, why := v.line.Status(); st != tc.st {
				t.Fatalf("state %v (%s), want %v", st, why, tc.st)
			}
		})
	}
	t.Run("far end hangs up", func(t *testing.T) {
		v := newVoiceLine(t, "analog", nil)
		err := v.line.VoiceCall(v.ctx(), "5551234", modem.VoiceOptions{}, func(_ context.Context, c *modem.Call) error {
			return v.farEndHangsUp(c)
		})
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := v.line.Status(); st != modem.StateIdle || v.sim.InCall() {
			t.Fatalf("state %v, sim in call %v", st, v.sim.InCall())
		}
	})
}
