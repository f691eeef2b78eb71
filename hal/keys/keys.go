// Package keys turns router buttons into one event type. Sources: OpenWrt's
// button uevents (gpio-button-hotplug, NETLINK_KOBJECT_UEVENT group 1) and
// Linux input devices (/dev/input/event*). GPIO lines the kernel has not
// claimed are a third source, wired by the daemon from hal/gpio.
//
// The package knows nothing of key combinations or routes: it reports each
// press and release with the name the board data gives the key.
package keys

import (
	"errors"
	"time"
)

// Event is one key press or release.
type Event struct {
	Key     string    // board name of the key, e.g. "wps"
	Pressed bool      // true on press, false on release
	At      time.Time // when the source saw it, on the injected clock
}

// Source delivers key events. Events is closed after the source stops
// (Close called, its context done, or a fatal read error, available from
// Err). Close is idempotent and returns only after the source's goroutine
// has exited.
type Source interface {
	Events() <-chan Event
	Close() error
}

// Errors, wrapped with the device or socket they concern.
var (
	// ErrMalformed means a uevent or input_event could not be decoded.
	ErrMalformed = errors.New("keys: malformed event")
	// ErrShort means an input_event buffer is shorter than the struct.
	ErrShort = errors.New("keys: short input_event")
)
