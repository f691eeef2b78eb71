package powerpolicy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/daemon/powerpolicy"
	"lifeline/hal/ifctl"
	"lifeline/hal/power"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func mains(pct int) powerpolicy.Event {
	return powerpolicy.ReadingEvent(power.State{Source: power.Mains, Percent: pct})
}
func battery(pct int) powerpolicy.Event {
	return powerpolicy.ReadingEvent(power.State{Source: power.Battery, Percent: pct})
}
func batteryLow(pct int) powerpolicy.Event {
	return powerpolicy.ReadingEvent(power.State{Source: power.Battery, Percent: pct, Low: true})
}

var cfg = powerpolicy.Config{
	OnBatteryDelay:  2 * time.Second,
	CriticalPercent: 10,
	ShedInterfaces:  []string{"wlan1", "lan4"},
	ShutdownGrace:   30 * time.Second,
	RestoreRetry:    10 * time.Second,
}

// run applies ev at now and, when act is set, carries out Shed and Restore
// actions on it at once, feeding the results back — a synchronous model of
// the daemon's loop. It returns every action, as strings, in order.
func run(c powerpolicy.Config, s powerpolicy.State, ev powerpolicy.Event, now time.Time, act ifctl.Actuator) (powerpolicy.State, []string) {
	var out []string
	queue := []powerpolicy.Event{ev}
	for len(queue) > 0 {
		var acts []powerpolicy.Action
		s, acts = powerpolicy.Step(c, s, queue[0], now)
		queue = queue[1:]
		for _, a := range acts {
			out = append(out, a.String())
			if act == nil {
				continue
			}
			if ev, ok := powerpolicy.Carry(a, act); ok {
				queue = append(queue, ev)
			}
		}
	}
	return s, out
}

type step struct {
	at   time.Duration // since t0
	ev   powerpolicy.Event
	want []string // actions; nil = none
	// optional checks after the step
	deadline time.Duration // expected NextDeadline since t0; 0 = none
	flags    string        // expected flags joined by " "; "-" = don't check
}

func TestRules(t *testing.T) {
	tick := powerpolicy.TickEvent()
	tests := []struct {
		name   string
		cfg    *powerpolicy.Config // default cfg
		start  powerpolicy.State
		links  map[string]bool // the fake actuator's interfaces; nil = manual results
		steps  []step
		finish map[string]bool // expected link states at the end
	}{
		{
			name:  "outage shorter than the delay sheds nothing",
			links: map[string]bool{"wlan1": true, "lan4": true},
			steps: []step{
				{0, mains(100), nil, 0, "OL"},
				{time.Second, battery(100), []string{"announce powerout"}, 3 * time.Second, "OB"},
				{2500 * time.Millisecond, mains(100), []string{"announce mainsback"}, 0, "OL"},
				{5 * time.Second, tick, nil, 0, "-"},
			},
			finish: map[string]bool{"wlan1": true, "lan4": true},
		},
		{
			name:  "outage beyond the delay sheds, mains restores",
			links: map[string]bool{"wlan1": true, "lan4": true},
			steps: []step{
				{0, battery(90), []string{"announce powerout"}, 2 * time.Second, "OB"},
				{time.Second, tick, nil, 2 * time.Second, "OB"},
				{2 * time.Second, tick, []string{"announce onbattery", "shed wlan1", "shed lan4",
					`save ["wlan1"]`, `save ["wlan1" "lan4"]`}, 0, "OB"},
				{time.Minute, mains(80), []string{"announce mainsback", "restore wlan1", "restore lan4",
					`save ["lan4"]`, `save []`}, 0, "OL"},
			},
			finish: map[string]bool{"wlan1": true, "lan4": true},
		},
		{
			name:  "zero delay sheds on the reading itself",
			cfg:   &powerpolicy.Config{ShedInterfaces: []string{"wlan1"}},
			links: map[string]bool{"wlan1": true},
			steps: []step{
				{0, battery(-1), []string{"announce powerout", "announce onbattery", "shed wlan1", `save ["wlan1"]`}, 0, "OB"},
			},
			finish: map[string]bool{"wlan1": false},
		},
		{
			name:  "interface the admin had down stays down",
			links: map[string]bool{"wlan1": true, "lan4": false},
			steps: []step{
				{0, battery(90), []string{"announce powerout"}, 2 * time.Second, "-"},
				{2 * time.Second, tick, []string{"announce onbattery", "shed wlan1", "shed lan4", `save ["wlan1"]`}, 0, "-"},
				{time.Minute, mains(90), []string{"announce mainsback", "restore wlan1", `save []`}, 0, "-"},
			},
			finish: map[string]bool{"wlan1": true, "lan4": false},
		},
		{
			name: "failed shed is not recorded",
			steps: []step{
				{0, battery(90), []string{"announce powerout"}, 2 * time.Second, "-"},
				{2 * time.Second, tick, []string{"announce onbattery", "shed wlan1", "shed lan4"}, 0, "-"},
				{2 * time.Second, powerpolicy.ShedDoneEvent("wlan1", true, ifctl.ErrPermission), []string{"warn shed wlan1 failed"}, 0, "-"},
				{2 * time.Second, powerpolicy.ShedDoneEvent("lan4", true, nil), []string{`save ["lan4"]`}, 0, "-"},
				{time.Minute, mains(90), []string{"announce mainsback", "restore lan4"}, 0, "-"},
			},
		},
		{
			name:  "failed restore is retried, a vanished interface forgotten",
			start: powerpolicy.Resume([]string{"wlan1", "lan4"}),
			steps: []step{
				{0, mains(90), []string{"restore wlan1", "restore lan4"}, 0, "-"},
				{0, powerpolicy.RestoreDoneEvent("wlan1", errors.New("EIO")), []string{"warn restore wlan1 failed, will retry"}, 10 * time.Second, "-"},
				{0, powerpolicy.RestoreDoneEvent("lan4", fmt.Errorf("up: %w", ifctl.ErrNoSuchInterface)),
					[]string{"warn restore lan4: interface gone, forgetting it", `save ["wlan1"]`}, 10 * time.Second, "-"},
				{10 * time.Second, tick, []string{"restore wlan1"}, 0, "-"},
				{10 * time.Second, powerpolicy.RestoreDoneEvent("wlan1", nil), []string{`save []`}, 0, "-"},
			},
		},
		{
			name: "mains back while a shed is under way restores it when done",
			cfg:  &powerpolicy.Config{ShedInterfaces: []string{"wlan1"}},
			steps: []step{
				{0, battery(90), []string{"announce powerout", "announce onbattery", "shed wlan1"}, 0, "-"},
				{time.Millisecond, mains(90), []string{"announce mainsback"}, 0, "OL"},
				{2 * time.Millisecond, powerpolicy.ShedDoneEvent("wlan1", true, nil), []string{`save ["wlan1"]`, "restore wlan1"}, 0, "-"},
				{3 * time.Millisecond, powerpolicy.RestoreDoneEvent("wlan1", nil), []string{`save []`}, 0, "-"},
			},
		},
		{
			name:  "mains lost again while a restore is under way sheds again",
			cfg:   &powerpolicy.Config{ShedInterfaces: []string{"wlan1"}},
			start: powerpolicy.Resume([]string{"wlan1"}),
			steps: []step{
				{0, mains(90), []string{"restore wlan1"}, 0, "-"},
				{time.Millisecond, battery(90), []string{"announce powerout", "announce onbattery"}, 0, "-"},
				{2 * time.Millisecond, powerpolicy.RestoreDoneEvent("wlan1", nil), []string{`save []`, "shed wlan1"}, 0, "-"},
			},
		},
		{
			name:  "critical percent: hooks, then the command after the grace",
			links: map[string]bool{"wlan1": true, "lan4": true},
			steps: []step{
				{0, battery(12), []string{"announce powerout"}, 2 * time.Second, "OB"},
				{2 * time.Second, tick, []string{"announce onbattery", "shed wlan1", "shed lan4", `save ["wlan1"]`, `save ["wlan1" "lan4"]`}, 0, "OB"},
				{time.Minute, battery(11), nil, 0, "OB"},
				{2 * time.Minute, battery(10), []string{"announce lowbattery", "announce shutdown", "shutdown hooks"}, 2*time.Minute + 30*time.Second, "OB LB FSD"},
				{2*time.Minute + 29*time.Second, tick, nil, 2*time.Minute + 30*time.Second, "-"},
				{2*time.Minute + 30*time.Second, tick, []string{"shutdown command"}, 0, "OB LB FSD"},
				{3 * time.Minute, battery(5), nil, 0, "-"},
			},
		},
		{
			name: "battery-low line: FSD whatever the percent",
			steps: []step{
				{0, battery(-1), []string{"announce powerout"}, 2 * time.Second, "OB"},
				{time.Second, batteryLow(-1), nil, 2 * time.Second, "OB LB"},
				{2 * time.Second, tick, []string{"announce onbattery", "shed wlan1", "shed lan4", "announce lowbattery",
					"announce shutdown", "shutdown hooks"}, 32 * time.Second, "OB LB FSD"},
			},
		},
		{
			name:  "FSD is not cancelled by mains, nothing restored",
			links: map[string]bool{"wlan1": true, "lan4": true},
			steps: []step{
				{0, batteryLow(3), []string{"announce powerout"}, 2 * time.Second, "-"},
				{2 * time.Second, tick, []string{"announce onbattery", "shed wlan1", "shed lan4", "announce lowbattery",
					"announce shutdown", "shutdown hooks", `save ["wlan1"]`, `save ["wlan1" "lan4"]`}, 32 * time.Second, "OB LB FSD"},
				{3 * time.Second, mains(3), []string{"announce mainsback"}, 32 * time.Second, "OL LB FSD"},
				{4 * time.Second, battery(3), []string{"announce powerout"}, 6 * time.Second, "OB LB FSD"},
				{5 * time.Second, mains(3), []string{"announce mainsback"}, 32 * time.Second, "OL LB FSD"},
				{32 * time.Second, tick, []string{"shutdown command"}, 0, "OL LB FSD"},
			},
			finish: map[string]bool{"wlan1": false, "lan4": false},
		},
		{
			name: "critical charge on mains is no shutdown",
			steps: []step{
				{0, mains(2), nil, 0, "OL LB"},
				{time.Hour, powerpolicy.ReadingEvent(power.State{Source: power.Mains, Percent: 2, Low: true}), nil, 0, "OL LB"},
			},
		},
		{
			name: "critical within the delay waits for the delay",
			cfg:  &powerpolicy.Config{OnBatteryDelay: 5 * time.Second, CriticalPercent: 10, ShutdownGrace: time.Second},
			steps: []step{
				{0, battery(5), []string{"announce powerout"}, 5 * time.Second, "OB LB"},
				{4 * time.Second, mains(5), []string{"announce mainsback"}, 0, "OL LB"},
				{10 * time.Second, battery(5), []string{"announce powerout"}, 15 * time.Second, "OB LB"},
				{15 * time.Second, tick, []string{"announce onbattery", "announce lowbattery", "announce shutdown", "shutdown hooks"}, 16 * time.Second, "OB LB FSD"},
			},
		},
		{
			name:  "restart: persisted interfaces restored on the first mains reading",
			start: powerpolicy.Resume([]string{"wlan1", "wlan1", "guest0"}),
			links: map[string]bool{"wlan1": false, "lan4": false, "guest0": false},
			steps: []step{
				{0, mains(100), []string{"restore wlan1", "restore guest0", `save ["guest0"]`, `save []`}, 0, "OL"},
			},
			finish: map[string]bool{"wlan1": true, "lan4": false, "guest0": true},
		},
		{
			name:  "restart on battery: persisted stay down, the rest shed, all restored",
			start: powerpolicy.Resume([]string{"wlan1"}),
			links: map[string]bool{"wlan1": false, "lan4": true},
			steps: []step{
				{0, battery(50), []string{"announce powerout"}, 2 * time.Second, "OB"},
				{2 * time.Second, tick, []string{"announce onbattery", "shed lan4", `save ["wlan1" "lan4"]`}, 0, "OB"},
				{time.Minute, mains(50), []string{"announce mainsback", "restore wlan1", "restore lan4", `save ["lan4"]`, `save []`}, 0, "OL"},
			},
			finish: map[string]bool{"wlan1": true, "lan4": true},
		},
		{
			name: "unknown source changes nothing",
			steps: []step{
				{0, powerpolicy.ReadingEvent(power.State{Percent: -1}), nil, 0, ""},
				{time.Second, battery(50), []string{"announce powerout"}, 3 * time.Second, "OB"},
				{2 * time.Second, powerpolicy.ReadingEvent(power.State{Percent: -1}), nil, 3 * time.Second, ""},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			if tc.cfg != nil {
				c = *tc.cfg
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			var act ifctl.Actuator
			var fake *ifctl.Fake
			if tc.links != nil {
				fake = ifctl.NewFake(tc.links)
				act = fake
			}
			s := tc.start
			for i, st := range tc.steps {
				var got []string
				s, got = run(c, s, st.ev, t0.Add(st.at), act)
				if !slices.Equal(got, st.want) {
					t.Errorf("step %d (+%v): actions\n got %q\nwant %q", i, st.at, got, st.want)
				}
				d, ok := s.NextDeadline()
				switch {
				case st.deadline == 0 && ok:
					t.Errorf("step %d: deadline %v, want none", i, d.Sub(t0))
				case st.deadline != 0 && (!ok || !d.Equal(t0.Add(st.deadline))):
					t.Errorf("step %d: deadline %v (%v), want %v", i, d.Sub(t0), ok, st.deadline)
				}
				if st.flags != "-" {
					if f := strings.Join(s.Flags(c), " "); f != st.flags {
						t.Errorf("step %d: flags %q, want %q", i, f, st.flags)
					}
				}
			}
			for name, want := range tc.finish {
				if up, _ := fake.State(name); up != want {
					t.Errorf("%s up = %v, want %v", name, up, want)
				}
			}
		})
	}
}

func TestStepDoesNotModifyItsInput(t *testing.T) {
	s0 := powerpolicy.Resume([]string{"wlan1", "lan4"})
	s1, _ := powerpolicy.Step(cfg, s0, mains(100), t0)
	s2, _ := powerpolicy.Step(cfg, s1, powerpolicy.RestoreDoneEvent("wlan1", nil), t0)
	if !slices.Equal(s0.Shed, []string{"wlan1", "lan4"}) || len(s0.Restoring) != 0 {
		t.Errorf("s0 changed: %+v", s0)
	}
	if !slices.Equal(s1.Shed, []string{"wlan1", "lan4"}) || !slices.Equal(s1.Restoring, []string{"wlan1", "lan4"}) {
		t.Errorf("s1 changed: %+v", s1)
	}
	if !slices.Equal(s2.Shed, []string{"lan4"}) || !slices.Equal(s2.Restoring, []string{"lan4"}) {
		t.Errorf("s2 = %+v", s2)
	}
}

func TestStatus(t *testing.T) {
	var s powerpolicy.State
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	steps := []struct {
		name     string
		at       time.Duration
		ev       powerpolicy.Event
		want     powerpolicy.Status
		statusAt time.Duration
	}{
		{"on mains", 0, mains(100), powerpolicy.Status{Source: "mains", Percent: 100, Flags: []string{"OL"}, MinutesLeft: -1}, 0},
		{"lost, one reading", time.Minute, battery(100), powerpolicy.Status{Source: "battery", Percent: 100, Flags: []string{"OB"}, OnBattery: 30 * time.Second, MinutesLeft: -1}, 90 * time.Second},
		{"same percent later: rate unknown", 3 * time.Minute, battery(100), powerpolicy.Status{Source: "battery", Percent: 100, Flags: []string{"OB"}, OnBattery: 2 * time.Minute, MinutesLeft: -1}, 3 * time.Minute},
		{"10% in 10 min: 90 min left", 11 * time.Minute, battery(90), powerpolicy.Status{Source: "battery", Percent: 90, Flags: []string{"OB"}, OnBattery: 10 * time.Minute, MinutesLeft: 90}, 11 * time.Minute},
		{"5 min later, no new reading", 11 * time.Minute, powerpolicy.TickEvent(), powerpolicy.Status{Source: "battery", Percent: 90, Flags: []string{"OB"}, OnBattery: 15 * time.Minute, MinutesLeft: 85}, 16 * time.Minute},
		{"rate from first to latest", 21 * time.Minute, battery(70), powerpolicy.Status{Source: "battery", Percent: 70, Flags: []string{"OB"}, OnBattery: 20 * time.Minute, MinutesLeft: 46}, 21 * time.Minute},
		{"mains again: no estimate", 22 * time.Minute, mains(70), powerpolicy.Status{Source: "mains", Percent: 70, Flags: []string{"OL"}, MinutesLeft: -1}, 22 * time.Minute},
	}
	c := powerpolicy.Config{OnBatteryDelay: time.Hour, CriticalPercent: 5}
	for _, st := range steps {
		s, _ = powerpolicy.Step(c, s, st.ev, at(st.at))
		got := s.Status(c, at(st.statusAt))
		if got.Source != st.want.Source || got.Percent != st.want.Percent || !slices.Equal(got.Flags, st.want.Flags) ||
			got.OnBattery != st.want.OnBattery || got.MinutesLeft != st.want.MinutesLeft {
			t.Errorf("%s: status %+v, want %+v", st.name, got, st.want)
		}
	}
	if got := (powerpolicy.State{}).Status(c, t0); got.Percent != -1 || got.Source != "unknown" || len(got.Flags) != 0 {
		t.Errorf("zero state status %+v", got)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  powerpolicy.Config
		ok   bool
	}{
		{"defaults", powerpolicy.Config{}, true},
		{"full", cfg, true},
		{"negative delay", powerpolicy.Config{OnBatteryDelay: -1}, false},
		{"percent over 100", powerpolicy.Config{CriticalPercent: 101}, false},
		{"negative percent", powerpolicy.Config{CriticalPercent: -1}, false},
		{"negative grace", powerpolicy.Config{ShutdownGrace: -time.Second}, false},
		{"bad interface", powerpolicy.Config{ShedInterfaces: []string{"wlan 1"}}, false},
		{"duplicate interface", powerpolicy.Config{ShedInterfaces: []string{"wlan1", "wlan1"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != tc.ok || err != nil && !errors.Is(err, powerpolicy.ErrConfig) {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestPolicyWrapper(t *testing.T) {
	p := &powerpolicy.Policy{Config: cfg, State: powerpolicy.Resume(nil)}
	if acts := p.Handle(battery(50), t0); len(acts) != 1 || acts[0].Event != powerpolicy.EventPowerOut {
		t.Errorf("acts %v", acts)
	}
	if d, ok := p.NextDeadline(); !ok || !d.Equal(t0.Add(2*time.Second)) {
		t.Errorf("deadline %v %v", d, ok)
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStatusJSON(t *testing.T) {
	tests := []struct {
		name string
		st   powerpolicy.Status
		want string
	}{
		{"on mains", powerpolicy.Status{Source: "mains", Percent: 87, Flags: []string{"OL"}, MinutesLeft: -1},
			`{"source":"mains","battery_percent":87,"flags":["OL"],"on_battery_seconds":0,"minutes_left":null,"shed":[]}`},
		{"on battery", powerpolicy.Status{Source: "battery", Percent: -1, Flags: []string{"OB", "LB"}, OnBattery: 90 * time.Second, MinutesLeft: 12, Shed: []string{"wlan1"}},
			`{"source":"battery","battery_percent":null,"flags":["OB","LB"],"on_battery_seconds":90,"minutes_left":12,"shed":["wlan1"]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.st)
			if err != nil || string(b) != tc.want {
				t.Errorf("got %s, %v\nwant %s", b, err, tc.want)
			}
		})
	}
}
