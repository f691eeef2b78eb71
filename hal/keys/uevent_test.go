package keys

import (
	"errors"
	"strings"
	"testing"
)

// Payloads as OpenWrt's gpio-button-hotplug.c puts them on the wire
// (button_hotplug_work: "%s@" with the action and no devpath, then
// button_hotplug_fill_event: HOME, PATH, SUBSYSTEM, ACTION, BUTTON, TYPE for
// switches in newer versions, SEEN, SEQNUM; each string NUL-terminated),
// and what the kernel's own kobject_uevent sends for other devices.
var (
	payloadWPSPressed  = "pressed@\x00HOME=/\x00PATH=/sbin:/bin:/usr/sbin:/usr/bin\x00SUBSYSTEM=button\x00ACTION=pressed\x00BUTTON=wps\x00SEEN=41\x00SEQNUM=1187\x00"
	payloadWPSReleased = "released@\x00HOME=/\x00PATH=/sbin:/bin:/usr/sbin:/usr/bin\x00SUBSYSTEM=button\x00ACTION=released\x00BUTTON=wps\x00SEEN=2\x00SEQNUM=1188\x00"
	payloadResetBoot   = "pressed@\x00HOME=/\x00PATH=/sbin:/bin:/usr/sbin:/usr/bin\x00SUBSYSTEM=button\x00ACTION=pressed\x00BUTTON=reset\x00SEEN=0\x00SEQNUM=312\x00"
	payloadBTN0        = "released@\x00HOME=/\x00PATH=/sbin:/bin:/usr/sbin:/usr/bin\x00SUBSYSTEM=button\x00ACTION=released\x00BUTTON=BTN_0\x00SEEN=1\x00SEQNUM=77\x00"
	payloadRfkillSw    = "pressed@\x00HOME=/\x00PATH=/sbin:/bin:/usr/sbin:/usr/bin\x00SUBSYSTEM=button\x00ACTION=pressed\x00BUTTON=rfkill\x00TYPE=switch\x00SEEN=5\x00SEQNUM=90\x00"
	payloadNetAdd      = "add@/devices/virtual/net/veth0\x00ACTION=add\x00DEVPATH=/devices/virtual/net/veth0\x00SUBSYSTEM=net\x00INTERFACE=veth0\x00IFINDEX=7\x00SEQNUM=2051\x00"
	payloadUSBTTY      = "add@/devices/platform/ehci/usb1/1-1/1-1:1.0/ttyUSB0/tty/ttyUSB0\x00ACTION=add\x00DEVPATH=/devices/platform/ehci/usb1/1-1/1-1:1.0/ttyUSB0/tty/ttyUSB0\x00SUBSYSTEM=tty\x00MAJOR=188\x00MINOR=0\x00DEVNAME=ttyUSB0\x00SEQNUM=2100\x00"
	// Captured by TestRealKernelUevent from Linux 6.18 (veth created in a netns).
	payloadCapturedVeth = "add@/devices/virtual/net/lltest0\x00ACTION=add\x00DEVPATH=/devices/virtual/net/lltest0\x00SUBSYSTEM=net\x00INTERFACE=lltest0\x00IFINDEX=3\x00SEQNUM=1109\x00"
	payloadLibudev      = "libudev\x00\xfe\xed\xca\xfe\x28\x00\x00\x00"
)

func TestParseUeventButtons(t *testing.T) {
	cases := []struct {
		name    string
		payload string
		want    Button
		wantOK  bool
	}{
		{"wps pressed", payloadWPSPressed, Button{Name: "wps", Pressed: true, Seen: 41}, true},
		{"wps released", payloadWPSReleased, Button{Name: "wps", Seen: 2}, true},
		{"reset held at boot", payloadResetBoot, Button{Name: "reset", Pressed: true, Seen: 0}, true},
		{"unmapped BTN_0", payloadBTN0, Button{Name: "BTN_0", Seen: 1}, true},
		{"rfkill switch", payloadRfkillSw, Button{Name: "rfkill", Pressed: true, Seen: 5, Switch: true}, true},
		{"net device", payloadNetAdd, Button{}, false},
		{"tty device", payloadUSBTTY, Button{}, false},
		{"captured veth add", payloadCapturedVeth, Button{}, false},
		{"no trailing NUL", strings.TrimSuffix(payloadWPSPressed, "\x00"), Button{Name: "wps", Pressed: true, Seen: 41}, true},
		{"no SEEN", "pressed@\x00SUBSYSTEM=button\x00ACTION=pressed\x00BUTTON=phone\x00", Button{Name: "phone", Pressed: true, Seen: -1}, true},
		{"unknown action", "held@\x00SUBSYSTEM=button\x00ACTION=held\x00BUTTON=wps\x00", Button{}, false},
		{"no button name", "pressed@\x00SUBSYSTEM=button\x00ACTION=pressed\x00", Button{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseUevent([]byte(tc.payload))
			if err != nil {
				t.Fatalf("ParseUevent: %v", err)
			}
			got, ok := u.ButtonEvent()
			if ok != tc.wantOK || got != tc.want {
				t.Fatalf("ButtonEvent = %+v, %v; want %+v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestParseUeventFields(t *testing.T) {
	u, err := ParseUevent([]byte(payloadNetAdd))
	if err != nil {
		t.Fatal(err)
	}
	if u.Action != "add" || u.DevPath != "/devices/virtual/net/veth0" || u.Env["INTERFACE"] != "veth0" || u.Env["SEQNUM"] != "2051" {
		t.Fatalf("got %+v", u)
	}
	b, err := ParseUevent([]byte(payloadWPSPressed))
	if err != nil {
		t.Fatal(err)
	}
	if b.Action != "pressed" || b.DevPath != "" || b.Env["PATH"] != "/sbin:/bin:/usr/sbin:/usr/bin" {
		t.Fatalf("got %+v", b)
	}
}

func TestParseUeventErrors(t *testing.T) {
	cases := []struct{ name, payload string }{
		{"libudev monitor message", payloadLibudev},
		{"empty", ""},
		{"no at", "pressed\x00SUBSYSTEM=button\x00"},
		{"empty action", "@/devices\x00A=b\x00"},
		{"field without =", "add@/x\x00ACTION\x00"},
		{"empty key", "add@/x\x00=v\x00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseUevent([]byte(tc.payload)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzParseUevent(f *testing.F) {
	for _, p := range []string{payloadWPSPressed, payloadWPSReleased, payloadRfkillSw, payloadNetAdd, payloadCapturedVeth, payloadLibudev, ""} {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseUevent(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not wrapping ErrMalformed: %v", err)
			}
			return
		}
		if u.Action == "" || strings.ContainsRune(u.Action, 0) {
			t.Fatalf("bad action %q", u.Action)
		}
		if btn, ok := u.ButtonEvent(); ok && (btn.Name == "" || btn.Seen < -1) {
			t.Fatalf("bad button %+v", btn)
		}
	})
}
