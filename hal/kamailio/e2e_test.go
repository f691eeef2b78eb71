package kamailio_test

// The real thing: Kamailio (Debian package "kamailio") running the shipped
// scripts/kamailio/lifeline.cfg on loopback, two SIPp UAS processes standing
// for the SIP provider and the PSTN gateway, and SIPp UACs placing calls
// through the proxy (Debian package "sip-tester"), all started by the
// siprig package. The route is driven with this package's client. Skips
// when either binary is missing.

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"lifeline/hal/kamailio"
	"lifeline/hal/kamailio/siprig"
)

const e2eBudget = 60 * time.Second // real-clock safety net for the whole test

func TestE2EKamailioCallRouting(t *testing.T) {
	r := siprig.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	defer cancel()
	c := r.Client(t, "lifeline")

	steps := []struct{ route, uri, callee string }{
		{"sip", r.ProviderURI, "provider"},
		{"pstn", r.PSTNURI, "pstn"},
		{"sip", r.ProviderURI, "provider"},
	}
	for i, s := range steps {
		if err := c.SetNextHop(ctx, s.route, s.uri); err != nil {
			t.Fatalf("step %d: SetNextHop(%s): %v", i, s.route, err)
		}
		for range 2 {
			r.PlaceOne(t, ctx, s.callee)
		}
	}
}

// TestE2EKamailioNoCallLostAcrossSwitch keeps calls flowing at a steady
// rate while the route switches to the PSTN gateway and back: every call
// completes, and each side takes its share in order: provider, PSTN,
// provider. The UAC places calls until the test has seen the last share
// arrive (PlaceCallsUntil): on a loaded machine the test's switches come
// late, and a fixed number of calls could all be placed before them.
func TestE2EKamailioNoCallLostAcrossSwitch(t *testing.T) {
	r := siprig.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	defer cancel()
	c := r.Client(t, "lifeline")
	if err := c.SetNextHop(ctx, "sip", r.ProviderURI); err != nil {
		t.Fatal(err)
	}

	const rate, share = 20, 15
	type result struct {
		callees []string
		err     error
	}
	uac := make(chan result, 1)
	stop := make(chan struct{})
	go func() {
		callees, err := r.PlaceCallsUntil(ctx, rate, stop)
		uac <- result{callees, err}
	}()

	// Progress hints from the UAS FIFOs decide when to switch.
	seen := map[*siprig.UAS]int{}
	wait := func(u *siprig.UAS, n int) {
		t.Helper()
		for seen[u] < n {
			select {
			case <-r.Provider.Calls():
				seen[r.Provider]++
			case <-r.PSTN.Calls():
				seen[r.PSTN]++
			case res := <-uac:
				t.Fatalf("UAC ended early: %v", res.err)
			case <-ctx.Done():
				t.Fatalf("stuck: provider %d, pstn %d", seen[r.Provider], seen[r.PSTN])
			}
		}
	}
	wait(r.Provider, share)
	if err := c.SetNextHop(ctx, "pstn", r.PSTNURI); err != nil {
		t.Fatal(err)
	}
	wait(r.PSTN, share)
	if err := c.SetNextHop(ctx, "sip", r.ProviderURI); err != nil {
		t.Fatal(err)
	}
	wait(r.Provider, seen[r.Provider]+share)
	close(stop)
	res := <-uac
	if res.err != nil {
		t.Fatalf("a call was lost across the switch: %v", res.err)
	}
	// The record: who answered, in call order. Collapse runs.
	runs, count := siprig.Runs(res.callees)
	if !slices.Equal(runs, []string{"provider", "pstn", "provider"}) || count["pstn"] < share || count["provider"] < 2*share {
		t.Fatalf("answer order %v (provider %d, pstn %d)", runs, count["provider"], count["pstn"])
	}
	t.Logf("%d calls: provider %d, pstn %d, provider again; none failed", len(res.callees), count["provider"], count["pstn"])
}

// TestE2EKeeperAfterKamailioRestart restarts Kamailio under a Keeper: the
// restarted proxy has an empty htable (calls would go to PROVIDER), and the
// Keeper puts the PSTN next hop back; the next call lands at the gateway.
func TestE2EKeeperAfterKamailioRestart(t *testing.T) {
	r := siprig.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	defer cancel()
	c := r.Client(t, "lifeline")
	k := kamailio.StartKeeper(ctx, c, kamailio.WithInterval(100*time.Millisecond))
	defer k.Close()
	if err := k.Set(ctx, "pstn", r.PSTNURI); err != nil {
		t.Fatal(err)
	}
	r.PlaceOne(t, ctx, "pstn")

	r.Restart(t)
	probe := r.Client(t, "probe2")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if v, err := probe.Get(ctx, kamailio.Table, kamailio.KeyNextHop); err == nil && v == r.PSTNURI {
			break
		} else if ctx.Err() != nil {
			t.Fatalf("keeper never re-applied the next hop: %v %v", v, err)
		}
		<-tick.C
	}
	r.PlaceOne(t, ctx, "pstn")
}

// TestE2EKamailioFailover: while the route is sip, a call the provider
// refuses (503) or never answers is retried once at the PSTN gateway by the
// config's failure_route, so it is not lost before Lifeline switches.
func TestE2EKamailioFailover(t *testing.T) {
	cases := []struct {
		name string
		opts []siprig.Option
	}{
		{"provider answers 503", []siprig.Option{siprig.ProviderScenario(siprig.Refuse)}},
		{"provider silent", []siprig.Option{siprig.ProviderScenario(siprig.Silent), siprig.Define("FR_TIMER=500")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := siprig.New(t, tc.opts...)
			ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
			defer cancel()
			c := r.Client(t, "lifeline")
			if err := c.SetNextHop(ctx, "sip", r.ProviderURI); err != nil {
				t.Fatal(err)
			}
			r.PlaceOne(t, ctx, "pstn")
		})
	}
}

// BenchmarkSetNextHopLive measures the route change → Kamailio next hop
// updated round trip (two htable.sets) against a live Kamailio, reporting
// p50/p99 in milliseconds.
func BenchmarkSetNextHopLive(b *testing.B) {
	r := siprig.New(b)
	c := r.Client(b, "bench")
	ctx := context.Background()
	uris := []string{r.ProviderURI, r.PSTNURI}
	routes := []string{"sip", "pstn"}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if err := c.SetNextHop(ctx, routes[i%2], uris[i%2]); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	siprig.ReportPercentiles(b, lat)
}

// BenchmarkSetNextHopLiveUnderLoad is BenchmarkSetNextHopLive while a SIPp
// UAC keeps 50 calls per second flowing through the same Kamailio.
func BenchmarkSetNextHopLiveUnderLoad(b *testing.B) {
	r := siprig.New(b)
	c := r.Client(b, "bench")
	ctx, cancel := context.WithCancel(context.Background())
	uacDone := make(chan struct{})
	go func() {
		defer close(uacDone)
		_, _ = r.PlaceCalls(ctx, 1000000, 50) // killed by cancel below
	}()
	defer func() {
		cancel()
		<-uacDone
	}()
	// Let calls flow before measuring.
	select {
	case <-r.Provider.Calls():
	case <-time.After(10 * time.Second):
		b.Fatal("no call reached the provider")
	}
	uris := []string{r.ProviderURI, r.PSTNURI}
	routes := []string{"sip", "pstn"}
	lat := make([]time.Duration, 0, 1024)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if err := c.SetNextHop(ctx, routes[i%2], uris[i%2]); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	siprig.ReportPercentiles(b, lat)
}

// TestE2EClientAgainstRealKamailio checks the client's reading of real
// replies: a missing key, a round trip, an unknown method, core.uptime.
func TestE2EClientAgainstRealKamailio(t *testing.T) {
	r := siprig.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	defer cancel()
	c := r.Client(t, "lifeline")
	if _, err := c.Get(ctx, kamailio.Table, kamailio.KeyNextHop); !errors.Is(err, kamailio.ErrNotFound) {
		t.Fatalf("fresh Kamailio: err = %v, want ErrNotFound", err)
	}
	if err := c.SetNextHop(ctx, "pstn", r.PSTNURI); err != nil {
		t.Fatal(err)
	}
	if route, uri, err := c.NextHop(ctx); err != nil || route != "pstn" || uri != r.PSTNURI {
		t.Fatalf("NextHop = %q %q %v", route, uri, err)
	}
	var rpcErr *kamailio.RPCError
	if _, err := c.Call(ctx, "no.such.method"); !errors.As(err, &rpcErr) {
		t.Fatalf("unknown method: err = %v, want *kamailio.RPCError", err)
	}
	if u, err := c.Uptime(ctx); err != nil || u.UpSince == "" {
		t.Fatalf("Uptime = %+v, %v", u, err)
	}
}
