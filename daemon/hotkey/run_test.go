package hotkey

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/hal/clock"
	"lifeline/hal/keys"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunOnFakeClock(t *testing.T) {
	clk := clock.NewFake(t0)
	m, err := New([]Binding{chord, tapWPS}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	src := keys.NewFake(clk)
	matches := make(chan Match, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, clk, src.Events(), m, func(x Match) { matches <- x }) }()

	src.Press("wps")
	src.Press("phone")
	// Run arms its first timer only for the chord's deadline, once both
	// presses are consumed.
	clk.WaitTimers(1)
	if d, _ := clk.NextDeadline(); !d.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("armed for %v", d.Sub(t0))
	}
	clk.Advance(2 * time.Second)
	select {
	case x := <-matches:
		if x.Binding != "force_pstn" || !x.At.Equal(t0.Add(2*time.Second)) {
			t.Fatalf("match %+v", x)
		}
	case <-time.After(5 * time.Second): // safety net
		t.Fatal("chord never fired")
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
	src.Close()
}

func TestRunEndsWhenEventsClose(t *testing.T) {
	clk := clock.NewFake(t0)
	m, _ := New(nil, t0)
	src := keys.NewFake(clk)
	src.Close()
	if err := Run(context.Background(), clk, src.Events(), m, func(Match) {}); err != nil {
		t.Fatal(err)
	}
}
