package netmon

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/netmon/netnstest"
)

// noSubscribe is the real kernel seam with subscribing made impossible,
// as on a kernel or sandbox that refuses netlink multicast groups.
type noSubscribe struct{ *netlinkOS }

func (noSubscribe) subscribe(func(), func(error)) (func(), error) {
	return nil, errors.New("operation not permitted")
}

// TestNetnsPollingFallback runs the Monitor against the real kernel with
// subscriptions refused: it must still see carrier loss and return, one
// poll interval (fake clock) later.
func TestNetnsPollingFallback(t *testing.T) {
	p := netnstest.NewPair(t)
	o := newNetlinkOS(p.RouterNS)
	clk := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	m := New(netnstest.WAN, withOS(noSubscribe{o}), WithClock(clk), WithPollInterval(2*time.Second),
		WithLogger(slog.New(slog.DiscardHandler)))
	states := make(chan WANState, 16)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = m.Run(ctx, func(s WANState) { states <- s }) }()
	t.Cleanup(func() { cancel(); wg.Wait(); o.release() })

	next := func() WANState {
		select {
		case s := <-states:
			return s
		case <-time.After(10 * time.Second): // safety net only
			t.Fatal("no state")
			return WANState{}
		}
	}
	if s := next(); !s.Usable() {
		t.Fatalf("initial %+v", s)
	}
	for _, step := range []struct {
		cmd  []string
		want bool // Up afterwards
	}{
		{[]string{"link", "set", netnstest.Peer, "down"}, false},
		{[]string{"link", "set", netnstest.Peer, "up"}, true},
	} {
		clk.WaitTimers(1)
		p.In(p.Internet, step.cmd...)
		select {
		case s := <-states:
			t.Fatalf("state %+v before the poll: something is still subscribed", s)
		default:
		}
		// The kernel updates operstate asynchronously (linkwatch): allow
		// a few polls for the state to settle.
		var s WANState
		for poll := 1; ; poll++ {
			clk.Advance(2 * time.Second)
			// Run re-arms its timer only after the poll and its callback:
			// once armed, whatever this poll emitted is in the channel.
			clk.WaitTimers(1)
			select {
			case s = <-states:
			default: // nothing changed at this poll
			}
			if s.Present && s.Up() == step.want {
				break
			}
			if poll == 5 {
				t.Fatalf("after %v and %d polls: %+v", step.cmd, poll, s)
			}
		}
	}
}
