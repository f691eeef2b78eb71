// Package rtp holds the RTP pieces of the gateway's audio bridge: the RFC
// 3550 fixed header, RFC 4733 telephone-event payloads (DTMF), a
// Packetizer that numbers 20 ms frames, and a Jitter buffer that the
// modem's clock drains.
//
// Everything here is pure data manipulation without goroutines or I/O; no
// type is safe for concurrent use unless it says so.
package rtp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Version is the RTP version of RFC 3550.
const Version = 2

// HeaderLen is the size of the fixed header without CSRCs or extension.
const HeaderLen = 12

// Static payload types of RFC 3551 Table 4 the gateway uses.
const (
	PayloadPCMU = 0 // G.711 µ-law, 8000 Hz
	PayloadPCMA = 8 // G.711 A-law, 8000 Hz
)

// Errors of Unmarshal; each is wrapped with detail.
var (
	ErrShort   = errors.New("rtp: packet too short")
	ErrVersion = errors.New("rtp: not version 2")
	ErrPadding = errors.New("rtp: bad padding")
)

// Header is the RFC 3550 section 5.1 header. Extension data is kept raw.
type Header struct {
	Padding        bool // set by Unmarshal; Marshal never pads
	Marker         bool
	PayloadType    uint8 // 7 bits
	SequenceNumber uint16
	Timestamp      uint32
	SSRC           uint32
	CSRC           []uint32 // up to 15
	// Extension, when true, carries ExtensionProfile and ExtensionData
	// (a multiple of 4 bytes).
	Extension        bool
	ExtensionProfile uint16
	ExtensionData    []byte
}

// Len is the marshalled length of h.
func (h *Header) Len() int {
	n := HeaderLen + 4*len(h.CSRC)
	if h.Extension {
		n += 4 + len(h.ExtensionData)
	}
	return n
}

// Append appends the marshalled header to b. It fails when CSRC has more
// than 15 entries, the payload type needs more than 7 bits, or the
// extension data is not a multiple of 4 bytes.
func (h *Header) Append(b []byte) ([]byte, error) {
	if len(h.CSRC) > 15 {
		return b, fmt.Errorf("rtp: %d CSRCs, at most 15", len(h.CSRC))
	}
	if h.PayloadType > 127 {
		return b, fmt.Errorf("rtp: payload type %d > 127", h.PayloadType)
	}
	if h.Extension && len(h.ExtensionData)%4 != 0 {
		return b, fmt.Errorf("rtp: extension of %d bytes is not a multiple of 4", len(h.ExtensionData))
	}
	b0 := byte(Version<<6) | byte(len(h.CSRC))
	if h.Extension {
		b0 |= 0x10
	}
	b1 := h.PayloadType
	if h.Marker {
		b1 |= 0x80
	}
	b = append(b, b0, b1)
	b = binary.BigEndian.AppendUint16(b, h.SequenceNumber)
	b = binary.BigEndian.AppendUint32(b, h.Timestamp)
	b = binary.BigEndian.AppendUint32(b, h.SSRC)
	for _, c := range h.CSRC {
		b = binary.BigEndian.AppendUint32(b, c)
	}
	if h.Extension {
		b = binary.BigEndian.AppendUint16(b, h.ExtensionProfile)
		b = binary.BigEndian.AppendUint16(b, uint16(len(h.ExtensionData)/4))
		b = append(b, h.ExtensionData...)
	}
	return b, nil
}

// Unmarshal parses the header of packet and returns the payload, with any
// padding removed. CSRC and ExtensionData alias packet. Unmarshal reuses
// h.CSRC's storage.
func (h *Header) Unmarshal(packet []byte) (payload []byte, err error) {
	if len(packet) < HeaderLen {
		return nil, fmt.Errorf("%w: %d bytes", ErrShort, len(packet))
	}
	b0, b1 := packet[0], packet[1]
	if b0>>6 != Version {
		return nil, fmt.Errorf("%w: version %d", ErrVersion, b0>>6)
	}
	h.Padding = b0&0x20 != 0
	h.Extension = b0&0x10 != 0
	cc := int(b0 & 0x0F)
	h.Marker = b1&0x80 != 0
	h.PayloadType = b1 & 0x7F
	h.SequenceNumber = binary.BigEndian.Uint16(packet[2:])
	h.Timestamp = binary.BigEndian.Uint32(packet[4:])
	h.SSRC = binary.BigEndian.Uint32(packet[8:])
	off := HeaderLen
	if len(packet) < off+4*cc {
		return nil, fmt.Errorf("%w: %d CSRCs in %d bytes", ErrShort, cc, len(packet))
	}
	h.CSRC = h.CSRC[:0]
	for i := 0; i < cc; i++ {
		h.CSRC = append(h.CSRC, binary.BigEndian.Uint32(packet[off:]))
		off += 4
	}
	h.ExtensionProfile, h.ExtensionData = 0, nil
	if h.Extension {
		if len(packet) < off+4 {
			return nil, fmt.Errorf("%w: extension header", ErrShort)
		}
		h.ExtensionProfile = binary.BigEndian.Uint16(packet[off:])
		n := int(binary.BigEndian.Uint16(packet[off+2:])) * 4
		off += 4
		if len(packet) < off+n {
			return nil, fmt.Errorf("%w: extension of %d bytes in %d", ErrShort, n, len(packet)-off)
		}
		h.ExtensionData = packet[off : off+n]
		off += n
	}
	payload = packet[off:]
	if h.Padding {
		if len(payload) == 0 {
			return nil, fmt.Errorf("%w: padding bit without a count", ErrPadding)
		}
		p := int(payload[len(payload)-1])
		if p == 0 || p > len(payload) {
			return nil, fmt.Errorf("%w: count %d with %d payload bytes", ErrPadding, p, len(payload))
		}
		payload = payload[:len(payload)-p]
	}
	return payload, nil
}
