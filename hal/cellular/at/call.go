package at

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Caller is a parsed +CLIP unsolicited result code.
type Caller struct {
	Number string
	// Type is the type of address: 145 international ("+" prefix), 129
	// national/unknown.
	Type int
	// Alpha is the phonebook name, usually empty.
	Alpha string
	// Validity is the CLI validity: 0 valid, 1 withheld by the caller,
	// 2 not available (network), -1 not reported.
	Validity int
}

// ParseCLIP parses "+CLIP: <number>,<type>[,<subaddr>,<satype>[,<alpha>[,<CLI validity>]]]"
// (3GPP TS 27.007 section 7.6).
func ParseCLIP(line string) (Caller, error) {
	fs, err := splitN(line, "+CLIP:", 2)
	if err != nil {
		return Caller{}, err
	}
	c := Caller{Number: fs[0].Text, Validity: -1}
	if c.Type, err = optInt(fs[1], line, "type"); err != nil {
		return c, err
	}
	if len(fs) > 4 {
		c.Alpha = fs[4].Text
	}
	if len(fs) > 5 {
		if c.Validity, err = optInt(fs[5], line, "CLI validity"); err != nil {
			return c, err
		}
	}
	return c, nil
}

// optInt parses an integer that may be omitted (-1).
func optInt(f Field, line, name string) (int, error) {
	if f.Text == "" && !f.Quoted {
		return -1, nil
	}
	n, err := f.Int()
	if err != nil {
		return 0, fmt.Errorf("%w (<%s> of %q)", err, name, line)
	}
	return n, nil
}

// CallStat is <stat> of +CLCC (3GPP TS 27.007 section 7.18).
type CallStat int

// Call states.
const (
	CallActive   CallStat = 0
	CallHeld     CallStat = 1
	CallDialing  CallStat = 2
	CallAlerting CallStat = 3
	CallIncoming CallStat = 4
	CallWaiting  CallStat = 5
	// CallReleased is not in 27.007 but SIMCom and Quectel report 6 when
	// a call has ended.
	CallReleased CallStat = 6
)

// Call is one line of the +CLCC list (or of Quectel's +QIND "ccinfo").
type Call struct {
	Index    int
	Incoming bool // <dir> 1: mobile terminated
	Stat     CallStat
	// Mode: 0 voice, 1 data, 2 fax.
	Mode       int
	Multiparty bool
	Number     string
	Type       int // -1 when not reported
	Alpha      string
}

// ParseCLCC parses "+CLCC: <id>,<dir>,<stat>,<mode>,<mpty>[,<number>,<type>[,<alpha>...]]".
func ParseCLCC(line string) (Call, error) {
	fs, err := Split(line, "+CLCC:")
	if err != nil {
		return Call{}, err
	}
	return callFields(fs, line)
}

func callFields(fs []Field, line string) (Call, error) {
	if err := need(fs, 5, line); err != nil {
		return Call{}, err
	}
	n, err := ints(fs[:5], line)
	if err != nil {
		return Call{}, err
	}
	if n[2] == -1 && fs[2].Text == "-1" {
		// Quectel firmware reports a released call in +QIND "ccinfo" as
		// <stat> -1 (as Asterisk's chan_quectel parses it).
		n[2] = int(CallReleased)
	}
	if n[0] < 1 || n[1] < 0 || n[1] > 1 || n[2] < 0 || n[2] > 7 {
		return Call{}, fmt.Errorf("%w: call index, direction or state out of range in %q", ErrSyntax, line)
	}
	c := Call{Index: n[0], Incoming: n[1] == 1, Stat: CallStat(n[2]), Mode: n[3], Multiparty: n[4] == 1, Type: -1}
	if len(fs) > 5 {
		c.Number = fs[5].Text
	}
	if len(fs) > 6 {
		if c.Type, err = optInt(fs[6], line, "type"); err != nil {
			return c, err
		}
	}
	if len(fs) > 7 {
		c.Alpha = fs[7].Text
	}
	return c, nil
}

// EventKind is what a call-state result code says happened.
type EventKind int

// Call events.
const (
	EventRing      EventKind = iota + 1 // RING / +CRING: an incoming call alerts
	EventDialing                        // an outgoing call is being set up (^ORIG, +CLCC stat 2)
	EventAlerting                       // the far end is ringing (^CONF, +CLCC stat 3)
	EventConnected                      // the call is up (^CONN, VOICE CALL: BEGIN, +CLCC stat 0)
	EventEnded                          // the call is over (^CEND, VOICE CALL: END, NO CARRIER)
	EventBusy                           // the far end is busy (BUSY)
	EventNoAnswer                       // the far end did not answer (NO ANSWER)
)

var eventNames = [...]string{"", "ring", "dialing", "alerting", "connected", "ended", "busy", "no-answer"}

func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "event-" + strconv.Itoa(int(k))
}

// CallEvent is a parsed call-state result code.
type CallEvent struct {
	Kind EventKind
	// Index is the module's call index, -1 when the code has none.
	Index int
	// Duration of an ended call when the module reports it.
	Duration time.Duration
	// Cause is the network's cause value of an ended call (Huawei
	// <cc_cause>, 3GPP TS 24.008 10.5.4.11: 16 normal clearing, 17 user
	// busy, 19 no answer), -1 when not reported.
	Cause int
	// Call is set for Quectel's +QIND "ccinfo", which carries the whole
	// +CLCC line.
	Call *Call
}

// ParseCallEvent recognises the call-state result codes of the profiles:
// the V.250 finals RING, NO CARRIER, BUSY, NO ANSWER; Huawei ^ORIG, ^CONF,
// ^CONN, ^CEND (as chan_dongle parses them); Quectel +QIND: "ccinfo";
// SIMCom VOICE CALL: BEGIN and VOICE CALL: END: HHMMSS. ok is false (and
// err nil) for any other line; err is set for a recognised code with bad
// parameters.
func ParseCallEvent(line string) (ev CallEvent, ok bool, err error) {
	ev = CallEvent{Index: -1, Cause: -1}
	switch line {
	case "RING":
		ev.Kind = EventRing
		return ev, true, nil
	case "NO CARRIER":
		ev.Kind = EventEnded
		return ev, true, nil
	case "BUSY":
		ev.Kind = EventBusy
		return ev, true, nil
	case "NO ANSWER":
		ev.Kind = EventNoAnswer
		return ev, true, nil
	case "VOICE CALL: BEGIN":
		ev.Kind = EventConnected
		return ev, true, nil
	}
	if strings.HasPrefix(line, "+CRING:") {
		ev.Kind = EventRing
		return ev, true, nil
	}
	if rest, found := strings.CutPrefix(line, "VOICE CALL: END"); found {
		ev.Kind = EventEnded
		rest = strings.TrimSpace(strings.TrimPrefix(rest, ":"))
		if rest != "" {
			if ev.Duration, err = hhmmss(rest); err != nil {
				return ev, true, fmt.Errorf("%w (duration of %q)", err, line)
			}
		}
		return ev, true, nil
	}
	for prefix, kind := range huaweiEvents {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		ev.Kind = kind
		fs, err := Split(line, prefix)
		if err != nil {
			return ev, true, err
		}
		n, err := ints(fs, line)
		if err != nil {
			return ev, true, err
		}
		ev.Index = n[0]
		if kind == EventEnded {
			if len(n) > 1 && n[1] >= 0 {
				ev.Duration = time.Duration(n[1]) * time.Second
			}
			if len(n) > 3 {
				ev.Cause = n[3]
			}
		}
		return ev, true, nil
	}
	if strings.HasPrefix(line, "+QIND:") {
		fs, err := Split(line, "+QIND:")
		if err != nil || !fs[0].Quoted || fs[0].Text != "ccinfo" {
			return ev, false, nil // another indication (SMS DONE, csq …)
		}
		c, err := callFields(fs[1:], line)
		if err != nil {
			return ev, true, err
		}
		ev.Index, ev.Call = c.Index, &c
		ev.Kind = clccKind(c.Stat)
		return ev, true, nil
	}
	return ev, false, nil
}

var huaweiEvents = map[string]EventKind{
	"^ORIG:": EventDialing,
	"^CONF:": EventAlerting,
	"^CONN:": EventConnected,
	"^CEND:": EventEnded,
}

// clccKind maps a +CLCC state to the event it means.
func clccKind(s CallStat) EventKind {
	switch s {
	case CallActive:
		return EventConnected
	case CallDialing:
		return EventDialing
	case CallAlerting:
		return EventAlerting
	case CallIncoming, CallWaiting:
		return EventRing
	}
	return EventEnded
}

// hhmmss parses SIMCom's six-digit call duration.
func hhmmss(s string) (time.Duration, error) {
	if len(s) != 6 {
		return 0, fmt.Errorf("%w: %q is not HHMMSS", ErrSyntax, s)
	}
	var v [3]int
	for i := range v {
		n, err := strconv.Atoi(s[2*i : 2*i+2])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: %q is not HHMMSS", ErrSyntax, s)
		}
		v[i] = n
	}
	return time.Duration(v[0])*time.Hour + time.Duration(v[1])*time.Minute + time.Duration(v[2])*time.Second, nil
}

// IMS is Quectel's answer to AT+QCFG="ims": "+QCFG: "ims",<value>[,<VoLTE_state>]".
type IMS struct {
	// Setting: 0 follows the operator's MBN, 1 IMS on, 2 IMS off.
	Setting int
	// VoLTEReady is the module's own judgement (<VoLTE_state> 1); false
	// when not reported.
	VoLTEReady bool
}

// ParseQCFGIMS parses the answer to AT+QCFG="ims".
func ParseQCFGIMS(line string) (IMS, error) {
	fs, err := splitN(line, "+QCFG:", 2)
	if err != nil {
		return IMS{}, err
	}
	if fs[0].Text != "ims" {
		return IMS{}, fmt.Errorf("%w: %q is not the \"ims\" setting", ErrSyntax, line)
	}
	n, err := ints(fs[1:], line)
	if err != nil {
		return IMS{}, err
	}
	return IMS{Setting: n[0], VoLTEReady: len(n) > 1 && n[1] == 1}, nil
}

// ParseDTMF recognises the vendor codes that report a DTMF digit heard
// from the far end during a call: Huawei "^DDTMF: <digit>" (as
// chan_dongle and ModemManager's huawei plugin match it), Quectel
// "+QTONEDET: <ASCII code of the digit>" (EC2x manual, AT+QTONEDET=1) and
// SIMCom "+RXDTMF: <digit>" (SIM7500/SIM7600, as ModemManager's simtech
// plugin matches it). The digit is one of 0-9 * # A-D. ok is false (and
// err nil) for any other line; err is set for a recognised code whose
// value is not a digit.
func ParseDTMF(line string) (digit byte, ok bool, err error) {
	for _, prefix := range [...]string{"^DDTMF:", "+QTONEDET:", "+RXDTMF:"} {
		rest, found := strings.CutPrefix(line, prefix)
		if !found {
			continue
		}
		v := strings.TrimSpace(rest)
		if prefix == "+QTONEDET:" {
			// The ASCII code; a single-frequency tone (1400, 2300 Hz)
			// reported the same way is not a digit.
			if n, err := strconv.Atoi(v); err == nil && n > 0 && n < 128 {
				v = string(rune(n))
			}
		}
		if len(v) != 1 || !strings.Contains("0123456789*#ABCD", v) {
			return 0, true, fmt.Errorf("%w: %q is not a DTMF digit", ErrSyntax, line)
		}
		return v[0], true, nil
	}
	return 0, false, nil
}
