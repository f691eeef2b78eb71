package at

import (
	"errors"
	"testing"
	"time"
)

func TestParseCPIN(t *testing.T) {
	for _, tc := range []struct {
		line string
		want SIMState
	}{
		{"+CPIN: READY", SIMReady},
		{"+CPIN: SIM PIN", SIMPIN},
		{"+CPIN: SIM PUK", SIMPUK},
		{"+CPIN: PH-SIM PIN", SIMBlocked},
		{"+CPIN: SIM PIN2", SIMBlocked},
		{"+CME ERROR: 10", SIMAbsent},
		{"+CME ERROR: SIM not inserted", SIMAbsent},
		{"+CME ERROR: 13", SIMAbsent},
		{"+CME ERROR: SIM PIN required", SIMPIN},
	} {
		got, err := ParseCPIN(tc.line)
		if err != nil || got != tc.want {
			t.Errorf("ParseCPIN(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
	for _, bad := range []string{"+CPIN:", "+CME ERROR: 3", "OK", "+CPIN READY"} {
		if _, err := ParseCPIN(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseCPIN(%q) err = %v, want ErrSyntax", bad, err)
		}
	}
}

func TestParseRegistration(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       Registration
		tech       string
	}{
		// 3GPP TS 27.007 7.2 read forms (n=0, n=2) and URC forms (n=1, n=2).
		{"read n=0", "+CREG: 0,1", Registration{"CREG", 0, RegHome, -1, -1, -1}, ""},
		{"read n=0 roaming", "+CREG: 0,5", Registration{"CREG", 0, RegRoaming, -1, -1, -1}, ""},
		{"read n=2", `+CREG: 2,1,"0A2B","00C3F1A2",2`, Registration{"CREG", 2, RegHome, 0x0A2B, 0xC3F1A2, 2}, "3G"},
		{"read n=2 no act", `+CREG: 2,5,"1A2B","1234"`, Registration{"CREG", 2, RegRoaming, 0x1A2B, 0x1234, -1}, ""},
		{"urc n=1 searching", "+CREG: 2", Registration{"CREG", -1, RegSearching, -1, -1, -1}, ""},
		{"urc n=1 denied", "+CREG: 3", Registration{"CREG", -1, RegDenied, -1, -1, -1}, ""},
		{"urc n=2", `+CREG: 1,"D509","80D413D",7`, Registration{"CREG", -1, RegHome, 0xD509, 0x80D413D, 7}, "4G"},
		// Quectel EC25 manual AT+CEREG? example.
		{"cereg read", `+CEREG: 2,1,"D509","80D413D",7`, Registration{"CEREG", 2, RegHome, 0xD509, 0x80D413D, 7}, "4G"},
		{"cereg urc empty tac", `+CEREG: 0,,,7`, Registration{"CEREG", -1, RegNotSearching, -1, -1, 7}, "4G"},
		{"cereg urc", `+CEREG: 5,"00FE","0301ABCD",7`, Registration{"CEREG", -1, RegRoaming, 0xFE, 0x301ABCD, 7}, "4G"},
		{"c5greg read", `+C5GREG: 2,1,"00A1B2","0000000123456",11,1,"01"`, Registration{"C5GREG", 2, RegHome, 0xA1B2, 0x123456, 11}, "5G"},
		{"c5greg urc", "+C5GREG: 0", Registration{"C5GREG", -1, RegNotSearching, -1, -1, -1}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRegistration(tc.line)
			if err != nil || got != tc.want {
				t.Fatalf("ParseRegistration(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
			}
			if got.Technology() != tc.tech {
				t.Errorf("Technology = %q, want %q", got.Technology(), tc.tech)
			}
		})
	}
	for _, bad := range []string{"+CREG: ", "+CREG: x", `+CREG: 1,"zz","1"`, "+CREG: 12", "+COPS: 0", `+CREG: 1,"1`} {
		if _, err := ParseRegistration(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseRegistration(%q) err = %v, want ErrSyntax", bad, err)
		}
	}
	if !RegRoaming.Registered() || RegDenied.Registered() || RegDenied.String() != "denied" {
		t.Error("RegStat methods")
	}
}

func TestParseCSQ(t *testing.T) {
	for _, tc := range []struct {
		line string
		dbm  int
		ok   bool
	}{
		{"+CSQ: 0,0", -113, true},
		{"+CSQ: 31,99", -51, true},
		{"+CSQ: 18,99", -77, true},
		{"+CSQ: 99,99", 0, false},
	} {
		s, err := ParseCSQ(tc.line)
		if err != nil {
			t.Fatalf("ParseCSQ(%q): %v", tc.line, err)
		}
		if dbm, ok := s.DBm(); dbm != tc.dbm || ok != tc.ok {
			t.Errorf("%q DBm = %d, %v; want %d, %v", tc.line, dbm, ok, tc.dbm, tc.ok)
		}
	}
	for _, bad := range []string{"+CSQ: 32,0", "+CSQ: 5", "+CSQ: a,b", "+CSQ: 5,8"} {
		if _, err := ParseCSQ(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseCSQ(%q) err = %v", bad, err)
		}
	}
}

func TestParseCOPS(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Operator
	}{
		{`+COPS: 0,0,"CHINA MOBILE",7`, Operator{0, 0, "CHINA MOBILE", 7}},
		{`+COPS: 0,0,"TELE2",0`, Operator{0, 0, "TELE2", 0}},
		{`+COPS: 0,2,"26201",2`, Operator{0, 2, "26201", 2}},
		{`+COPS: 1,0,"Vodafone.de"`, Operator{1, 0, "Vodafone.de", -1}},
		{"+COPS: 0", Operator{0, -1, "", -1}},
	} {
		got, err := ParseCOPS(tc.line)
		if err != nil || got != tc.want {
			t.Errorf("ParseCOPS(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
	if _, err := ParseCOPS("+COPS: 0,0"); !errors.Is(err, ErrSyntax) {
		t.Errorf("short +COPS err = %v", err)
	}
}

func TestParseCLIP(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Caller
	}{
		// 27.007 7.6; Quectel and SIMCom manuals' examples.
		{`+CLIP: "02151082965",129,"",0,"",0`, Caller{"02151082965", 129, "", 0}},
		{`+CLIP: "+491701234567",145,,,,0`, Caller{"+491701234567", 145, "", 0}},
		{`+CLIP: "+79139131234",145`, Caller{"+79139131234", 145, "", -1}},
		{`+CLIP: "",128,,,,1`, Caller{"", 128, "", 1}},
		{`+CLIP: "0301234","129","","","Mama, home",0`, Caller{}},
		{`+CLIP: "0301234",129,"",,"Mama, home",0`, Caller{"0301234", 129, "Mama, home", 0}},
	} {
		got, err := ParseCLIP(tc.line)
		if tc.want == (Caller{}) {
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("ParseCLIP(%q) err = %v, want ErrSyntax", tc.line, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseCLIP(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
}

func TestParseCLCC(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Call
	}{
		{`+CLCC: 1,1,4,0,0,"+79139131234",145`, Call{1, true, CallIncoming, 0, false, "+79139131234", 145, ""}},
		{`+CLCC: 1,0,0,0,0,"10086",129`, Call{1, false, CallActive, 0, false, "10086", 129, ""}},
		{`+CLCC: 3,0,2,0,0,"5551234",129`, Call{3, false, CallDialing, 0, false, "5551234", 129, ""}},
		{`+CLCC: 4,1,6,0,0,"5551234",128`, Call{4, true, CallReleased, 0, false, "5551234", 128, ""}},
		{`+CLCC: 2,1,5,0,1`, Call{2, true, CallWaiting, 0, true, "", -1, ""}},
	} {
		got, err := ParseCLCC(tc.line)
		if err != nil || got != tc.want {
			t.Errorf("ParseCLCC(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
	for _, bad := range []string{"+CLCC: 1,1,4,0", "+CLCC: 0,1,4,0,0", "+CLCC: 1,2,4,0,0"} {
		if _, err := ParseCLCC(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseCLCC(%q) err = %v", bad, err)
		}
	}
}

func TestParseCallEvent(t *testing.T) {
	for _, tc := range []struct {
		line  string
		kind  EventKind
		index int
		dur   time.Duration
		cause int
	}{
		{"RING", EventRing, -1, 0, -1},
		{"+CRING: VOICE", EventRing, -1, 0, -1},
		{"NO CARRIER", EventEnded, -1, 0, -1},
		{"BUSY", EventBusy, -1, 0, -1},
		{"NO ANSWER", EventNoAnswer, -1, 0, -1},
		// Huawei, as chan_dongle parses them.
		{"^ORIG:1,0", EventDialing, 1, 0, -1},
		{"^CONF:1", EventAlerting, 1, 0, -1},
		{"^CONN:1,0", EventConnected, 1, 0, -1},
		{"^CEND:1,12,104,16", EventEnded, 1, 12 * time.Second, 16},
		{"^CEND:2,0,104,17", EventEnded, 2, 0, 17},
		{"^CEND:1,0,104", EventEnded, 1, 0, -1},
		// SIMCom SIM7600.
		{"VOICE CALL: BEGIN", EventConnected, -1, 0, -1},
		{"VOICE CALL: END: 000211", EventEnded, -1, 2*time.Minute + 11*time.Second, -1},
		{"VOICE CALL: END", EventEnded, -1, 0, -1},
		// Quectel +QIND "ccinfo" (AT+QINDCFG="ccinfo",1).
		{`+QIND: "ccinfo",1,0,3,0,0,"10086",129`, EventAlerting, 1, 0, -1},
		{`+QIND: "ccinfo",1,1,4,0,0,"+4930123",145`, EventRing, 1, 0, -1},
		{`+QIND: "ccinfo",1,0,0,0,0,"10086",129`, EventConnected, 1, 0, -1},
		{`+QIND: "ccinfo",1,0,6,0,0,"10086",129`, EventEnded, 1, 0, -1},
		{`+QIND: "ccinfo",2,0,-1,0,0,"10086",129`, EventEnded, 2, 0, -1}, // released, as some firmware reports it
	} {
		ev, ok, err := ParseCallEvent(tc.line)
		if !ok || err != nil || ev.Kind != tc.kind || ev.Index != tc.index || ev.Duration != tc.dur || ev.Cause != tc.cause {
			t.Errorf("ParseCallEvent(%q) = %+v, %v, %v; want kind %v index %d dur %v cause %d", tc.line, ev, ok, err, tc.kind, tc.index, tc.dur, tc.cause)
		}
	}
	for _, other := range []string{"OK", `+QIND: "csq",20,99`, "+QIND: SMS DONE", "+CSQ: 1,1"} {
		if _, ok, err := ParseCallEvent(other); ok || err != nil {
			t.Errorf("ParseCallEvent(%q) = %v, %v; want not a call event", other, ok, err)
		}
	}
	for _, bad := range []string{"^CEND:x", "VOICE CALL: END: 12", `+QIND: "ccinfo",1`} {
		if _, ok, err := ParseCallEvent(bad); !ok || !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseCallEvent(%q) = %v, %v; want recognised with ErrSyntax", bad, ok, err)
		}
	}
}

func TestParseDTMF(t *testing.T) {
	for line, want := range map[string]byte{
		"^DDTMF: 5": '5', "^DDTMF:#": '#', // Huawei, as chan_dongle matches it
		"+QTONEDET: 49": '1', "+QTONEDET: 42": '*', "+QTONEDET: 35": '#', "+QTONEDET: 65": 'A', // Quectel: ASCII codes
		"+RXDTMF: 8": '8', "+RXDTMF: *": '*', // SIMCom SIM7600
	} {
		if d, ok, err := ParseDTMF(line); !ok || err != nil || d != want {
			t.Errorf("ParseDTMF(%q) = %q, %v, %v; want %q", line, d, ok, err, want)
		}
	}
	for _, other := range []string{"OK", "RING", "+DTMF: 1", "^DTMF=1,5"} {
		if _, ok, err := ParseDTMF(other); ok || err != nil {
			t.Errorf("ParseDTMF(%q) = %v, %v; want not a DTMF report", other, ok, err)
		}
	}
	for _, bad := range []string{"+QTONEDET: 2300", "+QTONEDET: x", "^DDTMF: 55", "+RXDTMF: E", "+RXDTMF:"} {
		if _, ok, err := ParseDTMF(bad); !ok || !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseDTMF(%q) = %v, %v; want recognised with ErrSyntax", bad, ok, err)
		}
	}
}

func TestParseQCFGIMS(t *testing.T) {
	got, err := ParseQCFGIMS(`+QCFG: "ims",1,1`)
	if err != nil || got != (IMS{1, true}) {
		t.Errorf("got %+v, %v", got, err)
	}
	got, err = ParseQCFGIMS(`+QCFG: "ims",0`)
	if err != nil || got != (IMS{0, false}) {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := ParseQCFGIMS(`+QCFG: "usbnet",0`); !errors.Is(err, ErrSyntax) {
		t.Errorf("other setting err = %v", err)
	}
}

func TestParseSMSHeaders(t *testing.T) {
	m, err := ParseCMTI(`+CMTI: "SM",9`)
	if err != nil || m != (NewMessage{"SM", 9}) {
		t.Errorf("CMTI = %+v, %v", m, err)
	}
	// 27.005 3.4.1 PDU and text mode +CMT; chan_dongle's +CMGR sample.
	h, err := ParseCMT("+CMT: ,24")
	if err != nil || !h.PDU || h.Length != 24 {
		t.Errorf("CMT pdu = %+v, %v", h, err)
	}
	h, err = ParseCMGR("+CMGR: 1,,31")
	if err != nil || !h.PDU || h.Length != 31 || h.Status != "1" {
		t.Errorf("CMGR pdu = %+v, %v", h, err)
	}
	want := time.Date(2026, 12, 4, 17, 5, 9, 0, time.FixedZone("", 3600))
	h, err = ParseCMT(`+CMT: "+491701234567","","26/12/04,17:05:09+04"`)
	if err != nil || h.PDU || h.Originator != "+491701234567" || !h.Time.Equal(want) {
		t.Errorf("CMT text = %+v, %v", h, err)
	}
	h, err = ParseCMGR(`+CMGR: "REC UNREAD","+8613918186089",,"02/01/30,20:40:31+00"`)
	if err != nil || h.Status != "REC UNREAD" || h.Originator != "+8613918186089" || h.Time.Year() != 2002 {
		t.Errorf("CMGR text = %+v, %v", h, err)
	}
	// 27.005 3.4.2 +CMGL entries, PDU and text mode.
	i, h, err := ParseCMGL("+CMGL: 3,0,,31")
	if err != nil || i != 3 || !h.PDU || h.Length != 31 || h.Status != "0" {
		t.Errorf("CMGL pdu = %d %+v, %v", i, h, err)
	}
	i, h, err = ParseCMGL(`+CMGL: 1,"REC UNREAD","+8613918186089",,"02/01/30,20:40:31+00"`)
	if err != nil || i != 1 || h.Status != "REC UNREAD" || h.Originator != "+8613918186089" {
		t.Errorf("CMGL text = %d %+v, %v", i, h, err)
	}
	for _, bad := range []string{"+CMGL: 1,0", "+CMGL: x,0,,31", "+CMGL: -1,0,,31"} {
		if _, _, err := ParseCMGL(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("%q err = %v, want ErrSyntax", bad, err)
		}
	}
	for _, bad := range []string{"+CMT: ,0", "+CMT: ,999", `+CMT: "+49","","26/13/04,17:05:09+04"`, "+CMGR: 1", "+CMTI: \"SM\",x"} {
		var err error
		switch bad[:5] {
		case "+CMT:":
			_, err = ParseCMT(bad)
		case "+CMGR":
			_, err = ParseCMGR(bad)
		default:
			_, err = ParseCMTI(bad)
		}
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("%q err = %v, want ErrSyntax", bad, err)
		}
	}
}
