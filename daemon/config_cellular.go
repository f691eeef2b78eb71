package daemon

import (
	"errors"
	"slices"
	"strings"
	"time"

	"lifeline/hal/cellular/profiles"
)

// Line kinds in LineConfig.Kind: the profile decides which.
const (
	LineKindModem    = "modem"    // hal/modem: a V.253 modem or ISDN TA, audio in-band (analog, isdn-ta)
	LineKindCellular = "cellular" // hal/cellular/module: AT port plus a raw PCM audio port
)

// CellularConfig is what a line section with a cellular profile adds: the
// module's audio port and SIM PIN. The AT port is the section's device.
type CellularConfig struct {
	// AudioDevice is the port carrying the call's raw PCM (a tty or a
	// /dev/serial/by-id link).
	AudioDevice string
	// PIN is the SIM PIN, entered once when the SIM asks for it. It is a
	// secret: never logged, never in an error or the status.
	PIN string
	// HealthInterval is how often registration is re-read; 0: the
	// module's default (30 s).
	HealthInterval time.Duration
}

// cellularOnly are the options only a cellular profile takes.
var cellularOnly = []string{"audio_device", "pin", "health_interval"}

// isCellularProfile reports whether name is one of hal/cellular/profiles'.
func isCellularProfile(name string) bool { return slices.Contains(profiles.Names(), name) }

// lineKind reads the kind-specific options of a line section: a cellular
// profile needs audio_device and may take pin and health_interval; the
// modem profiles refuse them.
func (r *reader) lineKind(l *LineConfig) {
	if !isCellularProfile(l.Profile) {
		l.Kind = LineKindModem
		for _, name := range cellularOnly {
			if o := r.get(name, false); o != nil {
				r.errAt(o.Line, name, "only a cellular line takes it (profile %s is a modem's; cellular profiles: %s)",
					l.Profile, strings.Join(profiles.Names(), ", "))
				return
			}
		}
		return
	}
	l.Kind = LineKindCellular
	c := &l.Cellular
	c.AudioDevice = r.str("audio_device", "", absPath)
	if c.AudioDevice == "" && r.err == nil {
		r.errAt(r.sec.Line, "audio_device", "is required for a cellular line (the module's PCM port, e.g. /dev/serial/by-id/usb-…-if01-port0)")
	}
	if c.AudioDevice != "" && c.AudioDevice == l.Device {
		r.errAt(r.sec.Option("audio_device").Line, "audio_device", "is the AT port (option 'device'); the audio is on a port of its own")
	}
	c.PIN = r.pin("pin")
	c.HealthInterval = r.dur("health_interval", 0, 100*time.Millisecond, time.Hour)
}

// pin reads a SIM PIN: 4 to 8 digits. Unlike str it never puts the value
// in the error.
func (r *reader) pin(name string) string {
	o := r.get(name, false)
	if o == nil {
		return ""
	}
	if err := checkPIN(o.Value()); err != nil {
		r.errAt(o.Line, name, "%v", err)
		return ""
	}
	return o.Value()
}

func checkPIN(v string) error {
	if len(v) < 4 || len(v) > 8 || strings.Trim(v, "0123456789") != "" {
		return errors.New("a SIM PIN is 4 to 8 digits (value not shown)")
	}
	return nil
}
