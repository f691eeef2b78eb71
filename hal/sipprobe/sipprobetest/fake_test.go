package sipprobetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/hal/sipprobe"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFake(t *testing.T) {
	f := New()
	got := make(chan sipprobe.Result, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Run(ctx, func(r sipprobe.Result) { got <- r }) }()
	t0 := time.Unix(0, 0)
	f.Emit(ctx, Alive(t0, 5*time.Millisecond))
	f.Emit(ctx, Lost(t0.Add(time.Second)))
	if r := <-got; !r.OK || r.Status != 200 {
		t.Fatalf("alive: %+v", r)
	}
	if r := <-got; r.OK || !errors.Is(r.Err, sipprobe.ErrTimeout) {
		t.Fatalf("lost: %+v", r)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if f.Emit(ctx, Alive(t0, 0)) {
		t.Fatal("Emit after cancel succeeded")
	}
}
