package daemon

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"lifeline/hal/cellular/notify"
	"lifeline/hal/cellular/remote"
)

// Defaults of the notify section.
const (
	DefaultNotifyBurst       = 5
	DefaultNotifyMinInterval = 10 * time.Minute
	// MinRemoteSecret is the shortest remote_secret accepted: an SMS
	// secret is all that stands between a stranger who fakes an allowed
	// caller ID and the route.
	MinRemoteSecret = 8
)

// NotifyConfig is the `config notify` section: SMS alerts through the
// cellular line, and the route override by SMS.
type NotifyConfig struct {
	Name string // section name
	Line int    // where the section starts, for errors found later
	// RouterName starts every alert; "" (no option name): the system's
	// host name, read when the notifier starts.
	RouterName string
	Numbers    []string // normalised: "+" and digits, or digits
	Events     []string // hook event names; default notify.DefaultKinds
	// Burst alerts go out at once; then at most one per MinInterval, the
	// events that waited summarised in it.
	Burst       int
	MinInterval time.Duration
	// Remote lets RemoteFrom numbers set the override by SMS with
	// RemoteSecret (off by default).
	Remote       bool
	RemoteFrom   []string // normalised
	RemoteSecret string
}

// notify reads a notify section; prev is the one already read (a second
// section is an error).
func (r *reader) notify(prev *NotifyConfig) *NotifyConfig {
	s := r.sec
	if prev != nil {
		r.errAt(s.Line, "", "a second \"notify\" section (the first is on line %d)", prev.Line)
		return prev
	}
	n := &NotifyConfig{Name: s.Name, Line: s.Line}
	n.RouterName = r.str("name", "", routerName)
	n.Numbers = normalised(r.list("number", phoneNumber))
	n.Events = r.list("event", func(v string) error {
		if !notify.KnownKind(v) {
			return fmt.Errorf("want one of %s", strings.Join(notify.Kinds, ", "))
		}
		return nil
	})
	if n.Events == nil {
		n.Events = append([]string(nil), notify.DefaultKinds...)
	}
	n.Burst = r.integer("max_burst", DefaultNotifyBurst, 1, 100)
	n.MinInterval = r.dur("min_interval", DefaultNotifyMinInterval, 0, 24*time.Hour)
	n.Remote = r.boolean("remote", false)
	n.RemoteFrom = normalised(r.list("remote_from", phoneNumber))
	if o := r.get("remote_secret", false); o != nil {
		// The value is never echoed: errors end up in logs.
		switch v := o.Value(); {
		case len(v) < MinRemoteSecret:
			r.errAt(o.Line, "remote_secret", "too short (%d characters): want at least %d", len(v), MinRemoteSecret)
		case len(v) > 64 || strings.ContainsAny(v, " \t\r\n"):
			r.errAt(o.Line, "remote_secret", "want at most 64 characters without spaces (the SMS is split into words)")
		default:
			n.RemoteSecret = v
		}
	}
	if r.err != nil {
		return n
	}
	switch {
	case n.Remote && len(n.RemoteFrom) == 0:
		r.errAt(s.Line, "remote_from", "at least one number is required with remote '1'")
	case n.Remote && n.RemoteSecret == "":
		r.errAt(s.Line, "remote_secret", "is required with remote '1'")
	case !n.Remote && len(n.Numbers) == 0:
		r.errAt(s.Line, "number", "at least one number is required (or remote '1')")
	}
	return n
}

// phoneNumber checks a number as people write it ("+49 170 1234567"): an
// optional "+", then 3 to 20 digits with spaces, dashes, dots or
// parentheses between them.
func phoneNumber(v string) error {
	n := remote.Normalize(v)
	if d := strings.TrimPrefix(n, "+"); len(d) < 3 || len(d) > 20 {
		return errors.New("not a phone number (e.g. +491701234567)")
	}
	return nil
}

func normalised(numbers []string) []string {
	var out []string
	for _, v := range numbers {
		out = append(out, remote.Normalize(v))
	}
	return out
}

// routerName checks the name alerts start with: 1 to 32 printable
// characters.
func routerName(v string) error {
	if v == "" || len([]rune(v)) > 32 || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7F }) {
		return errors.New("want 1 to 32 printable characters")
	}
	return nil
}

// NotifierConfig is the notify.Config of the section's alerts (the caller
// adds the time zone).
func (n *NotifyConfig) NotifierConfig() notify.Config {
	return notify.Config{Name: n.RouterName, Numbers: n.Numbers, Kinds: n.Events, Burst: n.Burst, MinInterval: n.MinInterval}
}

// HandlerConfig is the notify.HandlerConfig of the section's remote
// override; ok is false when remote is off.
func (n *NotifyConfig) HandlerConfig() (c notify.HandlerConfig, ok bool) {
	if !n.Remote {
		return c, false
	}
	return notify.HandlerConfig{Name: n.RouterName, Secret: n.RemoteSecret, Allowed: n.RemoteFrom}, true
}
