package gpio_test

// Tier 5: the Cdev backend against the kernel's gpio-sim. These tests run as
// root where /sys/kernel/config/gpio-sim exists (modprobe gpio-sim, configfs
// mounted) — in CI a QEMU guest runs the static `go test -c` binary of this
// package. They use no external command and no path but /sys, /dev and
// /proc. Elsewhere they skip.

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warthog618/go-gpiosim"

	"lifeline/hal/clock"
	"lifeline/hal/gpio"
)

const gpioSimConfigfs = "/sys/kernel/config/gpio-sim"

// newSim builds a two-bank gpio-sim: bank 1 names line 2 uniquely so the
// by-name search across chips must find it on the second chip, and hogs
// line 5 as another consumer would.
func newSim(t *testing.T) (*gpiosim.Sim, string) {
	t.Helper()
	if _, err := os.Stat(gpioSimConfigfs); err != nil {
		t.Skipf("needs gpio-sim (modprobe gpio-sim; configfs on /sys/kernel/config): %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to configure gpio-sim")
	}
	name := fmt.Sprintf("ll-mains-%d", os.Getpid())
	s, err := gpiosim.NewSim(
		gpiosim.WithBank(gpiosim.NewBank("lifeline-a", 8)),
		gpiosim.WithBank(gpiosim.NewBank("lifeline-b", 8,
			gpiosim.WithNamedLine(2, name),
			gpiosim.WithHoggedLine(5, "someone-else", gpiosim.HogDirectionInput))),
	)
	if err != nil {
		t.Fatalf("gpio-sim: %v", err)
	}
	t.Cleanup(s.Close)
	return s, name
}

func TestSimInputByNameAcrossChips(t *testing.T) {
	s, name := newSim(t)
	c := &s.Chips[1]
	if err := c.Pullup(2); err != nil {
		t.Fatal(err)
	}
	sink := make(edgeSink, 8)
	in, err := gpio.NewCdev(clock.Real()).OpenInput(gpio.LineSpec{Offset: -1, Name: name}, sink.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	mustRead(t, in, true)
	if err := c.Pulldown(2); err != nil {
		t.Fatal(err)
	}
	e1 := sink.next(t)
	if err := c.Pullup(2); err != nil {
		t.Fatal(err)
	}
	e2 := sink.next(t)
	if e1.Active || !e2.Active {
		t.Errorf("edges %+v %+v, want inactive then active", e1, e2)
	}
	if e1.Time == 0 || e2.Time < e1.Time {
		t.Errorf("kernel timestamps %v, %v not increasing", e1.Time, e2.Time)
	}
	if e1.Line != name {
		t.Errorf("edge names %q, want %q", e1.Line, name)
	}
}

func TestSimActiveLowByOffset(t *testing.T) {
	s, _ := newSim(t)
	c := &s.Chips[0]
	if err := c.Pulldown(1); err != nil {
		t.Fatal(err)
	}
	sink := make(edgeSink, 8)
	in, err := gpio.NewCdev(clock.Real()).OpenInput(
		gpio.LineSpec{Chip: c.ChipName(), Offset: 1, Name: "on-battery", ActiveLow: true, Bias: gpio.BiasPullDown}, sink.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	mustRead(t, in, true) // low wire, active-low: active
	if err := c.Pullup(1); err != nil {
		t.Fatal(err)
	}
	if e := sink.next(t); e.Active {
		t.Errorf("edge %+v, want inactive", e)
	}
	mustRead(t, in, false)
}

func TestSimKernelDebounce(t *testing.T) {
	s, _ := newSim(t)
	c := &s.Chips[0]
	if err := c.Pullup(3); err != nil {
		t.Fatal(err)
	}
	sink := make(edgeSink, 8)
	const period = 200 * time.Millisecond // far longer than two sysfs writes
	in, err := gpio.NewCdev(clock.Real()).OpenInput(
		gpio.LineSpec{Chip: c.ChipName(), Offset: 3, Debounce: period}, sink.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	// A glitch: down and straight back up.
	if err := c.Pulldown(3); err != nil {
		t.Fatal(err)
	}
	if err := c.Pullup(3); err != nil {
		t.Fatal(err)
	}
	// A real loss.
	if err := c.Pulldown(3); err != nil {
		t.Fatal(err)
	}
	e := sink.next(t)
	if e.Active {
		t.Errorf("edge %+v, want inactive", e)
	}
	if e.Seqno != 0 && e.Seqno != 1 {
		t.Errorf("debounced loss has line seqno %d: the glitch was reported", e.Seqno)
	}
}

func TestSimOpenErrors(t *testing.T) {
	s, _ := newSim(t)
	chip := s.Chips[1].ChipName()
	tests := []struct {
		name  string
		spec  gpio.LineSpec
		want  error
		cause error
		says  string
	}{
		{"missing name", gpio.LineSpec{Offset: -1, Name: "lifeline-no-such-line"}, gpio.ErrLineNotFound, nil, "lifeline-no-such-line"},
		{"missing name on chip", gpio.LineSpec{Chip: chip, Offset: -1, Name: "lifeline-no-such-line"}, gpio.ErrLineNotFound, nil, "lifeline-no-such-line"},
		{"offset out of range", gpio.LineSpec{Chip: chip, Offset: 8}, gpio.ErrLineNotFound, nil, "out of range"},
		{"missing chip", gpio.LineSpec{Chip: "gpiochip999", Offset: 0}, gpio.ErrChipNotFound, nil, "gpiochip999"},
		{"hogged", gpio.LineSpec{Chip: chip, Offset: 5}, gpio.ErrBusy, syscall.EBUSY, "someone-else"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gpio.NewCdev(clock.Real()).OpenInput(tc.spec, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("err = %v, does not wrap %v", err, tc.cause)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			t.Log(err)
		})
	}
}

func TestSimOutputSafeLevel(t *testing.T) {
	s, _ := newSim(t)
	c := &s.Chips[0]
	out, err := gpio.NewCdev(clock.Real()).OpenOutput(gpio.LineSpec{Chip: c.ChipName(), Offset: 6, Name: "relay", ActiveLow: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if v, err := c.Level(6); err != nil || v != 1 {
		t.Errorf("safe (inactive, active-low) level = %d, %v; want 1", v, err)
	}
	if err := out.Write(true); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Level(6); err != nil || v != 0 {
		t.Errorf("active level = %d, %v; want 0", v, err)
	}
}

// TestSimSoftwareDebounceFallback forces uAPI v1, which has no kernel
// debounce, so the line must fall back to the software debouncer.
func TestSimSoftwareDebounceFallback(t *testing.T) {
	s, _ := newSim(t)
	c := &s.Chips[0]
	if err := c.Pullup(4); err != nil {
		t.Fatal(err)
	}
	sink := make(edgeSink, 8)
	in, err := gpio.NewCdev(clock.Real(), gpio.WithABIVersion(1)).OpenInput(
		gpio.LineSpec{Chip: c.ChipName(), Offset: 4, Debounce: 100 * time.Millisecond}, sink.handle)
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTTY) {
		t.Skipf("kernel without GPIO uAPI v1 (CONFIG_GPIO_CDEV_V1): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	mustRead(t, in, true)
	for _, pull := range []func(int) error{c.Pulldown, c.Pullup, c.Pulldown} { // a glitch, then a loss
		if err := pull(4); err != nil {
			t.Fatal(err)
		}
	}
	if e := sink.next(t); e.Active {
		t.Errorf("first debounced edge %+v, want inactive", e)
	}
	mustRead(t, in, false)
	if err := c.Pullup(4); err != nil {
		t.Fatal(err)
	}
	if e := sink.next(t); !e.Active {
		t.Errorf("edge %+v, want active", e)
	}
}

// TestSimNoHandler: without a handler the line is requested without edge
// detection and Read follows the wire.
func TestSimNoHandler(t *testing.T) {
	s, _ := newSim(t)
	c := &s.Chips[0]
	if err := c.Pulldown(2); err != nil {
		t.Fatal(err)
	}
	in, err := gpio.NewCdev(clock.Real()).OpenInput(gpio.LineSpec{Chip: c.ChipName(), Offset: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	mustRead(t, in, false)
	if err := c.Pullup(2); err != nil {
		t.Fatal(err)
	}
	mustRead(t, in, true)
}
