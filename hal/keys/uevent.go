package keys

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Uevent is one kernel uevent as broadcast on NETLINK_KOBJECT_UEVENT:
// a header "ACTION@DEVPATH" and NUL-separated KEY=VALUE pairs.
type Uevent struct {
	Action  string            // from the header, e.g. "pressed", "add"
	DevPath string            // from the header; empty for button events
	Env     map[string]string // the KEY=VALUE pairs
}

// ParseUevent decodes a kernel uevent datagram. It rejects udev's
// re-broadcasts ("libudev" magic), a header without '@', and pairs without
// '='. A trailing NUL is optional.
func ParseUevent(b []byte) (Uevent, error) {
	if bytes.HasPrefix(b, []byte("libudev\x00")) {
		return Uevent{}, fmt.Errorf("%w: udev monitor message, not a kernel uevent", ErrMalformed)
	}
	b = bytes.TrimRight(b, "\x00")
	parts := bytes.Split(b, []byte{0})
	head := string(parts[0])
	at := strings.IndexByte(head, '@')
	if at <= 0 {
		return Uevent{}, fmt.Errorf("%w: header %q has no ACTION@DEVPATH", ErrMalformed, truncate(head))
	}
	u := Uevent{Action: head[:at], DevPath: head[at+1:], Env: make(map[string]string, len(parts)-1)}
	for i, p := range parts[1:] {
		if len(p) == 0 {
			continue // tolerate an empty field between NULs
		}
		k, v, ok := strings.Cut(string(p), "=")
		if !ok || k == "" {
			return Uevent{}, fmt.Errorf("%w: field %d %q is not KEY=VALUE", ErrMalformed, i+1, truncate(string(p)))
		}
		u.Env[k] = v
	}
	return u, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Button is a button uevent from OpenWrt's gpio-button-hotplug.
type Button struct {
	Name    string // BUTTON=, the kernel's name for the key ("wps", "reset", "BTN_0")
	Pressed bool   // ACTION=pressed (true) or released (false)
	Seen    int    // SEEN=, whole seconds since this button's previous event; -1 if absent
	Switch  bool   // TYPE=switch: an EV_SW switch position, not a push button
}

// ButtonEvent extracts a button event. ok is false for any other uevent
// (another subsystem, an unknown action, no BUTTON).
func (u Uevent) ButtonEvent() (b Button, ok bool) {
	if u.Env["SUBSYSTEM"] != "button" {
		return Button{}, false
	}
	action := u.Env["ACTION"]
	if action == "" {
		action = u.Action
	}
	switch action {
	case "pressed":
		b.Pressed = true
	case "released":
	default:
		return Button{}, false
	}
	b.Name = u.Env["BUTTON"]
	if b.Name == "" {
		return Button{}, false
	}
	b.Seen = -1
	if s, err := strconv.Atoi(u.Env["SEEN"]); err == nil && s >= 0 {
		b.Seen = s
	}
	b.Switch = u.Env["TYPE"] == "switch"
	return b, true
}
