package dialplan

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrBlocked: the dial plan does not let the number out.
var ErrBlocked = errors.New("dialplan: number blocked")

// Plan decides which numbers (as the line dials them) may go out. A
// pattern matches a number that starts with it; in a pattern "x" (or "X")
// stands for any one digit. The longest matching pattern of Allow and
// Block decides, Allow on a tie; a number no pattern matches goes out.
// Emergency numbers always go out. The zero Plan lets everything out.
type Plan struct {
	Allow, Block []string
	Emergency    []string
}

// DefaultBlock is the block list of a Plan nobody configured: every
// international call (the international prefix) and the premium-rate and
// mass-call services of the national numbering ("0900", "0137") and the
// directory services ("118…"), which are how toll fraud through an FXO
// line makes its money.
func DefaultBlock(n Numbering) []string {
	intl := n.InternationalPrefix
	if intl == "" {
		intl = DefaultInternationalPrefix
	}
	return []string{intl, n.NationalPrefix + "900", n.NationalPrefix + "137", "118"}
}

// CheckPattern reports whether p is a usable pattern: digits, "*", "#"
// and "x", at most MaxDigits.
func CheckPattern(p string) error {
	if p == "" || len(p) > MaxDigits || strings.Trim(p, "0123456789*#xX") != "" {
		return errors.New("want digits, *, # and x for any digit (at most 32)")
	}
	return nil
}

// Check returns nil if number may be dialled, else an error wrapping
// ErrBlocked that names the pattern that blocked it.
func (p Plan) Check(number string) error {
	if slices.Contains(p.Emergency, number) {
		return nil
	}
	allow, block := longest(p.Allow, number), longest(p.Block, number)
	if block == "" || len(allow) >= len(block) {
		return nil
	}
	return fmt.Errorf("%w: %s matches block pattern %q", ErrBlocked, number, block)
}

// longest returns the longest pattern of ps that matches number ("" for
// none).
func longest(ps []string, number string) string {
	best := ""
	for _, p := range ps {
		if len(p) > len(best) && matches(p, number) {
			best = p
		}
	}
	return best
}

func matches(pattern, number string) bool {
	if len(number) < len(pattern) {
		return false
	}
	for i := range len(pattern) {
		c, d := pattern[i], number[i]
		if c == 'x' || c == 'X' {
			if d < '0' || d > '9' {
				return false
			}
		} else if c != d {
			return false
		}
	}
	return true
}
