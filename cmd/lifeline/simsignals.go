package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"lifeline/daemon"
	"lifeline/hal/cellular/at"
	"lifeline/hal/cellular/cellsim"
	"lifeline/hal/netmon"
	"lifeline/hal/power"
	"lifeline/hal/simboard"
)

// simSignalsFeature reports the sim board's signals (WAN and power) as the
// real board's watchers would; `lifeline sim` changes them (simChanged).
// Every apply reports them again, for the WAN interface of the new
// configuration. On other boards it is off.
var simSignalsFeature = featureDef{name: "sim-signals", new: func(hw *hardware) feature { return simSignals{hw} }}

type simSignals struct{ hw *hardware }

func (f simSignals) apply(ctx context.Context, cfg *daemon.Config) error {
	if f.hw.sim == nil {
		return nil
	}
	s := f.hw.sim.Signals()
	f.hw.post(simWAN(cfg, s))
	f.hw.post(simPower(s))
	return nil
}

func (simSignals) stop() {}

// simChanged turns a simulated signal change into the daemon input real
// hardware would give.
func (hw *hardware) simChanged(c simboard.Change) {
	hw.mu.Lock()
	cfg := hw.cfg
	hw.mu.Unlock()
	if cfg == nil {
		return
	}
	switch c.Signal {
	case "wan":
		hw.post(simWAN(cfg, c.Now))
	case "mains", "battery":
		hw.post(simPower(c.Now))
	case "line":
		// The simulator's line goes dead or live; the real engine finds
		// out. A cellular line loses or regains its registration.
		if cs := hw.simModule(); cs != nil {
			op := map[bool]string{true: "register", false: "deregister"}[c.Now.Line]
			hw.simCell(cs, simboard.Cell{Op: op, Reg: map[bool]string{true: "home", false: "searching"}[c.Now.Line]})
			return
		}
		hw.simModem.SetLine(c.Now.Line)
		hw.checkLineNow()
	case "cell", "sms":
		if cs := hw.simModule(); cs != nil {
			hw.simCell(cs, c.Cell)
		}
	case "key":
		hw.post(daemon.KeyInput{Key: c.Key, Pressed: c.Pressed})
	case "ring":
		// The line rings with caller ID, as a PSTN caller's call does;
		// the gateway offers it to its incoming target.
		if cs := hw.simModule(); cs != nil {
			hw.simCellRing(cs, c.Caller)
		} else if c.Caller == "stop" {
			hw.simModem.StopRinging()
		} else if err := hw.simModem.Ring(c.Caller); err != nil {
			hw.log.Warn("sim ring", "caller", c.Caller, "err", err)
		}
	case "provider":
		// Seen by the real probe at its next OPTIONS, as a real provider is.
		hw.simProvider.SetUp(c.Now.Provider)
	}
}

func simWAN(cfg *daemon.Config, s simboard.Signals) daemon.WANInput {
	w := netmon.WANState{Interface: cfg.WANInterface, Present: true, AdminUp: true, Carrier: s.WAN, OperState: "down"}
	if s.WAN {
		w.OperState = "up"
		w.Addrs = []netip.Prefix{netip.MustParsePrefix("192.0.2.2/24")}
		w.DefaultRoute4 = true
	}
	return daemon.WANInput{State: w}
}

// simPower is what hal/power would merge from a mains line and a battery
// supply.
func simPower(s simboard.Signals) daemon.PowerInput {
	st := power.State{Source: power.Mains, Percent: s.Battery, Status: "Charging"}
	if s.Battery == 100 {
		st.Status = "Full"
	}
	if !s.Mains {
		st.Source, st.Status = power.Battery, "Discharging"
	}
	return daemon.PowerInput{State: st}
}

// simDriver is the sim board's daemon.SimDriver: the board's signals, and
// the cellular module's (`sim cell …`, `sim sms …`), which need a cellular
// line running on the simulator. `sim sms list` answers with the messages
// the module sent, one a line: "TO TEXT".
type simDriver struct{ hw *hardware }

func (s simDriver) Sim(signal string, args []string) (string, error) {
	if signal == "cell" || signal == "sms" {
		cs := s.hw.simModule()
		if cs == nil {
			return "", fmt.Errorf("sim %s: no cellular line runs (the line section needs a cellular profile, e.g. option profile 'quectel-ec25')", signal)
		}
		if signal == "sms" && len(args) == 1 && args[0] == "list" {
			return sentSMSList(cs.State().Sent), nil
		}
		if signal == "cell" && len(args) == 1 && args[0] == "show" {
			return cellState(cs.State()), nil
		}
	}
	return "", s.hw.sim.Sim(signal, args)
}

// cellState describes the simulated module: what `sim cell show` says.
func cellState(st cellsim.State) string {
	plugged := "plugged"
	if !st.Plugged {
		plugged = "unplugged"
	}
	return fmt.Sprintf("%s, SIM %s, registration %s (AcT %d), rssi %d, operator %q\n"+
		"call %s %s, audio routed %t, DTMF received %q, audio in %d bytes, out %d frames\nSMS sent %d, refused %d\n",
		plugged, st.SIM, st.Reg, st.AcT, st.RSSI, st.Operator, st.Call, st.Number, st.AudioRouted, st.DTMF,
		st.AudioIn, st.AudioOut, len(st.Sent), st.Refused)
}

// sentSMSList lists sent messages, one a line.
func sentSMSList(sent []cellsim.SentSMS) string {
	var b strings.Builder
	for _, m := range sent {
		to, text, err := m.Decode()
		if err != nil {
			fmt.Fprintf(&b, "? %v\n", err)
			continue
		}
		fmt.Fprintf(&b, "%s %s\n", to, strings.ReplaceAll(text, "\n", " "))
	}
	if b.Len() == 0 {
		return "no SMS sent\n"
	}
	return b.String()
}

// simCell carries out a validated cellular signal on the simulator; the
// module learns of it as from a real one (a registration URC, or the next
// health check, asked for at once).
func (hw *hardware) simCell(cs *cellsim.Sim, c simboard.Cell) {
	var err error
	switch c.Op {
	case "register", "deregister":
		reg := map[string]at.RegStat{"home": at.RegHome, "roaming": at.RegRoaming, "searching": at.RegSearching,
			"denied": at.RegDenied, "not-registered": at.RegNotSearching}[c.Reg]
		cs.SetRegistration(reg, 7)
	case "nosim":
		cs.SetSIM(at.SIMAbsent)
	case "sim":
		cs.SetSIM(at.SIMReady)
	case "pin":
		cs.SetPIN(c.PIN, "12345678")
	case "signal":
		cs.SetSignal(c.RSSI)
	case "far":
		cs.SetDialOutcome(map[string]cellsim.Outcome{"answer": cellsim.Answer, "busy": cellsim.Busy,
			"no-answer": cellsim.NoAnswer, "ringing": cellsim.Ringing}[c.Reg])
		return
	case "hangup":
		err = cs.RemoteHangup()
	case "unplug":
		cs.Unplug()
		return // the module finds out on its port
	case "replug":
		if err := cs.Replug(); err != nil {
			hw.log.Warn("sim cell", "op", c.Op, "err", err)
		}
		return
	case "sms":
		err = cs.InjectText(c.From, c.Text)
	}
	if err != nil {
		hw.log.Warn("sim cell", "op", c.Op, "err", err)
	}
	hw.checkLineNow()
}

// simCellRing rings the cellular line from caller, or hangs the caller up.
func (hw *hardware) simCellRing(cs *cellsim.Sim, caller string) {
	var err error
	if caller == "stop" {
		err = cs.RemoteHangup()
	} else {
		err = cs.Ring(caller)
	}
	if err != nil {
		hw.log.Warn("sim ring", "caller", caller, "err", err)
	}
}
