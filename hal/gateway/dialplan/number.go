// Package dialplan is the gateway's number policy: what the line dials for
// a Request-URI (RFC 3261 escapes undone, RFC 3966 tel: URIs and
// phone-context, E.164 turned into the line's national or international
// form as an analog telephone adapter does) and which numbers may go out
// at all (allow and block patterns, emergency numbers always). It is pure:
// no I/O, no clock, safe for concurrent use.
package dialplan

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNumber: the Request-URI does not hold a number the line can dial.
var ErrNumber = errors.New("dialplan: not a dialable number")

// MaxDigits bounds a dialled number (E.164 has 15 digits; prefixes and
// service codes add a few).
const MaxDigits = 32

// Defaults of Numbering.
const (
	DefaultInternationalPrefix = "00"
	DefaultNationalPrefix      = "0"
)

// Numbering says how an E.164 number ("+4930…") is dialled on the line.
type Numbering struct {
	// Prefix (the PSTN access code, e.g. "*00") is stripped from the
	// front of the number when present; "" strips nothing.
	Prefix string
	// CountryCode is the line's own country ("49"): a +49 number is
	// dialled nationally, NationalPrefix and the rest ("+4930…" →
	// "030…"). "" dials every E.164 number internationally.
	CountryCode string
	// InternationalPrefix goes before other countries' numbers ("+33…" →
	// "0033…"); "" means DefaultInternationalPrefix.
	InternationalPrefix string
	// NationalPrefix (trunk prefix) goes before a national number; "" is
	// a country without one. Use DefaultNumbering for the common "0".
	NationalPrefix string
}

// DefaultNumbering is the numbering of most of Europe without a country
// code: every E.164 number goes out as 00 and its digits.
func DefaultNumbering() Numbering {
	return Numbering{InternationalPrefix: DefaultInternationalPrefix, NationalPrefix: DefaultNationalPrefix}
}

// Dial returns what the line dials for a Request-URI: scheme is its scheme
// ("sip", "sips" or "tel") and user its user part (sip) or its whole
// scheme-specific part (tel). Percent escapes are undone (%23 is #, %2A
// is *), parameters (";phone-context=…", ";user=phone" leftovers, ";isub=…")
// dropped, RFC 3966 visual separators ("-", ".", "(", ")") and spaces
// removed, the prefix stripped, and a leading "+" turned into the national
// or international form. The result holds only digits, "*" and "#"; anything
// else is ErrNumber. A local number with a phone-context is dialled as it
// is: the context names where it is valid, which is where the line is.
func (n Numbering) Dial(scheme, user string) (string, error) {
	switch strings.ToLower(scheme) {
	case "sip", "sips", "tel":
	default:
		return "", fmt.Errorf("%w: %s: URI is not sip: or tel:", ErrNumber, scheme)
	}
	num, params, hasParams := strings.Cut(user, ";") // RFC 3966 parameters
	if hasParams && !telParams(params) {
		return "", fmt.Errorf("%w: %q: ';' not followed by parameters", ErrNumber, user)
	}
	num, err := unescape(num)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrNumber, user, err)
	}
	num = strings.Map(func(r rune) rune {
		switch r {
		case '-', '.', '(', ')', ' ':
			return -1
		}
		return r
	}, num)
	if n.Prefix != "" {
		num = strings.TrimPrefix(num, n.Prefix)
	}
	if rest, ok := strings.CutPrefix(num, "+"); ok {
		intl := n.InternationalPrefix
		if intl == "" {
			intl = DefaultInternationalPrefix
		}
		if !digitsOnly(rest) {
			return "", fmt.Errorf("%w: %q: an E.164 number has digits only after +", ErrNumber, user)
		}
		if national, ok := strings.CutPrefix(rest, n.CountryCode); ok && n.CountryCode != "" {
			num = n.NationalPrefix + national
		} else {
			num = intl + rest
		}
	}
	if num == "" || len(num) > MaxDigits || strings.Trim(num, "0123456789*#") != "" {
		return "", fmt.Errorf("%w: %q: want digits, * and # (at most %d)", ErrNumber, user, MaxDigits)
	}
	return num, nil
}

// telParams reports whether s (what follows the number's first ';') is
// RFC 3966 parameters: each name=value, or the flag npdi. A user part
// whose escapes a parser has undone ("030%3B123" → "030;123") is no
// number then, not the number before the ';'.
func telParams(s string) bool {
	for _, p := range strings.Split(s, ";") {
		name, _, ok := strings.Cut(p, "=")
		if name == "" || !ok && !strings.EqualFold(name, "npdi") {
			return false
		}
	}
	return true
}

func digitsOnly(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// unescape undoes RFC 3261 / RFC 3986 percent escapes; a malformed
// escape is an error.
func unescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", fmt.Errorf("bad escape at byte %d", i)
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
