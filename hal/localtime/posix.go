package localtime

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrTZ is wrapped by every error about a POSIX TZ string.
var ErrTZ = errors.New("bad POSIX TZ string")

// Rule is a parsed POSIX TZ string (POSIX.1-2017 section 8.3, with the
// extensions of RFC 8536 section 3.3.1 that zoneinfo footers use: rule
// times from -167 to 167 hours):
//
//	std offset [dst [offset] [,start[/time],end[/time]]]
//
// for example "CET-1CEST,M3.5.0,M10.5.0/3" (Central Europe) or "<+03>-3".
// Offsets are east of UTC here (the TZ string writes them west: "CET-1"
// is UTC+1).
type Rule struct {
	Std, DST             string // abbreviations; DST "" when the zone has no summer time
	StdOffset, DSTOffset int    // seconds east of UTC
	Start, End           Transition
}

// TransitionKind says how a Transition names its day.
type TransitionKind int

// The three forms of a rule's date.
const (
	JulianNoLeap TransitionKind = iota // Jn: day 1..365, 29 February never counted
	ZeroBased                          // n: day 0..365, 29 February counted
	MonthWeekDay                       // Mm.w.d: day d (0 Sunday) of week w (5: the last) of month m
)

// Transition is one rule of the summer time: a day and a local time (in
// seconds, possibly negative or past midnight).
type Transition struct {
	Kind             TransitionKind
	Day, Week, Month int
	Time             int
}

// DefaultRules are the summer-time rules when a TZ string names a summer
// time but gives none (tzcode's and Go's default, the United States'
// rules since 2007).
const DefaultRules = ",M3.2.0,M11.1.0"

// ParsePOSIX parses a POSIX TZ string. It accepts what Go's time package
// honours in a TZif footer, and is stricter in one respect: an unquoted
// abbreviation is letters only, as POSIX says.
func ParsePOSIX(s string) (Rule, error) {
	p := &tzParser{s: s, all: s}
	r := Rule{}
	r.Std = p.name()
	r.StdOffset = -p.offset(24)
	if p.err != nil {
		return Rule{}, p.err
	}
	if p.s == "" {
		return r, nil
	}
	r.DST = p.name()
	r.DSTOffset = r.StdOffset + 3600
	if p.s != "" && p.s[0] != ',' {
		r.DSTOffset = -p.offset(24)
	}
	if p.err != nil {
		return Rule{}, p.err
	}
	if p.s == "" {
		p.s = DefaultRules
	}
	if p.s[0] != ',' { // tzcode also takes ';', Go's time package does not
		return Rule{}, p.fail("want ',' before the summer-time rules")
	}
	p.s = p.s[1:]
	r.Start = p.transition()
	if p.err == nil && (p.s == "" || p.s[0] != ',') {
		p.fail("want ',' between the start and the end of summer time")
	}
	if p.err == nil {
		p.s = p.s[1:]
		r.End = p.transition()
	}
	if p.err == nil && p.s != "" {
		p.fail("unexpected %q at the end", p.s)
	}
	if p.err != nil {
		return Rule{}, p.err
	}
	return r, nil
}

type tzParser struct {
	s, all string
	err    error
}

func (p *tzParser) fail(format string, args ...any) error {
	if p.err == nil {
		at := len(p.all) - len(p.s)
		p.err = fmt.Errorf("%w %q at byte %d: %s", ErrTZ, p.all, at, fmt.Sprintf(format, args...))
	}
	return p.err
}

// name reads an abbreviation: three or more letters, or <...> of three or
// more letters, digits, '+' and '-'.
func (p *tzParser) name() string {
	if p.err != nil {
		return ""
	}
	if strings.HasPrefix(p.s, "<") {
		end := strings.IndexByte(p.s, '>')
		if end < 0 {
			p.fail("unterminated <abbreviation>")
			return ""
		}
		n := p.s[1:end]
		if len(n) < 3 || strings.TrimLeft(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-") != "" {
			p.fail("<%s>: want three or more letters, digits, + or -", n)
			return ""
		}
		p.s = p.s[end+1:]
		return n
	}
	i := 0
	for i < len(p.s) && (p.s[i] >= 'a' && p.s[i] <= 'z' || p.s[i] >= 'A' && p.s[i] <= 'Z') {
		i++
	}
	if i < 3 {
		p.fail("want an abbreviation of three or more letters")
		return ""
	}
	n := p.s[:i]
	p.s = p.s[i:]
	return n
}

// num reads a decimal number in lo..hi.
func (p *tzParser) num(what string, lo, hi int) int {
	if p.err != nil {
		return 0
	}
	i, n := 0, 0
	for i < len(p.s) && p.s[i] >= '0' && p.s[i] <= '9' {
		n = n*10 + int(p.s[i]-'0')
		i++
		if n > hi {
			p.fail("%s out of range %d..%d", what, lo, hi)
			return 0
		}
	}
	if i == 0 {
		p.fail("want a number (%s)", what)
		return 0
	}
	if n < lo {
		p.fail("%s out of range %d..%d", what, lo, hi)
		return 0
	}
	p.s = p.s[i:]
	return n
}

// offset reads [+-]hh[:mm[:ss]] with hh up to maxHours, in seconds.
func (p *tzParser) offset(maxHours int) int {
	if p.err != nil {
		return 0
	}
	sign := 1
	if p.s != "" && (p.s[0] == '+' || p.s[0] == '-') {
		if p.s[0] == '-' {
			sign = -1
		}
		p.s = p.s[1:]
	}
	secs := p.num("hours", 0, maxHours) * 3600
	for _, unit := range []int{60, 1} {
		if p.err != nil || p.s == "" || p.s[0] != ':' {
			break
		}
		p.s = p.s[1:]
		secs += p.num("minutes or seconds", 0, 59) * unit
	}
	return sign * secs
}

// transition reads Jn, n or Mm.w.d, then an optional /time (default 02:00).
func (p *tzParser) transition() Transition {
	var t Transition
	switch {
	case p.err != nil:
		return t
	case strings.HasPrefix(p.s, "J"):
		p.s = p.s[1:]
		t.Kind, t.Day = JulianNoLeap, p.num("Julian day", 1, 365)
	case strings.HasPrefix(p.s, "M"):
		p.s = p.s[1:]
		t.Kind, t.Month = MonthWeekDay, p.num("month", 1, 12)
		for _, f := range []struct {
			dst    *int
			what   string
			lo, hi int
		}{{&t.Week, "week", 1, 5}, {&t.Day, "weekday", 0, 6}} {
			if p.err == nil && (p.s == "" || p.s[0] != '.') {
				p.fail("want '.' before the %s", f.what)
			}
			if p.err == nil {
				p.s = p.s[1:]
				*f.dst = p.num(f.what, f.lo, f.hi)
			}
		}
	default:
		t.Kind, t.Day = ZeroBased, p.num("day of the year", 0, 365)
	}
	t.Time = 2 * 3600
	if p.err == nil && strings.HasPrefix(p.s, "/") {
		p.s = p.s[1:]
		t.Time = p.offset(167)
	}
	return t
}

// at returns the instant of the transition in year, whose local time is
// counted at utcOffset (the offset in force before it).
func (t Transition) at(year, utcOffset int) time.Time {
	var day time.Time
	switch t.Kind {
	case JulianNoLeap:
		day = time.Date(year, time.January, t.Day, 0, 0, 0, 0, time.UTC)
		if isLeap(year) && t.Day >= 60 {
			day = day.AddDate(0, 0, 1)
		}
	case ZeroBased:
		day = time.Date(year, time.January, 1+t.Day, 0, 0, 0, 0, time.UTC)
	case MonthWeekDay:
		first := time.Date(year, time.Month(t.Month), 1, 0, 0, 0, 0, time.UTC)
		d := 1 + (t.Day-int(first.Weekday())+7)%7 // the first such weekday
		last := time.Date(year, time.Month(t.Month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
		for w := 1; w < t.Week && d+7 <= last; w++ {
			d += 7
		}
		day = time.Date(year, time.Month(t.Month), d, 0, 0, 0, 0, time.UTC)
	}
	return day.Add(time.Duration(t.Time-utcOffset) * time.Second)
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// At returns the abbreviation and the offset east of UTC in force at t.
// The transitions are those of t's year in UTC, as in tzcode and Go; a
// rule whose transitions fall outside their year (no real zone's does) is
// only as exact as that.
func (r Rule) At(t time.Time) (name string, offset int, dst bool) {
	if r.DST == "" {
		return r.Std, r.StdOffset, false
	}
	year := t.UTC().Year()
	start, end := r.Start.at(year, r.StdOffset), r.End.at(year, r.DSTOffset)
	if end.Before(start) { // southern hemisphere: summer time spans the new year
		if !t.Before(end) && t.Before(start) {
			return r.Std, r.StdOffset, false
		}
		return r.DST, r.DSTOffset, true
	}
	if !t.Before(start) && t.Before(end) {
		return r.DST, r.DSTOffset, true
	}
	return r.Std, r.StdOffset, false
}
