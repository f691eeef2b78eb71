package led

import (
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"lifeline/hal/led/ledtest"
)

func open(t *testing.T, l ledtest.LED) (*Sysfs, string) {
	t.Helper()
	root := t.TempDir()
	if err := ledtest.Make(root, l); err != nil {
		t.Fatal(err)
	}
	s, err := Open(l.Name, WithRoot(root))
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}

func TestSetAndRestore(t *testing.T) {
	initial := []ledtest.LED{
		{Name: "green:route", Trigger: "none", Brightness: 0, Max: 255},
		{Name: "amber:power", Trigger: "default-on", Brightness: 1, Max: 1},
		{Name: "blue:line", Trigger: "timer", Brightness: 1, Max: 1, DelayOn: 100, DelayOff: 900},
		{Name: "white:lit", Trigger: "none", Brightness: 7, Max: 15},
	}
	patterns := []struct {
		name string
		p    Pattern
		want map[string]string // file → value after Set (max_brightness-relative values use "MAX")
	}{
		{"off", Off(), map[string]string{"trigger": "none", "brightness": "0"}},
		{"on", On(), map[string]string{"trigger": "none", "brightness": "MAX"}},
		{"blink", Blink(250*time.Millisecond, 750*time.Millisecond), map[string]string{"trigger": "timer", "delay_on": "250", "delay_off": "750"}},
	}
	for _, in := range initial {
		for _, pc := range patterns {
			t.Run(in.Name+"/"+pc.name, func(t *testing.T) {
				l, root := open(t, in)
				if err := l.Set(pc.p); err != nil {
					t.Fatal(err)
				}
				for f, v := range pc.want {
					if v == "MAX" {
						v = ledtest.Read(root, in.Name, "max_brightness")
					}
					if got := ledtest.Read(root, in.Name, f); got != v {
						t.Errorf("%s = %q, want %q", f, got, v)
					}
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				// Restored: the trigger, and what that trigger does not drive.
				if got, _ := ParseTrigger(ledtest.Read(root, in.Name, "trigger")); got != in.Trigger {
					t.Errorf("restored trigger %q, want %q", got, in.Trigger)
				}
				switch in.Trigger {
				case "none":
					if got := ledtest.Read(root, in.Name, "brightness"); got != itoa(in.Brightness) {
						t.Errorf("restored brightness %q, want %d", got, in.Brightness)
					}
				case "timer":
					if ledtest.Read(root, in.Name, "delay_on") != itoa(in.DelayOn) || ledtest.Read(root, in.Name, "delay_off") != itoa(in.DelayOff) {
						t.Errorf("restored delays %s/%s", ledtest.Read(root, in.Name, "delay_on"), ledtest.Read(root, in.Name, "delay_off"))
					}
				}
			})
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestWriteOrder checks the order the kernel needs: the trigger before
// brightness (a trigger change resets brightness) and before the timer
// delays (which exist only under the timer trigger).
func TestWriteOrder(t *testing.T) {
	l, root := open(t, ledtest.LED{Name: "led", Trigger: "heartbeat", Max: 1})
	var writes []string
	next := l.writeFn
	l.writeFn = func(path, v string) error {
		writes = append(writes, filepath.Base(path)+"="+v)
		return next(path, v)
	}
	steps := []struct {
		p    Pattern
		want []string
	}{
		{On(), []string{"trigger=none", "brightness=1"}},
		{On(), nil}, // unchanged: nothing written
		{Blink(time.Second, 500*time.Millisecond), []string{"trigger=timer", "delay_on=1000", "delay_off=500"}},
		{Off(), []string{"trigger=none", "brightness=0"}},
	}
	for i, s := range steps {
		writes = nil
		if err := l.Set(s.p); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(writes, s.want) {
			t.Fatalf("step %d %s: writes %v, want %v", i, s.p, writes, s.want)
		}
	}
	writes = nil
	l.Close()
	if !slices.Equal(writes, []string{"trigger=heartbeat"}) {
		t.Fatalf("close wrote %v", writes)
	}
	_ = root
}

func TestWriteErrorIsRetried(t *testing.T) {
	l, _ := open(t, ledtest.LED{Name: "led", Trigger: "none", Max: 1})
	boom := errors.New("EIO")
	next := l.writeFn
	l.writeFn = func(string, string) error { return boom }
	if err := l.Set(On()); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	var n int
	l.writeFn = func(p, v string) error { n++; return next(p, v) }
	if err := l.Set(On()); err != nil || n != 2 {
		t.Fatalf("retry after failure: err %v, %d writes", err, n)
	}
}

func TestOpenErrors(t *testing.T) {
	root := t.TempDir()
	if err := ledtest.Make(root, ledtest.LED{Name: "ok", Trigger: "none", Max: 1}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"missing", "", "..", "a/b"} {
		if _, err := Open(name, WithRoot(root)); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q): err = %v, want ErrNotFound", name, err)
		}
	}
}

func TestClosedAndBadPattern(t *testing.T) {
	l, _ := open(t, ledtest.LED{Name: "led", Trigger: "none", Max: 1})
	if err := l.Set(Blink(0, time.Second)); !errors.Is(err, ErrPattern) {
		t.Fatalf("zero blink: err = %v", err)
	}
	l.Close()
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := l.Set(On()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Set after Close: err = %v", err)
	}
}

func TestParseTrigger(t *testing.T) {
	cases := []struct {
		name, in, want string
		ok             bool
	}{
		{"kernel list", "none rc-feedback kbd-scrolllock [timer] heartbeat default-on", "timer", true},
		{"first", "[none] timer", "none", true},
		{"single word", "none\n", "none", true},
		{"no active", "none timer heartbeat", "", false},
		{"empty", "", "", false},
		{"empty brackets", "[] none x", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseTrigger(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("got %q %v, want %q %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzParseTrigger(f *testing.F) {
	f.Add("none [timer] heartbeat")
	f.Add("none")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseTrigger(s)
		if ok && (got == "" || len(got) > len(s)) {
			t.Fatalf("ParseTrigger(%q) = %q", s, got)
		}
	})
}

func TestFake(t *testing.T) {
	f := &Fake{Name: "x"}
	var _ LED = f
	f.Set(On())
	f.Set(Blink(time.Second, time.Second))
	if f.Current() != Blink(time.Second, time.Second) || len(f.History()) != 2 {
		t.Fatalf("fake %+v", f.History())
	}
	f.Close()
	if err := f.Set(Off()); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}
