package sms

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"lifeline/hal/cellular/at"
)

// Message is a decoded SMS-DELIVER.
type Message struct {
	// SMSC is the service centre address ("" when the PDU has none).
	SMSC string
	// From is the originator: "+" and digits, digits, or the sender's
	// name for alphanumeric senders.
	From string
	// Alphanumeric is set when From is a name, not a number that could
	// be answered or allowed.
	Alphanumeric bool
	// Time is the service centre time stamp, in the sender's zone.
	Time time.Time
	DCS  byte
	// Text is the message text (7-bit and UCS-2), Data the raw user data
	// of an 8-bit message (Text then empty).
	Text string
	Data []byte
	// Concat is set for one part of a concatenated message.
	Concat *Concat
}

// Concat identifies one part of a concatenated message (23.040 9.2.3.24.1
// and .8): parts with the same Ref from the same sender belong together.
type Concat struct {
	Ref        uint16
	Total, Seq int
}

// Alphabet of a data coding scheme.
type alphabet int

const (
	alpha7 alphabet = iota
	alpha8
	alphaUCS2
)

// dcsAlphabet reads the alphabet of a TP-DCS (3GPP TS 23.038 section 4).
func dcsAlphabet(dcs byte) (alphabet, error) {
	switch {
	case dcs&0xC0 == 0x00 || dcs&0xC0 == 0x40: // general data coding, with or without automatic deletion
		if dcs&0x20 != 0 {
			return 0, fmt.Errorf("%w: compressed text (DCS %#02x) is not supported", ErrPDU, dcs)
		}
		switch dcs & 0x0C {
		case 0x00:
			return alpha7, nil
		case 0x04:
			return alpha8, nil
		case 0x08:
			return alphaUCS2, nil
		}
	case dcs&0xF0 == 0xC0 || dcs&0xF0 == 0xD0: // message waiting, discard/store, 7-bit
		return alpha7, nil
	case dcs&0xF0 == 0xE0: // message waiting, store, UCS-2
		return alphaUCS2, nil
	case dcs&0xF0 == 0xF0: // data coding/message class
		if dcs&0x04 != 0 {
			return alpha8, nil
		}
		return alpha7, nil
	}
	return 0, fmt.Errorf("%w: reserved data coding scheme %#02x", ErrPDU, dcs)
}

// DecodeDeliver decodes the hexadecimal PDU of +CMT or +CMGR in PDU mode:
// the SMSC address, then an SMS-DELIVER TPDU.
func DecodeDeliver(hexPDU string) (Message, error) {
	pdu, err := hex.DecodeString(strings.TrimSpace(hexPDU))
	if err != nil {
		return Message{}, fmt.Errorf("%w: not hexadecimal: %v", ErrPDU, err)
	}
	var m Message
	if len(pdu) < 1 {
		return m, fmt.Errorf("%w: empty", ErrPDU)
	}
	n := int(pdu[0])
	if 1+n > len(pdu) || n > 11 {
		return m, fmt.Errorf("%w: SMSC address length %d", ErrPDU, n)
	}
	if n > 1 {
		m.SMSC = decodeBCD(pdu[2:1+n], 2*(n-1))
		if pdu[1]&tonMask == tonInternational {
			m.SMSC = "+" + m.SMSC
		}
	}
	t := pdu[1+n:]
	if len(t) < 1 || t[0]&0x03 != 0 {
		return m, fmt.Errorf("%w: not an SMS-DELIVER (first octet)", ErrPDU)
	}
	udhi := t[0]&0x40 != 0
	var p int
	if m.From, p, err = decodeAddress(t, 1); err != nil {
		return m, err
	}
	m.Alphanumeric = t[2]&tonMask == tonAlphanumeric
	if p+2+7+1 > len(t) {
		return m, fmt.Errorf("%w: cut short after the originating address", ErrPDU)
	}
	m.DCS = t[p+1]
	if m.Time, err = decodeSCTS(t[p+2 : p+9]); err != nil {
		return m, err
	}
	udl, ud := int(t[p+9]), t[p+10:]
	alpha, err := dcsAlphabet(m.DCS)
	if err != nil {
		return m, err
	}
	return m, m.userData(alpha, udhi, udl, ud)
}

// userData decodes TP-UD (with its header when udhi) into m.
func (m *Message) userData(alpha alphabet, udhi bool, udl int, ud []byte) error {
	hlen := 0 // header octets, length octet included
	if udhi {
		if len(ud) < 1 || 1+int(ud[0]) > len(ud) {
			return fmt.Errorf("%w: user data header longer than the user data", ErrPDU)
		}
		hlen = 1 + int(ud[0])
		m.Concat = parseUDH(ud[1:hlen])
	}
	if alpha == alpha7 {
		hsept := (8*hlen + 6) / 7
		if udl < hsept || udl > maxSeptets {
			return fmt.Errorf("%w: TP-UDL %d septets", ErrPDU, udl)
		}
		s, err := unpack7(ud, 7*hsept, udl-hsept)
		if err == nil {
			m.Text = FromGSM7(s)
		}
		return err
	}
	if udl > len(ud) || udl < hlen || udl > maxUCS2 {
		return fmt.Errorf("%w: TP-UDL %d octets with %d present", ErrPDU, udl, len(ud))
	}
	body := ud[hlen:udl]
	if alpha == alpha8 {
		m.Data = append([]byte(nil), body...)
		return nil
	}
	if len(body)%2 != 0 {
		return fmt.Errorf("%w: odd UCS-2 length %d", ErrPDU, len(body))
	}
	u := make([]uint16, len(body)/2)
	for i := range u {
		u[i] = uint16(body[2*i])<<8 | uint16(body[2*i+1])
	}
	m.Text = string(utf16.Decode(u))
	return nil
}

// parseUDH finds a concatenation element (IEI 00 8-bit or 08 16-bit
// reference) among the header's information elements; others are skipped.
func parseUDH(h []byte) *Concat {
	for len(h) >= 2 {
		iei, l := h[0], int(h[1])
		if 2+l > len(h) {
			return nil
		}
		v := h[2 : 2+l]
		switch {
		case iei == 0x00 && l == 3 && v[1] > 0:
			return &Concat{Ref: uint16(v[0]), Total: int(v[1]), Seq: int(v[2])}
		case iei == 0x08 && l == 4 && v[2] > 0:
			return &Concat{Ref: uint16(v[0])<<8 | uint16(v[1]), Total: int(v[2]), Seq: int(v[3])}
		}
		h = h[2+l:]
	}
	return nil
}

// decodeSCTS reads the 7-octet service centre time stamp (23.040
// 9.2.3.11): swapped BCD, the zone in quarters of an hour with its sign
// in bit 3.
func decodeSCTS(b []byte) (time.Time, error) {
	var v [6]int
	for i := range v {
		lo, hi := int(b[i]&0xF), int(b[i]>>4)
		if lo > 9 || hi > 9 {
			return time.Time{}, fmt.Errorf("%w: time stamp octet %d is not BCD", ErrPDU, i+1)
		}
		v[i] = 10*lo + hi
	}
	tz := 10*int(b[6]&0x07) + int(b[6]>>4)
	if b[6]>>4 > 9 {
		return time.Time{}, fmt.Errorf("%w: time zone is not BCD", ErrPDU)
	}
	off := tz * 15 * 60
	if b[6]&0x08 != 0 {
		off = -off
	}
	t, err := at.Timestamp(v[0], v[1], v[2], v[3], v[4], v[5], off)
	if err != nil {
		return t, fmt.Errorf("%w: %v", ErrPDU, err)
	}
	return t, nil
}
