package sms

import (
	"fmt"
	"strings"
)

// Type-of-address octets (3GPP TS 23.040 9.1.2.5).
const (
	toaInternational = 0x91
	toaUnknown       = 0x81
	tonMask          = 0x70
	tonInternational = 0x10
	tonAlphanumeric  = 0x50
)

// bcdDigits are the semi-octet values 0-15 (23.040 9.1.2.3).
const bcdDigits = "0123456789*#abc"

// encodeAddress writes a TP-DA: digit count, type of address, swapped
// semi-octets. A leading "+" makes it international.
func encodeAddress(number string) ([]byte, error) {
	toa := byte(toaUnknown)
	digits, intl := strings.CutPrefix(number, "+")
	if intl {
		toa = toaInternational
	}
	if !validNumber(number) || len(digits) > 20 {
		return nil, fmt.Errorf("%w: destination %q must be 1 to 20 digits, * or #, after an optional +", ErrEncode, number)
	}
	out := []byte{byte(len(digits)), toa}
	return append(out, semiOctets(digits)...), nil
}

// semiOctets swaps digit pairs, padding an odd count with F; digits holds
// only characters of bcdDigits (validNumber).
func semiOctets(digits string) []byte {
	out := make([]byte, 0, (len(digits)+1)/2)
	for i := 0; i < len(digits); i += 2 {
		lo := strings.IndexByte(bcdDigits, digits[i])
		hi := 0xF
		if i+1 < len(digits) {
			hi = strings.IndexByte(bcdDigits, digits[i+1])
		}
		out = append(out, byte(hi)<<4|byte(lo))
	}
	return out
}

// validNumber reports whether number is "+" and digits, * and #.
func validNumber(number string) bool {
	digits, _ := strings.CutPrefix(number, "+")
	for i := range len(digits) {
		if strings.IndexByte("0123456789*#", digits[i]) < 0 {
			return false
		}
	}
	return digits != ""
}

// decodeBCD reads n semi-octets.
func decodeBCD(b []byte, n int) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		v := b[i/2]
		if i%2 == 1 {
			v >>= 4
		}
		v &= 0xF
		if v == 0xF {
			break
		}
		sb.WriteByte(bcdDigits[v])
	}
	return sb.String()
}

// decodeAddress reads a TP-OA at p: it returns the address and the
// offset after it. Alphanumeric senders (TON 101) are 7-bit text.
func decodeAddress(pdu []byte, p int) (string, int, error) {
	if p+2 > len(pdu) {
		return "", 0, fmt.Errorf("%w: originating address cut short at octet %d", ErrPDU, p)
	}
	n, toa := int(pdu[p]), pdu[p+1]
	octets := (n + 1) / 2
	if n > 20 || p+2+octets > len(pdu) {
		return "", 0, fmt.Errorf("%w: originating address length %d at octet %d", ErrPDU, n, p)
	}
	v := pdu[p+2 : p+2+octets]
	end := p + 2 + octets
	switch toa & tonMask {
	case tonAlphanumeric:
		s, err := unpack7(v, 0, n*4/7)
		if err != nil {
			return "", 0, err
		}
		return FromGSM7(s), end, nil
	case tonInternational:
		return "+" + decodeBCD(v, n), end, nil
	}
	return decodeBCD(v, n), end, nil
}
