// Package ledtest builds a fake /sys/class/leds tree in a directory, for
// tests of code that drives LEDs through package led.
package ledtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LED describes one fake LED.
type LED struct {
	Name       string
	Trigger    string // active trigger, e.g. "none", "timer", "default-on"
	Brightness int
	Max        int
	DelayOn    int // ms, only meaningful with Trigger "timer"
	DelayOff   int
}

// Triggers is the list a fake trigger file offers, like the kernel's.
var Triggers = []string{"none", "timer", "default-on", "heartbeat", "netdev"}

// Make creates root/<name>/{trigger,brightness,max_brightness,delay_on,delay_off}
// for each LED. The trigger file lists Triggers with the active one in
// brackets, as the kernel does. (The real kernel creates delay_* only under
// the timer trigger and resets brightness when the trigger changes; a plain
// directory cannot, so tests check the order of writes separately.)
func Make(root string, leds ...LED) error {
	for _, l := range leds {
		dir := filepath.Join(root, l.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		var list []string
		for _, t := range Triggers {
			if t == l.Trigger {
				t = "[" + t + "]"
			}
			list = append(list, t)
		}
		files := map[string]string{
			"trigger":        strings.Join(list, " ") + "\n",
			"brightness":     strconv.Itoa(l.Brightness) + "\n",
			"max_brightness": strconv.Itoa(l.Max) + "\n",
			"delay_on":       strconv.Itoa(l.DelayOn) + "\n",
			"delay_off":      strconv.Itoa(l.DelayOff) + "\n",
		}
		for f, v := range files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// Read returns the trimmed contents of root/<name>/<file>.
func Read(root, name, file string) string {
	b, _ := os.ReadFile(filepath.Join(root, name, file))
	return strings.TrimSpace(string(b))
}
