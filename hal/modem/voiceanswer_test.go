package modem_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/modem"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/modem/modemtest"
	"lifeline/hal/voice"
)

// waitRing waits for a Ring on ch that satisfies ok.
func waitRing(t *testing.T, ch <-chan modem.Ring, ok func(modem.Ring) bool) modem.Ring {
	t.Helper()
	tm := time.NewTimer(safety)
	defer tm.Stop()
	for {
		select {
		case r, open := <-ch:
			if !open {
				t.Fatal("ring subscription closed")
			}
			if ok(r) {
				return r
			}
		case <-tm.C:
			t.Fatal("no such ring")
		}
	}
}

// echoOnce sends d of audio and checks the far end's echo byte for byte.
func echoOnce(t *testing.T, c *modem.Call, d time.Duration) error {
	audio := sine(c.Format, d)
	werr := make(chan error, 1)
	go func() {
		_, err := voice.NewEncoder(c.Stream).Write(audio)
		werr <- err
	}()
	dec := voice.NewDecoder(c.Stream)
	got := make([]byte, 0, len(audio))
	p := make([]byte, 512)
	for len(got) < len(audio) {
		n, _, err := dec.Next(p[:min(len(p), len(audio)-len(got))])
		got = append(got, p[:n]...)
		if err != nil {
			return err
		}
	}
	if err := <-werr; err != nil {
		return err
	}
	if !bytes.Equal(got, audio) {
		t.Error("echo differs from what was sent")
	}
	return nil
}

// TestVoiceAnswer: the line rings with caller ID, VoiceAnswer takes the
// call in voice mode (enter, format, line, ATA → VCON, AT+VTR), the far
// end's echo comes back byte for byte, and afterwards the line is idle
// with the modem on hook and out of voice mode.
func TestVoiceAnswer(t *testing.T) {
	tests := []struct {
		name   string
		caller string
		opts   []modemsim.RingOption
		want   modem.CallerID
		prefer []voice.Format
		vsm    string
	}{
		{"vcid caller, a-law", "0301234567", []modemsim.RingOption{modemsim.RingName("ALICE")},
			modem.CallerID{Number: "0301234567", Name: "ALICE"}, []voice.Format{voice.FormatALaw}, "AT+VSM=5,8000"},
		{"private caller, profile format", "P", nil, modem.CallerID{Number: "P"}, nil, "AT+VSM=1,8000"},
		{"no caller ID", "", nil, modem.CallerID{}, []voice.Format{voice.FormatULaw}, "AT+VSM=4,8000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVoiceLine(t, "analog", allFormats)
			rings, cancel := v.line.SubscribeRings(64)
			defer cancel()
			if err := v.sim.Ring(tc.caller, append([]modemsim.RingOption{modemsim.RingPeriod(50 * time.Millisecond)}, tc.opts...)...); err != nil {
				t.Fatal(err)
			}
			waitRing(t, rings, func(r modem.Ring) bool { return r.Count >= 2 })
			if st := v.line.State(); st != modem.StateRinging {
				t.Fatalf("state %v while ringing", st)
			}
			err := v.line.VoiceAnswer(v.ctx(), modem.VoiceOptions{Prefer: tc.prefer}, func(ctx context.Context, c *modem.Call) error {
				got := c.Caller
				got.Date, got.Time = "", ""
				if !c.Incoming || c.Number != tc.want.Number || got != tc.want || c.Started.IsZero() {
					t.Errorf("call %+v", c)
				}
				if tc.caller != "" && (c.Caller.Date == "" || c.Caller.Time == "") {
					t.Errorf("caller ID without date and time: %+v", c.Caller)
				}
				if st, why := v.line.Status(); st != modem.StateInCall {
					t.Errorf("state %v (%s) during the call", st, why)
				}
				if err := v.line.VoiceAnswer(ctx, modem.VoiceOptions{}, nil); !errors.Is(err, modem.ErrLineBusy) {
					t.Errorf("second VoiceAnswer = %v", err)
				}
				if !v.sim.InCall() || v.sim.Ringing() {
					t.Errorf("sim in call %v, ringing %v", v.sim.InCall(), v.sim.Ringing())
				}
				return echoOnce(t, c, 300*time.Millisecond)
			})
			if err != nil {
				t.Fatal(err)
			}
			if end := waitRing(t, rings, func(r modem.Ring) bool { return r.Ended }); end.Reason != "answered" || end.Caller.Number != tc.want.Number {
				t.Errorf("last ring %+v", end)
			}
			v.idleAfter(t, tc.vsm, "ATA")
		})
	}
}

// TestVoiceAnswerRefused: answering with no call ringing, after the
// caller hung up, or on a profile without voice mode fails with a
// sentinel, fn never runs and the line is left idle.
func TestVoiceAnswerRefused(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		setup   func(t *testing.T, v *voiceLine)
		want    error
		sent    bool // the answer reached the modem
	}{
		{"not ringing", "analog", nil, modem.ErrNotRinging, false},
		{"caller hung up before ATA", "analog", func(t *testing.T, v *voiceLine) {
			if err := v.sim.Ring("5551234", modemsim.RingPeriod(time.Hour)); err != nil {
				t.Fatal(err)
			}
			v.waitState(modem.StateRinging)
			v.sim.StopRinging()
		}, modem.ErrNoCarrier, true},
		{"no voice in the profile", "isdn-ta", nil, modem.ErrNoVoice, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVoiceLine(t, tc.profile, nil)
			if tc.setup != nil {
				tc.setup(t, v)
			}
			err := v.line.VoiceAnswer(v.ctx(), modem.VoiceOptions{}, func(context.Context, *modem.Call) error {
				t.Error("fn ran")
				return nil
			})
			if !errors.Is(err, tc.want) {
				t.Fatalf("VoiceAnswer = %v, want %v", err, tc.want)
			}
			if st, why := v.line.Status(); st != modem.StateIdle {
				t.Fatalf("state %v (%s)", st, why)
			}
			if got := slices.Contains(v.sim.Commands(), "ATA"); got != tc.sent {
				t.Fatalf("ATA sent %v, want %v: %q", got, tc.sent, v.sim.Commands())
			}
		})
	}
	t.Run("during an outgoing call", func(t *testing.T) {
		v := newVoiceLine(t, "analog", nil)
		err := v.line.VoiceCall(v.ctx(), "5551234", modem.VoiceOptions{}, func(ctx context.Context, c *modem.Call) error {
			if err := v.line.VoiceAnswer(ctx, modem.VoiceOptions{}, nil); !errors.Is(err, modem.ErrLineBusy) {
				t.Errorf("VoiceAnswer during a call = %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestVoiceAnswerRingTimeout: on one fake clock for the line and the
// simulator, the line rings while RINGs come every 6 s and goes idle the
// profile's ring timeout (8 s) after the last one; answering is then
// refused.
func TestVoiceAnswerRingTimeout(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC))
	v := newVoiceLineWith(t, "analog", nil, []modem.Option{modem.WithClock(clk)}, modemsim.VoiceClock(clk))
	if d := v.line.Profile().RingTimeout.D(); d != 8*time.Second {
		t.Fatalf("analog ring timeout %v, want 8s", d)
	}
	rings, cancel := v.line.SubscribeRings(64)
	defer cancel()
	if err := v.sim.Ring("0301234567", modemsim.RingCount(2), modemsim.RingPeriod(6*time.Second)); err != nil {
		t.Fatal(err)
	}
	r := waitRing(t, rings, func(r modem.Ring) bool { return r.Caller.Number != "" })
	if r.Count != 1 || r.Caller.Date != "1125" || r.Caller.Time != "1530" {
		t.Fatalf("ring %+v", r)
	}
	clk.Advance(6 * time.Second) // RING 2; the line's timeout now ends at 14 s
	waitRing(t, rings, func(r modem.Ring) bool { return r.Count == 2 })
	clk.Advance(6 * time.Second) // 12 s: the caller has given up, no RING
	if st := v.line.State(); st != modem.StateRinging {
		t.Fatalf("state %v 6 s after the last RING", st)
	}
	clk.Advance(2 * time.Second) // 14 s
	v.waitState(modem.StateIdle)
	if end := waitRing(t, rings, func(r modem.Ring) bool { return r.Ended }); end.Reason != "ringing stopped" || end.Count != 2 || end.Caller.Number != "0301234567" {
		t.Fatalf("last ring %+v", end)
	}
	if _, why := v.line.Status(); why != "ringing stopped" {
		t.Fatalf("reason %q", why)
	}
	err := v.line.VoiceAnswer(v.ctx(), modem.VoiceOptions{}, func(context.Context, *modem.Call) error {
		t.Error("fn ran")
		return nil
	})
	if !errors.Is(err, modem.ErrNotRinging) {
		t.Fatalf("VoiceAnswer after the rings = %v", err)
	}
}

// TestVoiceAnswerEnds: Hangup ends an answered call's context, and the
// far end's hang-up shows in the stream as on an outgoing call.
func TestVoiceAnswerEnds(t *testing.T) {
	tests := []struct {
		name string
		end  func(v *voiceLine, ctx context.Context, c *modem.Call) error
	}{
		{"hangup", func(v *voiceLine, ctx context.Context, c *modem.Call) error {
			drain(c)
			if err := v.line.Hangup(v.ctx()); err != nil {
				return err
			}
			<-ctx.Done()
			return nil
		}},
		{"far end", func(v *voiceLine, _ context.Context, c *modem.Call) error {
			return v.farEndHangsUp(c)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVoiceLine(t, "analog", nil)
			rings, cancel := v.line.SubscribeRings(64)
			defer cancel()
			if err := v.sim.Ring("5551234", modemsim.RingPeriod(time.Hour)); err != nil {
				t.Fatal(err)
			}
			waitRing(t, rings, func(r modem.Ring) bool { return r.Caller.Number != "" })
			err := v.line.VoiceAnswer(v.ctx(), modem.VoiceOptions{}, func(ctx context.Context, c *modem.Call) error {
				return tc.end(v, ctx, c)
			})
			if err != nil {
				t.Fatal(err)
			}
			if st, why := v.line.Status(); st != modem.StateIdle || v.sim.InCall() {
				t.Fatalf("state %v (%s), sim in call %v", st, why, v.sim.InCall())
			}
		})
	}
}

// TestVoiceAnswerScripted: on the scripted modem and the fake clock, an
// answer that is refused, never answered or cancelled leaves the line on
// hook, out of voice mode and idle.
func TestVoiceAnswerScripted(t *testing.T) {
	tests := []struct {
		name  string
		reply []string // to ATA; none: no answer
		act   func(r *lineRig, cancel context.CancelFunc)
		want  error
	}{
		{"refused", []string{"ERROR"}, nil, modem.ErrCommand},
		{"no carrier", []string{"NO CARRIER"}, nil, modem.ErrNoCarrier},
		{"timeout", nil, func(r *lineRig, _ context.CancelFunc) {
			r.clk.Advance(r.p.Voice.AnswerTimeout.D())
		}, modem.ErrTimeout},
		{"cancelled", nil, func(_ *lineRig, cancel context.CancelFunc) { cancel() }, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := modemtest.New(nil)
			m.Set("ATA", tc.reply...)
			r := newLineRig(t, m, false, modem.WithHealthInterval(time.Hour))
			r.waitState(modem.StateIdle)
			waitCmd(t, m, "ATH0")
			m.Inject("RING")
			r.waitState(modem.StateRinging)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- r.line.VoiceAnswer(ctx, modem.VoiceOptions{}, func(context.Context, *modem.Call) error {
					t.Error("fn ran")
					return nil
				})
			}()
			waitCmd(t, m, "ATA") // the engine arms the command's timeout before it writes
			if tc.act != nil {
				tc.act(r, cancel)
			}
			select {
			case err := <-done:
				if !errors.Is(err, tc.want) {
					t.Fatalf("VoiceAnswer = %v, want %v", err, tc.want)
				}
			case <-time.After(safety):
				t.Fatal("VoiceAnswer did not return")
			}
			if st, why := r.line.Status(); st != modem.StateIdle {
				t.Fatalf("state %v (%s)", st, why)
			}
			cmds := m.Commands()
			i := slices.Index(cmds, "AT+FCLASS=8")
			want := []string{"AT+FCLASS=8", "AT+VSM=1,8000", "AT+VLS=1", "ATA"}
			if tc.reply == nil {
				want = append(want, "ATH0") // the hang-up aborts the answer
			}
			want = append(want, "AT+FCLASS=0")
			if i < 0 || !slices.Equal(cmds[i:], want) {
				t.Fatalf("commands %q, want %q", cmds[max(i, 0):], want)
			}
		})
	}
}
