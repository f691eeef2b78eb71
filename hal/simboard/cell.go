package simboard

import (
	"fmt"
	"strconv"
	"strings"
)

// Cell is one command for the sim board's cellular module (`lifeline sim
// cell …` and `lifeline sim sms …`), validated; the owner's callback
// carries it out on the simulator.
type Cell struct {
	// Op: register | deregister | nosim | sim | pin | signal | unplug |
	// replug | far (what the far end does on the next calls) | hangup
	// (the far end hangs up) | show (the simulator's state, answered by
	// the owner) | sms | sms-list.
	Op string
	// Reg is the registration register or deregister sets: home |
	// roaming, or searching | denied | not-registered; for far, answer |
	// busy | no-answer | ringing.
	Reg string
	// PIN is the PIN the SIM now asks for (pin).
	PIN string
	// RSSI is the +CSQ rssi (signal): 0..31, 99 unknown.
	RSSI int
	// From and Text are a received SMS (sms).
	From, Text string
}

// cellUsage describes the cell and sms signals.
const cellUsage = "cell register [home|roaming], cell deregister [searching|denied|not-registered], cell nosim|sim, " +
	"cell pin PIN, cell signal DBM|RSSI, cell far answer|busy|no-answer|ringing, cell hangup|unplug|replug|show, sms FROM TEXT, sms list"

// parseCell validates `cell ARGS…` and `sms ARGS…`.
func parseCell(signal string, args []string) (Cell, error) {
	if len(args) == 0 {
		return Cell{}, fmt.Errorf("a value expected")
	}
	if signal == "sms" {
		if len(args) == 1 && args[0] == "list" {
			return Cell{Op: "sms-list"}, nil
		}
		if len(args) != 2 || !callerNumber(args[0]) || args[1] == "" {
			return Cell{}, fmt.Errorf("sms FROM TEXT (FROM digits, optionally after a +) or sms list expected")
		}
		return Cell{Op: "sms", From: args[0], Text: args[1]}, nil
	}
	c := Cell{Op: args[0]}
	rest := args[1:]
	oneOf := func(def string, allowed ...string) error {
		c.Reg = def
		switch {
		case len(rest) == 0:
			return nil
		case len(rest) == 1:
			for _, a := range allowed {
				if rest[0] == a {
					c.Reg = a
					return nil
				}
			}
		}
		return fmt.Errorf("cell %s takes one of %s", c.Op, strings.Join(allowed, ", "))
	}
	var err error
	switch c.Op {
	case "register":
		err = oneOf("home", "home", "roaming")
	case "deregister":
		err = oneOf("searching", "searching", "denied", "not-registered")
	case "far":
		if err := oneOf("", "answer", "busy", "no-answer", "ringing"); err != nil || c.Reg == "" {
			return c, fmt.Errorf("cell far takes what the far end does on the next calls: answer, busy, no-answer or ringing")
		}
	case "nosim", "sim", "unplug", "replug", "show", "hangup":
		if len(rest) != 0 {
			err = fmt.Errorf("cell %s takes no value", c.Op)
		}
	case "pin":
		if len(rest) != 1 || len(rest[0]) < 4 || len(rest[0]) > 8 || strings.Trim(rest[0], "0123456789") != "" {
			return c, fmt.Errorf("cell pin takes the PIN the SIM asks for: 4 to 8 digits")
		}
		c.PIN = rest[0]
	case "signal":
		if len(rest) != 1 {
			return c, fmt.Errorf("cell signal takes a level in dBm (-113..-51) or an rssi (0..31, 99 unknown)")
		}
		c.RSSI, err = rssiOf(rest[0])
	default:
		err = fmt.Errorf("unknown cell command %q", c.Op)
	}
	return c, err
}

// rssiOf reads a signal level: negative is dBm (27.007 +CSQ: -113 dBm is
// rssi 0, each step 2 dB up to -51 dBm, 31), else an rssi.
func rssiOf(v string) (int, error) {
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return 0, fmt.Errorf("signal %q is not a number", v)
	case n < 0 && n >= -113 && n <= -51:
		return (n + 113) / 2, nil
	case n >= 0 && n <= 31 || n == 99:
		return n, nil
	}
	return 0, fmt.Errorf("signal %d: want -113..-51 dBm, or rssi 0..31 or 99", n)
}
