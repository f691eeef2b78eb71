package profiles

import (
	"errors"
	"strings"
	"testing"

	"lifeline/hal/cellular/at"
)

// sampleURC is one line each profile's modules send for a prefix, as the
// manuals print them: every call-state prefix must reach the parser.
var sampleURC = map[string]string{
	"RING":              "RING",
	"^ORIG:":            "^ORIG:1,0",
	"^CONF:":            "^CONF:1",
	"^CONN:":            "^CONN:1,0",
	"^CEND:":            "^CEND:1,12,104,16",
	"NO CARRIER":        "NO CARRIER",
	"BUSY":              "BUSY",
	"NO ANSWER":         "NO ANSWER",
	`+QIND: "ccinfo",`:  `+QIND: "ccinfo",1,0,0,0,0,"10086",129`,
	"VOICE CALL: BEGIN": "VOICE CALL: BEGIN",
	"VOICE CALL: END":   "VOICE CALL: END: 000041",
}

func TestEmbedded(t *testing.T) {
	names := Names()
	if strings.Join(names, ",") != "huawei-e1550,quectel-ec25,simcom-sim7600" {
		t.Fatalf("Names = %v", names)
	}
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			p, err := Load(n)
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != n || p.Audio.FrameBytes != 320 || p.Audio.Frame.D().Milliseconds() != 20 {
				t.Errorf("name %q, audio %+v", p.Name, p.Audio)
			}
			u := p.URC
			for _, l := range [][]string{u.Ring, u.CallState, u.Dialing, u.Alerting, u.Connected, u.Ended, u.Busy, u.NoAnswer} {
				for _, prefix := range l {
					line, ok := sampleURC[prefix]
					if !ok {
						t.Fatalf("no sample for URC prefix %q", prefix)
					}
					if _, ok, err := at.ParseCallEvent(line); !ok || err != nil {
						t.Errorf("%q (prefix %q) not parsed as a call event: %v %v", line, prefix, ok, err)
					}
				}
			}
			if _, err := at.ParseCLIP(u.CallerID + ` "+491701234567",145,,,,0`); err != nil {
				t.Errorf("caller_id %q: %v", u.CallerID, err)
			}
			dial, err := Expand(p.Dial.Command, map[string]string{"number": "+491701234567"})
			if err != nil || dial != "ATD+491701234567;" {
				t.Errorf("dial = %q, %v", dial, err)
			}
			if _, err := Expand(p.DTMF, map[string]string{"digit": "5", "call": "1"}); err != nil {
				t.Errorf("dtmf: %v", err)
			}
			if len(u.All()) < 5 {
				t.Errorf("All = %v", u.All())
			}
		})
	}
	if _, err := Load("nokia"); !errors.Is(err, ErrProfile) || !strings.Contains(err.Error(), "quectel-ec25") {
		t.Errorf("unknown profile err = %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	good, _ := fsys.ReadFile("data/quectel-ec25.json")
	for _, tc := range []struct{ name, from, to, want string }{
		{"unknown field", `"dtmf":`, `"dtfm": "x", "dtmf":`, "unknown field"},
		{"frame size", `"frame_bytes": 320`, `"frame_bytes": 160`, "frame_bytes"},
		{"dial placeholder", `"ATD{number};"`, `"ATD;"`, "{number}"},
		{"not AT", `"ATE0"`, `"E0"`, "does not start with AT"},
		{"duration", `"command_timeout": "5s"`, `"command_timeout": "5"`, "duration"},
		{"rate", `"rate": 8000`, `"rate": 44100`, "audio.rate"},
	} {
		b := strings.Replace(string(good), tc.from, tc.to, 1)
		if b == string(good) {
			t.Fatalf("%s: %q not in the profile", tc.name, tc.from)
		}
		_, err := Parse([]byte(b), "x.json")
		if !errors.Is(err, ErrProfile) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "x.json") {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestExpand(t *testing.T) {
	for _, tc := range []struct {
		tmpl string
		vars map[string]string
		want string
	}{
		{`AT+CPIN="{pin}"`, map[string]string{"pin": "1234"}, `AT+CPIN="1234"`},
		{"AT^DTMF={call},{digit}", map[string]string{"call": "1", "digit": "#"}, "AT^DTMF=1,#"},
	} {
		if got, err := Expand(tc.tmpl, tc.vars); err != nil || got != tc.want {
			t.Errorf("Expand(%q) = %q, %v", tc.tmpl, got, err)
		}
	}
	for _, vars := range []map[string]string{
		{"number": "123;ATH"}, {"number": "12+3"}, {"number": ""}, {"digit": "55"}, {"digit": "x"},
		{"pin": "12"}, {"pin": "12\"34"}, {"other": "1"},
	} {
		if _, err := Expand("AT{number}{digit}{pin}{other}", vars); !errors.Is(err, ErrProfile) {
			t.Errorf("Expand(%v) err = %v", vars, err)
		}
	}
	if _, err := Expand("ATD{number};", nil); !errors.Is(err, ErrProfile) {
		t.Errorf("unfilled placeholder accepted: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range Names() {
		b, _ := fsys.ReadFile("data/" + n + ".json")
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Parse(b, "f.json"); err != nil && !errors.Is(err, ErrProfile) {
			t.Fatalf("error %v does not wrap ErrProfile", err)
		}
	})
}
