package hotkey

import (
	"slices"
	"sort"
	"time"

	"lifeline/hal/keys"
)

// Key feeds one key event observed at now (now must not go backwards) and
// returns the bindings that fired, in time order — including any whose
// deadline passed before now without a Tick. Timing uses now; ev.At only
// marks a press stamped before the matcher's start as held across a
// restart.
func (m *Matcher) Key(ev keys.Event, now time.Time) []Match {
	out := m.process(now)
	ks := m.key(ev.Key)
	if ev.Pressed {
		switch {
		case ks.tainted:
			// Still held from before the start; a repeated press changes nothing.
		case ks.down && ks.relPending:
			ks.relPending = false // bounce: the release did not last
		case ks.down:
			// Repeated press (autorepeat, a source replaying state).
		case !ev.At.IsZero() && ev.At.Before(m.start):
			*ks = keyState{down: true, since: ev.At, tainted: true}
			m.touch(ev.Key, now)
			m.g.spoiled = true
		default:
			*ks = keyState{down: true, since: now}
			m.touch(ev.Key, now)
			if m.anyTainted() {
				m.g.spoiled = true
			}
		}
	} else {
		switch {
		case !ks.down:
			// Release with no press: the key was held across a restart.
		case ks.tainted:
			*ks = keyState{}
			out = append(out, m.released(ev.Key, now, now)...)
		case ks.relPending:
			// Repeated release.
		case m.debounce == 0:
			out = append(out, m.release(ev.Key, now)...)
		default:
			ks.relPending, ks.relAt = true, now
		}
	}
	return append(out, m.process(now)...)
}

// Tick advances time to now and returns the bindings whose deadlines have
// passed.
func (m *Matcher) Tick(now time.Time) []Match { return m.process(now) }

// NextDeadline reports when Tick should next be called, if anything is
// pending.
func (m *Matcher) NextDeadline() (time.Time, bool) {
	var next time.Time
	ok := false
	consider := func(t time.Time) {
		if !ok || t.Before(next) {
			next, ok = t, true
		}
	}
	for _, ks := range m.keys {
		if ks.relPending {
			consider(ks.relAt.Add(m.debounce))
		}
	}
	if _, t, eligible := m.holdCandidate(); eligible {
		consider(t)
	}
	if m.seqActive && !m.seqPostponed() {
		consider(m.seqDeadline)
	}
	return next, ok
}

// process applies, in time order, every pending release whose debounce
// window has closed and every hold deadline that has passed, then resolves
// an expired sequence.
func (m *Matcher) process(now time.Time) []Match {
	var out []Match
	for {
		rk, rt := "", time.Time{}
		for name, ks := range m.keys {
			if ks.relPending && !ks.relAt.Add(m.debounce).After(now) && (rk == "" || ks.relAt.Before(rt)) {
				rk, rt = name, ks.relAt
			}
		}
		if b, t, ok := m.holdCandidate(); ok && !t.After(now) && (rk == "" || !t.After(rt)) {
			out = append(out, m.fire(b, t))
			m.g.fired = true
			m.clearTaps()
			continue
		}
		if rk != "" {
			out = append(out, m.release(rk, rt)...)
			continue
		}
		break
	}
	if m.seqActive && !m.seqDeadline.After(now) && !m.seqPostponed() {
		if m.seqPending != nil {
			out = append(out, m.fire(*m.seqPending, m.seqDeadline))
		}
		m.clearTaps()
	}
	return out
}

// release makes key's release at t effective.
func (m *Matcher) release(key string, t time.Time) []Match {
	ks := m.keys[key]
	pressed := ks.since
	*ks = keyState{}
	return m.released(key, pressed, t)
}

// released updates the gesture after key (down since pressed) went up at t.
func (m *Matcher) released(key string, pressed, t time.Time) []Match {
	m.g.setSince = t
	for _, ks := range m.keys {
		if ks.down {
			return nil
		}
	}
	g := m.g
	m.g = gesture{}
	if g.fired {
		m.clearTaps() // the hold binding took the gesture
		return nil
	}
	if g.spoiled || len(g.union) != 1 || t.Sub(pressed) > m.tapMax {
		// Not a tap: it ends any sequence in progress.
		var out []Match
		if m.seqActive && m.seqPending != nil {
			out = append(out, m.fire(*m.seqPending, t))
		}
		m.clearTaps()
		return out
	}
	return m.addTap(tap{key: key, press: pressed, release: t})
}

// addTap extends the tap sequence. A tap that no sequence binding can
// follow ends the sequence in progress (firing its complete match) and
// starts a new one.
func (m *Matcher) addTap(tp tap) []Match {
	var out []Match
	if m.seqActive && !m.anyAlive(append(slices.Clone(m.taps), tp)) {
		if m.seqPending != nil {
			out = append(out, m.fire(*m.seqPending, tp.press))
		}
		m.clearTaps()
	}
	m.taps = append(m.taps, tp)
	return append(out, m.evalSequence(tp.release)...)
}

// holdCandidate returns the chord binding the current gesture can still
// fire, its deadline, and whether the deadline is decided (no key of the
// chord has a release pending from before it).
func (m *Matcher) holdCandidate() (Binding, time.Time, bool) {
	if !m.g.active || m.g.fired || m.g.spoiled {
		return Binding{}, time.Time{}, false
	}
	var down []string
	for name, ks := range m.keys {
		if ks.down {
			down = append(down, name)
		}
	}
	if len(down) == 0 || len(down) != len(m.g.union) {
		return Binding{}, time.Time{}, false
	}
	sort.Sort(sort.StringSlice(down))
	for _, b := range m.bindings {
		if b.Kind != Chord || len(b.Keys) != len(down) {
			continue
		}
		s := slices.Clone(b.Keys)
		sort.Sort(sort.StringSlice(s))
		if !slices.Equal(s, down) {
			continue
		}
		t := m.g.setSince.Add(b.Hold)
		for _, k := range down {
			if ks := m.keys[k]; ks.relPending && ks.relAt.Before(t) {
				return Binding{}, time.Time{}, false
			}
		}
		return b, t, true
	}
	return Binding{}, time.Time{}, false
}

// evalSequence matches the taps so far against the sequence bindings at
// time now (the last release).
func (m *Matcher) evalSequence(now time.Time) []Match {
	for len(m.taps) > 0 && !m.anyAlive(m.taps) {
		m.taps = m.taps[1:]
	}
	if len(m.taps) == 0 {
		m.clearTaps()
		return nil
	}
	var exact *Binding
	var longest time.Time
	longer := false
	for i := range m.bindings {
		b := &m.bindings[i]
		if !alive(b, m.taps) {
			continue
		}
		if len(b.Keys) == len(m.taps) {
			if exact == nil {
				exact = b
			}
			continue
		}
		longer = true
		if d := m.taps[0].press.Add(b.Hold); d.After(longest) {
			longest = d
		}
	}
	if exact != nil && !longer {
		match := m.fire(*exact, now)
		m.clearTaps()
		return []Match{match}
	}
	m.seqActive, m.seqDeadline, m.seqPending = true, longest, exact
	return nil
}

// alive reports whether taps are a prefix of sequence b, each pressed less
// than its window after the first.
func alive(b *Binding, taps []tap) bool {
	if b.Kind != Sequence || len(taps) > len(b.Keys) {
		return false
	}
	for i, t := range taps {
		if b.Keys[i] != t.key {
			return false
		}
	}
	last := taps[len(taps)-1].press
	return len(taps) == 1 || last.Sub(taps[0].press) < b.Hold
}

func (m *Matcher) anyAlive(taps []tap) bool {
	for i := range m.bindings {
		if alive(&m.bindings[i], taps) {
			return true
		}
	}
	return false
}

// seqPostponed: a gesture that began before the sequence deadline and may
// still become its next tap keeps the sequence waiting until it ends.
func (m *Matcher) seqPostponed() bool {
	g := m.g
	if !g.active || !g.start.Before(m.seqDeadline) || g.fired || g.spoiled || len(g.union) != 1 {
		return false
	}
	for k := range g.union {
		return m.anyAlive(append(slices.Clone(m.taps), tap{key: k, press: g.start}))
	}
	return false
}

func (m *Matcher) clearTaps() {
	m.taps = nil
	m.seqActive, m.seqDeadline, m.seqPending = false, time.Time{}, nil
}

func (m *Matcher) anyTainted() bool {
	for _, ks := range m.keys {
		if ks.tainted {
			return true
		}
	}
	return false
}

func (m *Matcher) fire(b Binding, at time.Time) Match {
	return Match{Binding: b.Name, Action: b.Action, For: b.For, Keys: slices.Clone(b.Keys), At: at}
}
