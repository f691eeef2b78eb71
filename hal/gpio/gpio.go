// Package gpio turns GPIO lines into small role interfaces: an Input that
// reads its logical level and reports edges with kernel timestamps, and an
// Output that starts at a declared safe level.
//
// Lines are described by a LineSpec that comes from board data; this package
// holds no chip names or offsets of its own. An Opener opens lines: Cdev is the
// kernel backend (GPIO character device through go-gpiocdev), gpiotest.Backend
// is the fake for unit tests, and Debounce is a decorator that adds software
// debouncing on an injected clock to any Opener.
//
// Levels are logical: true means "active", after the line's ActiveLow
// polarity has been applied. A board line "mains-present, active-low" reads
// true while mains is present, whatever the wire does.
package gpio

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Bias values accepted in LineSpec.Bias.
const (
	BiasAsIs     = ""          // leave the line's bias as it is
	BiasPullUp   = "pull-up"   // enable the pull-up
	BiasPullDown = "pull-down" // enable the pull-down
	BiasDisable  = "disable"   // disable both pulls
)

// LineSpec describes one line as the board file gives it.
type LineSpec struct {
	// Chip is the chip's device name ("gpiochip0") or path. Empty means
	// "search every chip for Name".
	Chip string
	// Offset is the line offset within Chip, or -1 to look the line up by
	// Name.
	Offset int
	// Name is the line's name as the kernel knows it (gpio-line-names).
	// When Offset is set it is only a label for logs and errors.
	Name string
	// ActiveLow inverts the line: a low level reads as active (true).
	ActiveLow bool
	// Bias is one of BiasAsIs, BiasPullUp, BiasPullDown, BiasDisable.
	Bias string
	// Debounce is the time the level must be stable before an edge is
	// reported; 0 disables debouncing.
	Debounce time.Duration
}

// Validate reports whether the spec can name a line at all.
func (s LineSpec) Validate() error {
	switch {
	case s.Offset < -1:
		return fmt.Errorf("%w: line %s: negative offset %d", ErrInvalidSpec, s, s.Offset)
	case s.Offset == -1 && s.Name == "":
		return fmt.Errorf("%w: line %s: neither an offset nor a name", ErrInvalidSpec, s)
	case s.Offset >= 0 && s.Chip == "":
		return fmt.Errorf("%w: line %s: an offset needs a chip", ErrInvalidSpec, s)
	case s.Debounce < 0:
		return fmt.Errorf("%w: line %s: negative debounce %v", ErrInvalidSpec, s, s.Debounce)
	}
	switch s.Bias {
	case BiasAsIs, BiasPullUp, BiasPullDown, BiasDisable:
	default:
		return fmt.Errorf("%w: line %s: unknown bias %q", ErrInvalidSpec, s, s.Bias)
	}
	return nil
}

// String names the line for logs: "gpiochip0:3(mains)", "mains" or
// "gpiochip1:mains".
func (s LineSpec) String() string {
	switch {
	case s.Offset >= 0 && s.Name != "":
		return s.Chip + ":" + strconv.Itoa(s.Offset) + "(" + s.Name + ")"
	case s.Offset >= 0:
		return s.Chip + ":" + strconv.Itoa(s.Offset)
	case s.Chip != "":
		return s.Chip + ":" + s.Name
	}
	return s.Name
}

// Edge is one change of an input's logical level.
type Edge struct {
	// Line is the LineSpec.String() of the line, for logs.
	Line string
	// Active is the new logical level.
	Active bool
	// Time is the kernel timestamp of the edge (CLOCK_MONOTONIC since
	// boot on Linux 5.7+). It measures intervals between edges; it is not
	// wall time. A debounced edge carries the timestamp of the raw edge
	// that settled the level.
	Time time.Duration
	// Seqno is the kernel's per-line sequence number (0 when unknown); a
	// gap means the kernel dropped events from a full buffer.
	Seqno uint32
}

// Handler receives edges. Handlers are called serially, one edge at a time
// in the order the edges happened, from a goroutine owned by the Input. A
// Handler must not block (hand the edge to a channel or record it under a
// mutex) and must not call the Input's Close.
type Handler func(Edge)

// Input is a line requested as an input. Its methods are safe for
// concurrent use.
type Input interface {
	// Read returns the logical level. For a debounced input it is the
	// debounced level; it changes just before the Handler receives the
	// Edge that reports the change.
	Read() (bool, error)
	// String names the line (LineSpec.String).
	String() string
	// Close releases the line. After Close returns no Handler call is in
	// progress or will start. Close is idempotent.
	Close() error
}

// Output is a line requested as an output. Its methods are safe for
// concurrent use.
type Output interface {
	// Write drives the line to a logical level.
	Write(active bool) error
	// Read returns the logical level the line is driven to.
	Read() (bool, error)
	// String names the line (LineSpec.String).
	String() string
	// Close releases the line; the kernel then leaves it as it was or
	// returns it to its default. Close is idempotent.
	Close() error
}

// Opener opens lines. Implementations are safe for concurrent use.
type Opener interface {
	// OpenInput requests the line as an input with edge detection on
	// both edges. The initial level is read before OpenInput returns (see
	// Input.Read). h receives later edges; it may be nil.
	OpenInput(spec LineSpec, h Handler) (Input, error)
	// OpenOutput requests the line as an output driven to the logical
	// level safe from the moment of the request.
	OpenOutput(spec LineSpec, safe bool) (Output, error)
}

// Sentinel errors. Errors from Openers wrap one of these and, where there is
// one, the system cause, and their message names the chip and line.
var (
	ErrInvalidSpec  = errors.New("invalid line spec")
	ErrChipNotFound = errors.New("gpio chip not found")
	ErrLineNotFound = errors.New("gpio line not found")
	ErrBusy         = errors.New("gpio line busy (claimed by another consumer or driver)")
	ErrPermission   = errors.New("permission denied")
	ErrNotSupported = errors.New("not supported")
	ErrClosed       = errors.New("gpio line closed")
)

// LineError is the error returned when a line cannot be opened or used. It
// matches both its sentinel (Kind) and the underlying cause with errors.Is.
type LineError struct {
	Op    string // "open input", "open output", "read", "write"
	Chip  string // the chip, as resolved ("" if not found)
	Line  string // LineSpec.String()
	Kind  error  // one of the sentinels
	Cause error  // the system error, if any
}

func (e *LineError) Error() string {
	chip := e.Chip
	if chip == "" {
		chip = "(any chip)"
	}
	msg := "gpio " + e.Op + " line " + strconv.Quote(e.Line) + " on " + chip + ": " + e.Kind.Error()
	if e.Cause != nil && e.Cause.Error() != e.Kind.Error() {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the sentinel and the cause.
func (e *LineError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}
