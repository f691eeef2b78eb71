package simboard

import (
	"errors"
	"testing"
)

func TestSimCell(t *testing.T) {
	var got []Cell
	b := New(nil, func(c Change) { got = append(got, c.Cell) })
	cmds := []struct {
		signal string
		args   []string
		want   Cell
	}{
		{"cell", []string{"register"}, Cell{Op: "register", Reg: "home"}},
		{"cell", []string{"register", "roaming"}, Cell{Op: "register", Reg: "roaming"}},
		{"cell", []string{"deregister"}, Cell{Op: "deregister", Reg: "searching"}},
		{"cell", []string{"deregister", "denied"}, Cell{Op: "deregister", Reg: "denied"}},
		{"cell", []string{"nosim"}, Cell{Op: "nosim"}},
		{"cell", []string{"pin", "1234"}, Cell{Op: "pin", PIN: "1234"}},
		{"cell", []string{"signal", "-73"}, Cell{Op: "signal", RSSI: 20}},
		{"cell", []string{"signal", "99"}, Cell{Op: "signal", RSSI: 99}},
		{"cell", []string{"unplug"}, Cell{Op: "unplug"}},
		{"cell", []string{"far", "busy"}, Cell{Op: "far", Reg: "busy"}},
		{"cell", []string{"hangup"}, Cell{Op: "hangup"}},
		{"sms", []string{"+4917012", "status please"}, Cell{Op: "sms", From: "+4917012", Text: "status please"}},
		{"sms", []string{"list"}, Cell{Op: "sms-list"}},
	}
	for _, c := range cmds {
		if err := b.Sim(c.signal, c.args); err != nil {
			t.Fatalf("%s %v: %v", c.signal, c.args, err)
		}
		if g := got[len(got)-1]; g != c.want {
			t.Fatalf("%s %v = %+v, want %+v", c.signal, c.args, g, c.want)
		}
	}
}

func TestSimCellErrors(t *testing.T) {
	b := New(nil, func(Change) { t.Fatal("a bad command reached the callback") })
	for _, args := range [][]string{
		{"cell", "fly"}, {"cell", "register", "mars"}, {"cell", "pin", "12"}, {"cell", "pin", "12ab"},
		{"cell", "signal", "-20"}, {"cell", "far"}, {"cell", "far", "maybe"}, {"cell", "signal", "40"}, {"cell", "nosim", "now"},
		{"sms", "list", "all"}, {"sms", "alice", "hi"}, {"sms", "+49", ""},
	} {
		if err := b.Sim(args[0], args[1:]); !errors.Is(err, ErrSignal) {
			t.Errorf("%v: err = %v", args, err)
		}
	}
}

func FuzzParseCell(f *testing.F) {
	f.Add("cell", "signal", "-73")
	f.Add("sms", "+49170", "text")
	f.Add("cell", "pin", "0000")
	f.Fuzz(func(t *testing.T, signal, a, b string) {
		c, err := parseCell(signal, []string{a, b})
		if err == nil && c.Op == "signal" && (c.RSSI < 0 || c.RSSI > 31 && c.RSSI != 99) {
			t.Fatalf("rssi %d from %q", c.RSSI, b)
		}
	})
}
