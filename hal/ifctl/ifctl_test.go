package ifctl_test

import (
	"errors"
	"testing"

	"lifeline/hal/ifctl"
	"lifeline/hal/ifctl/ifctltest"
)

// actuators runs a test against the Fake and, where possible, Netlink in a
// private namespace, with the same interfaces: wlan1 up, lan4 down.
func actuators(t *testing.T, f func(t *testing.T, a ifctl.Actuator)) {
	t.Run("fake", func(t *testing.T) {
		f(t, ifctl.NewFake(map[string]bool{"wlan1": true, "lan4": false}))
	})
	t.Run("netns", func(t *testing.T) {
		ns := ifctltest.NewNS(t)
		ns.AddDummy("wlan1", true)
		ns.AddDummy("lan4", false)
		n, err := ifctl.New(ifctl.WithNetNS(ns.Fd))
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		f(t, n)
	})
}

func TestDownUp(t *testing.T) {
	actuators(t, func(t *testing.T, a ifctl.Actuator) {
		steps := []struct {
			name  string
			do    func() (bool, error)
			want  bool
			wantE error
		}{
			{"wlan1 is up", func() (bool, error) { return a.IsUp("wlan1") }, true, nil},
			{"down wlan1 was up", func() (bool, error) { return a.Down("wlan1") }, true, nil},
			{"wlan1 is down", func() (bool, error) { return a.IsUp("wlan1") }, false, nil},
			{"down wlan1 again was not up", func() (bool, error) { return a.Down("wlan1") }, false, nil},
			{"down lan4 was not up", func() (bool, error) { return a.Down("lan4") }, false, nil},
			{"up wlan1", func() (bool, error) { return true, a.Up("wlan1") }, true, nil},
			{"wlan1 is up again", func() (bool, error) { return a.IsUp("wlan1") }, true, nil},
			{"lan4 still down", func() (bool, error) { return a.IsUp("lan4") }, false, nil},
			{"missing", func() (bool, error) { return a.Down("nosuch0") }, false, ifctl.ErrNoSuchInterface},
			{"missing up", func() (bool, error) { return false, a.Up("nosuch0") }, false, ifctl.ErrNoSuchInterface},
			{"bad name", func() (bool, error) { return a.Down("../etc") }, false, ifctl.ErrInvalidName},
			{"long name", func() (bool, error) { return a.IsUp("abcdefghijklmnop") }, false, ifctl.ErrInvalidName},
		}
		for _, st := range steps {
			got, err := st.do()
			if !errors.Is(err, st.wantE) {
				t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantE)
			}
			if err == nil && got != st.want {
				t.Errorf("%s: got %v, want %v", st.name, got, st.want)
			}
		}
	})
}

func TestFakeFail(t *testing.T) {
	f := ifctl.NewFake(map[string]bool{"wlan1": true})
	f.Fail["wlan1"] = ifctl.ErrPermission
	if _, err := f.Down("wlan1"); !errors.Is(err, ifctl.ErrPermission) {
		t.Fatalf("err = %v", err)
	}
	if up, _ := f.State("wlan1"); !up {
		t.Error("failed Down changed the state")
	}
	if was, err := f.Down("wlan1"); err != nil || !was {
		t.Errorf("second Down = %v, %v", was, err)
	}
	if len(f.Calls) != 2 || f.Calls[0] != "down wlan1" {
		t.Errorf("calls %q", f.Calls)
	}
}

func TestClosed(t *testing.T) {
	ns := ifctltest.NewNS(t)
	n, err := ifctl.New(ifctl.WithNetNS(ns.Fd))
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	n.Close()
	if _, err := n.IsUp("lo"); !errors.Is(err, ifctl.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func FuzzValidName(f *testing.F) {
	for _, s := range []string{"wlan1", "", ".", "a/b", "abcdefghijklmnop", "br-lan.10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ifctl.ValidName(s) && (len(s) == 0 || len(s) > 15) {
			t.Errorf("ValidName(%q) accepted", s)
		}
	})
}
