package voice

import (
	"errors"
	"fmt"
	"io"
)

// Control characters of the shielded stream (ITU-T T.50).
const (
	DLE = 0x10 // data link escape: starts every shielded code
	ETX = 0x03 // <DLE><ETX>: end of the voice data stream
	SUB = 0x1A // <DLE><SUB>: two 0x10 data bytes (optional in V.253, sent by some DCEs)
	CAN = 0x18 // <DLE><CAN>: DTE to DCE, clear the transmit buffer
)

// Event codes a DCE (modem) reports to the DTE as <DLE><code> inside the
// voice data stream: V.253 simple event reports, as listed in the V.253
// event table (numbers in parentheses) and the DCE-to-DTE shielded code
// tables of the manuals cited in the package comment. DTMF digits
// '0'-'9', '*', '#', 'A'-'D' report the digit itself (event 4, "DTMF
// received").
const (
	EventEnd            byte = ETX // end of the data stream: the DCE is back in command state
	EventAnswerTone     byte = 'a' // (25) facsimile or data answer tone, 2100 Hz
	EventBusy           byte = 'b' // (19) busy tone; repeated while it lasts
	EventFaxCalling     byte = 'c' // (6) T.30 facsimile calling tone, 1100 Hz
	EventDialTone       byte = 'd' // (20) dial tone
	EventDataCalling    byte = 'e' // (7) data calling tone, 1300 Hz
	EventBellAnswer     byte = 'f' // (26) data answer tone, 2225 Hz
	EventHandsetOnHook  byte = 'h' // (8) line current break: the local handset went on hook
	EventHandsetOffHook byte = 'H' // (8) line current detected: the local handset went off hook
	EventLoopInterrupt  byte = 'l' // (13) loop current interruption: presumed remote hang-up
	EventOverrun        byte = 'o' // (5) receive buffer overrun: audio was lost
	EventQuiet          byte = 'q' // (10) "presumed end of message": voice, then silence for +VSD
	EventRing           byte = 'R' // (3) ring (reported in the stream by some DCEs)
	EventSilence        byte = 's' // (9) "presumed hang-up": silence from the start for +VSD
	EventUnderrun       byte = 'u' // (23) transmit buffer underrun
	EventBong           byte = '$' // (12) bong tone
	EventDTMFStart      byte = '/' // start of DTMF tone shielding (Si AN93)
	EventDTMFEnd        byte = '~' // end of DTMF tone shielding (Si AN93)
)

// Commands a DTE sends to the DCE as <DLE><code> (V.253 "simple action
// commands"; manuals cited in the package comment).
const (
	CmdEnd     byte = ETX // end the transmit data stream after the buffered audio is played
	CmdAbort   byte = '!' // abort: stop receiving (AT+VRX) or the full-duplex state at once
	CmdCancel  byte = CAN // discard the buffered transmit audio
	CmdPause   byte = 'p' // pause transmit
	CmdResume  byte = 'r' // resume transmit
	CmdNothing byte = 0   // <DLE><NUL>: refreshes the inactivity timer
)

// IsDTMF reports whether code is a DTMF digit report.
func IsDTMF(code byte) bool {
	return code >= '0' && code <= '9' || code == '*' || code == '#' || code >= 'A' && code <= 'D'
}

var eventNames = map[byte]string{
	EventEnd: "end", EventAnswerTone: "answer-tone", EventBusy: "busy",
	EventFaxCalling: "fax-calling", EventDialTone: "dial-tone", EventDataCalling: "data-calling",
	EventBellAnswer: "bell-answer", EventHandsetOnHook: "handset-on-hook",
	EventHandsetOffHook: "handset-off-hook", EventLoopInterrupt: "loop-interrupt",
	EventOverrun: "overrun", EventQuiet: "quiet", EventRing: "ring", EventSilence: "silence",
	EventUnderrun: "underrun", EventBong: "bong", EventDTMFStart: "dtmf-start", EventDTMFEnd: "dtmf-end",
	CmdAbort: "abort", CmdCancel: "cancel", CmdPause: "pause", CmdResume: "resume", CmdNothing: "nothing",
}

// Event is one <DLE><code> found in the stream. Offset is the number of
// data bytes the decoder had delivered before it, which places the event in
// the audio.
type Event struct {
	Code   byte
	Offset int64
}

// Known reports whether the code is in the V.253 tables (as an event or a
// DTE command). Unknown codes are still reported, never fatal: DCEs have
// vendor codes.
func (e Event) Known() bool {
	_, ok := eventNames[e.Code]
	return ok || IsDTMF(e.Code)
}

// String names the event: "busy", "dtmf-5", or "unknown-0x7a".
func (e Event) String() string {
	if IsDTMF(e.Code) {
		return "dtmf-" + string(rune(e.Code))
	}
	if n, ok := eventNames[e.Code]; ok {
		return n
	}
	return fmt.Sprintf("unknown-%#02x", e.Code)
}

// ErrEnded is returned by an Encoder after End or Abort.
var ErrEnded = errors.New("voice: stream ended")

// Unshielder is the push-style core of the decoder: it holds the one bit
// of state that spans input chunks (a <DLE> seen last). The zero value is
// ready. Not safe for concurrent use.
type Unshielder struct {
	dle bool
}

// Feed decodes in, appending data bytes to dst. It stops after the first
// event: consumed counts the input bytes used (the rest of in is for the
// next call), and ok reports that code holds an event. <DLE><DLE> is one
// 0x10 data byte and <DLE><SUB> two. A <DLE> at the very end of in is
// remembered for the next call.
func (u *Unshielder) Feed(dst, in []byte) (out []byte, consumed int, code byte, ok bool) {
	i := 0
	if u.dle && len(in) > 0 {
		u.dle = false
		c := in[0]
		i = 1
		switch c {
		case DLE:
			dst = append(dst, DLE)
		case SUB:
			dst = append(dst, DLE, DLE)
		default:
			return dst, 1, c, true
		}
	}
	for i < len(in) {
		// Copy the run up to the next DLE in one go.
		j := i
		for j < len(in) && in[j] != DLE {
			j++
		}
		dst = append(dst, in[i:j]...)
		if j == len(in) {
			return dst, j, 0, false
		}
		if j+1 == len(in) {
			u.dle = true
			return dst, len(in), 0, false
		}
		c := in[j+1]
		i = j + 2
		switch c {
		case DLE:
			dst = append(dst, DLE)
		case SUB:
			dst = append(dst, DLE, DLE)
		default:
			return dst, i, c, true
		}
	}
	return dst, i, 0, false
}

// Pending reports whether a <DLE> is waiting for its code.
func (u *Unshielder) Pending() bool { return u.dle }

// Decoder reads a modem's DLE-shielded voice stream: audio bytes in the
// modem's sample format, with events in band. Not safe for concurrent use.
type Decoder struct {
	r       io.Reader
	buf     []byte // raw bytes read from r; buf[start:end] not yet decoded
	start   int
	end     int
	scratch []byte // decoded audio; pending is its undelivered tail
	pending []byte
	u       Unshielder
	evCode  byte
	hasEv   bool // evCode follows pending in the stream
	offset  int64
	ended   bool
	err     error // the source's read error, delivered after the data
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, buf: make([]byte, 4096), scratch: make([]byte, 0, 4096)}
}

// Next fills p (which must not be empty) with audio bytes and stops at the
// first event. It returns the number of bytes written to p and, when ev is
// non-nil, the event that follows them in the stream. After <DLE><ETX> (an
// Event with Code EventEnd) Next returns io.EOF; the bytes that followed it
// on the device (the modem's result code) are in Buffered. A read error of
// the source is returned once the data before it has been delivered; a
// source that ends just after a <DLE> yields io.ErrUnexpectedEOF.
func (d *Decoder) Next(p []byte) (n int, ev *Event, err error) {
	for {
		if len(d.pending) > 0 {
			n = copy(p, d.pending)
			d.pending = d.pending[n:]
			d.offset += int64(n)
			if len(d.pending) == 0 && d.hasEv {
				return n, d.takeEvent(), nil
			}
			return n, nil, nil
		}
		if d.hasEv {
			return 0, d.takeEvent(), nil
		}
		if d.ended {
			return 0, nil, io.EOF
		}
		if d.start < d.end {
			out, used, code, ok := d.u.Feed(d.scratch[:0], d.buf[d.start:d.end])
			d.scratch = out[:0]
			d.pending = out
			d.start += used
			d.evCode, d.hasEv = code, ok
			continue
		}
		if d.err != nil {
			if d.err == io.EOF && d.u.Pending() {
				return 0, nil, io.ErrUnexpectedEOF
			}
			return 0, nil, d.err
		}
		m, rerr := d.r.Read(d.buf)
		d.start, d.end = 0, m
		if rerr != nil {
			d.err = rerr
		}
	}
}

// ReadFrame fills frame completely with audio, calling onEvent (if not
// nil) for each event met on the way, in stream order. It returns the
// bytes written to frame, len(frame) unless an error came first: io.EOF
// after the end event (<DLE><ETX>, also passed to onEvent) or the
// source's error. The bridge reads one 20 ms frame at a time, so the
// modem's clock paces what it sends to RTP.
func (d *Decoder) ReadFrame(frame []byte, onEvent func(Event)) (int, error) {
	n := 0
	for n < len(frame) {
		k, ev, err := d.Next(frame[n:])
		n += k
		if ev != nil && onEvent != nil {
			onEvent(*ev)
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (d *Decoder) takeEvent() *Event {
	d.hasEv = false
	if d.evCode == EventEnd {
		d.ended = true
	}
	return &Event{Code: d.evCode, Offset: d.offset}
}

// Buffered returns the bytes read from the source but not decoded: after
// the end event, the start of the command-state text that follows it.
func (d *Decoder) Buffered() []byte { return d.buf[d.start:d.end] }

// Offset returns the number of audio bytes delivered so far.
func (d *Decoder) Offset() int64 { return d.offset }

// Shield appends src to dst with every 0x10 doubled, as V.253 requires of
// audio bytes in both directions.
func Shield(dst, src []byte) []byte {
	for len(src) > 0 {
		i := 0
		for i < len(src) && src[i] != DLE {
			i++
		}
		dst = append(dst, src[:i]...)
		if i == len(src) {
			break
		}
		dst = append(dst, DLE, DLE)
		src = src[i+1:]
	}
	return dst
}

// Encoder writes a DLE-shielded voice stream to a modem (or, in the
// simulator, to the DTE). Not safe for concurrent use.
type Encoder struct {
	w     io.Writer
	buf   []byte
	ended bool
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Write shields p and writes it in one Write call to the underlying
// writer. It returns len(p) on success.
func (e *Encoder) Write(p []byte) (int, error) {
	if e.ended {
		return 0, ErrEnded
	}
	e.buf = Shield(e.buf[:0], p)
	if _, err := e.w.Write(e.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Code writes <DLE><code>: an event (simulator side) or a command (DTE
// side). code must not be DLE or SUB, which are data.
func (e *Encoder) Code(code byte) error {
	if e.ended {
		return ErrEnded
	}
	if code == DLE || code == SUB {
		return fmt.Errorf("voice: <DLE>%#02x is data, not a code", code)
	}
	_, err := e.w.Write([]byte{DLE, code})
	return err
}

// End writes <DLE><ETX>: the DTE's "end of transmit data" (play what is
// buffered, then return to command state) or the DCE's end of stream.
// Later writes fail with ErrEnded.
func (e *Encoder) End() error {
	if err := e.Code(ETX); err != nil {
		return err
	}
	e.ended = true
	return nil
}

// Abort writes <DLE>!, the DTE's command to stop receiving (or the
// full-duplex state) at once. Later writes fail with ErrEnded.
func (e *Encoder) Abort() error {
	if err := e.Code(CmdAbort); err != nil {
		return err
	}
	e.ended = true
	return nil
}
