package powerpolicy

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"lifeline/hal/ifctl"
	"lifeline/hal/power"
)

// State is the policy's state. It is a value: Step never modifies the
// slices of the State it is given (it copies on write), so an old State may
// be kept and compared.
type State struct {
	// Power is the latest reading; Known is false before the first.
	Power power.State
	Known bool

	// LostAt is when mains was lost (zero while on mains).
	LostAt time.Time
	// OnBatteryAt is when the on-battery delay ends (zero when none runs).
	OnBatteryAt time.Time
	// OnBattery is true once the router has been on battery for the delay.
	OnBattery bool
	// LowAnnounced is true once "lowbattery" was announced for this outage.
	LowAnnounced bool

	// Shed lists the interfaces Lifeline took down (they were up): the
	// set to persist and to restore.
	Shed []string
	// Shedding and Restoring list actions issued whose result is pending.
	Shedding  []string
	Restoring []string
	// RetryAt is when failed restores are retried (zero when none).
	RetryAt time.Time

	// FSD is true once a forced shutdown started; it is never cleared.
	FSD bool
	// FSDAt is when it started; ShutdownAt when the command is due (zero
	// once issued).
	FSDAt      time.Time
	ShutdownAt time.Time

	// Discharge samples on battery: the first, and the latest that
	// differed from the one before.
	firstAt, lastAt   time.Time
	firstPct, lastPct int
}

// Resume returns the initial State of a daemon that persisted shed (the
// interfaces Lifeline had taken down) before it stopped: the first mains
// reading restores them.
func Resume(shed []string) State {
	var s State
	for _, n := range shed {
		if !slices.Contains(s.Shed, n) {
			s.Shed = append(s.Shed, n)
		}
	}
	return s
}

// NextDeadline is the earliest time at which Step has something to do
// without a new event. The loop arms one timer for it and sends a Tick.
func (s State) NextDeadline() (time.Time, bool) {
	var d time.Time
	for _, t := range []time.Time{s.OnBatteryAt, s.ShutdownAt, s.RetryAt} {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	return d, !d.IsZero()
}

// Step applies one event at now and returns the new State and the actions,
// in the order to carry them out. It is pure: no I/O, no clock.
func Step(cfg Config, s State, ev Event, now time.Time) (State, []Action) {
	var acts []Action
	switch ev.Kind {
	case Reading:
		s, acts = s.reading(cfg, ev.Power, now, acts)
	case ShedDone:
		s, acts = s.shedDone(cfg, ev, now, acts)
	case RestoreDone:
		s, acts = s.restoreDone(cfg, ev, now, acts)
	}
	return s.deadlines(cfg, now, acts)
}

func (s State) reading(cfg Config, r power.State, now time.Time, acts []Action) (State, []Action) {
	s.Power, s.Known = r, true
	switch r.Source {
	case power.Battery:
		if s.LostAt.IsZero() {
			acts = slices.Grow(acts, 2)
			s.LostAt = now
			s.OnBatteryAt = now.Add(cfg.OnBatteryDelay)
			s.LowAnnounced = false
			s.firstAt, s.lastAt = time.Time{}, time.Time{}
			acts = append(acts, Action{Kind: Announce, Event: EventPowerOut, Reason: "mains lost"})
		}
		if r.Percent >= 0 {
			switch {
			case s.firstAt.IsZero():
				s.firstAt, s.firstPct = now, r.Percent
				s.lastAt, s.lastPct = now, r.Percent
			case r.Percent != s.lastPct:
				s.lastAt, s.lastPct = now, r.Percent
			}
		}
	case power.Mains:
		if !s.LostAt.IsZero() {
			s.LostAt, s.OnBatteryAt = time.Time{}, time.Time{}
			s.OnBattery = false
			s.firstAt, s.lastAt = time.Time{}, time.Time{}
			acts = append(acts, Action{Kind: Announce, Event: EventMainsBack, Reason: "mains returned"})
		}
		acts = s.restoreAll(acts)
	}
	return s, acts
}

// restoreAll issues a Restore for every shed interface not being restored,
// unless a shutdown is under way.
func (s *State) restoreAll(acts []Action) []Action {
	if s.FSD || s.OnBattery {
		return acts
	}
	for _, n := range s.Shed {
		if !slices.Contains(s.Restoring, n) {
			s.Restoring = with(s.Restoring, n)
			acts = append(acts, Action{Kind: Restore, Interface: n})
		}
	}
	s.RetryAt = time.Time{}
	return acts
}

func (s State) shedDone(cfg Config, ev Event, now time.Time, acts []Action) (State, []Action) {
	n := ev.Interface
	s.Shedding = without(s.Shedding, n)
	if ev.Err != nil {
		return s, append(acts, Action{Kind: Warn, Reason: "shed " + n + " failed", Err: ev.Err})
	}
	if !ev.WasUp || slices.Contains(s.Shed, n) {
		return s, acts // it was down already: not ours to restore
	}
	s.Shed = with(s.Shed, n)
	acts = append(acts, Action{Kind: SaveShed, Interfaces: slices.Clone(s.Shed)})
	if !s.OnBattery && !s.FSD && !slices.Contains(s.Restoring, n) {
		// Mains came back while the Down was under way.
		s.Restoring = with(s.Restoring, n)
		acts = append(acts, Action{Kind: Restore, Interface: n})
	}
	return s, acts
}

func (s State) restoreDone(cfg Config, ev Event, now time.Time, acts []Action) (State, []Action) {
	n := ev.Interface
	s.Restoring = without(s.Restoring, n)
	if !slices.Contains(s.Shed, n) {
		return s, acts
	}
	if ev.Err != nil && !errors.Is(ev.Err, ifctl.ErrNoSuchInterface) {
		if s.RetryAt.IsZero() {
			s.RetryAt = now.Add(cfg.restoreRetry())
		}
		return s, append(acts, Action{Kind: Warn, Reason: "restore " + n + " failed, will retry", Err: ev.Err})
	}
	if ev.Err != nil {
		acts = append(acts, Action{Kind: Warn, Reason: "restore " + n + ": interface gone, forgetting it", Err: ev.Err})
	}
	s.Shed = without(s.Shed, n)
	acts = append(acts, Action{Kind: SaveShed, Interfaces: slices.Clone(s.Shed)})
	if s.OnBattery && !s.FSD && slices.Contains(cfg.ShedInterfaces, n) && ev.Err == nil {
		// Mains was lost again while the Up was under way.
		s.Shedding = with(s.Shedding, n)
		acts = append(acts, Action{Kind: Shed, Interface: n})
	}
	return s, acts
}

// deadlines runs whatever is due at now.
func (s State) deadlines(cfg Config, now time.Time, acts []Action) (State, []Action) {
	if !s.OnBatteryAt.IsZero() && !now.Before(s.OnBatteryAt) {
		s.OnBatteryAt = time.Time{}
		s.OnBattery = true
		acts = slices.Grow(acts, len(cfg.ShedInterfaces)+3)
		acts = append(acts, Action{Kind: Announce, Event: EventOnBattery, Reason: "on battery for on_battery_delay"})
		if !s.FSD {
			var shedding []string // one new array for the whole batch
			for _, n := range cfg.ShedInterfaces {
				if !slices.Contains(s.Shed, n) && !slices.Contains(s.Shedding, n) {
					if shedding == nil {
						shedding = make([]string, len(s.Shedding), len(s.Shedding)+len(cfg.ShedInterfaces))
						copy(shedding, s.Shedding)
					}
					shedding = append(shedding, n)
					acts = append(acts, Action{Kind: Shed, Interface: n})
				}
			}
			if shedding != nil {
				s.Shedding = shedding
			}
		}
	}
	if s.OnBattery && s.low(cfg) && !s.LowAnnounced {
		s.LowAnnounced = true
		acts = append(acts, Action{Kind: Announce, Event: EventLowBattery, Reason: s.lowReason(cfg)})
	}
	if s.OnBattery && !s.FSD && s.low(cfg) {
		s.FSD, s.FSDAt = true, now
		s.ShutdownAt = now.Add(cfg.ShutdownGrace)
		s.RetryAt = time.Time{}
		reason := s.lowReason(cfg)
		acts = append(acts,
			Action{Kind: Announce, Event: EventShutdown, Reason: reason},
			Action{Kind: RunShutdownHooks, Reason: reason})
	}
	if s.FSD && !s.ShutdownAt.IsZero() && !now.Before(s.ShutdownAt) {
		s.ShutdownAt = time.Time{}
		acts = append(acts, Action{Kind: RunShutdownCommand, Reason: "shutdown grace over"})
	}
	if !s.RetryAt.IsZero() && !now.Before(s.RetryAt) {
		s.RetryAt = time.Time{}
		acts = s.restoreAll(acts)
	}
	return s, acts
}

// low reports LB: the low line / Critical level, or charge at or below
// CriticalPercent.
func (s State) low(cfg Config) bool {
	return s.Power.Low || s.Power.Percent >= 0 && s.Power.Percent <= cfg.CriticalPercent
}

func (s State) lowReason(cfg Config) string {
	if s.Power.Low {
		return "battery low"
	}
	return fmt.Sprintf("battery at %d%%, critical at %d%%", s.Power.Percent, cfg.CriticalPercent)
}

// with returns list plus n in a new array (never appending in place).
func with(list []string, n string) []string {
	return append(list[:len(list):len(list)], n)
}

// without returns list minus n, in a new array if n was there.
func without(list []string, n string) []string {
	i := slices.Index(list, n)
	if i < 0 {
		return list
	}
	out := make([]string, 0, len(list)-1)
	out = append(out, list[:i]...)
	return append(out, list[i+1:]...)
}
