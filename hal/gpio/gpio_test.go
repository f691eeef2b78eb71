package gpio_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/hal/clock"
	"lifeline/hal/gpio"
	"lifeline/hal/gpio/gpiotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// edgeSink is a Handler that hands edges to the test goroutine.
type edgeSink chan gpio.Edge

func (s edgeSink) handle(e gpio.Edge) { s <- e }

func (s edgeSink) next(t *testing.T) gpio.Edge {
	t.Helper()
	select {
	case e := <-s:
		return e
	case <-time.After(5 * time.Second): // safety net only
		t.Fatal("no edge delivered")
		return gpio.Edge{}
	}
}

func (s edgeSink) none(t *testing.T) {
	t.Helper()
	select {
	case e := <-s:
		t.Fatalf("unexpected edge %+v", e)
	default:
	}
}

func board() *gpiotest.Backend {
	return &gpiotest.Backend{Lines: []*gpiotest.Line{
		{Chip: "gpiochip0", Offset: 0, Name: "relay"},
		{Chip: "gpiochip0", Offset: 3, Name: "mains", High: true},
		{Chip: "gpiochip1", Offset: 0, Name: "hogged", Busy: true},
		{Chip: "gpiochip1", Offset: 1, Name: "secret", Denied: true},
		{Chip: "gpiochip1", Offset: 2, Name: "mains-n", High: false},
	}}
}

func TestDebounceGlitchIgnoredLossReported(t *testing.T) {
	clk := clock.NewFake(t0)
	b := board()
	sink := make(edgeSink, 8)
	in, err := gpio.Debounce(b, clk).OpenInput(gpio.LineSpec{Offset: -1, Name: "mains", Debounce: 10 * time.Millisecond}, sink.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if got := b.Line("mains").Spec.Debounce; got != 0 {
		t.Errorf("inner line opened with debounce %v, want 0 (software debounce)", got)
	}
	mustRead(t, in, true)

	// A 2 ms glitch: low at 1 s, high again at 1.002 s.
	b.Inject("mains", false, time.Second)
	clk.Advance(2 * time.Millisecond)
	mustRead(t, in, true) // still the debounced level
	b.Inject("mains", true, time.Second+2*time.Millisecond)
	clk.Advance(50 * time.Millisecond)
	sink.none(t)
	mustRead(t, in, true)

	// A real loss: low and staying low.
	b.Inject("mains", false, 2*time.Second)
	clk.Advance(9 * time.Millisecond)
	sink.none(t)
	mustRead(t, in, true)
	clk.Advance(time.Millisecond)
	e := sink.next(t)
	if e.Active || e.Time != 2*time.Second || e.Line != "mains" {
		t.Errorf("edge = %+v, want inactive at 2s on mains", e)
	}
	mustRead(t, in, false)
	sink.none(t)
}

func TestDebounceBouncesRestartPeriod(t *testing.T) {
	clk := clock.NewFake(t0)
	b := board()
	sink := make(edgeSink, 8)
	in, err := gpio.Debounce(b, clk).OpenInput(gpio.LineSpec{Offset: -1, Name: "mains", Debounce: 10 * time.Millisecond}, sink.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	// Contact bounce: low, high, low every 3 ms; settles low at 6 ms.
	for i, high := range []bool{false, true, false} {
		b.Inject("mains", high, time.Duration(i)*3*time.Millisecond)
		clk.Advance(3 * time.Millisecond)
	}
	clk.Advance(6 * time.Millisecond) // 9 ms after the last bounce
	sink.none(t)
	clk.Advance(time.Millisecond)
	if e := sink.next(t); e.Active || e.Time != 6*time.Millisecond {
		t.Errorf("edge = %+v, want inactive stamped 6ms", e)
	}
}

func TestDebounceZeroPassesThrough(t *testing.T) {
	clk := clock.NewFake(t0)
	b := board()
	sink := make(edgeSink, 8)
	in, err := gpio.Debounce(b, clk).OpenInput(gpio.LineSpec{Offset: -1, Name: "mains"}, sink.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	b.Inject("mains", false, 5*time.Millisecond)
	if e := sink.next(t); e.Active || e.Time != 5*time.Millisecond {
		t.Errorf("edge = %+v", e)
	}
}

func TestPolarity(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		activeLow bool
		high      bool
		want      bool
	}{
		{"active-high high", "mains", false, true, true},
		{"active-high low", "mains", false, false, false},
		{"active-low high", "mains-n", true, true, false},
		{"active-low low", "mains-n", true, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := board()
			b.Line(tc.line).High = !tc.high
			sink := make(edgeSink, 2)
			in, err := b.OpenInput(gpio.LineSpec{Offset: -1, Name: tc.line, ActiveLow: tc.activeLow}, sink.handle)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			mustRead(t, in, !tc.want)
			b.Inject(tc.line, tc.high, time.Millisecond)
			if e := sink.next(t); e.Active != tc.want {
				t.Errorf("edge active = %v, want %v", e.Active, tc.want)
			}
			mustRead(t, in, tc.want)
		})
	}
}

func TestOutputSafeLevel(t *testing.T) {
	tests := []struct {
		name      string
		activeLow bool
		safe      bool
		wantHigh  bool
	}{
		{"active-high safe off", false, false, false},
		{"active-high safe on", false, true, true},
		{"active-low safe off", true, false, true},
		{"active-low safe on", true, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := board()
			b.Line("relay").High = !tc.wantHigh
			out, err := b.OpenOutput(gpio.LineSpec{Chip: "gpiochip0", Offset: 0, ActiveLow: tc.activeLow}, tc.safe)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			if b.High("relay") != tc.wantHigh {
				t.Errorf("physical level high=%v, want %v", b.High("relay"), tc.wantHigh)
			}
			if err := out.Write(!tc.safe); err != nil {
				t.Fatal(err)
			}
			if b.High("relay") == tc.wantHigh {
				t.Error("Write did not change the level")
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name     string
		spec     gpio.LineSpec
		want     error
		mentions []string
	}{
		{"missing name", gpio.LineSpec{Offset: -1, Name: "nosuch"}, gpio.ErrLineNotFound, []string{"nosuch", "any chip"}},
		{"missing name on chip", gpio.LineSpec{Chip: "gpiochip1", Offset: -1, Name: "mains"}, gpio.ErrLineNotFound, []string{"gpiochip1", "mains"}},
		{"missing offset", gpio.LineSpec{Chip: "gpiochip0", Offset: 7}, gpio.ErrLineNotFound, []string{"gpiochip0:7"}},
		{"missing chip", gpio.LineSpec{Chip: "gpiochip9", Offset: 0, Name: "x"}, gpio.ErrChipNotFound, []string{"gpiochip9"}},
		{"busy", gpio.LineSpec{Offset: -1, Name: "hogged"}, gpio.ErrBusy, []string{"gpiochip1", "hogged"}},
		{"permission", gpio.LineSpec{Chip: "gpiochip1", Offset: 1}, gpio.ErrPermission, []string{"gpiochip1:1"}},
		{"no name no offset", gpio.LineSpec{Offset: -1}, gpio.ErrInvalidSpec, nil},
		{"offset without chip", gpio.LineSpec{Offset: 2}, gpio.ErrInvalidSpec, nil},
		{"bad bias", gpio.LineSpec{Offset: -1, Name: "mains", Bias: "pull-sideways"}, gpio.ErrInvalidSpec, []string{"pull-sideways"}},
		{"negative debounce", gpio.LineSpec{Offset: -1, Name: "mains", Debounce: -1}, gpio.ErrInvalidSpec, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := board()
			_, err := gpio.Debounce(b, clock.NewFake(t0)).OpenInput(tc.spec, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

func TestOpenTwiceIsBusyAndCloseIdempotent(t *testing.T) {
	b := board()
	spec := gpio.LineSpec{Offset: -1, Name: "mains", Debounce: time.Millisecond}
	op := gpio.Debounce(b, clock.NewFake(t0))
	in, err := op.OpenInput(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.OpenInput(spec, nil); !errors.Is(err, gpio.ErrBusy) {
		t.Errorf("second open: %v, want ErrBusy", err)
	}
	in.Close()
	in.Close()
	if _, err := in.Read(); !errors.Is(err, gpio.ErrClosed) {
		t.Errorf("Read after Close: %v, want ErrClosed", err)
	}
	in2, err := op.OpenInput(spec, nil)
	if err != nil {
		t.Fatalf("reopen after close: %v", err)
	}
	in2.Close()
}

func TestLineSpecString(t *testing.T) {
	tests := []struct {
		name string
		spec gpio.LineSpec
		want string
	}{
		{"by name", gpio.LineSpec{Offset: -1, Name: "mains"}, "mains"},
		{"by name on chip", gpio.LineSpec{Chip: "gpiochip1", Offset: -1, Name: "mains"}, "gpiochip1:mains"},
		{"offset", gpio.LineSpec{Chip: "gpiochip0", Offset: 3}, "gpiochip0:3"},
		{"offset labelled", gpio.LineSpec{Chip: "gpiochip0", Offset: 3, Name: "mains"}, "gpiochip0:3(mains)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.spec.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func mustRead(t *testing.T, in gpio.Input, want bool) {
	t.Helper()
	got, err := in.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("%s reads %v, want %v", in, got, want)
	}
}
