// Package call is what the SIP-to-line gateway needs of a telephone line,
// independent of how the line is built: a Line places calls (VoiceCall),
// answers the calls that ring it (SubscribeRings, VoiceAnswer) and hands
// each call's audio over as a voice.Audio. A line is a control port plus
// an audio transport: an analog voice modem is one serial device with its
// audio in band (hal/modem's (*Line).Calls, voice.DLEAudio); a cellular
// module has its AT port on one tty and raw PCM on another
// (voice.PCMAudio). hal/gateway and hal/voice/bridge depend on this
// package and hal/voice only, never on a line kind's package.
//
// A line kind reports its failures with errors that errors.Is one of the
// kinds below (see NewError), which the gateway maps to SIP responses.
package call

import (
	"context"
	"errors"
	"time"

	"lifeline/hal/voice"
)

// Line is a telephone line that carries voice calls, one at a time.
type Line interface {
	// VoiceCall places a call to number and, once it is up, runs fn with
	// it in the caller's goroutine. fn's context ends when ctx ends, when
	// the line hangs up (the far end, Hangup) or when the line stops; fn
	// should then return. fn owns c.Audio until it returns; the line then
	// ends the call. Errors are of the kinds below once fn has not run.
	VoiceCall(ctx context.Context, number string, opts Options, fn func(context.Context, *Call) error) error
	// VoiceAnswer answers the call ringing the line, under VoiceCall's
	// contract; opts.Dialing is not called.
	VoiceAnswer(ctx context.Context, opts Options, fn func(context.Context, *Call) error) error
	// SubscribeRings returns a channel of the line's rings (buffered buf,
	// closed when the line stops) and a function that cancels it.
	SubscribeRings(buf int) (<-chan Ring, func())
}

// Options tune one call.
type Options struct {
	// Prefer lists sample formats to try first (the negotiated codec's,
	// so that the line needs no transcoding); a line with one format
	// ignores it.
	Prefer []voice.Format
	// Dialing, when set, is called once the line has accepted the dial
	// (the gateway answers 180 Ringing then); at most once, never when
	// the dial fails at once, from a goroutine of the line; it must not
	// block nor call the line.
	Dialing func()
}

// Call is a call in progress, handed by VoiceCall or VoiceAnswer to its
// function; the function's context is its Done and Err.
type Call struct {
	// Number is the number dialled, or for an answered call the caller's
	// number ("" when the line sent none; "P" private and "O" out of area
	// as analog caller ID sends them).
	Number string
	// Incoming is set for an answered call; Caller is then everything
	// caller ID told.
	Incoming bool
	Caller   CallerID
	// Audio is the call's audio; the call's function owns it (and may
	// Close it) until it returns.
	Audio   voice.Audio
	Started time.Time // when the line reported the call up
}

// CallerID is what the line told about an incoming caller. Fields are empty
// when unknown; Number may be "P" (private) or "O" (out of area) as sent by
// analog caller ID.
type CallerID struct {
	Number string
	Name   string
	Date   string // MMDD as sent by the exchange
	Time   string // HHMM
}

// Merge fills the empty fields of c from o.
func (c *CallerID) Merge(o CallerID) {
	if o.Number != "" {
		c.Number = o.Number
	}
	if o.Name != "" {
		c.Name = o.Name
	}
	if o.Date != "" {
		c.Date = o.Date
	}
	if o.Time != "" {
		c.Time = o.Time
	}
}

// IsZero reports whether nothing is known.
func (c CallerID) IsZero() bool { return c == CallerID{} }

// Ring reports an incoming call. Count is the number of rings so far; a
// Ring with the same Count as the previous one is an update that adds
// caller ID (analog caller ID arrives between the first and second ring).
//
// The last Ring of an incoming call has Ended set: the line stopped
// ringing, and Reason says why — "answered" (VoiceAnswer took it),
// "ringing stopped" (the caller gave up), "caller hung up", "hung up", or
// why the line's session ended (device lost, Run stopped). Caller and
// Count are then the call's last known values.
type Ring struct {
	Caller CallerID
	Count  int
	At     time.Time
	Ended  bool
	Reason string // set with Ended
}

// Error kinds: a line's errors match one of them with errors.Is.
var (
	ErrBusy      = errors.New("call: the far end is busy")
	ErrNoAnswer  = errors.New("call: no answer")
	ErrNoCarrier = errors.New("call: no carrier") // the call did not connect, or the far end went
	ErrLineInUse = errors.New("call: line in use")
	ErrBadNumber = errors.New("call: bad number")
	ErrLineDown  = errors.New("call: line down")    // absent, not ready, no dial tone, no network
	ErrStopped   = errors.New("call: line stopped") // the line's Run has returned (lifeline stopping)
)

// NewError returns an error with text that errors.Is kind: a line kind's
// own sentinel (modem.ErrBusy) that the gateway recognises as ErrBusy.
func NewError(text string, kind error) error { return &kindError{text: text, kind: kind} }

type kindError struct {
	text string
	kind error
	_    [0]func() // not comparable (only its pointer is): no equality function to link
}

func (e *kindError) Error() string        { return e.text }
func (e *kindError) Is(target error) bool { return target == e.kind }
