package clock

import (
	"testing"
	"time"
)

func TestFakeFiresInOrder(t *testing.T) {
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	f := NewFake(start)
	a := f.NewTimer(2 * time.Second)
	b := f.NewTimer(1 * time.Second)
	f.Advance(1500 * time.Millisecond)
	select {
	case got := <-b.C():
		if want := start.Add(time.Second); !got.Equal(want) {
			t.Fatalf("b fired at %v, want %v", got, want)
		}
	default:
		t.Fatal("b did not fire")
	}
	select {
	case <-a.C():
		t.Fatal("a fired early")
	default:
	}
	if a.Reset(time.Second) != true {
		t.Fatal("Reset of armed timer reported false")
	}
	f.Advance(999 * time.Millisecond)
	select {
	case <-a.C():
		t.Fatal("a fired before its reset deadline")
	default:
	}
	f.Advance(time.Millisecond)
	if got := <-a.C(); !got.Equal(start.Add(2500 * time.Millisecond)) {
		t.Fatalf("a fired at %v", got)
	}
	if a.Stop() {
		t.Fatal("Stop of fired timer reported true")
	}
	if f.Pending() != 0 {
		t.Fatalf("pending = %d", f.Pending())
	}
}

func TestFakeWaitTimers(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	done := make(chan struct{})
	go func() {
		defer close(done)
		tm := f.NewTimer(time.Minute)
		<-tm.C()
	}()
	f.WaitTimers(1)
	f.Advance(time.Minute)
	<-done
}
