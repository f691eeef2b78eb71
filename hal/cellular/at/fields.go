// Package at parses the 3GPP TS 27.007/27.005 information responses and
// unsolicited result codes (URCs) a cellular module sends on its AT port,
// plus the vendor call-state URCs of the module families Lifeline drives
// (Huawei ^ORIG/^CONF/^CONN/^CEND, Quectel +QIND "ccinfo", SIMCom
// VOICE CALL: BEGIN/END), and their reports of DTMF heard from the far
// end (^DDTMF, +QTONEDET, +RXDTMF).
//
// Every function here is pure: it takes one line as the module sent it
// (without CR LF) and returns a typed value or an error wrapping ErrSyntax
// that names the line. Nothing here does I/O; the AT engine that owns the
// port hands lines to these parsers.
package at

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("at: malformed response")

// Field is one comma-separated parameter of a response. Quoted fields have
// their quotes removed and Quoted set; an omitted parameter ("1,,3") is the
// empty unquoted field.
type Field struct {
	Text   string
	Quoted bool
}

// Int returns the field as a decimal integer.
func (f Field) Int() (int, error) {
	if f.Quoted {
		return 0, fmt.Errorf("%w: quoted %q where a number is expected", ErrSyntax, f.Text)
	}
	n, err := strconv.Atoi(f.Text)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not a number", ErrSyntax, f.Text)
	}
	return n, nil
}

// Split checks that line starts with prefix (e.g. "+CREG:", matched
// case-sensitively as modules send it) and splits the rest into fields. A
// quoted field may hold commas; a field without a closing quote is an error.
func Split(line, prefix string) ([]Field, error) {
	rest, ok := strings.CutPrefix(line, prefix)
	if !ok {
		return nil, fmt.Errorf("%w: %q does not start with %q", ErrSyntax, line, prefix)
	}
	return splitFields(strings.TrimLeft(rest, " "), line)
}

func splitFields(s, line string) ([]Field, error) {
	var out []Field
	for {
		s = strings.TrimLeft(s, " ")
		var f Field
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated quote in %q", ErrSyntax, line)
			}
			f = Field{Text: s[1 : 1+end], Quoted: true}
			s = strings.TrimLeft(s[2+end:], " ")
			if s != "" && s[0] != ',' {
				return nil, fmt.Errorf("%w: text after a quoted field in %q", ErrSyntax, line)
			}
		} else {
			i := strings.IndexByte(s, ',')
			if i < 0 {
				i = len(s)
			}
			f = Field{Text: strings.TrimRight(s[:i], " ")}
			s = s[i:]
		}
		out = append(out, f)
		if s == "" {
			return out, nil
		}
		s = s[1:] // the comma
	}
}

// splitN is Split requiring at least n fields.
func splitN(line, prefix string, n int) ([]Field, error) {
	fs, err := Split(line, prefix)
	if err == nil {
		err = need(fs, n, line)
	}
	return fs, err
}

// ints converts fields to integers; an empty field becomes -1 (omitted).
func ints(fs []Field, line string) ([]int, error) {
	out := make([]int, len(fs))
	for i, f := range fs {
		if f.Text == "" && !f.Quoted {
			out[i] = -1
			continue
		}
		n, err := f.Int()
		if err != nil {
			return nil, fmt.Errorf("%w (parameter %d of %q)", err, i+1, line)
		}
		out[i] = n
	}
	return out, nil
}

// need reports an error when fs has fewer than n fields.
func need(fs []Field, n int, line string) error {
	if len(fs) < n {
		return fmt.Errorf("%w: %q has %d parameters, want at least %d", ErrSyntax, line, len(fs), n)
	}
	return nil
}
