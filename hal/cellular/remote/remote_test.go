package remote

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"lifeline/hal/clock"
)

func TestParse(t *testing.T) {
	p := Policy{Secret: "s3cret", Allowed: []string{"+49 170 123-4567", "0301234"}}
	for _, tc := range []struct {
		name, from, text string
		want             Command
		err              error
	}{
		{"pstn for 1h", "+491701234567", "s3cret pstn 1h", Command{ActionPSTN, time.Hour, "+491701234567"}, nil},
		{"sip", "+491701234567", "s3cret SIP", Command{ActionSIP, 0, "+491701234567"}, nil},
		{"auto", "0301234", "  s3cret   auto \n", Command{ActionAuto, 0, "0301234"}, nil},
		{"status", "0301234", "s3cret status", Command{ActionStatus, 0, "0301234"}, nil},
		{"days", "0301234", "s3cret pstn 2d", Command{ActionPSTN, 48 * time.Hour, "0301234"}, nil},
		{"minutes", "0301234", "s3cret sip 90m", Command{ActionSIP, 90 * time.Minute, "0301234"}, nil},
		{"not allowed", "+491709999999", "s3cret pstn", Command{}, ErrNotAllowed},
		{"alphanumeric", "Lifeline", "s3cret pstn", Command{}, ErrNotAllowed},
		{"empty sender", "", "s3cret pstn", Command{}, ErrNotAllowed},
		{"wrong secret", "0301234", "s3cre pstn", Command{}, ErrSecret},
		{"secret case", "0301234", "S3CRET pstn", Command{}, ErrSecret},
		{"longer secret", "0301234", "s3cretX pstn", Command{}, ErrSecret},
		{"empty", "0301234", "", Command{}, ErrSecret},
		{"no command", "0301234", "s3cret", Command{}, ErrCommand},
		{"unknown", "0301234", "s3cret reboot", Command{}, ErrCommand},
		{"bad duration", "0301234", "s3cret pstn soon", Command{}, ErrCommand},
		{"too long", "0301234", "s3cret pstn 31d", Command{}, ErrCommand},
		{"huge days", "0301234", "s3cret pstn 99999999999d", Command{}, ErrCommand},
		{"negative", "0301234", "s3cret pstn -1h", Command{}, ErrCommand},
		{"auto with arg", "0301234", "s3cret auto 1h", Command{}, ErrCommand},
		{"two args", "0301234", "s3cret pstn 1h 2h", Command{}, ErrCommand},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Parse(tc.from, tc.text)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	if _, err := (Policy{Allowed: []string{"0301234"}}).Parse("0301234", " status"); !errors.Is(err, ErrSecret) {
		t.Errorf("empty secret accepted: %v", err)
	}
}

func TestSecretEqual(t *testing.T) {
	for _, tc := range []struct {
		s, g string
		want bool
	}{{"abc", "abc", true}, {"abc", "abd", false}, {"abc", "ab", false}, {"abc", "abcabc", false}, {"", "", false}, {"a", "", false}} {
		if got := secretEqual(tc.s, tc.g); got != tc.want {
			t.Errorf("secretEqual(%q, %q) = %v", tc.s, tc.g, got)
		}
	}
}

func TestLimiter(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC))
	l := NewLimiter(clk, 3, 10*time.Minute)
	for i := range 3 {
		if !l.Allow("0301234") {
			t.Fatalf("attempt %d refused within the burst", i+1)
		}
	}
	if l.Allow("0301234") {
		t.Fatal("fourth attempt allowed")
	}
	if !l.Allow("+4917") {
		t.Fatal("another sender limited by the first")
	}
	clk.Advance(9 * time.Minute)
	if l.Allow("0301234") {
		t.Fatal("allowed before a token refilled")
	}
	clk.Advance(time.Minute)
	if !l.Allow("0301234") || l.Allow("0301234") {
		t.Fatal("want exactly one token after 10 minutes")
	}
	clk.Advance(24 * time.Hour)
	n := 0
	for l.Allow("0301234") {
		n++
	}
	if n != 3 {
		t.Fatalf("refill capped at %d, want burst 3", n)
	}
	for i := range 2 * MaxKeys {
		l.Allow(fmt.Sprint(i))
	}
	if len(l.buckets) > MaxKeys {
		t.Fatalf("%d keys remembered", len(l.buckets))
	}
}

// TestLimiterReady: Ready tells whether Allow would succeed and takes
// nothing, for a key never seen too.
func TestLimiterReady(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC))
	l := NewLimiter(clk, 2, 10*time.Minute)
	if !l.Ready("a") || len(l.buckets) != 0 {
		t.Fatal("unknown key not ready, or remembered by Ready")
	}
	l.Allow("a")
	for range 5 {
		if !l.Ready("a") {
			t.Fatal("Ready took a token")
		}
	}
	l.Allow("a")
	if l.Ready("a") || l.Allow("a") {
		t.Fatal("ready with the budget spent")
	}
	clk.Advance(10 * time.Minute)
	if !l.Ready("a") || !l.Allow("a") || l.Ready("a") {
		t.Fatal("want exactly one token after 10 minutes")
	}
}

func FuzzParse(f *testing.F) {
	f.Add("0301234", "s3cret pstn 1h")
	f.Add("+49 170", "s3cret sip 2d")
	f.Add("x", "")
	p := Policy{Secret: "s3cret", Allowed: []string{"0301234", "+49170"}}
	f.Fuzz(func(t *testing.T, from, text string) {
		c, err := p.Parse(from, text)
		if err == nil {
			if c.For < 0 || c.For > MaxFor || (c.Action != ActionPSTN && c.Action != ActionSIP && c.For != 0) {
				t.Fatalf("accepted %+v from %q %q", c, from, text)
			}
			return
		}
		if !errors.Is(err, ErrNotAllowed) && !errors.Is(err, ErrSecret) && !errors.Is(err, ErrCommand) {
			t.Fatalf("unclassified error %v", err)
		}
	})
}
