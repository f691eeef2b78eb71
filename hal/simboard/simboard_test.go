package simboard

import (
	"errors"
	"strings"
	"testing"
)

func TestSim(t *testing.T) {
	var got []Change
	b := New([]string{"wps", "phone"}, func(c Change) { got = append(got, c) })
	if s := b.Signals(); !s.Mains || s.Battery != 100 || !s.WAN || !s.Provider || !s.Line {
		t.Fatalf("start = %+v", s)
	}
	for _, cmd := range [][]string{
		{"wan", "down"}, {"mains", "off"}, {"battery", "42"}, {"provider", "down"}, {"line", "down"}, {"key", "wps", "press"},
		{"ring", "+4930123456"}, {"ring", "stop"},
	} {
		if err := b.Sim(cmd[0], cmd[1:]); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
	s := b.Signals()
	if s.WAN || s.Mains || s.Battery != 42 || s.Provider || s.Line {
		t.Fatalf("after = %+v", s)
	}
	if len(got) != 8 || got[5].Key != "wps" || !got[5].Pressed || got[2].Now.Battery != 42 ||
		got[6].Signal != "ring" || got[6].Caller != "+4930123456" || got[7].Caller != "stop" {
		t.Fatalf("changes = %+v", got)
	}
}

func TestSimErrors(t *testing.T) {
	changes := 0
	b := New([]string{"wps"}, func(Change) { changes++ })
	before := b.Signals()
	for _, tc := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"wan", "sideways"}, "value must be up or down"},
		{[]string{"battery", "101"}, "percent must be 0..100"},
		{[]string{"key", "reset", "press"}, `no key "reset"`},
		{[]string{"key", "wps", "tap"}, "press or release"},
		{[]string{"toaster", "on"}, "unknown signal"},
		{[]string{"mains"}, "one value expected"},
		{[]string{"ring"}, "one caller's number"},
		{[]string{"ring", "030-123"}, "digits, optionally after a +"},
		{[]string{"ring", "+"}, "digits, optionally after a +"},
	} {
		err := b.Sim(tc.cmd[0], tc.cmd[1:])
		if !errors.Is(err, ErrSignal) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.cmd, err, tc.want)
		}
		// A rejected value changes nothing (`sim wan sideways` used to
		// clear the WAN signal, which the next change then reported).
		if after := b.Signals(); after != before || changes != 0 {
			t.Errorf("%v: signals %+v -> %+v, %d changes reported", tc.cmd, before, after, changes)
		}
	}
}
