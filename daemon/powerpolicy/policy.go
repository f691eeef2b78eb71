// Package powerpolicy is Lifeline's power policy: when to shed load, when to
// restore it and when to shut down, as a pure function of (state, event,
// now) → (state, actions). It reads nothing and does nothing by itself; the
// daemon's event loop feeds it readings from hal/power and the results of
// the actions it carried out, and sets one timer at NextDeadline.
//
// The rules, in the spirit of apcupsd and NUT's upsmon:
//
//   - Mains lost (a reading with Source Battery): "powerout" is announced at
//     once; only when the router is still on battery OnBatteryDelay later is
//     it "onbattery", and the configured interfaces are shed.
//   - Shedding: a Shed action per interface; the loop calls ifctl.Down and
//     feeds back ShedDone with wasUp. Only interfaces that were up and went
//     down are recorded as taken down (State.Shed), and every change of that
//     set is a SaveShed action, so the loop persists it and Resume restores
//     it after a restart.
//   - Mains back: "mainsback", and a Restore action for every interface in
//     State.Shed, never for one Lifeline did not take down. A failed restore
//     is retried after RestoreRetry; an interface that no longer exists is
//     forgotten.
//   - Forced shutdown (FSD): on confirmed battery, when the battery is low
//     (the battery-low line or a Critical capacity level) or its charge is
//     at or below CriticalPercent: "shutdown" is announced, RunShutdownHooks
//     at once, RunShutdownCommand ShutdownGrace later. Nothing cancels FSD,
//     mains coming back included, and nothing is restored once it started.
//   - Flags OL/OB/LB/FSD; time on battery; minutes left, estimated from the
//     discharge rate once two capacity readings on battery differ.
package powerpolicy

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"lifeline/hal/ifctl"
	"lifeline/hal/power"
)

// Config is the power section of the configuration.
type Config struct {
	// OnBatteryDelay is how long the router must stay on battery before
	// Lifeline acts (apcupsd's ONBATTERYDELAY). 0 acts at once.
	OnBatteryDelay time.Duration
	// CriticalPercent: at or below this charge on battery, shut down.
	// 0 means only at 0 %; the low line and Critical level still count.
	CriticalPercent int
	// ShedInterfaces are set down on battery, in this order.
	ShedInterfaces []string
	// ShutdownGrace is the time between the shutdown hooks and the
	// shutdown command.
	ShutdownGrace time.Duration
	// RestoreRetry is the wait before retrying a failed restore
	// (default 10 s).
	RestoreRetry time.Duration
}

// ErrConfig is wrapped by Config.Validate.
var ErrConfig = errors.New("invalid power policy config")

// Validate checks the values.
func (c Config) Validate() error {
	switch {
	case c.OnBatteryDelay < 0:
		return fmt.Errorf("%w: on_battery_delay %v is negative", ErrConfig, c.OnBatteryDelay)
	case c.CriticalPercent < 0 || c.CriticalPercent > 100:
		return fmt.Errorf("%w: critical_percent %d not in 0..100", ErrConfig, c.CriticalPercent)
	case c.ShutdownGrace < 0:
		return fmt.Errorf("%w: shutdown grace %v is negative", ErrConfig, c.ShutdownGrace)
	case c.RestoreRetry < 0:
		return fmt.Errorf("%w: restore retry %v is negative", ErrConfig, c.RestoreRetry)
	}
	for i, n := range c.ShedInterfaces {
		if !ifctl.ValidName(n) {
			return fmt.Errorf("%w: shed_interface %q is not an interface name", ErrConfig, n)
		}
		if slices.Contains(c.ShedInterfaces[:i], n) {
			return fmt.Errorf("%w: shed_interface %q listed twice", ErrConfig, n)
		}
	}
	return nil
}

func (c Config) restoreRetry() time.Duration {
	if c.RestoreRetry <= 0 {
		return 10 * time.Second
	}
	return c.RestoreRetry
}

// EventKind says what an Event carries.
type EventKind int

// Event kinds.
const (
	// Tick: time has passed (the timer set at NextDeadline fired). Any
	// event runs due deadlines; a Tick only does that.
	Tick EventKind = iota
	// Reading: a new hal/power State.
	Reading
	// ShedDone: the result of a Shed action (ifctl.Down).
	ShedDone
	// RestoreDone: the result of a Restore action (ifctl.Up).
	RestoreDone
)

// Event is an input of Step. Build it with the constructors.
type Event struct {
	Kind      EventKind
	Power     power.State // Reading
	Interface string      // ShedDone, RestoreDone
	WasUp     bool        // ShedDone
	Err       error       // ShedDone, RestoreDone
}

// TickEvent returns a Tick.
func TickEvent() Event { return Event{Kind: Tick} }

// ReadingEvent returns a Reading.
func ReadingEvent(s power.State) Event { return Event{Kind: Reading, Power: s} }

// ShedDoneEvent returns the result of ifctl.Down for a Shed action.
func ShedDoneEvent(iface string, wasUp bool, err error) Event {
	return Event{Kind: ShedDone, Interface: iface, WasUp: wasUp, Err: err}
}

// RestoreDoneEvent returns the result of ifctl.Up for a Restore action.
func RestoreDoneEvent(iface string, err error) Event {
	return Event{Kind: RestoreDone, Interface: iface, Err: err}
}

// ActionKind says what the loop must do.
type ActionKind int

// Action kinds.
const (
	// Announce: a power event for hooks and the log (Event, Reason).
	Announce ActionKind = iota + 1
	// Shed: ifctl.Down(Interface), then feed back ShedDoneEvent.
	Shed
	// Restore: ifctl.Up(Interface), then feed back RestoreDoneEvent.
	Restore
	// SaveShed: persist Interfaces (the set Lifeline took down) in the
	// state dir; Resume takes it back after a restart.
	SaveShed
	// RunShutdownHooks: run the hooks with LIFELINE_EVENT=shutdown.
	RunShutdownHooks
	// RunShutdownCommand: run the configured shutdown_command.
	RunShutdownCommand
	// Warn: log Reason and Err; nothing to do.
	Warn
)

// Announced events (Action.Event).
const (
	EventPowerOut   = "powerout"   // mains lost, within the on-battery delay
	EventOnBattery  = "onbattery"  // on battery for the delay: acting
	EventMainsBack  = "mainsback"  // mains returned
	EventLowBattery = "lowbattery" // LB set
	EventShutdown   = "shutdown"   // FSD started
)

// Action is an output of Step.
type Action struct {
	Kind       ActionKind
	Event      string   // Announce
	Reason     string   // Announce, RunShutdownHooks, Warn
	Interface  string   // Shed, Restore
	Interfaces []string // SaveShed (a copy the loop may keep)
	Err        error    // Warn
}

func (a Action) String() string {
	switch a.Kind {
	case Announce:
		return "announce " + a.Event
	case Shed:
		return "shed " + a.Interface
	case Restore:
		return "restore " + a.Interface
	case SaveShed:
		return fmt.Sprintf("save %q", a.Interfaces)
	case RunShutdownHooks:
		return "shutdown hooks"
	case RunShutdownCommand:
		return "shutdown command"
	case Warn:
		return "warn " + a.Reason
	}
	return "?"
}

// Policy couples a Config and a State for a loop that keeps one of each.
// It is not safe for concurrent use: the daemon's event loop owns it.
type Policy struct {
	Config Config
	State  State
}

// Handle runs Step on the policy's State.
func (p *Policy) Handle(ev Event, now time.Time) []Action {
	var acts []Action
	p.State, acts = Step(p.Config, p.State, ev, now)
	return acts
}

// NextDeadline is State.NextDeadline.
func (p *Policy) NextDeadline() (time.Time, bool) { return p.State.NextDeadline() }

// Carry performs a Shed or Restore action on act and returns the event to
// feed back to Step; ok is false for the other kinds, which the loop handles
// itself (hooks, persistence, shutdown).
func Carry(a Action, act ifctl.Actuator) (ev Event, ok bool) {
	switch a.Kind {
	case Shed:
		was, err := act.Down(a.Interface)
		return ShedDoneEvent(a.Interface, was, err), true
	case Restore:
		return RestoreDoneEvent(a.Interface, act.Up(a.Interface)), true
	}
	return Event{}, false
}
