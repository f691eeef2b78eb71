package power_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/hal/clock"
	"lifeline/hal/gpio"
	"lifeline/hal/gpio/gpiotest"
	"lifeline/hal/power"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// sysfs is a fake /sys/class/power_supply tree in a temp dir.
type sysfs struct {
	t   testing.TB
	dir string
}

func newSysfs(t testing.TB) sysfs {
	return sysfs{t: t, dir: filepath.Join(t.TempDir(), "power_supply")}
}

// set writes attribute files of a supply, creating it if needed.
func (s sysfs) set(name string, attrs map[string]string) {
	s.t.Helper()
	p := filepath.Join(s.dir, name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		s.t.Fatal(err)
	}
	for k, v := range attrs {
		if err := os.WriteFile(filepath.Join(p, k), []byte(v+"\n"), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s sysfs) remove(name string) {
	s.t.Helper()
	if err := os.RemoveAll(filepath.Join(s.dir, name)); err != nil {
		s.t.Fatal(err)
	}
}

// states collects Handler calls.
type states chan power.State

func (c states) handle(s power.State) { c <- s }

func (c states) next(t *testing.T) power.State {
	t.Helper()
	select {
	case s := <-c:
		return s
	case <-time.After(5 * time.Second): // safety net only
		t.Fatal("no state delivered")
		return power.State{}
	}
}

func (c states) none(t *testing.T) {
	t.Helper()
	select {
	case s := <-c:
		t.Fatalf("unexpected state %+v", s)
	default:
	}
}

func TestSupplyClass(t *testing.T) {
	fs := newSysfs(t)
	fs.set("AC", map[string]string{"type": "Mains", "online": "1"})
	fs.set("BAT0", map[string]string{"type": "Battery", "present": "1", "capacity": "80",
		"capacity_level": "Normal", "status": "Charging"})
	clk := clock.NewFake(t0)
	got := make(states, 16)
	m, err := power.New(clk, power.Config{SupplyDir: fs.dir, PollInterval: 5 * time.Second}, power.WithHandler(got.handle))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()

	steps := []struct {
		name   string
		change func()
		poll   bool // wait for the poll timer instead of Refresh
		want   power.State
	}{
		{"initial", func() {}, false, power.State{Source: power.Mains, Percent: 80, Status: "Charging"}},
		{"mains lost", func() {
			fs.set("AC", map[string]string{"online": "0"})
			fs.set("BAT0", map[string]string{"status": "Discharging"})
		}, false, power.State{Source: power.Battery, Percent: 80, Status: "Discharging"}},
		{"capacity falls, seen by poll", func() { fs.set("BAT0", map[string]string{"capacity": "75"}) }, true,
			power.State{Source: power.Battery, Percent: 75, Status: "Discharging"}},
		{"critical level", func() {
			fs.set("BAT0", map[string]string{"capacity": "4", "capacity_level": "Critical"})
		}, true, power.State{Source: power.Battery, Percent: 4, Low: true, Status: "Discharging"}},
		{"second battery appears", func() {
			fs.set("BAT1", map[string]string{"type": "Battery", "capacity": "50", "status": "Discharging"})
		}, false, power.State{Source: power.Battery, Percent: 27, Low: true, Status: "Discharging"}},
		{"batteries disappear", func() { fs.remove("BAT0"); fs.remove("BAT1") }, false,
			power.State{Source: power.Battery, Percent: -1}},
		{"mains back", func() { fs.set("AC", map[string]string{"online": "1"}) }, true,
			power.State{Source: power.Mains, Percent: -1}},
		{"mains supply disappears", func() { fs.remove("AC") }, false, power.State{Source: power.Unknown, Percent: -1}},
		{"battery alone, charging", func() {
			fs.set("BAT0", map[string]string{"type": "Battery", "capacity": "90", "status": "Charging"})
		}, false, power.State{Source: power.Mains, Percent: 90, Status: "Charging"}},
		{"whole class gone", func() { os.RemoveAll(fs.dir) }, true, power.State{Source: power.Unknown, Percent: -1}},
	}
	for i, st := range steps {
		st.change()
		if i > 0 {
			if st.poll {
				clk.WaitTimers(1)
				clk.Advance(5 * time.Second)
			} else {
				s, err := m.Refresh(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if s != st.want {
					t.Errorf("%s: Refresh = %+v, want %+v", st.name, s, st.want)
				}
			}
		}
		if s := got.next(t); s != st.want {
			t.Errorf("%s: handler got %+v, want %+v", st.name, s, st.want)
		}
		got.none(t)
	}
	// No change, no call.
	if _, err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	got.none(t)
	m.Close()
	if _, err := m.Refresh(ctx); !errors.Is(err, power.ErrClosed) {
		t.Errorf("Refresh after Close: %v", err)
	}
}

func fakeBoard() *gpiotest.Backend {
	return &gpiotest.Backend{Lines: []*gpiotest.Line{
		{Chip: "gpiochip0", Offset: 0, Name: "ac-ok-n", High: false}, // active-low: low = mains present
		{Chip: "gpiochip0", Offset: 1, Name: "batt-low", High: false},
	}}
}

func TestGPIOLines(t *testing.T) {
	clk := clock.NewFake(t0)
	b := fakeBoard()
	got := make(states, 16)
	const deb = 10 * time.Millisecond
	m, err := power.New(clk, power.Config{
		Opener:       gpio.Debounce(b, clk),
		MainsPresent: &gpio.LineSpec{Offset: -1, Name: "ac-ok-n", ActiveLow: true, Debounce: deb},
		BatteryLow:   &gpio.LineSpec{Chip: "gpiochip0", Offset: 1},
	}, power.WithHandler(got.handle))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if s := got.next(t); s != (power.State{Source: power.Mains, Percent: -1}) {
		t.Errorf("initial %+v", s)
	}
	// 2 ms glitch on the mains line: nothing.
	b.Inject("ac-ok-n", true, time.Second)
	clk.Advance(2 * time.Millisecond)
	b.Inject("ac-ok-n", false, time.Second+2*time.Millisecond)
	clk.Advance(time.Second)
	got.none(t)
	// Real loss.
	b.Inject("ac-ok-n", true, 2*time.Second)
	clk.Advance(deb)
	if s := got.next(t); s != (power.State{Source: power.Battery, Percent: -1}) {
		t.Errorf("after loss %+v", s)
	}
	b.Inject("batt-low", true, 3*time.Second)
	if s := got.next(t); s != (power.State{Source: power.Battery, Percent: -1, Low: true}) {
		t.Errorf("after low %+v", s)
	}
	if s := m.State(); !s.Low || s.Source != power.Battery {
		t.Errorf("State() = %+v", s)
	}
}

func TestMissingLine(t *testing.T) {
	clk := clock.NewFake(t0)
	b := fakeBoard()
	_, err := power.New(clk, power.Config{
		Opener:       b,
		MainsPresent: &gpio.LineSpec{Offset: -1, Name: "ac-ok-n"},
		OnBattery:    &gpio.LineSpec{Offset: -1, Name: "no-such-line"},
	})
	if !errors.Is(err, gpio.ErrLineNotFound) {
		t.Fatalf("err = %v, want ErrLineNotFound", err)
	}
	t.Log(err)
	// The line that did open was released again.
	in, err := b.OpenInput(gpio.LineSpec{Offset: -1, Name: "ac-ok-n"}, nil)
	if err != nil {
		t.Fatalf("mains line left open: %v", err)
	}
	in.Close()
	if _, err := power.New(clk, power.Config{MainsPresent: &gpio.LineSpec{Offset: -1, Name: "x"}}); !errors.Is(err, power.ErrNoOpener) {
		t.Errorf("no opener: %v", err)
	}
}
