// Package simboard is the simulated board: a set of signals (mains, battery,
// WAN, provider, line, keys, the cellular module) that `lifeline sim` sets
// over the control socket. Each change is handed to the owner's callback,
// which feeds the same daemon inputs real hardware would.
package simboard

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// ErrSignal is wrapped by errors about an unknown signal or value.
var ErrSignal = errors.New("bad sim signal")

// Signals is the simulated hardware's state.
type Signals struct {
	Mains    bool
	Battery  int // percent
	WAN      bool
	Provider bool
	Line     bool
}

// Change is one signal change; Key and Pressed are set for key events,
// Caller for ring.
type Change struct {
	Signal  string // mains | battery | wan | provider | line | key | ring | cell | sms
	Now     Signals
	Key     string
	Pressed bool
	// Caller is the caller's number a ring shows (digits, an optional
	// leading +), or "stop": the caller hangs up before an answer.
	Caller string
	// Cell is set for the cellular module's signals (cell, sms).
	Cell Cell
}

// Board holds the signals. Set is safe for concurrent use; one mutex guards
// the signals, and the callback is called with it held, so changes arrive
// serially and in order. The callback must not block or call Set.
type Board struct {
	keys     []string
	mu       sync.Mutex
	sig      Signals
	onChange func(Change)
}

// New returns a healthy board (mains on, battery 100 %, WAN, provider and
// line up) with the named keys. onChange receives every change.
func New(keys []string, onChange func(Change)) *Board {
	return &Board{keys: keys, sig: Signals{Mains: true, Battery: 100, WAN: true, Provider: true, Line: true}, onChange: onChange}
}

// Signals returns the current state.
func (b *Board) Signals() Signals {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sig
}

// Usage describes the accepted signals.
func (b *Board) Usage() string {
	return "mains on|off, battery PERCENT, wan up|down, provider up|down, line up|down, key " +
		strings.Join(b.keys, "|") + " press|release, ring NUMBER|stop, " + cellUsage
}

// Sim applies one `lifeline sim SIGNAL VALUE...` command.
func (b *Board) Sim(signal string, args []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s %s: %s (want %s)", ErrSignal, signal, strings.Join(args, " "), fmt.Sprintf(format, a...), b.Usage())
	}
	onOff := func(on, off string) (bool, error) {
		if len(args) != 1 {
			return false, bad("one value expected")
		}
		switch args[0] {
		case on:
			return true, nil
		case off:
			return false, nil
		}
		return false, bad("value must be %s or %s", on, off)
	}
	// The new signals are built aside and stored only once the value is
	// valid: a rejected command changes nothing.
	c := Change{Signal: signal}
	next := b.sig
	var err error
	switch signal {
	case "mains":
		next.Mains, err = onOff("on", "off")
	case "wan":
		next.WAN, err = onOff("up", "down")
	case "provider":
		next.Provider, err = onOff("up", "down")
	case "line":
		next.Line, err = onOff("up", "down")
	case "battery":
		if len(args) != 1 {
			return bad("one value expected")
		}
		n, perr := strconv.Atoi(strings.TrimSuffix(args[0], "%"))
		if perr != nil || n < 0 || n > 100 {
			return bad("percent must be 0..100")
		}
		next.Battery = n
	case "key":
		if len(args) != 2 {
			return bad("key NAME press|release expected")
		}
		if !slices.Contains(b.keys, args[0]) {
			return bad("this board has no key %q", args[0])
		}
		c.Key = args[0]
		switch args[1] {
		case "press":
			c.Pressed = true
		case "release":
		default:
			return bad("action must be press or release")
		}
	case "ring":
		if len(args) != 1 {
			return bad("one caller's number (or stop) expected")
		}
		if args[0] != "stop" && !callerNumber(args[0]) {
			return bad("the caller's number must be digits, optionally after a +")
		}
		c.Caller = args[0]
	case "cell", "sms":
		cell, cerr := parseCell(signal, args)
		if cerr != nil {
			return bad("%v", cerr)
		}
		c.Cell = cell
	default:
		return bad("unknown signal")
	}
	if err != nil {
		return err
	}
	b.sig = next
	c.Now = b.sig
	if b.onChange != nil {
		b.onChange(c)
	}
	return nil
}

// callerNumber reports whether n is a caller ID number: 1 to 20 digits,
// optionally after a +.
func callerNumber(n string) bool {
	d := strings.TrimPrefix(n, "+")
	if d == "" || len(d) > 20 {
		return false
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
