package modem_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"lifeline/hal/modem"
	"lifeline/hal/modem/modemsim"
)

// TestVoiceCallDialingOnceAccepted: VoiceOptions.Dialing (the gateway's
// 180) is called only once the modem has accepted the dial: not for a dial
// that fails at once (no dial tone); when the far end rings past the
// profile's alert_after, while the dial still runs; when the call is up
// sooner, once, before the call's function. (Before: always, before the
// dial command went out, so a phone heard ringing, then 503.)
func TestVoiceCallDialingOnceAccepted(t *testing.T) {
	alertAfter := func(d time.Duration) func(*modem.Profile) {
		return func(p *modem.Profile) { p.Voice.AlertAfter = modem.Duration(d) }
	}
	t.Run("no dial tone", func(t *testing.T) {
		v := newVoiceLine(t, "analog", alertAfter(time.Hour))
		v.sim.SetLine(false)
		called := 0
		err := v.line.VoiceCall(v.ctx(), "5551234", modem.VoiceOptions{Dialing: func() { called++ }},
			func(context.Context, *modem.Call) error { return nil })
		if !errors.Is(err, modem.ErrNoDialtone) {
			t.Fatalf("VoiceCall = %v, want %v", err, modem.ErrNoDialtone)
		}
		if called != 0 {
			t.Fatalf("Dialing called %d times for a dial without a dial tone", called)
		}
	})
	t.Run("far end rings past alert_after", func(t *testing.T) {
		// The far end rings for an hour; the dial is accepted after 1 ms.
		v := newVoiceLine(t, "analog", alertAfter(time.Millisecond), modemsim.VoiceRings(1, time.Hour))
		ctx, cancel := context.WithCancel(v.ctx())
		defer cancel()
		dialing := make(chan struct{}, 2)
		done := make(chan error, 1)
		go func() {
			done <- v.line.VoiceCall(ctx, "5551234", modem.VoiceOptions{Dialing: func() { dialing <- struct{}{} }},
				func(context.Context, *modem.Call) error { return nil })
		}()
		select {
		case <-dialing:
		case err := <-done:
			t.Fatalf("VoiceCall returned %v before Dialing", err)
		case <-time.After(safety):
			t.Fatal("Dialing not called while the far end rang")
		}
		cancel() // the caller gives up: the dial is aborted
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("VoiceCall = %v, want cancelled", err)
		}
		if len(dialing) != 0 {
			t.Fatal("Dialing called twice")
		}
	})
	t.Run("answered before alert_after", func(t *testing.T) {
		v := newVoiceLine(t, "analog", alertAfter(time.Hour))
		called := 0
		err := v.line.VoiceCall(v.ctx(), "5551234", modem.VoiceOptions{Dialing: func() { called++ }},
			func(context.Context, *modem.Call) error {
				if called != 1 {
					t.Errorf("Dialing called %d times before the call's function", called)
				}
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		if called != 1 {
			t.Fatalf("Dialing called %d times", called)
		}
	})
}
