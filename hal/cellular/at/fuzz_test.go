package at

import (
	"errors"
	"testing"
)

// parsers lists every parser for the shared fuzz target: none may panic,
// and every error must wrap ErrSyntax.
var parsers = map[string]func(string) error{
	"CPIN":  func(s string) error { _, err := ParseCPIN(s); return err },
	"Reg":   func(s string) error { _, err := ParseRegistration(s); return err },
	"CSQ":   func(s string) error { _, err := ParseCSQ(s); return err },
	"COPS":  func(s string) error { _, err := ParseCOPS(s); return err },
	"CLIP":  func(s string) error { _, err := ParseCLIP(s); return err },
	"CLCC":  func(s string) error { _, err := ParseCLCC(s); return err },
	"Event": func(s string) error { _, _, err := ParseCallEvent(s); return err },
	"IMS":   func(s string) error { _, err := ParseQCFGIMS(s); return err },
	"DTMF":  func(s string) error { _, _, err := ParseDTMF(s); return err },
	"CMTI":  func(s string) error { _, err := ParseCMTI(s); return err },
	"CMT":   func(s string) error { _, err := ParseCMT(s); return err },
	"CMGR":  func(s string) error { _, err := ParseCMGR(s); return err },
	"CMGL":  func(s string) error { _, _, err := ParseCMGL(s); return err },
}

func fuzzOne(f *testing.F, name string, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	p := parsers[name]
	f.Fuzz(func(t *testing.T, s string) {
		if err := p(s); err != nil && !errors.Is(err, ErrSyntax) {
			t.Fatalf("%s(%q): error %v does not wrap ErrSyntax", name, s, err)
		}
	})
}

func FuzzCPIN(f *testing.F) { fuzzOne(f, "CPIN", "+CPIN: READY", "+CME ERROR: 10") }
func FuzzRegistration(f *testing.F) {
	fuzzOne(f, "Reg", `+CREG: 2,1,"0A2B","00C3F1A2",2`, `+CEREG: 0,,,7`, "+C5GREG: 0")
}
func FuzzCSQ(f *testing.F)  { fuzzOne(f, "CSQ", "+CSQ: 18,99") }
func FuzzCOPS(f *testing.F) { fuzzOne(f, "COPS", `+COPS: 0,0,"TELE2",0`) }
func FuzzCLIP(f *testing.F) { fuzzOne(f, "CLIP", `+CLIP: "0301234",129,"",,"Mama, home",0`) }
func FuzzCLCC(f *testing.F) { fuzzOne(f, "CLCC", `+CLCC: 1,1,4,0,0,"+79139131234",145`) }
func FuzzCallEvent(f *testing.F) {
	fuzzOne(f, "Event", "^CEND:1,12,104,16", "VOICE CALL: END: 000211", `+QIND: "ccinfo",1,0,3,0,0,"10086",129`)
}
func FuzzDTMF(f *testing.F) {
	fuzzOne(f, "DTMF", "^DDTMF: 5", "+QTONEDET: 35", "+RXDTMF: *", "+QTONEDET: 2300")
}
func FuzzQCFGIMS(f *testing.F) { fuzzOne(f, "IMS", `+QCFG: "ims",1,1`) }
func FuzzCMTI(f *testing.F)    { fuzzOne(f, "CMTI", `+CMTI: "SM",9`) }
func FuzzCMT(f *testing.F) {
	fuzzOne(f, "CMT", "+CMT: ,24", `+CMT: "+491701234567","","26/12/04,17:05:09+04"`)
}
func FuzzCMGR(f *testing.F) {
	fuzzOne(f, "CMGR", "+CMGR: 1,,31", `+CMGR: "REC UNREAD","+86139",,"02/01/30,20:40:31+00"`)
}
func FuzzCMGL(f *testing.F) {
	fuzzOne(f, "CMGL", "+CMGL: 3,0,,31", `+CMGL: 1,"REC UNREAD","+86139",,"02/01/30,20:40:31+00"`)
}
