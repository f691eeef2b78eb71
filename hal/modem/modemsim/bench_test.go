package modemsim_test

import (
	"context"
	"testing"
	"time"

	"lifeline/hal/modem"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/modem/modemtest"
	"lifeline/hal/modem/serialport"
)

// BenchmarkCommandRoundTrip measures one "AT" → "OK" through the engine,
// the serial backend and the pty to the simulator and back.
func BenchmarkCommandRoundTrip(b *testing.B) {
	modemtest.NeedPTY(b)
	p, _ := modem.LoadProfile("analog")
	sim, err := modemsim.New(b.TempDir(), p)
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	port, err := serialport.Open(sim.Path(), serialport.Mode{})
	if err != nil {
		b.Fatal(err)
	}
	e := modem.NewEngine(port)
	defer e.Close()
	ctx := context.Background()
	if _, err := e.Command(ctx, "ATE0"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		r, err := e.Command(ctx, "AT")
		if err != nil || r.Final.Result != modem.ResultOK {
			b.Fatal(r.Final, err)
		}
	}
}

// BenchmarkUnplugToAbsent measures from Sim.Unplug (link removed, pty
// closed) to the Line reporting absent, default backoff.
func BenchmarkUnplugToAbsent(b *testing.B) {
	r := newRig(b, "analog")
	r.waitState(modem.StateIdle)
	for b.Loop() {
		b.StopTimer()
		if !r.sim.Plugged() {
			if err := r.sim.Replug(); err != nil {
				b.Fatal(err)
			}
			r.waitState(modem.StateIdle)
		}
		b.StartTimer()
		r.sim.Unplug()
		r.waitState(modem.StateAbsent)
	}
}

// BenchmarkReplugToIdle measures from Sim.Replug to the Line reporting
// idle again (reopen, init, first health check) with the default backoff
// (100 ms doubling to 1 s), replugging as soon as absent is reported.
func BenchmarkReplugToIdle(b *testing.B) {
	benchReplug(b, 0)
}

// BenchmarkReplugToIdleAfter2s replugs after the device has been away for
// 2 s, when the backoff has reached its 1 s bound: the worst case.
func BenchmarkReplugToIdleAfter2s(b *testing.B) {
	benchReplug(b, 2*time.Second)
}

func benchReplug(b *testing.B, away time.Duration) {
	r := newRig(b, "analog", modem.WithBackoff(modem.DefaultBackoffMin, modem.DefaultBackoffMax))
	r.waitState(modem.StateIdle)
	for b.Loop() {
		b.StopTimer()
		r.sim.Unplug()
		r.waitState(modem.StateAbsent)
		if away > 0 {
			<-time.After(away) // the device stays away; not synchronisation
		}
		b.StartTimer()
		if err := r.sim.Replug(); err != nil {
			b.Fatal(err)
		}
		r.waitState(modem.StateIdle)
	}
}
