package modem

import (
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		numeric bool
		kind    Kind
		result  Result
		code    int
		detail  string
		cid     CallerID
	}{
		{"ok", "OK", false, KindFinal, ResultOK, -1, "", CallerID{}},
		{"ok lowercase spaces", "  ok \r", false, KindFinal, ResultOK, -1, "", CallerID{}},
		{"error", "ERROR", false, KindFinal, ResultError, -1, "", CallerID{}},
		{"cme numeric", "+CME ERROR: 10", false, KindFinal, ResultCMEError, 10, "", CallerID{}},
		{"cme text", "+CME ERROR: SIM not inserted", false, KindFinal, ResultCMEError, -1, "SIM not inserted", CallerID{}},
		{"cms", "+CMS ERROR: 500", false, KindFinal, ResultCMSError, 500, "", CallerID{}},
		{"connect", "CONNECT", false, KindFinal, ResultConnect, -1, "", CallerID{}},
		{"connect rate", "CONNECT 64000/ISDN/V120", false, KindFinal, ResultConnect, -1, "64000/ISDN/V120", CallerID{}},
		{"no carrier", "NO CARRIER", false, KindFinal, ResultNoCarrier, -1, "", CallerID{}},
		{"no carrier cause", "NO CARRIER 034", false, KindFinal, ResultNoCarrier, -1, "034", CallerID{}},
		{"busy", "BUSY", false, KindFinal, ResultBusy, -1, "", CallerID{}},
		{"no dialtone", "NO DIALTONE", false, KindFinal, ResultNoDialtone, -1, "", CallerID{}},
		{"no dial tone spaced", "NO DIAL TONE", false, KindFinal, ResultNoDialtone, -1, "", CallerID{}},
		{"no answer", "NO ANSWER", false, KindFinal, ResultNoAnswer, -1, "", CallerID{}},
		{"vcon", "VCON", false, KindFinal, ResultVCON, -1, "", CallerID{}},
		{"vcon lowercase", " vcon\r", false, KindFinal, ResultVCON, -1, "", CallerID{}},
		{"vcon in numeric mode", "VCON", true, KindFinal, ResultVCON, -1, "", CallerID{}},
		{"vcon prefix is info", "VCONNECT", false, KindInfo, ResultNone, -1, "", CallerID{}},
		{"ring", "RING", false, KindUnsolicited, ResultRing, -1, "", CallerID{}},
		{"cring", "+CRING: VOICE", false, KindUnsolicited, ResultRing, -1, "", CallerID{}},
		{"elsa ring cid", "RING;02416069820", false, KindUnsolicited, ResultRing, -1, "", CallerID{Number: "02416069820"}},
		{"elsa ring cid msn", "RING;02416069820;4711", false, KindUnsolicited, ResultRing, -1, "", CallerID{Number: "02416069820"}},
		{"zyxel ring cid", "RING/0301234", false, KindUnsolicited, ResultRing, -1, "", CallerID{Number: "0301234"}},
		{"ringer is info", "RINGER", false, KindInfo, ResultNone, -1, "", CallerID{}},
		{"clip", `+CLIP: "0301234567",129`, false, KindUnsolicited, ResultNone, -1, "", CallerID{Number: "0301234567"}},
		{"clip alpha", `+CLIP: "0301234567",129,,,"Alice, B.",0`, false, KindUnsolicited, ResultNone, -1, "", CallerID{Number: "0301234567", Name: "Alice, B."}},
		{"nmbr", "NMBR = 5551234", false, KindUnsolicited, ResultNone, -1, "", CallerID{Number: "5551234"}},
		{"nmbr private", "NMBR=P", false, KindUnsolicited, ResultNone, -1, "", CallerID{Number: "P"}},
		{"name", "NAME = JOHN DOE", false, KindUnsolicited, ResultNone, -1, "", CallerID{Name: "JOHN DOE"}},
		{"date", "DATE = 1125", false, KindUnsolicited, ResultNone, -1, "", CallerID{Date: "1125"}},
		{"time", "TIME=1330", false, KindUnsolicited, ResultNone, -1, "", CallerID{Time: "1330"}},
		{"info", "Lifeline modem 1.0", false, KindInfo, ResultNone, -1, "", CallerID{}},
		{"s-register verbose", "000", false, KindInfo, ResultNone, -1, "", CallerID{}},
		{"numeric ok", "0", true, KindFinal, ResultOK, -1, "", CallerID{}},
		{"numeric ring", "2", true, KindUnsolicited, ResultRing, -1, "", CallerID{}},
		{"numeric ring cid", "2;0301234", true, KindUnsolicited, ResultRing, -1, "", CallerID{Number: "0301234"}},
		{"numeric no dialtone", "6", true, KindFinal, ResultNoDialtone, -1, "", CallerID{}},
		{"numeric busy", "7", true, KindFinal, ResultBusy, -1, "", CallerID{}},
		{"numeric no answer", "8", true, KindFinal, ResultNoAnswer, -1, "", CallerID{}},
		{"numeric unknown", "252", true, KindInfo, ResultNone, -1, "", CallerID{}},
		{"verbose in numeric mode", "OK", true, KindFinal, ResultOK, -1, "", CallerID{}},
		{"garbage around ok", "\x00\xffOK\x7f", false, KindFinal, ResultOK, -1, "", CallerID{}},
		{"empty", "", false, KindInfo, ResultNone, -1, "", CallerID{}},
		{"call sent", "CALL SENT", false, KindInfo, ResultNone, -1, "", CallerID{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ParseLine(tc.line, tc.numeric)
			if r.Kind != tc.kind || r.Result != tc.result || r.Code != tc.code || r.Detail != tc.detail || r.CID != tc.cid {
				t.Errorf("ParseLine(%q, %v) = %+v; want kind %v result %v code %d detail %q cid %+v",
					tc.line, tc.numeric, r, tc.kind, tc.result, tc.code, tc.detail, tc.cid)
			}
		})
	}
}

func TestSplitter(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []string
		rest   string
	}{
		{"crlf", []string{"\r\nOK\r\n"}, []string{"OK"}, ""},
		{"split across reads", []string{"\r\nO", "K\r", "\n"}, []string{"OK"}, ""},
		{"numeric cr only", []string{"0\r"}, []string{"0"}, ""},
		{"partial kept", []string{"RI"}, nil, "RI"},
		{"lf only", []string{"A\nB\n"}, []string{"A", "B"}, ""},
		{"overlong cut", []string{strings.Repeat("x", MaxLineLen+10) + "\r\nOK\r\n"}, []string{strings.Repeat("x", MaxLineLen), "OK"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s splitter
			var got []string
			for _, c := range tc.chunks {
				s.feed([]byte(c), func(l string) { got = append(got, l) })
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || s.pending() != tc.rest {
				t.Errorf("got %q rest %q; want %q rest %q", got, s.pending(), tc.want, tc.rest)
			}
		})
	}
}

func TestVerboseSetting(t *testing.T) {
	tests := []struct {
		cmd            string
		numeric, found bool
	}{
		{"ATV0", true, true},
		{"ATE0V1Q0", false, true},
		{"ATZ", false, false},
		{"AT&V0", false, false},
		{"ATS0=0V0", true, true},
		{"ATS0?", false, false},
		{"AT+VCID=1", false, false},
		{"ATDT0301V0;", false, false},
		{"ATQ0 V0 E0", true, true},
		{"XYZV0", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.cmd, func(t *testing.T) {
			n, f := verboseSetting(tc.cmd)
			if n != tc.numeric || f != tc.found {
				t.Errorf("verboseSetting(%q) = %v, %v; want %v, %v", tc.cmd, n, f, tc.numeric, tc.found)
			}
		})
	}
}

func TestResultAndKindStrings(t *testing.T) {
	if ResultNoDialtone.String() != "NO DIALTONE" || Result(99).String() != "Result(99)" {
		t.Error("Result.String")
	}
	if KindFinal.String() != "final" || Kind(9).String() != "Kind(9)" {
		t.Error("Kind.String")
	}
}

// FuzzParse feeds arbitrary bytes through the line splitter and the
// parser, in both modes: no panic, no hang, and the invariants hold.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"\r\nOK\r\n", "RING;02416069820;MSN\r\n", `+CLIP: "0301",129,,,"A""B`, "NMBR = 123\r\n",
		"+CME ERROR: 10\r\n", "0\r2;123\r", "\x00\xff\xfe", "CONNECT 64000/ISDN\r\n", "ATV0\r", "RING/",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, numeric bool) {
		var s splitter
		s.feed(data, func(l string) {
			if len(l) > MaxLineLen {
				t.Fatalf("line of %d bytes", len(l))
			}
			r := ParseLine(l, numeric)
			if r.Kind == KindFinal && r.Result == ResultNone {
				t.Fatalf("final without result: %q", l)
			}
			if r.Result == ResultRing && r.Kind != KindUnsolicited {
				t.Fatalf("RING not unsolicited: %q", l)
			}
			for i := 0; i < len(r.Line); i++ {
				if r.Line[i] < 0x20 || r.Line[i] > 0x7e {
					t.Fatalf("control byte kept in %q", r.Line)
				}
			}
		})
		verboseSetting(string(data))
		splitFields(string(data))
	})
}
