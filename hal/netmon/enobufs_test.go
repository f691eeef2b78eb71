package netmon

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"lifeline/hal/netmon/netnstest"
)

// TestNetnsENOBUFS shrinks the subscription sockets' receive buffers,
// floods the namespace with address changes so the kernel drops messages
// (ENOBUFS), and checks that the Monitor resubscribes and still converges
// on the true state from a full dump.
func TestNetnsENOBUFS(t *testing.T) {
	p := netnstest.NewPair(t)
	o := newNetlinkOS(p.RouterNS)
	o.rcvbuf = 1 // the kernel rounds it up to its minimum, a few KiB
	m := New(netnstest.WAN, withOS(o), WithLogger(slog.New(slog.DiscardHandler)))
	states := make(chan WANState, 4096)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = m.Run(ctx, func(s WANState) {
			select {
			case states <- s:
			default: // the test only needs the latest
			}
		})
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })

	const n = 1000
	var add, del strings.Builder
	for i := range n {
		fmt.Fprintf(&add, "addr add 10.%d.%d.1/32 dev %s\n", i/250, i%250, netnstest.WAN)
		fmt.Fprintf(&del, "addr del 10.%d.%d.1/32 dev %s\n", i/250, i%250, netnstest.WAN)
	}
	batch := func(script string) {
		cmd := exec.Command("ip", "-n", p.Router, "-batch", "-")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ip -batch: %v: %s", err, out)
		}
	}
	last := func(pred func(WANState) bool) WANState {
		limit := time.After(20 * time.Second)
		for {
			select {
			case s := <-states:
				if pred(s) {
					return s
				}
			case <-limit:
				t.Fatalf("state never converged (subscriptions lost: %d)", m.losses.Load())
			}
		}
	}
	last(func(s WANState) bool { return s.Usable() })
	for round := 0; round < 5 && m.losses.Load() == 0; round++ {
		batch(add.String())
		// Converged: the flood plus the three addresses of the base state
		// (n+2 can be reached one flood address short of the end).
		s := last(func(s WANState) bool { return len(s.Addrs) == n+3 })
		if !s.Addrs[0].Addr().Is4() || !containsAddr(s, "10.3.249.1") {
			t.Fatalf("flooded state lacks addresses: %d", len(s.Addrs))
		}
		batch(del.String())
		last(func(s WANState) bool { return len(s.Addrs) == 3 && s.Usable() })
	}
	t.Logf("subscriptions lost and replaced: %d", m.losses.Load())
	if m.losses.Load() == 0 {
		t.Skip("the kernel did not overflow the shrunk buffers: ENOBUFS path not exercised here (covered by the fake)")
	}
}

func containsAddr(s WANState, a string) bool {
	for _, p := range s.Addrs {
		if p.Addr() == netip.MustParseAddr(a) {
			return true
		}
	}
	return false
}
