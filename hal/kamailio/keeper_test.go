package kamailio

import (
	"context"
	"testing"
	"time"

	"lifeline/hal/clock"
)

func TestKeeperReappliesAfterRestart(t *testing.T) {
	srv, c := startFake(t)
	clk := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // safety net only
	defer cancel()
	k := StartKeeper(ctx, c, WithClock(clk), WithInterval(2*time.Second))
	defer k.Close()

	if err := k.Set(ctx, "pstn", "sip:gw"); err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	if _, ok := srv.Value(Table, KeyNextHop); ok {
		t.Fatal("restart kept the table")
	}
	clk.WaitTimers(1)
	clk.Advance(2 * time.Second)
	if err := srv.WaitValue(ctx, Table, KeyNextHop, "sip:gw"); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitValue(ctx, Table, KeyRoute, "pstn"); err != nil {
		t.Fatal(err)
	}
}

func TestKeeperCorrectsForeignValue(t *testing.T) {
	srv, c := startFake(t)
	clk := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k := StartKeeper(ctx, c, WithClock(clk), WithInterval(time.Second))
	defer k.Close()
	if err := k.Set(ctx, "sip", "sip:provider"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetString(ctx, Table, KeyNextHop, "sip:someone-else"); err != nil {
		t.Fatal(err)
	}
	clk.WaitTimers(1)
	clk.Advance(time.Second)
	if err := srv.WaitValue(ctx, Table, KeyNextHop, "sip:provider"); err != nil {
		t.Fatal(err)
	}
}

func TestKeeperRetriesWhileDown(t *testing.T) {
	// The client's own timeout is long: the keeper's retry after the unmute
	// must not time out on a busy machine, as then its next retry would
	// wait for a fake-clock advance that never comes. The Set against the
	// muted server is cut short by its context instead.
	srv, c := startFake(t, WithTimeout(10*time.Second))
	clk := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k := StartKeeper(ctx, c, WithClock(clk), WithInterval(time.Second))
	defer k.Close()

	srv.Mute(true)
	muted, cancelMuted := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancelMuted()
	if err := k.Set(muted, "pstn", "sip:gw"); err == nil {
		t.Fatal("Set succeeded against a muted server")
	}
	if k.LastError() == nil {
		t.Fatal("LastError nil while down")
	}
	if r, u, ok := k.Desired(); !ok || r != "pstn" || u != "sip:gw" {
		t.Fatalf("Desired = %q %q %v", r, u, ok)
	}
	srv.Mute(false)
	clk.WaitTimers(1)
	clk.Advance(time.Second)
	if err := srv.WaitValue(ctx, Table, KeyNextHop, "sip:gw"); err != nil {
		t.Fatal(err)
	}
}

func TestKeeperCloseIdempotent(t *testing.T) {
	_, c := startFake(t)
	k := StartKeeper(context.Background(), c)
	k.Close()
	k.Close()
}

// The line numbers go with every apply, before the next hop, and come back
// after a restart with it.
func TestKeeperLineNumbers(t *testing.T) {
	srv, c := startFake(t)
	clk := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // safety net only
	defer cancel()
	n := LineNumbers{URI: "sip:127.0.0.1:5090", Prefix: "*00", Emergency: []string{"112", "110"}}
	k := StartKeeper(ctx, c, WithClock(clk), WithInterval(2*time.Second), WithLineNumbers(n))
	defer k.Close()
	if err := k.Set(ctx, "sip", "sip:provider"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{KeyLine: n.URI, KeyPrefix: "*00", KeyEmergency: "112,110", KeyNextHop: "sip:provider"}
	check := func() {
		t.Helper()
		for key, v := range want {
			if err := srv.WaitValue(ctx, Table, key, v); err != nil {
				t.Fatalf("%s: %v", key, err)
			}
		}
	}
	check()
	srv.Restart()
	clk.WaitTimers(1)
	clk.Advance(2 * time.Second)
	check()
}

func TestSetLineNumbersRejects(t *testing.T) {
	_, c := startFake(t)
	ctx := context.Background()
	for name, n := range map[string]LineNumbers{
		"newline in uri":     {URI: "sip:a\r\nX: y"},
		"comma in emergency": {URI: "sip:a", Emergency: []string{"1,2"}},
		"empty emergency":    {URI: "sip:a", Emergency: []string{""}},
	} {
		if err := c.SetLineNumbers(ctx, n); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
