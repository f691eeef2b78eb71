package notify

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"lifeline/hal/cellular/remote"
	"lifeline/hal/clock"
)

type overrideCall struct {
	mode   string
	d      time.Duration
	source string
}

// fakeOverrider is the daemon's override path: it records each call and
// keeps the override it was given.
type fakeOverrider struct {
	mu    sync.Mutex
	calls []overrideCall
	st    Status
	err   error
	clk   clock.Clock
}

func (f *fakeOverrider) SetOverride(_ context.Context, mode string, d time.Duration, source string) (Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, overrideCall{mode, d, source})
	f.st.Override, f.st.Until = mode, time.Time{}
	if d > 0 {
		f.st.Until = f.clk.Now().Add(d)
	}
	f.st.Route, f.st.Reason = mode, "override "+mode
	if mode == "auto" {
		f.st.Route, f.st.Reason = "sip", "provider healthy"
	}
	return f.st, f.err
}

func (f *fakeOverrider) Status(context.Context) (Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st, nil
}

func (f *fakeOverrider) take() []overrideCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

const boss = "+491701234567"

func newHandlerTest(t *testing.T) (*Handler, *fakeOverrider, *fakeSender, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(t0)
	o := &fakeOverrider{st: Status{Route: "sip", Reason: "provider healthy", Override: "auto"}, clk: clk}
	s := &fakeSender{}
	h := NewHandler(o, s, HandlerConfig{Name: "gw1", Secret: "correct-horse", Allowed: []string{"+49 170 1234567"}, Location: time.UTC},
		clk, testLog(t))
	t.Cleanup(h.Close)
	return h, o, s, clk
}

// The must-show: the right secret from an allowed number changes
// the override and is answered; any other number or a wrong secret
// changes nothing and gets no answer.
func TestHandlerOverride(t *testing.T) {
	h, o, s, _ := newHandlerTest(t)
	h.Receive(boss, "correct-horse PSTN 2h", t0)
	h.sync()
	if got := o.take(); len(got) != 1 || got[0] != (overrideCall{"pstn", 2 * time.Hour, "sms"}) {
		t.Fatalf("override calls %+v", got)
	}
	wantSent(t, s.take(), sent{boss, "gw1: route pstn (override pstn until Dec 4 19:05): override pstn 2026-12-04 17:05 UTC"})

	for _, tc := range []struct{ name, from, text string }{
		{"other number", "+491709999999", "correct-horse sip"},
		{"alphanumeric sender", "Lifeline", "correct-horse sip"},
		{"wrong secret", boss, "correct-hors sip"},
		{"secret in the wrong case", boss, "Correct-Horse sip"},
		{"no secret", boss, "sip"},
		{"empty", boss, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.Receive(tc.from, tc.text, t0)
			h.sync()
			if got := o.take(); len(got) != 0 {
				t.Fatalf("override calls %+v", got)
			}
			wantSent(t, s.take())
		})
	}
}

func TestHandlerStatusAndAuto(t *testing.T) {
	h, o, s, _ := newHandlerTest(t)
	h.Receive("0049 170 1234567", "correct-horse status", t0) // not the allowed form of the number
	h.Receive(boss, "correct-horse status", t0)
	h.sync()
	if got := o.take(); len(got) != 0 {
		t.Fatalf("status changed the override: %+v", got)
	}
	wantSent(t, s.take(), sent{boss, "gw1: route sip: provider healthy 2026-12-04 17:05 UTC"})
	h.Receive(boss, "correct-horse sip", t0)
	h.Receive(boss, "correct-horse auto", t0)
	h.sync()
	if got := o.take(); len(got) != 2 || got[0] != (overrideCall{"sip", 0, "sms"}) || got[1].mode != "auto" {
		t.Fatalf("override calls %+v", got)
	}
	if got := s.take(); len(got) != 2 || got[0].text != "gw1: route sip (override sip): override sip 2026-12-04 17:05 UTC" {
		t.Fatalf("replies %q", got)
	}
}

// The right secret with a command not understood: no change, an answer
// saying what is understood.
func TestHandlerUnknownCommand(t *testing.T) {
	h, o, s, _ := newHandlerTest(t)
	for _, text := range []string{"correct-horse isdn", "correct-horse", "correct-horse pstn forever", "correct-horse pstn 90d"} {
		h.Receive(boss, text, t0)
	}
	h.sync()
	if got := o.take(); len(got) != 0 {
		t.Fatalf("override calls %+v", got)
	}
	got := s.take()
	if len(got) != 4 || !strings.Contains(got[0].text, "not understood; send: SECRET pstn|sip") {
		t.Fatalf("replies %q", got)
	}
}

// Wrong secrets are limited per sender: after 3, the sender is ignored
// even with the right one until 10 minutes have passed; other allowed
// senders are not affected.
func TestHandlerWrongSecretLimited(t *testing.T) {
	h, o, s, clk := newHandlerTest(t)
	h.policy.Allowed = append(h.policy.Allowed, "+4930123456")
	for i := range 3 {
		h.Receive(boss, "guess"+string(rune('0'+i))+" pstn", t0)
	}
	h.Receive(boss, "correct-horse pstn", t0)
	h.sync()
	if got := o.take(); len(got) != 0 {
		t.Fatalf("locked-out sender changed the override: %+v", got)
	}
	h.Receive("+4930123456", "correct-horse sip", t0)
	h.sync()
	if got := o.take(); len(got) != 1 || got[0].mode != "sip" {
		t.Fatalf("another sender: %+v", got)
	}
	clk.Advance(9 * time.Minute)
	h.Receive(boss, "correct-horse pstn", t0)
	h.sync()
	if got := o.take(); len(got) != 0 {
		t.Fatalf("unlocked after 9 minutes: %+v", got)
	}
	clk.Advance(time.Minute)
	h.Receive(boss, "correct-horse pstn", t0)
	h.sync()
	if got := o.take(); len(got) != 1 || got[0].mode != "pstn" {
		t.Fatalf("after 10 minutes: %+v", got)
	}
	if got := s.take(); len(got) != 2 {
		t.Fatalf("replies %q, want one per accepted command", got)
	}
	// One more wrong guess per 10 minutes: the lock is back at once.
	h.Receive(boss, "guess pstn", t0)
	h.Receive(boss, "correct-horse auto", t0)
	h.sync()
	if got := o.take(); len(got) != 0 {
		t.Fatalf("after a fresh wrong secret: %+v", got)
	}
}

// An override that took effect but failed to be saved is answered with
// the status and the error; a failed one with the error.
func TestHandlerOverrideError(t *testing.T) {
	h, o, s, _ := newHandlerTest(t)
	o.mu.Lock()
	o.err = errors.New("not saved")
	o.mu.Unlock()
	h.Receive(boss, "correct-horse pstn", t0)
	h.sync()
	if got := s.take(); len(got) != 1 || !strings.Contains(got[0].text, "route pstn (override pstn): override pstn (not saved)") {
		t.Fatalf("replies %q", got)
	}
}

// Receive never blocks: with the goroutine stuck, commands beyond the
// inbox are dropped.
func TestHandlerNeverBlocks(t *testing.T) {
	h, _, s, _ := newHandlerTest(t)
	s.mu.Lock()
	s.block = true
	s.mu.Unlock()
	for range 100 {
		h.Receive(boss, "correct-horse status", t0)
	}
	h.Close()
}

// FuzzHandlerReceive: whatever arrives, the override changes only for the
// allowed number whose first word is the secret.
func FuzzHandlerReceive(f *testing.F) {
	f.Add(boss, "correct-horse pstn 2h")
	f.Add("+49 (170) 123-4567", "correct-horse\tauto")
	f.Add("0301234", "correct-horse sip")
	f.Add(boss, "correct-horse\u00a0sip")
	f.Fuzz(func(t *testing.T, from, text string) {
		clk := clock.NewFake(t0)
		o := &fakeOverrider{clk: clk}
		h := NewHandler(o, &fakeSender{}, HandlerConfig{Name: "gw1", Secret: "correct-horse", Allowed: []string{boss}}, clk, testLog(t))
		h.Receive(from, text, t0)
		h.sync()
		h.Close()
		words := strings.Fields(text)
		authorised := remote.Normalize(from) == boss && len(words) > 0 && words[0] == "correct-horse"
		if got := o.take(); len(got) > 0 && !authorised {
			t.Fatalf("%q from %q changed the override: %+v", text, from, got)
		}
	})
}
