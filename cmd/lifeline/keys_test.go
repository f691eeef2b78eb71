package main

import (
	"os"
	"strings"
	"testing"

	"lifeline/boards"
	"lifeline/daemon"
	"lifeline/hal/keys"
)

// A gpio-button-hotplug uevent as an OpenWrt router sends it (the WPS
// button of a TP-Link Archer C7, pressed: button_hotplug_work's "%s@" and
// the variables of button_hotplug_fill_event, each NUL-terminated) is a
// key of the generic board that a hotkey can name.
func TestGenericBoardKeyFromRecordedUevent(t *testing.T) {
	const wpsPressed = "pressed@\x00HOME=/\x00PATH=/sbin:/bin:/usr/sbin:/usr/bin\x00SUBSYSTEM=button\x00ACTION=pressed\x00BUTTON=wps\x00SEEN=41\x00SEQNUM=1187\x00"
	b, err := boards.Get("generic")
	if err != nil {
		t.Fatal(err)
	}
	u, err := keys.ParseUevent([]byte(wpsPressed))
	if err != nil {
		t.Fatal(err)
	}
	btn, ok := u.ButtonEvent()
	if !ok {
		t.Fatalf("not a button event: %+v", u)
	}
	key, ok := buttonKeys(b)[btn.Name]
	if !ok || key != "wps" || !btn.Pressed {
		t.Fatalf("BUTTON=%s → key %q (%v), pressed %v; want wps pressed", btn.Name, key, ok, btn.Pressed)
	}
	cfg, err := daemon.ParseConfig("c", []byte("config hotkey 'force'\n\tlist key 'wps'\n\toption hold '3s'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkConfig(cfg, b); err != nil {
		t.Fatalf("a hotkey on the generic board's wps: %v", err)
	}
	cfg.Hotkeys[0].Keys = []string{"fire"}
	if err := checkConfig(cfg, b); err == nil {
		t.Fatal("a hotkey on a key no router reports was accepted")
	}
}

// The package's /etc/config/lifeline is valid on every embedded board:
// generic, which every router without a board file of its own falls back
// to, and each router's board that auto may pick.
func TestShippedConfigValidOnGeneric(t *testing.T) {
	const shipped = "../../scripts/openwrt/lifeline/files/lifeline.config"
	if _, err := os.Stat(shipped); err != nil {
		t.Skip(err)
	}
	cfg, err := daemon.LoadConfig(shipped)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range boards.Names() {
		b, err := boards.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkConfig(cfg, b); err != nil {
			t.Errorf("shipped config on %s: %v", name, err)
		}
	}
}

// The guard's list: the kernel's BUTTON= names of the hotkeys' keys, which
// differ from the key names where a board renames a button.
func TestHotkeyButtons(t *testing.T) {
	b, err := boards.Parse("r.board", []byte("config board 'r'\n\toption driver 'linux'\n"+
		"config key 'phone'\n\toption source 'button'\n\toption button 'BTN_0'\n"+
		"config key 'wps'\n\toption source 'button'\n\toption button 'wps'\n"+
		"config key 'pad'\n\toption source 'gpio'\n\toption line 'pad'\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := daemon.ParseConfig("c", []byte("config hotkey 'a'\n\tlist key 'wps'\n\tlist key 'phone'\n"+
		"config hotkey 'b'\n\tlist key 'phone'\n\tlist key 'pad'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(hotkeyButtons(cfg, b), " "); got != "wps BTN_0" {
		t.Fatalf("hotkeyButtons = %q, want \"wps BTN_0\"", got)
	}
}

// The README's first hotkey (wps held 3 s) is valid on generic.
func TestReadmeHotkeyOnGeneric(t *testing.T) {
	cfg, err := daemon.ParseConfig("c", []byte("config hotkey 'force_pstn'\n\tlist key 'wps'\n\toption hold '3s'\n\toption action 'toggle'\n\toption for '1h'\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := boards.Get("generic")
	if err := checkConfig(cfg, b); err != nil {
		t.Fatal(err)
	}
}
