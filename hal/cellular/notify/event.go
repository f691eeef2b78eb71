// Package notify turns Lifeline's events into short SMS alerts and carries
// out route overrides asked for by SMS.
//
// A Notifier is given every daemon event (the hook events: route,
// override, line, powerout, onbattery, mainsback, lowbattery, shutdown,
// start, stop) and sends, for each configured kind, exactly one SMS per
// configured number through a Sender: "<router>: <what happened> <when>",
// one part, GSM 7-bit when every character allows it, else UCS-2 (see
// sms.Alert). Alerts are rate-limited (a burst, then one per interval; what
// waited beyond the budget is summarised in one SMS that says how many
// more events there were), queued while the Sender fails (module busy,
// setting up a call, or absent) in a bounded queue that gives up lesser
// events before must-keep ones, and never block the caller.
//
// A Handler reads received SMS: an allowed number with the right secret
// (hal/cellular/remote) sets the override through an Overrider and gets a
// status reply; anything else is logged and ignored, and a sender that
// keeps getting the secret wrong is locked out for a while.
package notify

import (
	"slices"
	"strings"
	"time"
)

// Event is one daemon event, with the fields the hooks get (the daemon's
// HookEvent) and the time it happened.
type Event struct {
	// Kind is the hook event name (LIFELINE_EVENT).
	Kind string
	// Route and PrevRoute are "sip" or "pstn".
	Route, PrevRoute string
	// Reason is the hooks' LIFELINE_REASON; for a line event it is
	// "line <state>" (idle, ringing, in-call, initialising, absent,
	// no-line, none).
	Reason string
	// Power is "mains", "battery" or "unknown"; Battery a percentage or
	// "unknown".
	Power, Battery string
	// At is when it happened; zero: when Notify is called.
	At time.Time
}

// Kinds are the event kinds a Notifier knows, in the hooks' names.
var Kinds = []string{"route", "override", "line", "powerout", "onbattery", "mainsback", "lowbattery", "shutdown", "start", "stop"}

// DefaultKinds are sent when the configuration names none: mains lost and
// back, low battery, shutdown, route changes and the line lost or back.
// onbattery (the same outage a few seconds after powerout), override (a
// person did it) and start/stop are left to those who ask.
var DefaultKinds = []string{"powerout", "mainsback", "lowbattery", "shutdown", "route", "line"}

// KnownKind reports whether k is one of Kinds.
func KnownKind(k string) bool { return slices.Contains(Kinds, k) }

// mustKeep reports whether an event of kind k is kept in a full queue
// while lesser ones (line, start, stop) are given up: the same events the
// hooks never drop.
func mustKeep(k string) bool {
	switch k {
	case "route", "override", "powerout", "onbattery", "mainsback", "lowbattery", "shutdown":
		return true
	}
	return false
}

// label is the short name of an event in a summary.
func label(ev Event) string {
	switch ev.Kind {
	case "powerout":
		return "mains lost"
	case "onbattery":
		return "on battery"
	case "mainsback":
		return "mains back"
	case "lowbattery":
		return "battery low"
	case "line":
		if lineUsable(ev) {
			return "line back"
		}
		return "line lost"
	case "route":
		return "route " + ev.Route
	}
	return ev.Kind
}

// lineState is the line's state a line event reports.
func lineState(ev Event) string { return strings.TrimPrefix(ev.Reason, "line ") }

// lineUsable mirrors the daemon's LineState.Usable: only absent and
// no-line mean calls cannot go out over the line.
func lineUsable(ev Event) bool {
	s := lineState(ev)
	return s != "absent" && s != "no-line"
}

// Describe says what happened, for the middle of an alert: "mains lost,
// battery 87%", "route pstn (was sip): provider down", "line lost
// (no-line)".
func Describe(ev Event) string {
	battery := ""
	if ev.Battery != "" && ev.Battery != "unknown" {
		battery = ", battery " + ev.Battery + "%"
	}
	withReason := func(s string) string {
		if ev.Reason != "" {
			return s + ": " + ev.Reason
		}
		return s
	}
	switch ev.Kind {
	case "powerout", "onbattery", "mainsback":
		return label(ev) + battery
	case "lowbattery":
		if battery != "" {
			return label(ev) + "," + strings.TrimPrefix(battery, ", battery")
		}
		return label(ev)
	case "shutdown":
		return withReason("shutting down")
	case "route":
		s := "route " + ev.Route
		if ev.PrevRoute != "" && ev.PrevRoute != ev.Route {
			s += " (was " + ev.PrevRoute + ")"
		}
		return withReason(s)
	case "override":
		return ev.Reason + ", route " + ev.Route
	case "line":
		return label(ev) + " (" + lineState(ev) + ")"
	case "start":
		return "started, route " + ev.Route
	case "stop":
		return "stopping, route " + ev.Route
	}
	return withReason(ev.Kind)
}
