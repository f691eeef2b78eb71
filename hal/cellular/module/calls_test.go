package module

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"lifeline/hal/cellular/cellsim"
	"lifeline/hal/voice"
	"lifeline/hal/voice/call"
)

// echoFrame writes a frame to the call's audio and advances the clock
// until the simulator's pacer echoes it back through Deliver.
func echoFrame(t *testing.T, r *rig, a voice.Audio, frames <-chan []byte, frame []byte) {
	t.Helper()
	in := r.sim.State().AudioIn
	if err := a.WriteFrame(frame); err != nil {
		t.Fatal(err)
	}
	r.simWait(func(s cellsim.State) bool { return s.AudioIn >= in+len(frame) })
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for {
		r.clk.Advance(20 * time.Millisecond)
		select {
		case got := <-frames:
			if bytes.Equal(got, frame) {
				return
			}
		case <-time.After(20 * time.Millisecond): // the pacer's timer was not armed yet: advance again
		case <-deadline.C:
			t.Fatal("the echo frame never came back")
		}
	}
}

// deliver starts a's delivery into a channel of frame copies.
func deliver(a voice.Audio) <-chan []byte {
	frames := make(chan []byte, 64)
	a.Deliver(voice.Sink{
		Frame: func(f []byte) error {
			select {
			case frames <- append([]byte(nil), f...):
			default:
			}
			return nil
		},
		End: func(error) {},
	})
	return frames
}

// An outgoing call through Calls: Dialing once the module took ATD, the
// call's PCM on the audio port both ways, DTMF by the module's command,
// and the far end's hang-up ends the call's context.
func TestCallsOutgoingEachProfile(t *testing.T) {
	for _, name := range allProfiles {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, name, nil)
			r.waitState(StateIdle)
			var dialing atomic.Int32
			frame := bytes.Repeat([]byte{0x34, 0x12}, 160)
			err := r.mod.Calls().VoiceCall(ctxT(t), "+4930123456", call.Options{Dialing: func() { dialing.Add(1) }},
				func(ctx context.Context, c *call.Call) error {
					if c.Number != "+4930123456" || c.Incoming || c.Audio.Format() != voice.FormatLinear16 {
						t.Errorf("call %+v", c)
					}
					echoFrame(t, r, c.Audio, deliver(c.Audio), frame)
					d, ok := c.Audio.(interface {
						SendDigit(context.Context, byte) error
					})
					if !ok {
						t.Fatal("the cellular audio has no SendDigit")
					}
					if err := d.SendDigit(ctx, '7'); err != nil {
						t.Fatal(err)
					}
					if err := r.sim.RemoteHangup(); err != nil {
						t.Fatal(err)
					}
					<-ctx.Done() // the far end hung up
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if dialing.Load() != 1 {
				t.Errorf("Dialing called %d times", dialing.Load())
			}
			if s := r.sim.State(); s.DTMF != "7" {
				t.Errorf("DTMF %q", s.DTMF)
			}
			r.waitState(StateIdle)
		})
	}
}

// The function returning hangs the call up; a busy far end is call's
// ErrBusy, Dialing not called when the dial fails at once.
func TestCallsHangupAndBusy(t *testing.T) {
	r := newRig(t, "quectel-ec25", nil)
	r.waitState(StateIdle)
	calls := r.mod.Calls()
	err := calls.VoiceCall(ctxT(t), "5551234", call.Options{}, func(ctx context.Context, c *call.Call) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	r.simWait(func(s cellsim.State) bool { return s.Call == cellsim.CallIdle })
	r.waitState(StateIdle)
	r.sim.SetDialOutcome(cellsim.Busy)
	err = calls.VoiceCall(ctxT(t), "5551234", call.Options{}, func(context.Context, *call.Call) error {
		t.Error("a busy call ran")
		return nil
	})
	if !errors.Is(err, call.ErrBusy) {
		t.Fatalf("busy: %v", err)
	}
	if err := calls.VoiceCall(ctxT(t), "55x", call.Options{}, nil); !errors.Is(err, call.ErrBadNumber) {
		t.Fatalf("bad number: %v", err)
	}
	r.waitState(StateIdle)
	r.sim.SetDialOutcome(cellsim.Answer)
	r.sim.SetRegistration(0, 7) // not registered
	r.mod.CheckNow(ctxT(t))
	r.waitState(StateNoLine)
	if err := calls.VoiceCall(ctxT(t), "5551234", call.Options{}, nil); !errors.Is(err, call.ErrLineDown) {
		t.Fatalf("no line: %v", err)
	}
}

// Rings carry the caller's number (withheld: "P"), count RINGs, and end
// with why; VoiceAnswer takes the call.
func TestCallsRings(t *testing.T) {
	r := newRig(t, "huawei-e1550", nil)
	r.waitState(StateIdle)
	calls := r.mod.Calls()
	rings, cancel := calls.SubscribeRings(16)
	defer cancel()
	next := func() call.Ring {
		t.Helper()
		select {
		case ring := <-rings:
			return ring
		case <-time.After(patience):
			t.Fatal("no ring")
		}
		return call.Ring{}
	}
	if err := r.sim.Ring("+4917012345"); err != nil {
		t.Fatal(err)
	}
	ring := next()
	for ring.Caller.Number == "" {
		ring = next()
	}
	if ring.Caller.Number != "+4917012345" || ring.Count != 1 || ring.Ended {
		t.Fatalf("ring %+v", ring)
	}
	r.clk.Advance(cellsim.RingEvery)
	if ring = next(); ring.Count != 2 || ring.Caller.Number != "+4917012345" {
		t.Fatalf("second ring %+v", ring)
	}
	err := calls.VoiceAnswer(ctxT(t), call.Options{}, func(ctx context.Context, c *call.Call) error {
		if !c.Incoming || c.Number != "+4917012345" || c.Caller.Number != "+4917012345" {
			t.Errorf("answered %+v", c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ring = next(); !ring.Ended || ring.Reason != "answered" {
		t.Fatalf("last ring %+v", ring)
	}
	r.waitState(StateIdle)

	if err := r.sim.Ring(""); err != nil {
		t.Fatal(err)
	}
	for ring = next(); ring.Caller.Number == ""; ring = next() {
	}
	if ring.Caller.Number != "P" {
		t.Fatalf("withheld ring %+v", ring)
	}
	if err := r.sim.RemoteHangup(); err != nil {
		t.Fatal(err)
	}
	if ring = next(); !ring.Ended || ring.Reason != "caller hung up" {
		t.Fatalf("last ring %+v", ring)
	}
	r.stop()
	if _, ok := <-rings; ok {
		t.Fatal("rings still open after Run returned")
	}
}
