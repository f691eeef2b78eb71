package power_test

import (
	"testing"

	"lifeline/hal/power"
)

func b(v bool) *bool { return &v }

func TestMerge(t *testing.T) {
	ac := func(online int) power.Supply {
		return power.Supply{Name: "AC", Type: "Mains", Online: online, Capacity: -1, Present: -1}
	}
	usb := func(online int) power.Supply {
		return power.Supply{Name: "usb", Type: "USB", Online: online, Capacity: -1, Present: -1}
	}
	bat := func(pct int, status, level string) power.Supply {
		return power.Supply{Name: "BAT", Type: "Battery", Online: -1, Present: 1, Capacity: pct, Status: status, CapacityLevel: level}
	}
	tests := []struct {
		name     string
		lines    power.Lines
		supplies []power.Supply
		want     power.State
	}{
		{"nothing", power.Lines{}, nil, power.State{Percent: -1}},
		{"mains line active", power.Lines{MainsPresent: b(true)}, nil, power.State{Source: power.Mains, Percent: -1}},
		{"mains line inactive", power.Lines{MainsPresent: b(false)}, nil, power.State{Source: power.Battery, Percent: -1}},
		{"on-battery line active", power.Lines{OnBattery: b(true)}, nil, power.State{Source: power.Battery, Percent: -1}},
		{"on-battery line inactive", power.Lines{OnBattery: b(false)}, nil, power.State{Source: power.Mains, Percent: -1}},
		{"lines disagree: battery wins", power.Lines{MainsPresent: b(true), OnBattery: b(true)}, nil, power.State{Source: power.Battery, Percent: -1}},
		{"low line", power.Lines{OnBattery: b(true), BatteryLow: b(true)}, nil, power.State{Source: power.Battery, Percent: -1, Low: true}},
		{"line beats supply", power.Lines{MainsPresent: b(false)}, []power.Supply{ac(1)}, power.State{Source: power.Battery, Percent: -1}},
		{"ac online", power.Lines{}, []power.Supply{ac(1), bat(50, "Charging", "Normal")}, power.State{Source: power.Mains, Percent: 50, Status: "Charging"}},
		{"ac offline", power.Lines{}, []power.Supply{ac(0), bat(50, "Discharging", "Normal")}, power.State{Source: power.Battery, Percent: 50, Status: "Discharging"}},
		{"ac offline usb online", power.Lines{}, []power.Supply{ac(0), usb(1)}, power.State{Source: power.Mains, Percent: -1}},
		{"ac online unknown", power.Lines{}, []power.Supply{ac(-1), bat(50, "Discharging", "")}, power.State{Source: power.Battery, Percent: 50, Status: "Discharging"}},
		{"battery full", power.Lines{}, []power.Supply{bat(100, "Full", "Full")}, power.State{Source: power.Mains, Percent: 100, Status: "Full"}},
		{"battery unknown status", power.Lines{}, []power.Supply{bat(60, "Unknown", "")}, power.State{Source: power.Unknown, Percent: 60, Status: "Unknown"}},
		{"critical level", power.Lines{}, []power.Supply{ac(0), bat(3, "Discharging", "Critical")}, power.State{Source: power.Battery, Percent: 3, Low: true, Status: "Discharging"}},
		{"two batteries mean", power.Lines{}, []power.Supply{bat(40, "Discharging", ""), bat(61, "Discharging", "")}, power.State{Source: power.Battery, Percent: 51, Status: "Discharging"}},
		{"absent battery ignored", power.Lines{}, []power.Supply{{Type: "Battery", Present: 0, Capacity: 10, Status: "Discharging"}}, power.State{Percent: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := power.Merge(tc.lines, tc.supplies); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseSupply(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  power.Supply
	}{
		{"mains", map[string]string{"type": "Mains\n", "online": "1\n"},
			power.Supply{Name: "x", Type: "Mains", Online: 1, Present: -1, Capacity: -1}},
		{"usb online 2", map[string]string{"type": "USB\n", "online": "2\n"},
			power.Supply{Name: "x", Type: "USB", Online: 1, Present: -1, Capacity: -1}},
		{"battery", map[string]string{"type": "Battery\n", "present": "1\n", "capacity": "42\n", "status": "Not charging\n", "capacity_level": "Low\n"},
			power.Supply{Name: "x", Type: "Battery", Online: -1, Present: 1, Capacity: 42, Status: "Not charging", CapacityLevel: "Low"}},
		{"garbage capacity", map[string]string{"type": "Battery", "capacity": "lots"},
			power.Supply{Name: "x", Type: "Battery", Online: -1, Present: -1, Capacity: -1}},
		{"capacity out of range", map[string]string{"type": "Battery", "capacity": "101"},
			power.Supply{Name: "x", Type: "Battery", Online: -1, Present: -1, Capacity: -1}},
		{"negative online", map[string]string{"type": "Mains", "online": "-3"},
			power.Supply{Name: "x", Type: "Mains", Online: -1, Present: -1, Capacity: -1}},
		{"binary status", map[string]string{"type": "Battery", "status": "Dis\x00charging"},
			power.Supply{Name: "x", Type: "Battery", Online: -1, Present: -1, Capacity: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := power.ParseSupply("x", tc.files); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseSupply(f *testing.F) {
	f.Add("Battery\n", "1\n", "57\n", "Discharging\n", "Normal\n")
	f.Add("Mains\n", "0\n", "", "", "")
	f.Add("USB", "9999999999999999999999", "-1", "\xff", "Critical")
	f.Fuzz(func(t *testing.T, typ, online, capacity, status, level string) {
		s := power.ParseSupply("f", map[string]string{"type": typ, "online": online, "capacity": capacity, "status": status, "capacity_level": level, "present": online})
		if s.Capacity < -1 || s.Capacity > 100 {
			t.Errorf("capacity %d out of range", s.Capacity)
		}
		if s.Online < -1 || s.Online > 1 || s.Present < -1 || s.Present > 1 {
			t.Errorf("online %d present %d out of range", s.Online, s.Present)
		}
		st := power.Merge(power.Lines{}, []power.Supply{s})
		if st.Percent < -1 || st.Percent > 100 {
			t.Errorf("merged percent %d", st.Percent)
		}
	})
}

func TestStateString(t *testing.T) {
	tests := []struct {
		name string
		s    power.State
		want string
	}{
		{"unknown", power.State{Percent: -1}, "unknown"},
		{"full", power.State{Source: power.Battery, Percent: 57, Low: true, Status: "Discharging"}, "battery 57% low (Discharging)"},
		{"mains", power.State{Source: power.Mains, Percent: -1}, "mains"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
