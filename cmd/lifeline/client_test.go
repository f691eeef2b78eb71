package main

import (
	"encoding/json"
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

// A cellular line's health fits on the status's line line; an analog
// line's is unchanged.
func TestLineSummary(t *testing.T) {
	dbm := -73
	cell := &daemon.CellularStatus{Registration: "home", Operator: "Lifeline Mobile", SignalDBm: &dbm, Technology: "4G", SIM: "ready", VoLTE: "on"}
	tests := []struct {
		l    daemon.LineStatus
		want string
	}{
		{daemon.LineStatus{Device: "/dev/ttyACM0", Profile: "analog", State: "idle"}, "/dev/ttyACM0 (analog) idle"},
		{daemon.LineStatus{State: "none"}, "none"},
		{daemon.LineStatus{Device: "/dev/ttyUSB2", Profile: "quectel-ec25", State: "idle", Reason: "registered home", CellularStatus: cell},
			"/dev/ttyUSB2 (quectel-ec25) idle: home Lifeline Mobile 4G -73 dBm, VoLTE on"},
		{daemon.LineStatus{Device: "/dev/ttyUSB2", Profile: "huawei-e1550", State: "no-line", Reason: "SIM PIN required",
			CellularStatus: &daemon.CellularStatus{SIM: "pin-required", VoLTE: "unknown"}},
			"/dev/ttyUSB2 (huawei-e1550) no-line: SIM pin-required (SIM PIN required)"},
	}
	for _, tc := range tests {
		if got := lineSummary(tc.l); got != tc.want {
			t.Errorf("lineSummary = %q, want %q", got, tc.want)
		}
	}
}

// The cellular fields are in the JSON of a cellular line only.
func TestLineStatusJSON(t *testing.T) {
	analog, _ := json.Marshal(daemon.LineStatus{Device: "/dev/ttyACM0", Profile: "analog", State: "idle"})
	if string(analog) != `{"device":"/dev/ttyACM0","profile":"analog","state":"idle"}` {
		t.Fatalf("analog line: %s", analog)
	}
	cell, _ := json.Marshal(daemon.LineStatus{Device: "/a", Profile: "simcom-sim7600", State: "no-line", AudioDevice: "/b", Reason: "no SIM",
		CellularStatus: &daemon.CellularStatus{SIM: "absent", Registration: "not-registered", VoLTE: "unknown"}})
	want := `{"device":"/a","profile":"simcom-sim7600","state":"no-line","audio_device":"/b","reason":"no SIM",` +
		`"registration":"not-registered","operator":"","signal_dbm":null,"technology":"","sim":"absent","volte":"unknown"}`
	if string(cell) != want {
		t.Fatalf("cellular line:\n%s\nwant\n%s", cell, want)
	}
}
