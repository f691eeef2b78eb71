package daemon

import (
	"time"

	"lifeline/daemon/hotkey"
	"lifeline/hal/keys"
)

// newMatcher builds the hotkey matcher of c's `config hotkey` sections.
func newMatcher(c *Config, now time.Time) (*hotkey.Matcher, error) {
	var bs []hotkey.Binding
	for _, h := range c.Hotkeys {
		bs = append(bs, hotkey.Binding{Name: h.Name, Keys: h.Keys, Kind: hotkey.Kind(h.Kind),
			Hold: h.Hold, Action: hotkey.Action(h.Action), For: h.For})
	}
	return hotkey.New(bs, now)
}

// handleKey feeds a key event to the matcher and applies what fired.
func (d *Daemon) handleKey(e KeyInput) {
	now := d.clk.Now()
	d.log.Debug("key", "key", e.Key, "pressed", e.Pressed)
	d.applyMatches(d.keys.Key(keys.Event{Key: e.Key, Pressed: e.Pressed, At: now}, now))
}

// applyMatches turns fired key combinations into overrides. toggle clears
// an active override, and otherwise forces the line.
func (d *Daemon) applyMatches(ms []hotkey.Match) {
	for _, m := range ms {
		mode := Mode(m.Action)
		if m.Action == hotkey.ActionToggle {
			mode = ModePSTN
			if d.rs.Override.Active(d.clk.Now()) {
				mode = ModeAuto
			}
		}
		d.log.Info("hotkey", "binding", m.Binding, "keys", m.Keys, "action", m.Action, "override", mode)
		o := Override{Mode: mode, Source: "keypad"}
		if m.For > 0 && mode != ModeAuto {
			o.Until = d.clk.Now().Add(m.For).UTC().Round(time.Millisecond)
		}
		d.apply(SetOverride{Override: o})
	}
}
