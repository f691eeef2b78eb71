package sms

import (
	"fmt"
	"unicode/utf16"
)

// Data coding schemes (3GPP TS 23.038 section 4, general data coding
// group, no class).
const (
	DCS7Bit = 0x00
	DCS8Bit = 0x04
	DCSUCS2 = 0x08
)

// Limits of one TP-UD (3GPP TS 23.040 9.2.3.24): 140 octets, 160 septets;
// a concatenation header (6 octets) leaves 153 septets or 134 octets.
const (
	maxSeptets       = 160
	maxSeptetsConcat = 153
	maxUCS2          = 140
	maxUCS2Concat    = 134
	maxParts         = 255
)

// Part is one SMS-SUBMIT ready for AT+CMGS in PDU mode: send
// "AT+CMGS=<TPDULen>", wait for the "> " prompt, then Hex and Ctrl-Z.
type Part struct {
	// Hex is the PDU with an empty SMSC address ("00": the module uses its
	// configured service centre), in upper-case hexadecimal.
	Hex string
	// TPDULen is the length in octets without the SMSC address, the
	// number AT+CMGS takes.
	TPDULen int
}

// validity is TP-VP relative: 0xA7 is 24 hours (23.040 9.2.3.12.1); an
// alert that waited longer than a day at the service centre is stale.
const validity = 0xA7

// Submit encodes text to number as one or more SMS-SUBMIT PDUs: GSM 7-bit
// when every character is in the default alphabet or its extension table,
// else UCS-2 (UTF-16, so characters outside the BMP survive on phones
// that read it). Longer texts are split into parts with a concatenation
// header (8-bit reference ref); a split never separates an escape from
// its character nor a surrogate pair. number is "+" and digits for an
// international number, digits alone otherwise.
func Submit(number, text string, ref byte) ([]Part, error) {
	return submit(number, text, ref, validity)
}

func submit(number, text string, ref, vp byte) ([]Part, error) {
	da, err := encodeAddress(number)
	if err != nil {
		return nil, err
	}
	if text == "" {
		return nil, fmt.Errorf("%w: empty text", ErrEncode)
	}
	var chunks [][]byte
	dcs := byte(DCS7Bit)
	if septets, ok := ToGSM7(text); ok {
		chunks = split(septets, maxSeptets, maxSeptetsConcat, func(s []byte, i int) bool { return s[i-1] != esc })
	} else {
		dcs = DCSUCS2
		u := utf16.Encode([]rune(text))
		b := make([]byte, 2*len(u))
		for i, c := range u {
			b[2*i], b[2*i+1] = byte(c>>8), byte(c)
		}
		chunks = split(b, maxUCS2, maxUCS2Concat, func(s []byte, i int) bool {
			return i%2 == 0 && (s[i-2] < 0xD8 || s[i-2] > 0xDB) // not after a high surrogate
		})
	}
	if len(chunks) > maxParts {
		return nil, fmt.Errorf("%w: text needs %d parts, more than %d", ErrEncode, len(chunks), maxParts)
	}
	parts := make([]Part, len(chunks))
	for i, c := range chunks {
		fo := byte(0x11) // SMS-SUBMIT, TP-VPF relative
		var udh []byte
		if len(chunks) > 1 {
			fo |= 0x40 // TP-UDHI
			udh = []byte{5, 0x00, 3, ref, byte(len(chunks)), byte(i + 1)}
		}
		tpdu := append([]byte{fo, 0}, da...) // TP-MR 0: the module assigns it
		tpdu = append(tpdu, 0, dcs, vp)
		tpdu = append(tpdu, userData(dcs, udh, c)...)
		parts[i] = Part{Hex: "00" + hexUpper(tpdu), TPDULen: len(tpdu)}
	}
	return parts, nil
}

// split cuts s into one chunk of up to single, or chunks of up to multi
// where ok(s, end) allows a cut before s[end].
func split(s []byte, single, multi int, ok func(s []byte, end int) bool) [][]byte {
	if len(s) <= single {
		return [][]byte{s}
	}
	var out [][]byte
	for len(s) > 0 {
		n := min(multi, len(s))
		for n < len(s) && n > 1 && !ok(s, n) {
			n--
		}
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// userData builds TP-UDL and TP-UD. For 7-bit text, TP-UDL counts
// septets including the header's, and fill bits align the text to a
// septet boundary after the header.
func userData(dcs byte, udh, body []byte) []byte {
	hdr := udh
	if dcs != DCS7Bit {
		out := []byte{byte(len(hdr) + len(body))}
		return append(append(out, hdr...), body...)
	}
	hbits := 8 * len(hdr)
	fill := (7 - hbits%7) % 7
	udl := (hbits+fill)/7 + len(body)
	out := append([]byte{byte(udl)}, hdr...)
	return append(out, pack7(body, fill)...)
}

func hexUpper(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 2*len(b))
	for i, v := range b {
		out[2*i], out[2*i+1] = digits[v>>4], digits[v&0xF]
	}
	return string(out)
}
