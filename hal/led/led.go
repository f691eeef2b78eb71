// Package led drives LEDs through the kernel's LED class
// (/sys/class/leds/<name>/{trigger,brightness,max_brightness,delay_on,delay_off}).
// It sets patterns — off, on, blinking — and gives the LED back as it found
// it on Close. LED names come from board data; the package knows nothing of
// what an LED means.
package led

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultRoot is where the kernel lists LEDs.
const DefaultRoot = "/sys/class/leds"

// Errors, wrapped with the LED's directory.
var (
	// ErrNotFound means there is no such LED directory.
	ErrNotFound = errors.New("led: no such LED")
	// ErrClosed means the LED was closed.
	ErrClosed = errors.New("led: closed")
	// ErrPattern means the pattern cannot be shown (zero blink time).
	ErrPattern = errors.New("led: invalid pattern")
)

type mode uint8

const (
	modeOff mode = iota
	modeOn
	modeBlink
)

// Pattern is what an LED shows. Build it with Off, On or Blink.
type Pattern struct {
	mode    mode
	on, off time.Duration
}

// Off is a dark LED.
func Off() Pattern { return Pattern{mode: modeOff} }

// On is an LED lit at its maximum brightness.
func On() Pattern { return Pattern{mode: modeOn} }

// Blink lights the LED for on, darkens it for off, repeatedly (the kernel's
// timer trigger; millisecond resolution).
func Blink(on, off time.Duration) Pattern { return Pattern{mode: modeBlink, on: on, off: off} }

func (p Pattern) String() string {
	switch p.mode {
	case modeOn:
		return "on"
	case modeBlink:
		return fmt.Sprintf("blink(%v,%v)", p.on, p.off)
	default:
		return "off"
	}
}

// LED is the role interface the daemon uses; *Sysfs and *Fake implement it.
type LED interface {
	Set(Pattern) error
	Close() error
}

// Option configures Open.
type Option func(*Sysfs)

// WithRoot replaces DefaultRoot (tests point it at a fake tree).
func WithRoot(dir string) Option { return func(l *Sysfs) { l.root = dir } }

// Sysfs is one LED in the LED class. Methods are safe for concurrent use;
// one mutex guards the files and the remembered state.
type Sysfs struct {
	root, name, dir string
	max             int

	mu      sync.Mutex
	closed  bool
	have    bool // cur is valid
	cur     Pattern
	orig    saved
	writeFn func(path, value string) error // seam for tests recording write order
}

type saved struct {
	trigger           string
	brightness        string
	delayOn, delayOff string
	hasDelays         bool
}

var _ LED = (*Sysfs)(nil)

// Open takes over the LED called name, remembering its trigger and
// brightness (and blink delays under the timer trigger) for Close.
func Open(name string, opts ...Option) (*Sysfs, error) {
	l := &Sysfs{root: DefaultRoot, name: name}
	for _, o := range opts {
		o(l)
	}
	l.writeFn = writeSysfs
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return nil, fmt.Errorf("%w: bad name %q", ErrNotFound, name)
	}
	l.dir = filepath.Join(l.root, name)
	if _, err := os.Stat(l.dir); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotFound, l.dir, err)
	}
	var err error
	if l.max, err = l.readInt("max_brightness"); err != nil {
		return nil, err
	}
	if l.orig.trigger, err = l.readTrigger(); err != nil {
		return nil, err
	}
	if l.orig.brightness, err = l.read("brightness"); err != nil {
		return nil, err
	}
	if l.orig.trigger == "timer" {
		on, err1 := l.read("delay_on")
		off, err2 := l.read("delay_off")
		if err1 == nil && err2 == nil {
			l.orig.delayOn, l.orig.delayOff, l.orig.hasDelays = on, off, true
		}
	}
	return l, nil
}

// Name returns the LED's name.
func (l *Sysfs) Name() string { return l.name }

// MaxBrightness returns max_brightness as read at Open.
func (l *Sysfs) MaxBrightness() int { return l.max }

// Set shows p. The trigger is set first ("none" before brightness, since
// changing the trigger resets it; "timer" before its delays, which exist
// only under that trigger). Setting the pattern already shown writes
// nothing.
func (l *Sysfs) Set(p Pattern) error {
	if p.mode == modeBlink && (p.on < time.Millisecond || p.off < time.Millisecond) {
		return fmt.Errorf("%w: %s on %s: blink times below 1ms", ErrPattern, p, l.dir)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("set %s on %s: %w", p, l.dir, ErrClosed)
	}
	if l.have && l.cur == p {
		return nil
	}
	l.have = false // unknown until every write succeeded
	var err error
	switch p.mode {
	case modeOff:
		err = l.writeAll("trigger", "none", "brightness", "0")
	case modeOn:
		err = l.writeAll("trigger", "none", "brightness", strconv.Itoa(l.max))
	case modeBlink:
		err = l.writeAll("trigger", "timer",
			"delay_on", strconv.FormatInt(p.on.Milliseconds(), 10),
			"delay_off", strconv.FormatInt(p.off.Milliseconds(), 10))
	}
	if err != nil {
		return err
	}
	l.cur, l.have = p, true
	return nil
}

// Close restores the trigger and brightness found at Open and releases the
// LED. Idempotent; later Sets return ErrClosed.
func (l *Sysfs) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	o := l.orig
	switch {
	case o.trigger == "none":
		return l.writeAll("trigger", "none", "brightness", o.brightness)
	case o.trigger == "timer" && o.hasDelays:
		return l.writeAll("trigger", "timer", "delay_on", o.delayOn, "delay_off", o.delayOff)
	default:
		// Other triggers (default-on, heartbeat, netdev, …) drive the
		// brightness themselves.
		return l.writeAll("trigger", o.trigger)
	}
}

// writeAll writes file/value pairs in order, stopping at the first error.
func (l *Sysfs) writeAll(kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if err := l.writeFn(filepath.Join(l.dir, kv[i]), kv[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func writeSysfs(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("led: write %q to %s: %w", value, path, err)
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("led: write %q to %s: %w", value, path, err)
	}
	return nil
}

func (l *Sysfs) read(file string) (string, error) {
	p := filepath.Join(l.dir, file)
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("led: read %s: %w", p, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (l *Sysfs) readInt(file string) (int, error) {
	s, err := l.read(file)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("led: %s: bad value %q", filepath.Join(l.dir, file), s)
	}
	return n, nil
}

// readTrigger returns the active trigger: the bracketed word of the
// kernel's list ("none [timer] heartbeat"), or the sole word.
func (l *Sysfs) readTrigger() (string, error) {
	s, err := l.read("trigger")
	if err != nil {
		return "", err
	}
	if t, ok := ParseTrigger(s); ok {
		return t, nil
	}
	return "", fmt.Errorf("led: %s: no active trigger in %q", filepath.Join(l.dir, "trigger"), s)
}

// ParseTrigger extracts the active trigger from the contents of a trigger
// file.
func ParseTrigger(s string) (string, bool) {
	fields := strings.Fields(s)
	for _, f := range fields {
		if len(f) > 2 && f[0] == '[' && f[len(f)-1] == ']' {
			return f[1 : len(f)-1], true
		}
	}
	if len(fields) == 1 && !strings.ContainsAny(fields[0], "[]") {
		return fields[0], true
	}
	return "", false
}
