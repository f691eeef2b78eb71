package main

import (
	"strings"
	"testing"
	"time"

	"lifeline/daemon"
)

// The human status names each call in progress with its duration.
func TestPrintStatusCalls(t *testing.T) {
	now := time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)
	st := &daemon.Status{Route: daemon.RoutePSTN, Since: now, Override: daemon.OverrideStatus{Mode: daemon.ModeAuto},
		Power: daemon.PowerStatus{Source: "mains"}, Line: daemon.LineStatus{State: "in-call"},
		Calls: []daemon.CallStatus{{Direction: "out", Number: "5551234", Codec: "PCMA", Format: "linear8u",
			Started: now.Add(-83 * time.Second)}}}
	var b strings.Builder
	printStatus(&b, st, now)
	if want := "call      out 5551234, PCMA (line linear8u), 1m23s\n"; !strings.Contains(b.String(), want) {
		t.Fatalf("status:\n%s\nwant a line %q", b.String(), want)
	}
}
