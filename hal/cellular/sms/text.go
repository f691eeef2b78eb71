package sms

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"lifeline/hal/cellular/at"
)

// TextModeBody checks text for AT+CMGS in text mode (AT+CMGF=1), the
// fallback for modules whose PDU mode fails: only characters that mean the
// same in the GSM alphabet and in IRA (ASCII) pass, so the module's
// character set setting (AT+CSCS) cannot change them; Ctrl-Z and Esc,
// which end or cancel the text, never pass. Longer or other texts need PDU
// mode.
func TextModeBody(text string) error {
	if text == "" || len(text) > maxSeptets {
		return fmt.Errorf("%w: text mode takes 1 to %d characters, got %d", ErrEncode, maxSeptets, utf8.RuneCountInString(text))
	}
	for i := range len(text) {
		c := text[i]
		ok := c == '\n' || c == '\r' || (c >= ' ' && c < 0x7F && !strings.ContainsRune("$@`^{}\\[]~|_", rune(c)))
		if !ok {
			return fmt.Errorf("%w: character %q at byte %d is not safe in text mode", ErrEncode, rune(c), i)
		}
	}
	return nil
}

// FromText makes a Message of a text-mode +CMT/+CMGR: its header line and
// the text line after it.
func FromText(h at.MessageHeader, body string) Message {
	return Message{From: h.Originator, Time: h.Time, Text: body}
}

// Alert formats an alert for one SMS part: "<host>: <what> <time>". When
// it would need a second part the event text is shortened and marked
// "..", so the router's name and the time always arrive.
func Alert(host, what string, when time.Time) string {
	stamp := when.Format("2006-01-02 15:04 MST")
	if r := []rune(what); len(r) > maxSeptets {
		// More than a part can hold: cut it first, so the loop below
		// shortens at most a part's worth (it is quadratic).
		what = string(r[:maxSeptets])
	}
	msg := host + ": " + what + " " + stamp
	limit := maxSeptets
	if _, ok := ToGSM7(msg); !ok {
		limit = maxUCS2 / 2
	}
	for septetLen(msg) > limit && what != "" {
		r := []rune(what)
		what = strings.TrimSuffix(string(r[:len(r)-1]), "..")
		msg = host + ": " + what + ".. " + stamp
	}
	return msg
}

// septetLen is the length of s in its cheapest encoding's units: septets
// of the GSM alphabet, else UTF-16 code units.
func septetLen(s string) int {
	if sep, ok := ToGSM7(s); ok {
		return len(sep)
	}
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}
