// Package selftest proves the gpio-sim QEMU guest: it creates a gpio-sim chip
// through configfs by hand, drives its lines from the kernel side (sysfs pull)
// and from userspace (gpiocdev), and checks that both sides agree. A second
// test does the same through go-gpiosim, the library the hal/gpio tier uses.
//
// Outside the guest (no /sys/kernel/config/gpio-sim, or not root) every test
// skips. LIFELINE_GUEST_BREAK=1 inverts one assertion on purpose: run.sh
// --prove-failure uses it to show that a failing test fails the whole run.
package selftest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warthog618/go-gpiocdev"
	"github.com/warthog618/go-gpiosim"
)

const configfs = "/sys/kernel/config/gpio-sim"

// safetyNet bounds every wait for an edge event on the real clock; the
// emulated guest is slow, so it is generous. It never paces the test.
const safetyNet = 20 * time.Second

func needSim(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(configfs); err != nil {
		t.Skipf("needs the gpio-sim module and configfs at %s (run inside scripts/gpiosim-guest): %v", configfs, err)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to configure gpio-sim")
	}
}

// wantHigh is the level the pulled-up input must read. LIFELINE_GUEST_BREAK=1
// makes the expectation wrong on purpose (see the package comment).
func wantHigh() int {
	if os.Getenv("LIFELINE_GUEST_BREAK") == "1" {
		return 0
	}
	return 1
}

func write(t *testing.T, path, value string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		t.Fatalf("write %q to %s: %v", value, path, err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return strings.TrimSpace(string(b))
}

// rawChip is a gpio-sim device made with mkdir/echo on configfs, as the
// kernel documentation describes, without any helper library.
type rawChip struct {
	dir      string // configfs directory of the device
	chipName string // gpiochipN
	sysfs    string // /sys/devices/platform/<dev_name>/<chip_name>
}

func newRawChip(t *testing.T, lines int, names map[int]string) *rawChip {
	t.Helper()
	dir := filepath.Join(configfs, fmt.Sprintf("selftest-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("mkdir %s: %v", dir, err)
	}
	bank := filepath.Join(dir, "bank0")
	if err := os.Mkdir(bank, 0o755); err != nil {
		t.Fatalf("mkdir %s: %v", bank, err)
	}
	write(t, filepath.Join(bank, "num_lines"), fmt.Sprint(lines))
	write(t, filepath.Join(bank, "label"), "lifeline-selftest")
	var lineDirs []string
	for off, name := range names {
		ld := filepath.Join(bank, fmt.Sprintf("line%d", off))
		if err := os.Mkdir(ld, 0o755); err != nil {
			t.Fatalf("mkdir %s: %v", ld, err)
		}
		lineDirs = append(lineDirs, ld)
		write(t, filepath.Join(ld, "name"), name)
	}
	write(t, filepath.Join(dir, "live"), "1")
	c := &rawChip{dir: dir}
	t.Cleanup(func() {
		// Reverse order of creation; errors are reported, not fatal, so every
		// step is tried.
		if err := os.WriteFile(filepath.Join(dir, "live"), []byte("0"), 0o644); err != nil {
			t.Errorf("take %s down: %v", dir, err)
		}
		for _, ld := range lineDirs {
			if err := os.Remove(ld); err != nil {
				t.Errorf("rmdir %s: %v", ld, err)
			}
		}
		for _, d := range []string{bank, dir} {
			if err := os.Remove(d); err != nil {
				t.Errorf("rmdir %s: %v", d, err)
			}
		}
	})
	c.chipName = read(t, filepath.Join(bank, "chip_name"))
	devName := read(t, filepath.Join(dir, "dev_name"))
	c.sysfs = filepath.Join("/sys/devices/platform", devName, c.chipName)
	return c
}

func (c *rawChip) pull(t *testing.T, offset int, up bool) {
	t.Helper()
	v := "pull-down"
	if up {
		v = "pull-up"
	}
	write(t, filepath.Join(c.sysfs, fmt.Sprintf("sim_gpio%d", offset), "pull"), v)
}

func (c *rawChip) level(t *testing.T, offset int) string {
	t.Helper()
	return read(t, filepath.Join(c.sysfs, fmt.Sprintf("sim_gpio%d", offset), "value"))
}

func waitEdge(t *testing.T, ch <-chan gpiocdev.LineEvent, want gpiocdev.LineEventType) {
	t.Helper()
	select {
	case ev := <-ch:
		if ev.Type != want {
			t.Fatalf("edge event %v, want %v", ev.Type, want)
		}
	case <-time.After(safetyNet):
		t.Fatalf("no %v edge event within %v", want, safetyNet)
	}
}

// TestRawConfigfsChip creates a chip with mkdir on configfs, reads an input
// line pulled up and down from the kernel side (values and edge events), and
// drives an output line from userspace.
func TestRawConfigfsChip(t *testing.T) {
	needSim(t)
	c := newRawChip(t, 4, map[int]string{1: "selftest-in", 2: "selftest-out"})

	if _, err := os.Stat(filepath.Join("/dev", c.chipName)); err != nil {
		t.Fatalf("character device for %s: %v", c.chipName, err)
	}
	chip, err := gpiocdev.NewChip(c.chipName, gpiocdev.WithConsumer("selftest"))
	if err != nil {
		t.Fatalf("open %s: %v", c.chipName, err)
	}
	defer chip.Close()
	if chip.Label != "lifeline-selftest" {
		t.Errorf("chip %s label %q, want lifeline-selftest", c.chipName, chip.Label)
	}
	// Find the input line by name, as boards will.
	name, off, err := gpiocdev.FindLine("selftest-in")
	if err != nil || name != c.chipName || off != 1 {
		t.Fatalf("FindLine(selftest-in) = %s %d %v, want %s 1", name, off, err, c.chipName)
	}

	events := make(chan gpiocdev.LineEvent, 8)
	in, err := chip.RequestLine(1, gpiocdev.AsInput, gpiocdev.WithBothEdges,
		gpiocdev.WithEventHandler(func(ev gpiocdev.LineEvent) { events <- ev }))
	if err != nil {
		t.Fatalf("request %s line 1: %v", c.chipName, err)
	}
	defer in.Close()

	if v, err := in.Value(); err != nil || v != 0 {
		t.Fatalf("initial value of %s line 1 = %d %v, want 0 (pull-down)", c.chipName, v, err)
	}
	c.pull(t, 1, true)
	waitEdge(t, events, gpiocdev.LineEventRisingEdge)
	if v, err := in.Value(); err != nil || v != wantHigh() {
		t.Fatalf("value of %s line 1 after pull-up = %d %v, want %d", c.chipName, v, err, wantHigh())
	}
	c.pull(t, 1, false)
	waitEdge(t, events, gpiocdev.LineEventFallingEdge)
	if v, err := in.Value(); err != nil || v != 0 {
		t.Fatalf("value of %s line 1 after pull-down = %d %v, want 0", c.chipName, v, err)
	}

	out, err := chip.RequestLine(2, gpiocdev.AsOutput(0))
	if err != nil {
		t.Fatalf("request %s line 2 as output: %v", c.chipName, err)
	}
	defer out.Close()
	for _, v := range []int{1, 0, 1} {
		if err := out.SetValue(v); err != nil {
			t.Fatalf("set %s line 2 to %d: %v", c.chipName, v, err)
		}
		if got := c.level(t, 2); got != fmt.Sprint(v) {
			t.Fatalf("kernel sees %s line 2 at %s, userspace drove %d", c.chipName, got, v)
		}
	}

	// A line held by one consumer is busy for another.
	busy, err := chip.RequestLine(1, gpiocdev.AsInput)
	if err == nil {
		busy.Close()
		t.Errorf("second request of %s line 1 succeeded, want EBUSY", c.chipName)
	} else if !errors.Is(err, syscall.EBUSY) {
		t.Errorf("second request of %s line 1: %v, want EBUSY", c.chipName, err)
	}
}

// TestGoGpiosim checks the go-gpiosim path that hal/gpio's tier-5 tests use.
func TestGoGpiosim(t *testing.T) {
	needSim(t)
	s, err := gpiosim.NewSim(gpiosim.WithBank(gpiosim.NewBank("lifeline-selftest-lib", 8,
		gpiosim.WithNamedLine(3, "selftest-lib-key"))))
	if err != nil {
		t.Fatalf("gpiosim.NewSim: %v", err)
	}
	defer s.Close()
	sc := &s.Chips[0]
	l, err := gpiocdev.RequestLine(sc.ChipName(), 3, gpiocdev.AsInput, gpiocdev.AsActiveLow)
	if err != nil {
		t.Fatalf("request %s line 3: %v", sc.ChipName(), err)
	}
	defer l.Close()
	cases := []struct {
		name string
		pull int
		want int // active-low: logical value is the inverse of the level
	}{
		{"released (pulled up)", 1, 0},
		{"pressed (pulled down)", 0, 1},
		{"released again", 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := sc.SetPull(3, tc.pull); err != nil {
				t.Fatalf("pull %s line 3 to %d: %v", sc.ChipName(), tc.pull, err)
			}
			if v, err := l.Value(); err != nil || v != tc.want {
				t.Fatalf("value of %s line 3 = %d %v, want %d", sc.ChipName(), v, err, tc.want)
			}
		})
	}
}
