package power_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/power"
)

func uevent(parts ...string) []byte { return []byte(strings.Join(parts, "\x00") + "\x00") }

func TestParseUevent(t *testing.T) {
	tests := []struct {
		name   string
		msg    []byte
		action string
		path   string
		power  bool
		err    bool
	}{
		{"ac change", uevent("change@/devices/platform/ac/power_supply/AC", "ACTION=change",
			"DEVPATH=/devices/platform/ac/power_supply/AC", "SUBSYSTEM=power_supply", "POWER_SUPPLY_ONLINE=0"),
			"change", "/devices/platform/ac/power_supply/AC", true, false},
		{"button", uevent("pressed@/devices/platform/gpio-keys", "ACTION=pressed", "SUBSYSTEM=button", "BUTTON=wps"),
			"pressed", "/devices/platform/gpio-keys", false, false},
		{"header only", []byte("add@/x"), "add", "/x", false, false},
		{"junk pairs skipped", uevent("change@/y", "noequals", "=v", "SUBSYSTEM=power_supply"), "change", "/y", true, false},
		{"libudev message", []byte("libudev\x00\xfe\xed\xca\xfe"), "", "", false, true},
		{"empty", nil, "", "", false, true},
		{"no devpath", []byte("change@"), "", "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := power.ParseUevent(tc.msg)
			if tc.err {
				if !errors.Is(err, power.ErrUevent) {
					t.Fatalf("err = %v, want ErrUevent", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Action != tc.action || ev.DevPath != tc.path || ev.PowerSupply() != tc.power {
				t.Errorf("got %+v (power %v)", ev, ev.PowerSupply())
			}
		})
	}
}

func FuzzParseUevent(f *testing.F) {
	f.Add(uevent("change@/devices/ac", "SUBSYSTEM=power_supply"))
	f.Add([]byte("libudev\x00"))
	f.Add([]byte("@\x00=\x00"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		ev, err := power.ParseUevent(msg)
		if err == nil && (ev.Action == "" || ev.DevPath == "") {
			t.Errorf("accepted %q with empty action or path: %+v", msg, ev)
		}
	})
}

func TestUeventHintRereads(t *testing.T) {
	fs := newSysfs(t)
	fs.set("AC", map[string]string{"type": "Mains", "online": "1"})
	clk := clock.NewFake(t0)
	got := make(states, 8)
	hints := power.NewFakeHints()
	m, err := power.New(clk, power.Config{SupplyDir: fs.dir, PollInterval: time.Hour, Uevents: true},
		power.WithHandler(got.handle), power.WithFakeHints(hints))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if s := got.next(t); s.Source != power.Mains {
		t.Fatalf("initial %+v", s)
	}
	fs.set("AC", map[string]string{"online": "0"})
	// Not a power_supply event: ignored. Then the real one: re-read at
	// once, no clock advanced.
	hints.Send(uevent("pressed@/devices/gpio-keys", "SUBSYSTEM=button"))
	hints.Send(uevent("change@/devices/ac/power_supply/AC", "SUBSYSTEM=power_supply"))
	if s := got.next(t); s.Source != power.Battery {
		t.Errorf("after uevent %+v", s)
	}
}

// TestUeventSocket opens the kernel's uevent socket and checks that Close
// interrupts a blocked Receive (what Monitor.Close relies on).
func TestUeventSocket(t *testing.T) {
	src, err := power.OpenUevents()
	if err != nil {
		t.Skipf("no NETLINK_KOBJECT_UEVENT socket here: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := src.Receive(buf); err != nil {
				done <- err
				return
			}
		}
	}()
	src.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Receive after Close: %v", err)
		}
	case <-time.After(5 * time.Second): // safety net only
		t.Fatal("Close did not interrupt Receive")
	}
}

func TestUeventsUnavailableFallsBackToPolling(t *testing.T) {
	fs := newSysfs(t)
	fs.set("AC", map[string]string{"type": "Mains", "online": "1"})
	m, err := power.New(clock.NewFake(t0), power.Config{SupplyDir: fs.dir, Uevents: true})
	if err != nil {
		t.Fatal(err) // with or without a socket, New succeeds
	}
	defer m.Close()
	if s, err := m.Refresh(context.Background()); err != nil || s.Source != power.Mains {
		t.Errorf("Refresh = %+v, %v", s, err)
	}
}
