// Package remote parses the route override commands Lifeline accepts by
// SMS ("<secret> pstn 1h", "<secret> sip", "<secret> auto",
// "<secret> status") and rate-limits the senders that get them wrong.
//
// Parse tells a message from a number that is not allowed, a wrong secret
// and an unknown command apart (ErrNotAllowed, ErrSecret, ErrCommand), so
// the caller can log each and rate-limit wrong secrets per sender with a
// Limiter. The secret is compared in time that does not depend on it.
package remote

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Errors Parse returns; each wraps nothing else.
var (
	ErrNotAllowed = errors.New("remote: sender not allowed")
	ErrSecret     = errors.New("remote: wrong secret")
	ErrCommand    = errors.New("remote: unknown command")
)

// Action is what a command asks for.
type Action string

// Actions. Route actions use the route names of the override contract.
const (
	ActionPSTN   Action = "pstn"
	ActionSIP    Action = "sip"
	ActionAuto   Action = "auto"
	ActionStatus Action = "status"
)

// MaxFor bounds an override's duration (a mistyped "100d" should not pin
// the route for months).
const MaxFor = 30 * 24 * time.Hour

// Command is a parsed, authorised command.
type Command struct {
	Action Action
	// For is the override's duration for pstn and sip; 0 means until
	// changed.
	For time.Duration
	// From is the sender as allowed (normalised).
	From string
}

// Policy is who may send commands and with which secret. The zero Policy
// accepts nothing.
type Policy struct {
	Secret  string
	Allowed []string
}

// Normalize removes the spaces, dashes, dots and parentheses people write
// in phone numbers, keeping a leading "+".
func Normalize(number string) string {
	var b strings.Builder
	for i := range len(number) {
		c := number[i]
		switch {
		case c >= '0' && c <= '9', c == '+' && b.Len() == 0:
			b.WriteByte(c)
		case strings.IndexByte(" -./()", c) >= 0:
		default:
			return "" // letters: an alphanumeric sender is never allowed
		}
	}
	return b.String()
}

// Parse checks from against the allowed numbers, then the secret (the
// first word), then the command. Words are separated by white space;
// the command word is case-insensitive, the secret is not.
func (p Policy) Parse(from, text string) (Command, error) {
	sender := Normalize(from)
	allowed := false
	for _, a := range p.Allowed {
		if n := Normalize(a); n != "" && n == sender {
			allowed = true
		}
	}
	if !allowed {
		return Command{}, fmt.Errorf("%w: %q", ErrNotAllowed, from)
	}
	words := strings.Fields(text)
	if len(words) == 0 || !secretEqual(p.Secret, words[0]) {
		return Command{}, fmt.Errorf("%w from %s", ErrSecret, sender)
	}
	cmd := Command{From: sender}
	if len(words) < 2 {
		return cmd, fmt.Errorf("%w: no command after the secret from %s", ErrCommand, sender)
	}
	cmd.Action = Action(strings.ToLower(words[1]))
	args := words[2:]
	switch cmd.Action {
	case ActionPSTN, ActionSIP:
		if len(args) > 1 {
			return cmd, fmt.Errorf("%w: %q takes at most a duration", ErrCommand, cmd.Action)
		}
		if len(args) == 1 {
			d, err := parseFor(args[0])
			if err != nil {
				return cmd, err
			}
			cmd.For = d
		}
	case ActionAuto, ActionStatus:
		if len(args) > 0 {
			return cmd, fmt.Errorf("%w: %q takes no argument", ErrCommand, cmd.Action)
		}
	default:
		return cmd, fmt.Errorf("%w: %q from %s", ErrCommand, words[1], sender)
	}
	return cmd, nil
}

// parseFor reads a duration: Go syntax ("90m", "1h30m") or whole days
// ("2d").
func parseFor(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(strings.ToLower(s), "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
		if n > int(MaxFor/(24*time.Hour)) {
			d = MaxFor + 1
		}
	} else {
		d, err = time.ParseDuration(strings.ToLower(s))
	}
	if err != nil || d <= 0 || d > MaxFor {
		return 0, fmt.Errorf("%w: duration %q (want e.g. 30m, 2h or 1d, at most %v)", ErrCommand, s, MaxFor)
	}
	return d, nil
}

// secretEqual compares in time that depends only on the guess's length;
// an empty secret matches nothing.
func secretEqual(secret, guess string) bool {
	if secret == "" {
		return false
	}
	var v byte
	for i := range len(guess) {
		v |= guess[i] ^ secret[i%len(secret)]
	}
	return subtle.ConstantTimeByteEq(v, 0)&subtle.ConstantTimeEq(int32(len(secret)), int32(len(guess))) == 1
}
