package daemon

import (
	"os"
	"strings"
	"testing"
	"time"
)

const cellularLine = `config line 'mobile'
	option profile 'quectel-ec25'
	option device '/dev/serial/by-id/usb-Quectel_EC25-if02-port0'
	option audio_device '/dev/serial/by-id/usb-Quectel_EC25-if01-port0'
	option pin '1234'
	option health_interval '10s'
`

func TestParseConfigCellularLine(t *testing.T) {
	c, err := ParseConfig("f", []byte(cellularLine))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Line
	want := CellularConfig{AudioDevice: "/dev/serial/by-id/usb-Quectel_EC25-if01-port0", PIN: "1234", HealthInterval: 10 * time.Second}
	if l.Kind != LineKindCellular || l.Device != "/dev/serial/by-id/usb-Quectel_EC25-if02-port0" || l.Cellular != want {
		t.Fatalf("line = %+v", l)
	}
	// Defaults: an analog line is a modem's, and has no cellular part.
	c, err = ParseConfig("f", []byte("config line 'pstn'\n\toption device '/dev/ttyACM0'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Line.Kind != LineKindModem || c.Line.Cellular != (CellularConfig{}) {
		t.Fatalf("line = %+v", c.Line)
	}
}

func TestParseConfigCellularLineErrors(t *testing.T) {
	const head = "config line 'mobile'\n\toption profile 'simcom-sim7600'\n\toption device '/dev/ttyUSB2'\n"
	tests := []struct{ name, src, want string }{
		{"no audio device", head, "f:1: section line 'mobile' option 'audio_device': is required for a cellular line"},
		{"relative audio device", head + "\toption audio_device 'ttyUSB4'\n", "f:4: section line 'mobile' option 'audio_device': \"ttyUSB4\": must be an absolute path"},
		{"audio is the AT port", head + "\toption audio_device '/dev/ttyUSB2'\n", "f:4: section line 'mobile' option 'audio_device': is the AT port"},
		{"short pin", head + "\toption audio_device '/dev/ttyUSB4'\n\toption pin '12'\n", "f:5: section line 'mobile' option 'pin': a SIM PIN is 4 to 8 digits (value not shown)"},
		{"bad health interval", head + "\toption audio_device '/dev/ttyUSB4'\n\toption health_interval '1ms'\n", "f:5: section line 'mobile' option 'health_interval'"},
		{"pin on an analog line", "config line 'pstn'\n\toption device '/dev/ttyACM0'\n\toption pin '1234'\n",
			"f:3: section line 'pstn' option 'pin': only a cellular line takes it (profile analog is a modem's; cellular profiles: huawei-e1550, quectel-ec25, simcom-sim7600)"},
		{"audio on an isdn line", "config line 'pstn'\n\toption device '/dev/ttyACM0'\n\toption profile 'isdn-ta'\n\toption audio_device '/dev/ttyACM1'\n",
			"f:4: section line 'pstn' option 'audio_device': only a cellular line takes it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantConfigError(t, tc.src, tc.want) })
	}
}

// A wrong PIN is never echoed in the error.
func TestParseConfigPINNotEchoed(t *testing.T) {
	for _, pin := range []string{"12a45", "123456789", "98"} {
		_, err := ParseConfig("f", []byte("config line 'm'\n\toption profile 'huawei-e1550'\n\toption device '/dev/ttyUSB2'\n\toption audio_device '/dev/ttyUSB1'\n\toption pin '"+pin+"'\n"))
		if err == nil || strings.Contains(err.Error(), pin) {
			t.Fatalf("pin %q: err = %v", pin, err)
		}
	}
}

// The README's cellular line section parses as it is written.
func TestCellularLineDocumented(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var sec []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "config line 'mobile'") || len(sec) > 0 && strings.HasPrefix(l, "\t") {
			sec = append(sec, l)
		} else if len(sec) > 0 {
			break
		}
	}
	c, err := ParseConfig("README.md", []byte(strings.Join(sec, "\n")+"\n"))
	if err != nil || c.Line == nil || c.Line.Kind != LineKindCellular || c.Line.Cellular.PIN == "" {
		t.Fatalf("README's cellular line: %+v, %v", c, err)
	}
}
