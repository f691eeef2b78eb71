package rtp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// EventLen is the size of one RFC 4733 section 2.3 telephone-event payload.
const EventLen = 4

// ErrEvent is wrapped by ParseEvent for a malformed payload.
var ErrEvent = errors.New("rtp: bad telephone-event payload")

// Event is an RFC 4733 telephone-event (section 2.3): event code, end bit,
// volume in -dBm0 (0-63) and duration in timestamp units (1/8000 s here).
// A digit's packets share the RTP timestamp of its start; the last three
// carry End.
type Event struct {
	Code     uint8
	End      bool
	Volume   uint8
	Duration uint16
}

// ParseEvent decodes the first event of payload. Extra bytes (RFC 4733
// allows several events in one packet through redundancy) are ignored.
func ParseEvent(payload []byte) (Event, error) {
	if len(payload) < EventLen {
		return Event{}, fmt.Errorf("%w: %d bytes", ErrEvent, len(payload))
	}
	e := Event{
		Code:     payload[0],
		End:      payload[1]&0x80 != 0,
		Volume:   payload[1] & 0x3F,
		Duration: binary.BigEndian.Uint16(payload[2:]),
	}
	return e, nil
}

// Append appends the 4-byte payload of e to b (the R bit is 0).
func (e Event) Append(b []byte) []byte {
	b1 := e.Volume & 0x3F
	if e.End {
		b1 |= 0x80
	}
	b = append(b, e.Code, b1)
	return binary.BigEndian.AppendUint16(b, e.Duration)
}

// Digit returns the DTMF character of the event (RFC 4733 section 3.2
// Table 7: 0-9, * = 10, # = 11, A-D = 12-15) and false for other events
// (flash 16, tones of section 3.3 and above).
func (e Event) Digit() (byte, bool) {
	switch {
	case e.Code <= 9:
		return '0' + e.Code, true
	case e.Code == 10:
		return '*', true
	case e.Code == 11:
		return '#', true
	case e.Code >= 12 && e.Code <= 15:
		return 'A' + e.Code - 12, true
	}
	return 0, false
}

// EventCode returns the RFC 4733 code of a DTMF character.
func EventCode(digit byte) (uint8, bool) {
	switch {
	case digit >= '0' && digit <= '9':
		return digit - '0', true
	case digit == '*':
		return 10, true
	case digit == '#':
		return 11, true
	case digit >= 'A' && digit <= 'D':
		return digit - 'A' + 12, true
	case digit >= 'a' && digit <= 'd':
		return digit - 'a' + 12, true
	}
	return 0, false
}

// DigitDetector turns the stream of telephone-event packets into digits:
// each digit once, when its first packet arrives (retransmitted end
// packets and updates of the same event, recognised by the RTP timestamp,
// are ignored). The zero value is ready.
type DigitDetector struct {
	last    uint32
	started bool
}

// Packet feeds one packet's RTP timestamp and event. It returns the digit
// and true when a new digit starts.
func (d *DigitDetector) Packet(timestamp uint32, e Event) (byte, bool) {
	if d.started && timestamp == d.last {
		return 0, false
	}
	d.started, d.last = true, timestamp
	return e.Digit()
}
