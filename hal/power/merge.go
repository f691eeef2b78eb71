package power

// Lines holds the logical levels of the board's power lines; nil means the
// board has no such line.
type Lines struct {
	MainsPresent *bool
	OnBattery    *bool
	BatteryLow   *bool
}

// Merge combines line levels and supplies into one State:
//
//   - Source: the GPIO lines win when the board has them (fast, and wired
//     for this purpose): Battery if mains-present is inactive or on-battery
//     is active, else Mains. Without lines: Mains if any external supply
//     (Mains, USB, Wireless) is online; Battery if external supplies exist
//     and none is online; without external supplies, from the first
//     battery's status (Discharging → Battery; Charging, Full or
//     Not charging → Mains); else Unknown.
//   - Percent: the mean capacity of the present batteries that report one,
//     else -1.
//   - Low: the battery-low line is active, or a battery's capacity level is
//     Critical.
func Merge(l Lines, supplies []Supply) State {
	s := State{Source: Unknown, Percent: -1}
	if l.MainsPresent != nil || l.OnBattery != nil {
		onBatt := l.MainsPresent != nil && !*l.MainsPresent || l.OnBattery != nil && *l.OnBattery
		s.Source = Mains
		if onBatt {
			s.Source = Battery
		}
	}
	if l.BatteryLow != nil && *l.BatteryLow {
		s.Low = true
	}
	external, online := false, false
	sum, n := 0, 0
	firstBattery := true
	for _, sp := range supplies {
		switch {
		case sp.External():
			if sp.Online >= 0 {
				external = true
			}
			if sp.Online == 1 {
				online = true
			}
		case sp.IsBattery():
			if firstBattery {
				s.Status = sp.Status
				firstBattery = false
			}
			if sp.Capacity >= 0 {
				sum += sp.Capacity
				n++
			}
			if sp.CapacityLevel == "Critical" {
				s.Low = true
			}
		}
	}
	if n > 0 {
		s.Percent = (sum + n/2) / n
	}
	if s.Source == Unknown {
		switch {
		case online:
			s.Source = Mains
		case external:
			s.Source = Battery
		case s.Status == "Discharging":
			s.Source = Battery
		case s.Status == "Charging" || s.Status == "Full" || s.Status == "Not charging":
			s.Source = Mains
		}
	}
	return s
}
