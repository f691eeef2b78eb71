package keys

import (
	"testing"
	"time"

	"lifeline/hal/clock"
)

func TestMerge(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	a, b := NewFake(clk), NewFake(clk)
	m := Merge(a, b)
	a.Press("wps")
	b.Press("phone")
	got := map[string]bool{}
	for range 2 {
		e := <-m.Events()
		got[e.Key] = e.Pressed
	}
	if !got["wps"] || !got["phone"] {
		t.Fatalf("got %v", got)
	}
	// Unread events do not block Close.
	a.Press("x")
	b.Press("y")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m.Close()
	for range m.Events() {
	}
}

func TestMergeEndsWhenSourcesEnd(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	a := NewFake(clk)
	m := Merge(a)
	a.Release("wps")
	a.Close()
	var n int
	for range m.Events() {
		n++
	}
	if n != 1 {
		t.Fatalf("%d events", n)
	}
	m.Close()
}
