package daemon

import "time"

// Status is the document of `lifeline status --json` and status.json
// (DESIGN.md contract: fields may be added, never removed or renamed).
type Status struct {
	Route    Route          `json:"route"`
	Reason   string         `json:"reason"`
	Since    time.Time      `json:"since"`
	Degraded bool           `json:"degraded"`
	Power    PowerStatus    `json:"power"`
	WAN      WANStatus      `json:"wan"`
	Line     LineStatus     `json:"line"`
	Override OverrideStatus `json:"override"`
	Calls    []CallStatus   `json:"calls"` // [] when none
	Board    string         `json:"board"`
	Version  string         `json:"version"`
	Storage  StorageStatus  `json:"storage"`
}

// StorageStatus says whether the state and persist dirs hold the latest
// state: Unsaved lists the files whose last write failed (they are
// retried), Error the last failure.
type StorageStatus struct {
	OK      bool     `json:"ok"`
	Unsaved []string `json:"unsaved"` // [] when ok
	Error   string   `json:"error,omitempty"`
}

// CallStatus is a call in progress on the line gateway.
type CallStatus struct {
	Direction string    `json:"direction"` // out: from SIP to the line; in: from the line
	Number    string    `json:"number"`    // as dialled on the line, or the caller's
	Codec     string    `json:"codec"`     // RTP codec: PCMA | PCMU
	Format    string    `json:"format"`    // the modem's sample format
	Started   time.Time `json:"started"`   // when the line answered
}

// PowerStatus is the power part of Status.
type PowerStatus struct {
	Source           string   `json:"source"`          // mains | battery | unknown
	BatteryPercent   *int     `json:"battery_percent"` // null when unknown
	Flags            []string `json:"flags"`           // OL, OB, LB, FSD
	OnBatterySeconds *int64   `json:"on_battery_seconds,omitempty"`
	MinutesLeft      *int     `json:"minutes_left,omitempty"`
	Shed             []string `json:"shed,omitempty"` // interfaces Lifeline took down
}

// WANStatus is the WAN and provider part of Status.
type WANStatus struct {
	Interface      string   `json:"interface"`
	Link           string   `json:"link"` // up | down | absent
	Carrier        bool     `json:"carrier"`
	OperState      string   `json:"operstate,omitempty"`
	Addresses      []string `json:"addresses,omitempty"`
	DefaultRoute   bool     `json:"default_route"`
	Provider       string   `json:"provider"` // up | down | unprobed
	ProviderHost   string   `json:"provider_host,omitempty"`
	RTTms          *float64 `json:"rtt_ms"`
	ProviderLosses int      `json:"provider_losses"`
}

// LineStatus is the fallback line part of Status. A cellular line adds
// its audio port, the reason for its state and CellularStatus's fields;
// they are absent for a modem's line.
type LineStatus struct {
	Device      string `json:"device"`
	Profile     string `json:"profile"`
	State       string `json:"state"`
	AudioDevice string `json:"audio_device,omitempty"`
	// Reason says why the line is in its state ("not registered:
	// searching", "no SIM", "SIM PIN required" …); "" when the line kind
	// does not say.
	Reason string `json:"reason,omitempty"`
	*CellularStatus
}

// CellularStatus is a cellular module's health, inlined in LineStatus.
// Empty strings are not known yet (before the first check).
type CellularStatus struct {
	// Registration: home | roaming | searching | denied | not-registered
	// | unknown | sms-only-home | sms-only-roaming | emergency-only.
	Registration string `json:"registration"`
	Operator     string `json:"operator"`
	SignalDBm    *int   `json:"signal_dbm"` // null when the module does not know
	Technology   string `json:"technology"` // 2G | 3G | 4G | 5G
	// SIM: ready | pin-required | puk-required | absent | blocked.
	SIM string `json:"sim"`
	// VoLTE: on | off | unknown (the profile has no check, or it has not
	// run).
	VoLTE string `json:"volte"`
}

// OverrideStatus is the override part of Status; Until and Source are null
// in auto mode.
type OverrideStatus struct {
	Mode   Mode       `json:"mode"`
	Until  *time.Time `json:"until"`
	Source *string    `json:"source"`
}

func overrideStatus(o Override) OverrideStatus {
	s := OverrideStatus{Mode: o.Mode}
	if o.Mode == ModeAuto || o.Mode == "" {
		s.Mode = ModeAuto
		return s
	}
	if !o.Until.IsZero() {
		u := o.Until.UTC()
		s.Until = &u
	}
	if o.Source != "" {
		src := o.Source
		s.Source = &src
	}
	return s
}
