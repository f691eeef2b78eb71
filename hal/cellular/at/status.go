package at

import (
	"fmt"
	"strconv"
	"strings"
)

// SIMState is the state of the SIM as +CPIN reports it.
type SIMState string

// SIM states. The strings are stable: the status JSON may carry them.
const (
	SIMReady   SIMState = "ready"
	SIMPIN     SIMState = "pin-required"
	SIMPUK     SIMState = "puk-required"
	SIMAbsent  SIMState = "absent"
	SIMBlocked SIMState = "blocked" // another code (PIN2, PH-SIM …): not usable without the user
)

// CME error numbers (3GPP TS 27.007 section 9.2.1) that describe the SIM.
const (
	CMESIMNotInserted = 10
	CMESIMPINRequired = 11
	CMESIMPUKRequired = 12
	CMESIMFailure     = 13
	CMESIMBusy        = 14
	CMEIncorrectPIN   = 16
)

// ParseCPIN parses the answer to AT+CPIN?: "+CPIN: READY", "+CPIN: SIM PIN",
// "+CPIN: SIM PUK", other codes as SIMBlocked, or a "+CME ERROR: 10"
// (numeric or verbose "SIM not inserted") as SIMAbsent.
func ParseCPIN(line string) (SIMState, error) {
	if code, ok := CMEError(line); ok {
		switch code {
		case CMESIMNotInserted, CMESIMFailure:
			return SIMAbsent, nil
		case CMESIMPINRequired:
			return SIMPIN, nil
		case CMESIMPUKRequired:
			return SIMPUK, nil
		}
		return "", fmt.Errorf("%w: %q is not a SIM state", ErrSyntax, line)
	}
	rest, ok := strings.CutPrefix(line, "+CPIN:")
	if !ok {
		return "", fmt.Errorf("%w: %q is not a +CPIN response", ErrSyntax, line)
	}
	switch code := strings.TrimSpace(rest); code {
	case "READY":
		return SIMReady, nil
	case "SIM PIN":
		return SIMPIN, nil
	case "SIM PUK":
		return SIMPUK, nil
	case "":
		return "", fmt.Errorf("%w: empty +CPIN code in %q", ErrSyntax, line)
	default:
		return SIMBlocked, nil
	}
}

// cmeVerbose maps the verbose +CME ERROR texts (AT+CMEE=2) that matter
// here to their numbers.
var cmeVerbose = map[string]int{
	"sim not inserted":   CMESIMNotInserted,
	"sim pin required":   CMESIMPINRequired,
	"sim puk required":   CMESIMPUKRequired,
	"sim failure":        CMESIMFailure,
	"sim busy":           CMESIMBusy,
	"incorrect password": CMEIncorrectPIN,
}

// CMEError reports whether line is a "+CME ERROR: <err>" final result and
// its number; verbose texts known to this package are mapped to numbers,
// others give -1.
func CMEError(line string) (int, bool) {
	rest, ok := strings.CutPrefix(line, "+CME ERROR:")
	if !ok {
		return 0, false
	}
	rest = strings.TrimSpace(rest)
	if n, err := strconv.Atoi(rest); err == nil {
		return n, true
	}
	if n, ok := cmeVerbose[strings.ToLower(rest)]; ok {
		return n, true
	}
	return -1, true
}

// RegStat is <stat> of +CREG/+CEREG/+C5GREG (3GPP TS 27.007 sections
// 7.2, 10.1.22, 10.1.60).
type RegStat int

// Registration states.
const (
	RegNotSearching RegStat = 0
	RegHome         RegStat = 1
	RegSearching    RegStat = 2
	RegDenied       RegStat = 3
	RegUnknown      RegStat = 4
	RegRoaming      RegStat = 5
	RegSMSOnlyHome  RegStat = 6
	RegSMSOnlyRoam  RegStat = 7
	RegEmergency    RegStat = 8
)

var regNames = [...]string{"not-registered", "home", "searching", "denied", "unknown", "roaming", "sms-only-home", "sms-only-roaming", "emergency-only"}

// String names the state as the status JSON would.
func (s RegStat) String() string {
	if s >= 0 && int(s) < len(regNames) {
		return regNames[s]
	}
	return "stat-" + strconv.Itoa(int(s))
}

// Registered reports whether voice calls can be placed: home or roaming.
func (s RegStat) Registered() bool { return s == RegHome || s == RegRoaming }

// Registration is a parsed +CREG, +CEREG or +C5GREG line.
type Registration struct {
	// Command is "CREG", "CEREG" or "C5GREG".
	Command string
	// N is the <n> of a read response (AT+CREG?), -1 for an unsolicited
	// result code.
	N    int
	Stat RegStat
	// Area is the LAC (CREG) or TAC (CEREG, C5GREG), CellID the cell;
	// both -1 when not reported.
	Area, CellID int64
	// AcT is the access technology (0 GSM, 2 UTRAN, 7 E-UTRAN, 11 NR …),
	// -1 when not reported.
	AcT int
}

// Technology names AcT as users know it.
func (r Registration) Technology() string {
	switch r.AcT {
	case 0, 1, 3, 8:
		return "2G"
	case 2, 4, 5, 6:
		return "3G"
	case 7, 9, 10:
		return "4G"
	case 11, 12, 13:
		return "5G"
	}
	return ""
}

// ParseRegistration parses both forms of +CREG/+CEREG/+C5GREG: the read
// response "+CREG: <n>,<stat>[,<lac>,<ci>[,<AcT>]]" and the URC
// "+CREG: <stat>[,<lac>,<ci>[,<AcT>]]". They are told apart by the second
// parameter: a number in the read form, a quoted area code (or nothing) in
// the URC. Reject causes and the 5G NSSAI fields are ignored.
func ParseRegistration(line string) (Registration, error) {
	var r Registration
	for _, c := range [...]string{"CREG", "CEREG", "C5GREG"} {
		if strings.HasPrefix(line, "+"+c+":") {
			r.Command = c
		}
	}
	if r.Command == "" {
		return r, fmt.Errorf("%w: %q is not a registration response", ErrSyntax, line)
	}
	fs, err := Split(line, "+"+r.Command+":")
	if err != nil {
		return r, err
	}
	r.N = -1
	if len(fs) >= 2 && !fs[1].Quoted && fs[1].Text != "" {
		if r.N, err = fs[0].Int(); err != nil {
			return r, fmt.Errorf("%w (<n> of %q)", err, line)
		}
		fs = fs[1:]
	}
	if r.Stat, err = stat(fs[0], line); err != nil {
		return r, err
	}
	r.Area, r.CellID, r.AcT = -1, -1, -1
	if len(fs) > 1 {
		if r.Area, err = hexField(fs[1], line); err != nil {
			return r, err
		}
	}
	if len(fs) > 2 {
		if r.CellID, err = hexField(fs[2], line); err != nil {
			return r, err
		}
	}
	if len(fs) > 3 && fs[3].Text != "" {
		if r.AcT, err = fs[3].Int(); err != nil {
			return r, fmt.Errorf("%w (<AcT> of %q)", err, line)
		}
	}
	return r, nil
}

func stat(f Field, line string) (RegStat, error) {
	n, err := f.Int()
	if err != nil || n < 0 || n > 11 {
		return 0, fmt.Errorf("%w: bad <stat> %q in %q", ErrSyntax, f.Text, line)
	}
	return RegStat(n), nil
}

// hexField parses a quoted hexadecimal LAC/TAC/CI; an empty field is -1.
func hexField(f Field, line string) (int64, error) {
	if f.Text == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(f.Text, 16, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: bad hexadecimal %q in %q", ErrSyntax, f.Text, line)
	}
	return n, nil
}

// Signal is a parsed +CSQ response.
type Signal struct {
	// RSSI is the raw 0..31 value, 99 when unknown.
	RSSI int
	// BER is the raw bit error rate class 0..7, 99 when unknown.
	BER int
}

// ParseCSQ parses "+CSQ: <rssi>,<ber>".
func ParseCSQ(line string) (Signal, error) {
	fs, err := splitN(line, "+CSQ:", 2)
	if err != nil {
		return Signal{}, err
	}
	n, err := ints(fs[:2], line)
	if err != nil {
		return Signal{}, err
	}
	s := Signal{RSSI: n[0], BER: n[1]}
	if (s.RSSI < 0 || s.RSSI > 31) && s.RSSI != 99 || (s.BER < 0 || s.BER > 7) && s.BER != 99 {
		return Signal{}, fmt.Errorf("%w: +CSQ values out of range in %q", ErrSyntax, line)
	}
	return s, nil
}

// DBm converts RSSI to dBm as 3GPP TS 27.007 section 8.5 defines it:
// 0 is -113 dBm or less, 31 is -51 dBm or more, 2 dBm per step. ok is
// false for 99 (not known or not detectable).
func (s Signal) DBm() (dbm int, ok bool) {
	if s.RSSI < 0 || s.RSSI > 31 {
		return 0, false
	}
	return -113 + 2*s.RSSI, true
}

// Operator is a parsed +COPS? response.
type Operator struct {
	// Mode: 0 automatic, 1 manual, 2 deregistered, 4 manual/automatic.
	Mode int
	// Format of Name: 0 long alphanumeric, 1 short, 2 numeric (MCC MNC);
	// -1 with Name empty when not registered.
	Format int
	Name   string
	AcT    int // -1 when not reported
}

// ParseCOPS parses "+COPS: <mode>[,<format>,<oper>[,<AcT>]]".
func ParseCOPS(line string) (Operator, error) {
	fs, err := Split(line, "+COPS:")
	if err != nil {
		return Operator{}, err
	}
	op := Operator{Format: -1, AcT: -1}
	if op.Mode, err = fs[0].Int(); err != nil {
		return op, fmt.Errorf("%w (<mode> of %q)", err, line)
	}
	if len(fs) == 1 {
		return op, nil
	}
	if err := need(fs, 3, line); err != nil {
		return op, err
	}
	if op.Format, err = fs[1].Int(); err != nil {
		return op, fmt.Errorf("%w (<format> of %q)", err, line)
	}
	op.Name = fs[2].Text
	if len(fs) > 3 && fs[3].Text != "" {
		if op.AcT, err = fs[3].Int(); err != nil {
			return op, fmt.Errorf("%w (<AcT> of %q)", err, line)
		}
	}
	return op, nil
}
