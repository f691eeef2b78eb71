package netmontest

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"lifeline/hal/netmon"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFake(t *testing.T) {
	f := New(Healthy("wan"))
	got := make(chan netmon.WANState, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Run(ctx, func(s netmon.WANState) { got <- s }) }()
	if s := <-got; !s.Usable() {
		t.Fatalf("initial %+v", s)
	}
	f.Update(func(s *netmon.WANState) { s.Carrier = false })
	if s := <-got; s.Up() {
		t.Fatalf("after carrier loss %+v", s)
	}
	f.Set(f.State()) // unchanged: not reported
	f.Update(func(s *netmon.WANState) { s.Carrier = true })
	if s := <-got; !s.Usable() {
		t.Fatalf("after carrier back %+v", s)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("unchanged Set was reported: %+v", <-got)
	}
}
