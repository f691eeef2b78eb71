package keys

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/hal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFake(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	f := NewFake(clk)
	f.Press("wps")
	clk.Advance(time.Second)
	f.Release("wps")
	f.Close()
	f.Close()
	f.Press("late") // no-op after Close
	var got []Event
	for e := range f.Events() {
		got = append(got, e)
	}
	if len(got) != 2 || !got[0].Pressed || got[1].Pressed || got[1].At.Sub(got[0].At) != time.Second {
		t.Fatalf("got %+v", got)
	}
}
