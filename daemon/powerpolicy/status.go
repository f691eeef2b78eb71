package powerpolicy

import (
	"encoding/json"
	"slices"
	"time"

	"lifeline/hal/power"
)

// Status is what `lifeline status` shows of the power.
type Status struct {
	Source  string   // "mains", "battery" or "unknown"
	Percent int      // -1 unknown
	Flags   []string // in order: OL, OB, LB, FSD
	// OnBattery is the time since mains was lost (0 on mains).
	OnBattery time.Duration
	// MinutesLeft is the estimated runtime at the measured discharge
	// rate, -1 until two different capacity readings on battery.
	MinutesLeft int
	// Shed are the interfaces Lifeline took down.
	Shed []string
}

// Flags returns the NUT-style flags.
func (s State) Flags(cfg Config) []string {
	var f []string
	switch s.Power.Source {
	case power.Mains:
		f = append(f, "OL")
	case power.Battery:
		f = append(f, "OB")
	}
	if s.Known && s.low(cfg) {
		f = append(f, "LB")
	}
	if s.FSD {
		f = append(f, "FSD")
	}
	return f
}

// Status summarises s at now.
func (s State) Status(cfg Config, now time.Time) Status {
	st := Status{
		Source:      s.Power.Source.String(),
		Percent:     -1,
		Flags:       s.Flags(cfg),
		MinutesLeft: -1,
		Shed:        slices.Clone(s.Shed),
	}
	if s.Known {
		st.Percent = s.Power.Percent
	}
	if !s.LostAt.IsZero() {
		st.OnBattery = now.Sub(s.LostAt)
	}
	if m, ok := s.minutesLeft(now); ok {
		st.MinutesLeft = m
	}
	return st
}

// minutesLeft estimates the runtime to 0 % from the mean discharge rate
// since the first capacity reading on battery, counted from the latest.
func (s State) minutesLeft(now time.Time) (int, bool) {
	if s.LostAt.IsZero() || s.firstAt.IsZero() || !s.lastAt.After(s.firstAt) || s.lastPct >= s.firstPct {
		return 0, false
	}
	perMinute := float64(s.firstPct-s.lastPct) / s.lastAt.Sub(s.firstAt).Minutes()
	left := float64(s.lastPct)/perMinute - now.Sub(s.lastAt).Minutes()
	if left < 0 {
		left = 0
	}
	return int(left), true
}

// MarshalJSON renders the status for `lifeline status --json` (the "power"
// object of DESIGN.md): source, battery_percent (null when unknown), flags,
// on_battery_seconds, minutes_left (null when unknown) and shed.
func (st Status) MarshalJSON() ([]byte, error) {
	type out struct {
		Source           string   `json:"source"`
		Percent          *int     `json:"battery_percent"`
		Flags            []string `json:"flags"`
		OnBatterySeconds int64    `json:"on_battery_seconds"`
		MinutesLeft      *int     `json:"minutes_left"`
		Shed             []string `json:"shed"`
	}
	o := out{Source: st.Source, Flags: st.Flags, OnBatterySeconds: int64(st.OnBattery / time.Second), Shed: st.Shed}
	if st.Percent >= 0 {
		o.Percent = &st.Percent
	}
	if st.MinutesLeft >= 0 {
		o.MinutesLeft = &st.MinutesLeft
	}
	if o.Flags == nil {
		o.Flags = []string{}
	}
	if o.Shed == nil {
		o.Shed = []string{}
	}
	return json.Marshal(o)
}
