// Package sms encodes SMS-SUBMIT and decodes SMS-DELIVER TPDUs (3GPP TS
// 23.040) in the hexadecimal form AT+CMGS and +CMT/+CMGR carry in PDU mode
// (3GPP TS 27.005), with the GSM 7-bit default alphabet and its extension
// table, 8-bit data and UCS-2 (3GPP TS 23.038), and concatenated messages.
// Everything here is pure and allocation-light: no I/O, no goroutines.
package sms

import (
	"errors"
	"fmt"
)

// ErrPDU is wrapped by every decoding error, ErrEncode by every encoding
// error.
var (
	ErrPDU    = errors.New("sms: malformed PDU")
	ErrEncode = errors.New("sms: cannot encode")
)

// esc is the escape to the extension table (3GPP TS 23.038 6.2.1.1).
const esc = 0x1B

// gsm7 is the default alphabet, indexed by septet; 0x1B is the escape.
var gsm7 = []rune("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")

// gsm7ext is the extension table (septets after the escape).
var gsm7ext = map[byte]rune{0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\', 0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€'}

// gsm7rev maps a rune to its septet(s), built once.
var gsm7rev = func() map[rune][]byte {
	m := make(map[rune][]byte, len(gsm7)+len(gsm7ext))
	for i, r := range gsm7 {
		if i != esc {
			m[r] = []byte{byte(i)}
		}
	}
	for s, r := range gsm7ext {
		m[r] = []byte{esc, s}
	}
	return m
}()

// ToGSM7 converts text to septets of the default alphabet; ok is false
// when a character is in neither table.
func ToGSM7(text string) (septets []byte, ok bool) {
	septets = make([]byte, 0, len(text))
	for _, r := range text {
		s, found := gsm7rev[r]
		if !found {
			return nil, false
		}
		septets = append(septets, s...)
	}
	return septets, true
}

// FromGSM7 converts septets to text. An escape followed by a septet that
// is not in the extension table gives the default-table character, as
// 23.038 asks receivers to do; a trailing escape is dropped.
func FromGSM7(septets []byte) string {
	out := make([]rune, 0, len(septets))
	for i := 0; i < len(septets); i++ {
		s := septets[i] & 0x7F
		if s == esc {
			if i+1 == len(septets) {
				break
			}
			i++
			if r, ok := gsm7ext[septets[i]&0x7F]; ok {
				out = append(out, r)
			} else {
				out = append(out, gsm7[septets[i]&0x7F])
			}
			continue
		}
		out = append(out, gsm7[s])
	}
	return string(out)
}

// pack7 packs septets LSB first after fill zero bits (fill < 7, the
// padding that aligns 7-bit text after a user data header).
func pack7(septets []byte, fill int) []byte {
	nbits := fill + 7*len(septets)
	out := make([]byte, (nbits+7)/8)
	bit := fill
	for _, s := range septets {
		v := uint16(s&0x7F) << (bit % 8)
		out[bit/8] |= byte(v)
		if bit/8+1 < len(out) {
			out[bit/8+1] |= byte(v >> 8)
		}
		bit += 7
	}
	return out
}

// unpack7 reads n septets after fill bits.
func unpack7(data []byte, fill, n int) ([]byte, error) {
	if fill+7*n > 8*len(data) {
		return nil, fmt.Errorf("%w: %d septets do not fit in %d octets", ErrPDU, n, len(data))
	}
	out := make([]byte, n)
	bit := fill
	for i := range out {
		v := uint16(data[bit/8])
		if bit/8+1 < len(data) {
			v |= uint16(data[bit/8+1]) << 8
		}
		out[i] = byte(v>>(bit%8)) & 0x7F
		bit += 7
	}
	return out, nil
}
