// Package hotkey matches key combinations — chords, long presses and short
// sequences — against the key events of hal/keys, on time the caller
// supplies. It is pure: no goroutines, no clock of its own. The daemon calls
// Key for every key event, and Tick when NextDeadline has passed.
//
// Vocabulary. A gesture runs from the first key going down to the moment no
// key is down. A chord binding (Kind Chord, one or more keys; one key is a
// long press) fires once when exactly its keys are down, no other key has
// been touched in the gesture, and they have been held together for Hold.
// At most one binding fires per gesture, so a chord never also fires the
// single-key bindings of its keys. A tap is a gesture of one key, released
// within TapMax, that fired nothing. A sequence binding (Kind Sequence)
// fires when its keys are tapped in order, each press less than Hold after
// the first. When a tap sequence is both a complete binding and the prefix
// of a longer one, the matcher waits until the longer one can no longer
// complete.
//
// Bounce: a release followed by a press of the same key within Debounce is
// ignored, as are repeated presses or releases. Keys held across a restart
// never fire: a release with no press is ignored, and keys declared with
// Held (or pressed with an Event.At before the matcher's start) spoil every
// gesture they take part in until they are released.
package hotkey

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Kind is how a binding's keys are pressed.
type Kind string

// Kinds of binding; the strings are the UCI values of option kind.
const (
	Chord    Kind = "chord"    // keys held together for Hold; one key: a long press
	Sequence Kind = "sequence" // keys tapped one after another within Hold
)

// Action is what a binding asks for; the strings are the UCI values of
// option action.
type Action string

// Actions.
const (
	ActionPSTN   Action = "pstn"
	ActionSIP    Action = "sip"
	ActionAuto   Action = "auto"
	ActionToggle Action = "toggle"
)

// Binding is one configured key combination (a UCI `config hotkey`
// section).
type Binding struct {
	Name   string        // section name, reported in Match
	Keys   []string      // key names from board data
	Kind   Kind          // Chord if empty
	Hold   time.Duration // Chord: how long to hold; Sequence: the window for all presses
	Action Action        // override to apply
	For    time.Duration // optional expiry of the override; 0: until cleared
}

// Match is a binding that fired.
type Match struct {
	Binding string
	Action  Action
	For     time.Duration
	Keys    []string
	At      time.Time // when the combination completed
}

// ErrInvalid is returned by New for a binding that cannot be matched.
var ErrInvalid = errors.New("hotkey: invalid binding")

// Defaults for Option values.
const (
	DefaultDebounce = 30 * time.Millisecond
	DefaultTapMax   = 600 * time.Millisecond
)

// Option configures a Matcher.
type Option func(*Matcher)

// WithDebounce sets the bounce window (default DefaultDebounce; 0 turns
// debouncing off). Releases take effect this long after they happen.
func WithDebounce(d time.Duration) Option { return func(m *Matcher) { m.debounce = d } }

// WithTapMax sets the longest press that still counts as a tap in a
// sequence (default DefaultTapMax).
func WithTapMax(d time.Duration) Option { return func(m *Matcher) { m.tapMax = d } }

// Matcher holds the key state. It is not safe for concurrent use: one
// goroutine (the daemon's loop) owns it.
type Matcher struct {
	bindings []Binding
	debounce time.Duration
	tapMax   time.Duration
	start    time.Time

	keys map[string]*keyState
	g    gesture
	taps []tap

	seqActive   bool      // taps are waiting for a longer sequence
	seqDeadline time.Time // when the waiting ends
	seqPending  *Binding  // complete match to fire at seqDeadline, if any
}

type keyState struct {
	down       bool      // logically down (a pending release still counts)
	since      time.Time // press time
	relPending bool      // released, waiting out the debounce window
	relAt      time.Time
	tainted    bool // held since before the matcher started
}

type gesture struct {
	active   bool
	start    time.Time
	union    map[string]bool // every key pressed during the gesture
	fired    bool
	spoiled  bool
	setSince time.Time // when the set of down keys last changed
}

type tap struct {
	key            string
	press, release time.Time
}

// New validates the bindings and returns a matcher whose state starts at
// start with no key down.
func New(bindings []Binding, start time.Time, opts ...Option) (*Matcher, error) {
	m := &Matcher{debounce: DefaultDebounce, tapMax: DefaultTapMax, start: start, keys: map[string]*keyState{}}
	for _, o := range opts {
		o(m)
	}
	seen := map[string]string{}
	for _, b := range bindings {
		b.Keys = slices.Clone(b.Keys)
		if b.Kind == "" {
			b.Kind = Chord
		}
		if err := validate(b); err != nil {
			return nil, err
		}
		sig := string(b.Kind) + ":" + strings.Join(b.Keys, "\x00")
		if b.Kind == Chord {
			s := slices.Clone(b.Keys)
			sort.Sort(sort.StringSlice(s))
			sig = string(b.Kind) + ":" + strings.Join(s, "\x00")
		}
		if other, dup := seen[sig]; dup {
			return nil, fmt.Errorf("%w: hotkey %q has the same keys as %q", ErrInvalid, b.Name, other)
		}
		seen[sig] = b.Name
		m.bindings = append(m.bindings, b)
	}
	return m, nil
}

func validate(b Binding) error {
	if len(b.Keys) == 0 {
		return fmt.Errorf("%w: hotkey %q has no key", ErrInvalid, b.Name)
	}
	for _, k := range b.Keys {
		if k == "" {
			return fmt.Errorf("%w: hotkey %q has an empty key name", ErrInvalid, b.Name)
		}
	}
	switch b.Action {
	case ActionPSTN, ActionSIP, ActionAuto, ActionToggle:
	default:
		return fmt.Errorf("%w: hotkey %q action %q (want pstn, sip, auto or toggle)", ErrInvalid, b.Name, b.Action)
	}
	if b.Hold < 0 || b.For < 0 {
		return fmt.Errorf("%w: hotkey %q has a negative duration", ErrInvalid, b.Name)
	}
	switch b.Kind {
	case Chord:
		s := slices.Clone(b.Keys)
		sort.Sort(sort.StringSlice(s))
		if len(slices.Compact(s)) != len(b.Keys) {
			return fmt.Errorf("%w: hotkey %q: a chord names key %q twice", ErrInvalid, b.Name, firstDup(b.Keys))
		}
	case Sequence:
		if b.Hold <= 0 && len(b.Keys) > 1 {
			return fmt.Errorf("%w: hotkey %q: a sequence needs a window (option hold)", ErrInvalid, b.Name)
		}
	default:
		return fmt.Errorf("%w: hotkey %q kind %q (want chord or sequence)", ErrInvalid, b.Name, b.Kind)
	}
	return nil
}

func firstDup(keys []string) string {
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			return k
		}
		seen[k] = true
	}
	return ""
}

// Held declares keys that are physically down at start (read from the
// hardware by the caller). They fire nothing until released.
func (m *Matcher) Held(keys ...string) {
	for _, k := range keys {
		ks := m.key(k)
		if ks.down {
			continue
		}
		*ks = keyState{down: true, since: m.start, tainted: true}
		m.touch(k, m.start)
		m.g.spoiled = true
	}
}

func (m *Matcher) key(name string) *keyState {
	ks, ok := m.keys[name]
	if !ok {
		ks = &keyState{}
		m.keys[name] = ks
	}
	return ks
}

// touch records that key went down at t in the current gesture.
func (m *Matcher) touch(key string, t time.Time) {
	if !m.g.active {
		m.g = gesture{active: true, start: t, union: map[string]bool{}}
	}
	m.g.union[key] = true
	m.g.setSince = t
}
