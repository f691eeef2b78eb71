package modem

import (
	"strconv"
	"strings"

	"lifeline/hal/voice/call"
)

// Result is a V.250 result code, final or unsolicited.
type Result int

// Result codes. ResultNone marks a line that is not a result code.
const (
	ResultNone Result = iota
	ResultOK
	ResultConnect
	ResultRing
	ResultNoCarrier
	ResultError
	ResultNoDialtone
	ResultBusy
	ResultNoAnswer
	ResultCMEError
	ResultCMSError
	// ResultVCON is V.253's "voice connection": a voice call is up (the
	// final result of ATD in voice mode, AT+FCLASS=8). Verbose only:
	// V.253 gives it no number that modems agree on.
	ResultVCON
)

var resultNames = [...]string{
	ResultNone:       "",
	ResultOK:         "OK",
	ResultConnect:    "CONNECT",
	ResultRing:       "RING",
	ResultNoCarrier:  "NO CARRIER",
	ResultError:      "ERROR",
	ResultNoDialtone: "NO DIALTONE",
	ResultBusy:       "BUSY",
	ResultNoAnswer:   "NO ANSWER",
	ResultCMEError:   "+CME ERROR",
	ResultCMSError:   "+CMS ERROR",
	ResultVCON:       "VCON",
}

// String returns the verbose (ATV1) form of the result code.
func (r Result) String() string {
	if r < 0 || int(r) >= len(resultNames) {
		return "Result(" + strconv.Itoa(int(r)) + ")"
	}
	return resultNames[r]
}

// numericResults maps ATV0 numeric result codes (V.250 table 1; 5 is the
// Hayes "CONNECT 1200") to results.
var numericResults = map[string]Result{
	"0": ResultOK, "1": ResultConnect, "2": ResultRing, "3": ResultNoCarrier,
	"4": ResultError, "5": ResultConnect, "6": ResultNoDialtone, "7": ResultBusy,
	"8": ResultNoAnswer,
}

// Kind says what a received line is.
type Kind int

const (
	// KindInfo is information text (or anything not recognised).
	KindInfo Kind = iota
	// KindFinal is a final result code: it ends the pending command. While
	// no command is pending the engine delivers it to subscribers instead
	// (NO CARRIER when the remote side hangs up).
	KindFinal
	// KindUnsolicited is an unsolicited result code: RING and caller ID
	// (+CLIP, +CRING, NMBR=, NAME=, DATE=, TIME=). Never ends a command.
	KindUnsolicited
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindInfo:
		return "info"
	case KindFinal:
		return "final"
	case KindUnsolicited:
		return "unsolicited"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// CallerID is what the line told about an incoming caller (call.CallerID).
type CallerID = call.CallerID

// Response is one parsed line from the modem.
type Response struct {
	Line   string   // the line as received, control characters removed, trimmed
	Kind   Kind     // what the line is
	Result Result   // for result codes; ResultNone for info and caller ID lines
	Code   int      // +CME/+CMS ERROR number; -1 when textual or absent
	Detail string   // text after the code: CONNECT rate, error text
	CID    CallerID // caller ID carried by this line, if any
}

// MaxLineLen bounds one line; longer input is cut (the rest is dropped up to
// the next line end) so garbage can never grow memory.
const MaxLineLen = 512

// CleanLine removes control and non-ASCII bytes and surrounding blanks.
func CleanLine(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			clean = false
			break
		}
	}
	if !clean {
		b := make([]byte, 0, len(s))
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x20 && s[i] <= 0x7e {
				b = append(b, s[i])
			}
		}
		s = string(b)
	}
	return strings.TrimSpace(s)
}

// ParseLine classifies one line. numeric selects ATV0 mode, where a line of
// digits is a numeric result code; in verbose mode digits are information
// text (an S-register read returns "000"). Verbose result codes are
// recognised in both modes. ParseLine never fails: what it does not know is
// KindInfo.
func ParseLine(line string, numeric bool) Response {
	s := CleanLine(line)
	r := Response{Line: s, Code: -1}
	if s == "" {
		return r
	}
	u := strings.ToUpper(s)

	if numeric && u[0] >= '0' && u[0] <= '9' {
		num, rest, _ := strings.Cut(u, ";")
		num = strings.TrimSpace(num)
		if res, ok := numericResults[num]; ok {
			r.Result = res
			r.Kind = KindFinal
			if res == ResultRing {
				r.Kind = KindUnsolicited
				r.CID.Number = callerNumber(rest)
			}
			return r
		}
	}

	switch {
	case u == "OK":
		r.Kind, r.Result = KindFinal, ResultOK
	case u == "ERROR":
		r.Kind, r.Result = KindFinal, ResultError
	case u == "BUSY":
		r.Kind, r.Result = KindFinal, ResultBusy
	case u == "NO CARRIER" || strings.HasPrefix(u, "NO CARRIER "):
		r.Kind, r.Result = KindFinal, ResultNoCarrier
		r.Detail = strings.TrimSpace(s[len("NO CARRIER"):])
	case u == "NO DIALTONE" || u == "NO DIAL TONE":
		r.Kind, r.Result = KindFinal, ResultNoDialtone
	case u == "NO ANSWER":
		r.Kind, r.Result = KindFinal, ResultNoAnswer
	case u == "VCON":
		r.Kind, r.Result = KindFinal, ResultVCON
	case u == "CONNECT" || strings.HasPrefix(u, "CONNECT ") || strings.HasPrefix(u, "CONNECT;"):
		r.Kind, r.Result = KindFinal, ResultConnect
		r.Detail = strings.TrimSpace(s[len("CONNECT"):])
	case strings.HasPrefix(u, "+CME ERROR"):
		r.Kind, r.Result = KindFinal, ResultCMEError
		r.Code, r.Detail = errorCode(s[len("+CME ERROR"):])
	case strings.HasPrefix(u, "+CMS ERROR"):
		r.Kind, r.Result = KindFinal, ResultCMSError
		r.Code, r.Detail = errorCode(s[len("+CMS ERROR"):])
	case u == "RING" || u == "+CRING" || strings.HasPrefix(u, "+CRING:"):
		r.Kind, r.Result = KindUnsolicited, ResultRing
	case strings.HasPrefix(u, "RING") && len(u) > 4 && strings.ContainsRune(";/ ", rune(u[4])):
		// ELSA TanGo style "RING;02416069820[;MSN]", ZyXEL "RING/<number>".
		r.Kind, r.Result = KindUnsolicited, ResultRing
		r.CID.Number = callerNumber(s[5:])
	case strings.HasPrefix(u, "+CLIP:"):
		r.Kind = KindUnsolicited
		f := splitFields(s[len("+CLIP:"):])
		if len(f) > 0 {
			r.CID.Number = f[0]
		}
		if len(f) > 4 {
			r.CID.Name = f[4]
		}
	default:
		if k, v, ok := strings.Cut(s, "="); ok {
			key := strings.ToUpper(strings.TrimSpace(k))
			v = strings.TrimSpace(v)
			switch key {
			case "NMBR", "DDN_NMBR":
				r.Kind, r.CID.Number = KindUnsolicited, v
			case "NAME":
				r.Kind, r.CID.Name = KindUnsolicited, v
			case "DATE":
				r.Kind, r.CID.Date = KindUnsolicited, v
			case "TIME":
				r.Kind, r.CID.Time = KindUnsolicited, v
			case "MESG":
				r.Kind = KindUnsolicited
			}
		}
	}
	return r
}

// callerNumber takes the first ';'-separated field of s if it looks like a
// number (digits, '+', '*', '#').
func callerNumber(s string) string {
	f, _, _ := strings.Cut(s, ";")
	f = strings.TrimSpace(f)
	for i := 0; i < len(f); i++ {
		c := f[i]
		if !(c >= '0' && c <= '9' || c == '+' || c == '*' || c == '#') {
			return ""
		}
	}
	return f
}

// errorCode parses ": 10" or ": SIM not inserted".
func errorCode(s string) (int, string) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), ":"))
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, ""
	}
	return -1, s
}

// splitFields splits a comma-separated AT parameter list, honouring double
// quotes, and returns the fields unquoted and trimmed.
func splitFields(s string) []string {
	var out []string
	var cur strings.Builder
	inQ := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			inQ = !inQ
		case c == ',' && !inQ:
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, strings.TrimSpace(cur.String()))
}

// splitter cuts a byte stream into lines at CR or LF. Empty lines are
// dropped; a line longer than MaxLineLen is cut and the rest discarded up
// to the next line end. The zero value is ready to use; not safe for
// concurrent use.
type splitter struct {
	buf     []byte
	discard bool
}

// feed appends p and calls emit for each complete line.
func (s *splitter) feed(p []byte, emit func(string)) {
	for _, c := range p {
		if c == '\r' || c == '\n' {
			if len(s.buf) > 0 {
				emit(string(s.buf))
			}
			s.buf = s.buf[:0]
			s.discard = false
			continue
		}
		if s.discard {
			continue
		}
		if len(s.buf) >= MaxLineLen {
			emit(string(s.buf))
			s.buf = s.buf[:0]
			s.discard = true
			continue
		}
		s.buf = append(s.buf, c)
	}
}

// pending returns the partial line not yet ended.
func (s *splitter) pending() string { return string(s.buf) }

// verboseSetting scans the basic-syntax commands of an AT command line for
// V0/V1 and reports the last one. It stops at extended (+) syntax and at D,
// which take the rest of the line.
func verboseSetting(cmd string) (numeric, found bool) {
	u := strings.ToUpper(strings.TrimSpace(cmd))
	if !strings.HasPrefix(u, "AT") {
		return false, false
	}
	u = u[2:]
	digits := func(i int) int {
		for i < len(u) && u[i] >= '0' && u[i] <= '9' {
			i++
		}
		return i
	}
	for i := 0; i < len(u); {
		c := u[i]
		switch {
		case c == '+' || c == 'D' || c == ';':
			return numeric, found
		case c == '&' || c == '\\' || c == '%' || c == '*' || c == '#' || c == '$' || c == '-':
			i = digits(i + 2)
		case c == 'S':
			i = digits(i + 1)
			if i < len(u) && (u[i] == '=' || u[i] == '?') {
				i = digits(i + 1)
			}
		case c == 'V':
			j := digits(i + 1)
			numeric, found = u[i+1:j] == "0", true
			i = j
		default:
			i = digits(i + 1)
		}
	}
	return numeric, found
}
