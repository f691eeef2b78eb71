package hotkey

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/keys"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// step is a key event at an offset from t0; key "" is only a Tick.
type step struct {
	at      time.Duration
	key     string
	pressed bool
}

func down(at int, key string) step { return step{ms(at), key, true} }
func up(at int, key string) step   { return step{ms(at), key, false} }
func tick(at int) step             { return step{at: ms(at)} }

// fired is the expected outcome: binding name and offset.
type fired struct {
	name string
	at   time.Duration
}

func (f fired) String() string { return fmt.Sprintf("%s@%v", f.name, f.at) }

var (
	chord     = Binding{Name: "force_pstn", Keys: []string{"wps", "phone"}, Hold: 2 * time.Second, Action: ActionToggle, For: time.Hour}
	longWPS   = Binding{Name: "wps_long", Keys: []string{"wps"}, Hold: 2 * time.Second, Action: ActionAuto}
	tapWPS    = Binding{Name: "wps_tap", Keys: []string{"wps"}, Kind: Sequence, Hold: time.Second, Action: ActionSIP}
	tapPhone  = Binding{Name: "phone_tap", Keys: []string{"phone"}, Kind: Sequence, Hold: time.Second, Action: ActionSIP}
	doubleWPS = Binding{Name: "wps_double", Keys: []string{"wps", "wps"}, Kind: Sequence, Hold: time.Second, Action: ActionPSTN}
	wpw       = Binding{Name: "wps_phone_wps", Keys: []string{"wps", "phone", "wps"}, Kind: Sequence, Hold: 2 * time.Second, Action: ActionPSTN, For: 10 * time.Minute}
	chordNow  = Binding{Name: "instant", Keys: []string{"reset", "phone"}, Action: ActionPSTN}
)

type matcherCase struct {
	name     string
	bindings []Binding
	held     []string
	steps    []step
	want     []fired
}

var matcherCases = []matcherCase{
	{
		name:     "chord fires after hold",
		bindings: []Binding{chord},
		steps:    []step{down(0, "wps"), down(100, "phone"), up(3000, "phone"), up(3100, "wps")},
		want:     []fired{{"force_pstn", ms(2100)}},
	},
	{
		name:     "chord released before hold",
		bindings: []Binding{chord},
		steps:    []step{down(0, "wps"), down(100, "phone"), up(1500, "phone"), up(1600, "wps"), tick(5000)},
	},
	{
		name:     "chord vs two single presses: singles fire, chord does not",
		bindings: []Binding{chord, tapWPS, tapPhone},
		steps:    []step{down(0, "wps"), up(200, "wps"), down(1000, "phone"), up(1200, "phone"), tick(5000)},
		want:     []fired{{"wps_tap", ms(200)}, {"phone_tap", ms(1200)}},
	},
	{
		name:     "chord vs two single presses: chord fires, singles do not",
		bindings: []Binding{chord, tapWPS, tapPhone},
		steps:    []step{down(0, "wps"), down(50, "phone"), up(2500, "wps"), up(2550, "phone"), tick(5000)},
		want:     []fired{{"force_pstn", ms(2050)}},
	},
	{
		name:     "short chord is neither chord nor taps",
		bindings: []Binding{chord, tapWPS, tapPhone},
		steps:    []step{down(0, "wps"), down(50, "phone"), up(300, "wps"), up(350, "phone"), tick(5000)},
	},
	{
		name:     "chord suppresses the long press of a key held on",
		bindings: []Binding{chord, longWPS},
		steps:    []step{down(0, "wps"), down(100, "phone"), up(2500, "phone"), up(8000, "wps")},
		want:     []fired{{"force_pstn", ms(2100)}},
	},
	{
		name:     "second key pressed late: long press wins, chord does not follow",
		bindings: []Binding{chord, longWPS},
		steps:    []step{down(0, "wps"), down(2500, "phone"), up(6000, "phone"), up(6000, "wps")},
		want:     []fired{{"wps_long", ms(2000)}},
	},
	{
		name:     "long press just short of the threshold",
		bindings: []Binding{longWPS},
		steps:    []step{down(0, "wps"), up(1999, "wps"), tick(5000)},
	},
	{
		name:     "long press at the threshold",
		bindings: []Binding{longWPS},
		steps:    []step{down(0, "wps"), up(2000, "wps"), tick(5000)},
		want:     []fired{{"wps_long", ms(2000)}},
	},
	{
		name:     "long press fires while held, once",
		bindings: []Binding{longWPS},
		steps:    []step{down(0, "wps"), down(500, "wps"), down(1000, "wps"), tick(2500), down(3000, "wps"), up(9000, "wps")},
		want:     []fired{{"wps_long", ms(2000)}},
	},
	{
		name:     "bounce during a long press is ignored",
		bindings: []Binding{longWPS},
		steps:    []step{down(0, "wps"), up(1000, "wps"), down(1010, "wps"), up(1900, "wps"), down(1920, "wps"), up(2500, "wps")},
		want:     []fired{{"wps_long", ms(2000)}},
	},
	{
		name:     "bounce across the hold deadline still fires",
		bindings: []Binding{longWPS},
		steps:    []step{down(0, "wps"), up(1990, "wps"), down(2010, "wps"), up(2500, "wps")},
		want:     []fired{{"wps_long", ms(2000)}},
	},
	{
		name:     "a real release before the deadline does not fire",
		bindings: []Binding{longWPS},
		steps:    []step{down(0, "wps"), up(1990, "wps"), down(2100, "wps"), up(2200, "wps"), tick(5000)},
	},
	{
		name:     "bounce is not a double tap",
		bindings: []Binding{doubleWPS},
		steps:    []step{down(0, "wps"), up(100, "wps"), down(110, "wps"), up(200, "wps"), tick(3000)},
	},
	{
		name:     "double tap",
		bindings: []Binding{doubleWPS},
		steps:    []step{down(0, "wps"), up(100, "wps"), down(110, "wps"), up(200, "wps"), down(500, "wps"), up(600, "wps")},
		want:     []fired{{"wps_double", ms(600)}},
	},
	{
		name:     "single tap waits out the double-tap window",
		bindings: []Binding{tapWPS, doubleWPS},
		steps:    []step{down(0, "wps"), up(100, "wps"), tick(3000)},
		want:     []fired{{"wps_tap", ms(1000)}},
	},
	{
		name:     "double tap beats single tap",
		bindings: []Binding{tapWPS, doubleWPS},
		steps:    []step{down(0, "wps"), up(100, "wps"), down(400, "wps"), up(500, "wps"), tick(3000)},
		want:     []fired{{"wps_double", ms(500)}},
	},
	{
		name:     "second press begun inside the window completes the double tap",
		bindings: []Binding{tapWPS, doubleWPS},
		steps:    []step{down(0, "wps"), up(100, "wps"), down(900, "wps"), tick(1200), up(1300, "wps"), tick(3000)},
		want:     []fired{{"wps_double", ms(1300)}},
	},
	{
		name:     "another key ends the sequence: the single tap fires",
		bindings: []Binding{tapWPS, doubleWPS},
		steps:    []step{down(0, "wps"), up(100, "wps"), down(300, "phone"), up(400, "phone"), tick(3000)},
		want:     []fired{{"wps_tap", ms(300)}},
	},
	{
		name:     "three-tap sequence within the window",
		bindings: []Binding{wpw},
		steps:    []step{down(0, "wps"), up(100, "wps"), down(500, "phone"), up(600, "phone"), down(1000, "wps"), up(1100, "wps")},
		want:     []fired{{"wps_phone_wps", ms(1100)}},
	},
	{
		name:     "three-tap sequence too slow",
		bindings: []Binding{wpw},
		steps:    []step{down(0, "wps"), up(100, "wps"), down(900, "phone"), up(1000, "phone"), down(2000, "wps"), up(2100, "wps"), tick(6000)},
	},
	{
		name:     "a held press is not a tap",
		bindings: []Binding{tapWPS},
		steps:    []step{down(0, "wps"), up(900, "wps"), tick(3000)},
	},
	{
		name:     "chord without hold fires when complete",
		bindings: []Binding{chordNow},
		steps:    []step{down(0, "reset"), down(300, "phone"), up(400, "phone"), up(500, "reset")},
		want:     []fired{{"instant", ms(300)}},
	},
	{
		name:     "a third key spoils the chord",
		bindings: []Binding{chord},
		steps:    []step{down(0, "wps"), down(50, "phone"), down(100, "reset"), up(150, "reset"), up(5000, "wps"), up(5000, "phone")},
	},
	{
		name:     "held across restart: release without press is ignored",
		bindings: []Binding{longWPS, tapWPS},
		steps:    []step{up(500, "wps"), down(1000, "wps"), up(3500, "wps")},
		want:     []fired{{"wps_long", ms(3000)}},
	},
	{
		name:     "held across restart: a key held at start fires nothing",
		bindings: []Binding{chord, longWPS},
		held:     []string{"wps"},
		steps:    []step{down(500, "phone"), tick(5000), up(6000, "phone"), up(7000, "wps"), tick(12000)},
	},
	{
		name:     "held across restart: works normally after release",
		bindings: []Binding{chord},
		held:     []string{"wps"},
		steps:    []step{up(1000, "wps"), down(2000, "wps"), down(2100, "phone"), up(5000, "wps"), up(5000, "phone")},
		want:     []fired{{"force_pstn", ms(4100)}},
	},
}

// run plays c: in driven mode a fake clock advances to every NextDeadline
// and Ticks there, as the daemon loop does; in lazy mode only Key is
// called, with one final Tick. Both must agree.
func run(t *testing.T, c matcherCase, driven bool) []fired {
	t.Helper()
	m, err := New(c.bindings, t0)
	if err != nil {
		t.Fatal(err)
	}
	m.Held(c.held...)
	clk := clock.NewFake(t0)
	var got []fired
	collect := func(ms []Match) {
		for _, x := range ms {
			got = append(got, fired{x.Binding, x.At.Sub(t0)})
		}
	}
	advance := func(to time.Time) {
		for driven {
			d, ok := m.NextDeadline()
			if !ok || d.After(to) {
				break
			}
			if d.Before(clk.Now()) {
				t.Fatalf("NextDeadline %v is in the past at %v", d.Sub(t0), clk.Now().Sub(t0))
			}
			clk.Set(d)
			before := len(got)
			collect(m.Tick(clk.Now()))
			if d2, ok := m.NextDeadline(); ok && !d2.After(d) && len(got) == before {
				t.Fatalf("Tick(%v) made no progress: next deadline %v", d.Sub(t0), d2.Sub(t0))
			}
		}
		clk.Set(to)
	}
	last := t0
	for _, s := range c.steps {
		at := t0.Add(s.at)
		advance(at)
		last = at
		if s.key == "" {
			collect(m.Tick(at))
			continue
		}
		collect(m.Key(keys.Event{Key: s.key, Pressed: s.pressed, At: at}, at))
	}
	advance(last.Add(time.Minute))
	collect(m.Tick(last.Add(time.Minute)))
	if d, ok := m.NextDeadline(); ok {
		t.Fatalf("still a deadline at %v after the script", d.Sub(t0))
	}
	return got
}

func TestMatcher(t *testing.T) {
	for _, c := range matcherCases {
		t.Run(c.name, func(t *testing.T) {
			for _, driven := range []bool{true, false} {
				got := run(t, c, driven)
				if !slices.Equal(got, c.want) {
					t.Fatalf("driven=%v: fired %v, want %v", driven, got, c.want)
				}
			}
		})
	}
}

func TestMatchCarriesBinding(t *testing.T) {
	m, err := New([]Binding{chord}, t0)
	if err != nil {
		t.Fatal(err)
	}
	m.Key(keys.Event{Key: "phone", Pressed: true}, t0)
	m.Key(keys.Event{Key: "wps", Pressed: true}, t0)
	got := m.Tick(t0.Add(2 * time.Second))
	want := Match{Binding: "force_pstn", Action: ActionToggle, For: time.Hour, Keys: []string{"wps", "phone"}, At: t0.Add(2 * time.Second)}
	if len(got) != 1 || got[0].Binding != want.Binding || got[0].Action != want.Action || got[0].For != want.For ||
		!slices.Equal(got[0].Keys, want.Keys) || !got[0].At.Equal(want.At) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestPressStampedBeforeStartIsIgnored(t *testing.T) {
	m, err := New([]Binding{longWPS}, t0)
	if err != nil {
		t.Fatal(err)
	}
	// A source replays a press it saw before the daemon (re)started.
	if got := m.Key(keys.Event{Key: "wps", Pressed: true, At: t0.Add(-time.Second)}, t0); got != nil {
		t.Fatal(got)
	}
	if got := m.Tick(t0.Add(10 * time.Second)); got != nil {
		t.Fatalf("fired %+v for a key held across the restart", got)
	}
	m.Key(keys.Event{Key: "wps"}, t0.Add(11*time.Second))
	m.Key(keys.Event{Key: "wps", Pressed: true}, t0.Add(12*time.Second))
	if got := m.Tick(t0.Add(14 * time.Second)); len(got) != 1 {
		t.Fatalf("after release and a fresh press: %+v", got)
	}
}

func TestNoDebounce(t *testing.T) {
	m, err := New([]Binding{tapWPS}, t0, WithDebounce(0), WithTapMax(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	m.Key(keys.Event{Key: "wps", Pressed: true}, t0)
	if got := m.Key(keys.Event{Key: "wps"}, t0.Add(ms(50))); len(got) != 1 || got[0].Binding != "wps_tap" {
		t.Fatalf("got %+v", got)
	}
}

func TestNewRejects(t *testing.T) {
	cases := []struct {
		name string
		b    []Binding
		want string
	}{
		{"no key", []Binding{{Name: "x", Action: ActionPSTN}}, "no key"},
		{"empty key", []Binding{{Name: "x", Keys: []string{""}, Action: ActionPSTN}}, "empty key"},
		{"bad action", []Binding{{Name: "x", Keys: []string{"wps"}, Action: "dance"}}, "action"},
		{"bad kind", []Binding{{Name: "x", Keys: []string{"wps"}, Kind: "morse", Action: ActionSIP}}, "kind"},
		{"negative hold", []Binding{{Name: "x", Keys: []string{"wps"}, Hold: -1, Action: ActionSIP}}, "negative"},
		{"chord names a key twice", []Binding{{Name: "x", Keys: []string{"wps", "wps"}, Action: ActionSIP}}, "twice"},
		{"sequence without window", []Binding{{Name: "x", Keys: []string{"wps", "phone"}, Kind: Sequence, Action: ActionSIP}}, "window"},
		{"same chord twice", []Binding{chord, {Name: "y", Keys: []string{"phone", "wps"}, Action: ActionSIP}}, `same keys as "force_pstn"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.b, t0)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, tc.want)
			}
		})
	}
}

// FuzzMatcher plays arbitrary event scripts: no panic, driven and lazy
// evaluation agree, deadlines always make progress.
func FuzzMatcher(f *testing.F) {
	f.Add([]byte{0, 10, 1, 20, 129, 30, 130, 40})
	f.Add([]byte{0, 1, 128, 1, 0, 1, 128, 200})
	f.Fuzz(func(t *testing.T, script []byte) {
		names := []string{"wps", "phone", "reset"}
		var steps []step
		at := time.Duration(0)
		for i := 0; i+1 < len(script) && len(steps) < 64; i += 2 {
			at += time.Duration(script[i+1]) * 20 * time.Millisecond
			steps = append(steps, step{at: at, key: names[int(script[i]&0x7f)%len(names)], pressed: script[i]&0x80 == 0})
		}
		c := matcherCase{bindings: []Binding{chord, longWPS, tapPhone, doubleWPS, wpw, chordNow}, steps: steps}
		a, b := run(t, c, true), run(t, c, false)
		if !slices.Equal(a, b) {
			t.Fatalf("driven %v != lazy %v", a, b)
		}
	})
}
