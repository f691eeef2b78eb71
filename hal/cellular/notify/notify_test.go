package notify

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/hal/cellular/sms"
	"lifeline/hal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 12, 4, 17, 5, 0, 0, time.UTC)

var errBusy = errors.New("module busy")

type sent struct{ to, text string }

// fakeSender records what was sent; fail (if set) decides, per number,
// whether a send fails. block makes every send wait for its ctx.
type fakeSender struct {
	mu       sync.Mutex
	sent     []sent
	attempts int
	fail     func(to string) error
	block    bool
}

func (f *fakeSender) SendSMS(ctx context.Context, to, text string) error {
	f.mu.Lock()
	f.attempts++
	block, fail := f.block, f.fail
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	if fail != nil {
		if err := fail(to); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.sent = append(f.sent, sent{to, text})
	f.mu.Unlock()
	return nil
}

// take returns what was sent since the last take.
func (f *fakeSender) take() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.sent
	f.sent = nil
	return out
}

func (f *fakeSender) setFail(fn func(string) error) {
	f.mu.Lock()
	f.fail = fn
	f.mu.Unlock()
}

func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(tWriter{t}, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func newTest(t *testing.T, cfg Config) (*Notifier, *fakeSender, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(t0)
	s := &fakeSender{}
	if cfg.Name == "" {
		cfg.Name = "gw1"
	}
	if cfg.Numbers == nil {
		cfg.Numbers = []string{"+491701234567"}
	}
	cfg.Location = time.UTC
	n := New(s, cfg, clk, testLog(t))
	t.Cleanup(func() { n.Close(context.Background()) })
	return n, s, clk
}

func ev(kind string) Event {
	e := Event{Kind: kind, Route: "sip", PrevRoute: "sip", Power: "mains", Battery: "90"}
	switch kind {
	case "powerout", "onbattery", "lowbattery", "shutdown":
		e.Power = "battery"
	}
	if kind == "shutdown" {
		e.Reason = "battery critical"
	}
	return e
}

func route(to, from, reason string) Event {
	return Event{Kind: "route", Route: to, PrevRoute: from, Reason: reason, Power: "mains", Battery: "unknown"}
}

func line(state string) Event { return Event{Kind: "line", Route: "sip", Reason: "line " + state} }

func wantSent(t *testing.T, got []sent, want ...sent) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("sent\n  %q\nwant\n  %q", got, want)
	}
}

// The "sim mains off": exactly one SMS to each configured number,
// with the router's name, what happened and when.
func TestNotifyOnePerNumber(t *testing.T) {
	n, s, _ := newTest(t, Config{Numbers: []string{"+491701234567", "01511234567"}})
	n.Notify(ev("powerout"))
	n.sync()
	const text = "gw1: mains lost, battery 90% 2026-12-04 17:05 UTC"
	wantSent(t, s.take(), sent{"+491701234567", text}, sent{"01511234567", text})
	if n.cfg.Burst != 5 || n.cfg.QueueMax != 32 || n.cfg.Retry != 15*time.Second || n.cfg.MaxRetry != 5*time.Minute {
		t.Fatalf("defaults %+v", n.cfg)
	}
	// Not configured by default: nothing sent.
	for _, k := range []string{"onbattery", "override", "start", "stop"} {
		n.Notify(ev(k))
	}
	n.sync()
	wantSent(t, s.take())
}

func TestNotifyTexts(t *testing.T) {
	n, s, _ := newTest(t, Config{Kinds: Kinds})
	for _, tc := range []struct {
		ev   Event
		want string // "": nothing sent
	}{
		{ev("mainsback"), "gw1: mains back, battery 90% 2026-12-04 17:05 UTC"},
		{Event{Kind: "lowbattery", Battery: "9"}, "gw1: battery low, 9% 2026-12-04 17:05 UTC"},
		{ev("shutdown"), "gw1: shutting down: battery critical 2026-12-04 17:05 UTC"},
		{route("pstn", "sip", "provider down"), "gw1: route pstn (was sip): provider down 2026-12-04 17:05 UTC"},
		{Event{Kind: "override", Route: "pstn", Reason: "override pstn"}, "gw1: override pstn, route pstn 2026-12-04 17:05 UTC"},
		{line("initialising"), ""},
		{line("idle"), ""},
		{line("no-line"), "gw1: line lost (no-line) 2026-12-04 17:05 UTC"},
		{line("absent"), ""},
		{line("idle"), "gw1: line back (idle) 2026-12-04 17:05 UTC"},
		{line("in-call"), ""},
		{Event{Kind: "start", Route: "sip"}, "gw1: started, route sip 2026-12-04 17:05 UTC"},
		{Event{Kind: "bogus"}, ""},
	} {
		n.Notify(tc.ev)
		n.sync()
		if tc.want == "" {
			wantSent(t, s.take())
		} else {
			wantSent(t, s.take(), sent{"+491701234567", tc.want})
		}
	}
}

// A name outside the GSM alphabet makes a UCS-2 alert, still one part.
func TestNotifyUCS2(t *testing.T) {
	n, s, _ := newTest(t, Config{Name: "Офис-роутер"})
	n.Notify(route("pstn", "sip", strings.Repeat("провайдер недоступен ", 5)))
	n.sync()
	got := s.take()
	if len(got) != 1 || !strings.HasPrefix(got[0].text, "Офис-роутер: route pstn") {
		t.Fatalf("sent %q", got)
	}
	parts, err := sms.Submit(got[0].to, got[0].text, 1)
	if err != nil || len(parts) != 1 || encoding(got[0].text) != "ucs2" {
		t.Fatalf("%q: %d parts, %v, %s", got[0].text, len(parts), err, encoding(got[0].text))
	}
}

// A burst beyond the budget: the budget's alerts go out, then one per
// interval says how many more events there were.
func TestNotifyBurstLimited(t *testing.T) {
	n, s, clk := newTest(t, Config{Burst: 3, MinInterval: 10 * time.Minute})
	burst := []Event{ev("powerout"), ev("mainsback"), ev("powerout"), // within the budget
		ev("mainsback"), route("pstn", "sip", "wan down"), ev("powerout"), ev("mainsback"), line("no-line")}
	for _, e := range burst {
		n.Notify(e)
		n.sync()
	}
	if got := s.take(); len(got) != 3 {
		t.Fatalf("sent %d alerts in the burst, want 3: %q", len(got), got)
	}
	clk.Advance(9 * time.Minute)
	n.sync()
	wantSent(t, s.take())
	clk.Advance(time.Minute)
	n.sync()
	wantSent(t, s.take(), sent{"+491701234567",
		"gw1: mains back, battery 90% (+4 more: mains back, route pstn, mains lost, line lost) 2026-12-04 17:05 UTC"})
	clk.Advance(time.Hour)
	n.sync()
	wantSent(t, s.take())
	if n.Waiting() != 0 {
		t.Fatalf("%d waiting", n.Waiting())
	}
}

// While the module fails, the alert waits and is retried with backoff;
// a number already reached is not sent it again; a usable line retries
// at once.
func TestNotifyRetry(t *testing.T) {
	n, s, clk := newTest(t, Config{Numbers: []string{"+491", "+492"}, Retry: 15 * time.Second, MaxRetry: time.Minute})
	fails := 0
	s.setFail(func(to string) error {
		if to == "+492" {
			fails++
			return errBusy
		}
		return nil
	})
	n.Notify(ev("powerout"))
	n.sync()
	const text = "gw1: mains lost, battery 90% 2026-12-04 17:05 UTC"
	wantSent(t, s.take(), sent{"+491", text})
	for _, wait := range []time.Duration{15 * time.Second, 30 * time.Second, time.Minute, time.Minute} {
		f := fails
		clk.Advance(wait - time.Millisecond)
		n.sync()
		if fails != f {
			t.Fatalf("retried before %v", wait)
		}
		clk.Advance(time.Millisecond)
		n.sync()
		if fails != f+1 {
			t.Fatalf("not retried after %v", wait)
		}
	}
	n.Notify(route("pstn", "sip", "wan down")) // waits behind the first
	s.setFail(nil)
	n.Notify(line("idle")) // the module is back
	n.sync()
	wantSent(t, s.take(), sent{"+492", text},
		sent{"+491", "gw1: route pstn (was sip): wan down 2026-12-04 17:07 UTC"},
		sent{"+492", "gw1: route pstn (was sip): wan down 2026-12-04 17:07 UTC"})
}

// A full queue gives up lesser events before must-keep ones, and the
// next alert counts what was given up.
func TestNotifyQueueBound(t *testing.T) {
	n, s, clk := newTest(t, Config{QueueMax: 4, Kinds: Kinds})
	s.setFail(func(string) error { return errBusy })
	n.Notify(ev("powerout")) // in flight, failing
	n.sync()
	for _, e := range []Event{line("no-line"), route("pstn", "sip", "wan down"), line("idle"),
		ev("mainsback"), ev("lowbattery"), ev("onbattery")} {
		n.Notify(e)
	}
	n.sync()
	n.mu.Lock()
	var kinds []string
	for _, e := range n.q {
		kinds = append(kinds, e.Kind)
	}
	n.mu.Unlock()
	if want := []string{"route", "mainsback", "lowbattery", "onbattery"}; !slices.Equal(kinds, want) {
		t.Fatalf("queue %v, want %v (the line events given up first)", kinds, want)
	}
	for range 6 {
		n.Notify(ev("mainsback"))
	}
	if n.Waiting() != 4 {
		t.Fatalf("%d waiting, want the bound 4", n.Waiting())
	}
	s.setFail(nil)
	clk.Advance(time.Hour)
	n.sync()
	got := s.take()
	if len(got) < 2 || !strings.Contains(got[0].text, "mains lost") {
		t.Fatalf("sent %q", got)
	}
	if !strings.Contains(got[1].text, "(+8 more)") {
		t.Fatalf("next alert %q does not count the 8 events given up", got[1].text)
	}
}

// shutdown does not wait for the budget: it is the last word before the
// router goes dark.
func TestNotifyShutdownNotLimited(t *testing.T) {
	n, s, _ := newTest(t, Config{Burst: 1, MinInterval: time.Hour})
	n.Notify(ev("powerout"))
	n.sync()
	n.Notify(ev("lowbattery"))
	n.Notify(ev("shutdown"))
	n.sync()
	got := s.take()
	if len(got) != 2 || got[1].text != "gw1: shutting down: battery critical (+1 more: battery low) 2026-12-04 17:05 UTC" {
		t.Fatalf("sent %q", got)
	}
}

// Close sends what waits as one last alert, and stops.
func TestNotifyCloseFlushes(t *testing.T) {
	n, s, _ := newTest(t, Config{Burst: 1, MinInterval: time.Hour})
	n.Notify(ev("powerout"))
	n.sync()
	n.Notify(route("pstn", "sip", "wan down"))
	n.Notify(ev("mainsback"))
	n.Close(context.Background())
	got := s.take()
	if len(got) != 2 || got[1].text != "gw1: mains back, battery 90% (+1 more: route pstn) 2026-12-04 17:05 UTC" {
		t.Fatalf("sent %q", got)
	}
	n.Notify(ev("powerout")) // after Close: ignored, no panic
	n.Close(context.Background())
	wantSent(t, s.take())
}

// Notify never blocks, even with a sender stuck for ever; Close with an
// ended context abandons the send and returns.
func TestNotifyNeverBlocks(t *testing.T) {
	n, s, _ := newTest(t, Config{})
	s.mu.Lock()
	s.block = true
	s.mu.Unlock()
	for range 1000 {
		n.Notify(ev("powerout"))
		n.Notify(line("no-line"))
		n.Notify(line("idle"))
	}
	if w := n.Waiting(); w > 32 {
		t.Fatalf("%d waiting, bound 32", w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n.Close(ctx)
}

// Nothing is sent while the line rings (a call being set up); the next
// line event lets the alert go.
func TestNotifyHeldWhileRinging(t *testing.T) {
	n, s, clk := newTest(t, Config{})
	n.Notify(line("ringing"))
	n.Notify(ev("powerout"))
	n.sync()
	clk.Advance(time.Hour)
	n.sync()
	wantSent(t, s.take())
	n.Notify(line("in-call"))
	n.sync()
	wantSent(t, s.take(), sent{"+491701234567", "gw1: mains lost, battery 90% 2026-12-04 17:05 UTC"})
}

// FuzzAlertOnePart: whatever the router's name (as the config allows it)
// and the event's reason, an alert is one SMS part that starts with the
// name.
func FuzzAlertOnePart(f *testing.F) {
	f.Add("gw1", "route", "provider down", 3)
	f.Add("Офис", "shutdown", strings.Repeat("батарея ", 40), 0)
	f.Add("gw{1}", "line", "line no-line", 7)
	f.Fuzz(func(t *testing.T, name, kind, reason string, more int) {
		if name == "" || len([]rune(name)) > 32 || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7F }) {
			return // refused by the configuration
		}
		n := &Notifier{cfg: Config{Name: name, Location: time.UTC}}
		evs := []Event{{Kind: kind, Route: "pstn", PrevRoute: "sip", Reason: reason, Battery: "50", At: t0}}
		for i := range more % 40 {
			evs = append(evs, Event{Kind: Kinds[i%len(Kinds)], Reason: reason, At: t0})
		}
		text := n.compose(evs, more%3)
		parts, err := sms.Submit("+491701234567", text, 1)
		if err != nil || len(parts) != 1 || !strings.HasPrefix(text, name+": ") {
			t.Fatalf("alert %q: %d parts, %v", text, len(parts), err)
		}
	})
}

func BenchmarkNotify(b *testing.B) {
	clk := clock.NewFake(t0)
	s := &fakeSender{block: true}
	n := New(s, Config{Name: "gw1", Numbers: []string{"+491701234567"}, QueueMax: 32}, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		n.Close(ctx)
	}()
	e := line("idle")
	b.ReportAllocs()
	for b.Loop() {
		n.Notify(e) // the daemon's cost: filtered, nothing queued
	}
}
