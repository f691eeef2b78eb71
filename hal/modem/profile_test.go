package modem_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"lifeline/hal/modem"
	"lifeline/hal/voice"
)

func TestEmbeddedProfiles(t *testing.T) {
	names := modem.ProfileNames()
	if strings.Join(names, ",") != "analog,isdn-ta" {
		t.Fatalf("ProfileNames = %q", names)
	}
	for _, n := range names {
		p, err := modem.LoadProfile(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if p.Name != n || p.Source == "" || p.Health.Interval.D() <= 0 {
			t.Errorf("%s: %+v", n, p)
		}
	}
	a, _ := modem.LoadProfile("analog")
	if a.Health.Commands[0] != "ATX4" || !strings.HasSuffix(a.Health.Commands[1], ";") || a.Health.After[0] != "ATH0" {
		t.Errorf("analog health check is not X4 + ATD...; + hang-up: %+v", a.Health)
	}
	if !strings.Contains(strings.Join(a.InitOptional, " "), "VCID=1") {
		t.Error("analog does not enable caller ID")
	}
	if _, err := modem.LoadProfile("nope"); !errors.Is(err, modem.ErrProfile) {
		t.Errorf("unknown profile: %v", err)
	}
	if _, err := modem.LoadProfile("../x"); !errors.Is(err, modem.ErrProfile) {
		t.Errorf("path in name: %v", err)
	}
}

func validProfile(t *testing.T) map[string]any {
	t.Helper()
	p, err := modem.LoadProfile("analog")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func TestParseProfileErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		raw    string
		want   string // substring of the error, beside the file name
	}{
		{name: "unknown field", mutate: func(m map[string]any) { m["colour"] = "red" }, want: `unknown field "colour"`},
		{name: "unknown nested field", mutate: func(m map[string]any) { m["health"].(map[string]any)["every"] = "1s" }, want: `unknown field "every"`},
		{name: "wrong type", mutate: func(m map[string]any) { m["init"] = "ATZ" }, want: `field "init"`},
		{name: "bad duration", mutate: func(m map[string]any) { m["ring_timeout"] = "soon" }, want: `field "ring_timeout"`},
		{name: "bad nested duration", mutate: func(m map[string]any) { m["dial"].(map[string]any)["timeout"] = 5 }, want: `field "dial.timeout"`},
		{name: "missing source", mutate: func(m map[string]any) { delete(m, "source") }, want: `field "source"`},
		{name: "dial without %s", mutate: func(m map[string]any) { m["dial"].(map[string]any)["command"] = "ATDT;" }, want: `field "dial.command"`},
		{name: "init not AT", mutate: func(m map[string]any) { m["init"] = []string{"ZZ"} }, want: `field "init[0]"`},
		{name: "bad caller id", mutate: func(m map[string]any) { m["caller_id"] = "morse" }, want: `field "caller_id"`},
		{name: "no health commands", mutate: func(m map[string]any) { m["health"].(map[string]any)["commands"] = []string{} }, want: `field "health.commands"`},
		{name: "zero interval", mutate: func(m map[string]any) { m["health"].(map[string]any)["interval"] = "0s" }, want: `field "health.interval"`},
		{name: "voice without enter", mutate: func(m map[string]any) { voiceOf(m)["enter"] = []string{} }, want: `field "voice.enter"`},
		{name: "voice unknown format", mutate: func(m map[string]any) { voiceOf(m)["formats"] = []any{map[string]any{"vsm": 1, "format": "gsm"}} }, want: `field "voice.formats[0].format"`},
		{name: "voice repeated vsm", mutate: func(m map[string]any) {
			voiceOf(m)["formats"] = []any{map[string]any{"vsm": 1, "format": "alaw"}, map[string]any{"vsm": 1, "format": "ulaw"}}
		}, want: `field "voice.formats[1].vsm"`},
		{name: "voice dial with ;", mutate: func(m map[string]any) { voiceOf(m)["dial"] = "ATDT%s;" }, want: `field "voice.dial"`},
		{name: "voice dial without %s", mutate: func(m map[string]any) { voiceOf(m)["dial"] = "ATDT" }, want: `field "voice.dial"`},
		{name: "voice alert_after negative", mutate: func(m map[string]any) { voiceOf(m)["alert_after"] = "-1s" }, want: `field "voice.alert_after"`},
		{name: "voice no connected", mutate: func(m map[string]any) { voiceOf(m)["connected"] = []string{} }, want: `field "voice.connected"`},
		{name: "voice stream not AT", mutate: func(m map[string]any) { voiceOf(m)["stream"] = "VTR" }, want: `field "voice.stream"`},
		{name: "voice zero dial timeout", mutate: func(m map[string]any) { voiceOf(m)["dial_timeout"] = "0s" }, want: `field "voice.dial_timeout"`},
		{name: "voice answer not AT", mutate: func(m map[string]any) { voiceOf(m)["answer"] = "A" }, want: `field "voice.answer"`},
		{name: "voice answer with %", mutate: func(m map[string]any) { voiceOf(m)["answer"] = "ATA%s" }, want: `field "voice.answer"`},
		{name: "voice answer bad timeout", mutate: func(m map[string]any) { voiceOf(m)["answer_timeout"] = "-1s" }, want: `field "voice.answer_timeout"`},
		{name: "voice answer empty result", mutate: func(m map[string]any) { voiceOf(m)["answer_connected"] = []string{"VCON", " "} }, want: `field "voice.answer_connected[1]"`},
		{name: "voice unknown field", mutate: func(m map[string]any) { voiceOf(m)["codec"] = "x" }, want: `unknown field "codec"`},
		{name: "trailing data", raw: `{"name":"x"} {}`, want: "data after"},
		{name: "syntax", raw: `{"name":`, want: "bad profile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.raw)
			if tc.mutate != nil {
				m := validProfile(t)
				tc.mutate(m)
				data, _ = json.Marshal(m)
			}
			_, err := modem.ParseProfile("profiles/test.json", data)
			if !errors.Is(err, modem.ErrProfile) {
				t.Fatalf("err = %v, want ErrProfile", err)
			}
			if !strings.Contains(err.Error(), "profiles/test.json") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %q does not name the file and %q", err, tc.want)
			}
		})
	}
}

func voiceOf(m map[string]any) map[string]any { return m["voice"].(map[string]any) }

// TestVoiceProfile: the analog profile has a voice mode, the ISDN TA none;
// Order puts the preferred formats first.
func TestVoiceProfile(t *testing.T) {
	a, _ := modem.LoadProfile("analog")
	if a.Voice == nil || a.Voice.Enter[0] != "AT+FCLASS=8" || a.Voice.Stream != "AT+VTR" || a.Voice.Connected[0] != "VCON" {
		t.Fatalf("analog voice %+v", a.Voice)
	}
	if f := a.Voice.Formats[0]; f.Parsed() != voice.FormatLinear8U || f.Command() != "AT+VSM=1,8000" {
		t.Fatalf("analog format %+v", f)
	}
	if i, _ := modem.LoadProfile("isdn-ta"); i.Voice != nil {
		t.Fatalf("isdn-ta voice %+v", i.Voice)
	}
	v := &modem.Voice{Formats: []modem.VoiceFormat{{VSM: 1, Format: "linear8u"}, {VSM: 4, Format: "ulaw"}, {VSM: 5, Format: "alaw"}}}
	tests := []struct {
		name   string
		prefer []voice.Format
		want   []int
	}{
		{"profile order", nil, []int{1, 4, 5}},
		{"a-law first", []voice.Format{voice.FormatALaw}, []int{5, 1, 4}},
		{"two preferences", []voice.Format{voice.FormatULaw, voice.FormatALaw}, []int{4, 5, 1}},
		{"absent preference", []voice.Format{voice.FormatLinear16}, []int{1, 4, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			for _, f := range v.Order(tc.prefer...) {
				got = append(got, f.VSM)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("Order = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDurationJSON(t *testing.T) {
	var d modem.Duration
	if err := json.Unmarshal([]byte(`"1m30s"`), &d); err != nil || d.D() != 90*time.Second {
		t.Fatalf("%v %v", d, err)
	}
	b, _ := json.Marshal(d)
	if string(b) != `"1m30s"` {
		t.Errorf("marshal %s", b)
	}
	if err := json.Unmarshal([]byte(`"-1s"`), &d); err == nil {
		t.Error("negative accepted")
	}
}

func FuzzParseProfile(f *testing.F) {
	for _, n := range modem.ProfileNames() {
		p, _ := modem.LoadProfile(n)
		b, _ := json.Marshal(p)
		f.Add(b)
	}
	f.Add([]byte(`{"name":"x","health":{"interval":"1s"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := modem.ParseProfile("fuzz.json", data)
		if err != nil {
			if !errors.Is(err, modem.ErrProfile) && !strings.Contains(err.Error(), "fuzz.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if p.Name == "" || p.Health.Interval <= 0 || !strings.Contains(p.Dial.Command, "%s") {
			t.Fatalf("invalid profile accepted: %+v", p)
		}
	})
}
