package sipprobe

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/hal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newSimProber(t testing.TB, sn *simNet, clk *clock.Fake, opts ...Option) *Prober {
	return New(Target{Host: "192.0.2.1", Port: 5060, Transport: "udp"},
		append([]Option{WithClock(clk), WithDialer(sn.dial), WithLogger(testLogger(t))}, opts...)...)
}

// advanceNext moves the fake clock to its earliest armed deadline.
func advanceNext(clk *clock.Fake) {
	if d, ok := clk.NextDeadline(); ok {
		clk.Set(d)
	}
}

// probeSim runs one Probe on the simulated network, advancing the fake
// clock whenever the prober can only be waiting on a timer.
func probeSim(t testing.TB, p *Prober, clk *clock.Fake, sn *simNet) Result {
	t.Helper()
	done := make(chan Result, 1)
	go func() { done <- p.Probe(context.Background()) }()
	for {
		select {
		case r := <-done:
			return r
		case ev := <-sn.events:
			if !ev.answered {
				advanceNext(clk)
			}
		case <-time.After(10 * time.Second): // safety net only
			t.Fatal("probe hung")
		}
	}
}

func TestProbeAnyResponseIsAlive(t *testing.T) {
	for _, status := range []int{100, 200, 401, 403, 404, 405, 407, 481, 500, 501, 503, 603} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			sn := newSimNet(1)
			sn.status = status
			clk := clock.NewFake(t0)
			r := probeSim(t, newSimProber(t, sn, clk), clk, sn)
			if !r.OK || r.Status != status || r.Err != nil {
				t.Fatalf("result %+v, want alive with %d", r, status)
			}
			if r.Remote != netip.MustParseAddrPort("192.0.2.1:5060") || !r.At.Equal(t0) {
				t.Errorf("remote %v at %v", r.Remote, r.At)
			}
		})
	}
}

func TestProbeIgnoresStaleAndForeign(t *testing.T) {
	stale := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.2:40000;branch=z9hG4bKold\r\nCall-ID: old@lifeline\r\nCSeq: 1 OPTIONS\r\n\r\n"
	foreign := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKzzz\r\nCall-ID: other\r\nCSeq: 99 OPTIONS\r\n\r\n"
	request := "OPTIONS sip:lifeline@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKp\r\n\r\n"
	sn := newSimNet(1)
	sn.status = 404
	sn.before = []string{stale, foreign, "garbage\x00", request}
	clk := clock.NewFake(t0)
	r := probeSim(t, newSimProber(t, sn, clk), clk, sn)
	if !r.OK || r.Status != 404 {
		t.Fatalf("result %+v: stale/foreign answers must be skipped, the matching 404 taken", r)
	}
}

func TestProbeLoss(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(*simNet)
		ok       bool
		err      error
		writes   int
		duration time.Duration // fake time the probe took
	}{
		{"answered at once", func(*simNet) {}, true, nil, 1, 0},
		{"first send lost, retransmission answered", func(n *simNet) { n.dropNext = 1 }, true, nil, 2, 100 * time.Millisecond},
		{"two lost, third answered", func(n *simNet) { n.dropNext = 2 }, true, nil, 3, 200 * time.Millisecond},
		{"all three lost", func(n *simNet) { n.dropNext = 3 }, false, ErrTimeout, 3, 300 * time.Millisecond},
		{"provider silent", func(n *simNet) { n.dead = true }, false, ErrTimeout, 3, 300 * time.Millisecond},
		{"port unreachable", func(n *simNet) { n.refused = true }, false, ErrRefused, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sn := newSimNet(1)
			tt.setup(sn)
			clk := clock.NewFake(t0)
			r := probeSim(t, newSimProber(t, sn, clk), clk, sn)
			if r.OK != tt.ok || !errors.Is(r.Err, tt.err) {
				t.Fatalf("result %+v, want ok=%v err=%v", r, tt.ok, tt.err)
			}
			if sn.writes != tt.writes {
				t.Errorf("%d requests sent, want %d", sn.writes, tt.writes)
			}
			if d := clk.Now().Sub(t0); d != tt.duration {
				t.Errorf("probe took %v of fake time, want %v", d, tt.duration)
			}
			if tt.ok && r.RTT != tt.duration {
				t.Errorf("RTT %v, want %v (from the first send)", r.RTT, tt.duration)
			}
			if clk.Pending() != 0 {
				t.Errorf("%d timers left armed", clk.Pending())
			}
		})
	}
}

func TestProbeTCPSendsOnce(t *testing.T) {
	sn := newSimNet(1)
	sn.dead = true
	clk := clock.NewFake(t0)
	p := New(Target{Host: "192.0.2.1", Port: 5060, Transport: "TCP"}, WithClock(clk), WithDialer(sn.dial))
	r := probeSim(t, p, clk, sn)
	if r.OK || !errors.Is(r.Err, ErrTimeout) || sn.writes != 1 {
		t.Fatalf("tcp: %+v after %d writes", r, sn.writes)
	}
}

func TestProbeBadTarget(t *testing.T) {
	for _, tgt := range []Target{{Host: "", Port: 5060}, {Host: "192.0.2.1", Transport: "tls"}, {Host: "192.0.2.1", Transport: "sctp"}} {
		sn := newSimNet(1)
		r := New(tgt, WithDialer(sn.dial), WithClock(clock.NewFake(t0))).Probe(context.Background())
		if r.OK || !errors.Is(r.Err, ErrTarget) || sn.writes != 0 {
			t.Errorf("%+v: %+v", tgt, r)
		}
	}
}

func TestProbeCancelled(t *testing.T) {
	sn := newSimNet(1)
	sn.dead = true
	clk := clock.NewFake(t0)
	p := newSimProber(t, sn, clk)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result, 1)
	go func() { done <- p.Probe(ctx) }()
	<-sn.events
	cancel()
	r := <-done
	if r.OK || !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("cancelled probe: %+v", r)
	}
}

// fakeResolver answers from tables and counts lookups.
type fakeResolver struct {
	mu    sync.Mutex
	srv   map[string][]*net.SRV
	hosts map[string][]netip.Addr
	fail  bool
	calls []string
}

func (f *fakeResolver) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := "_" + service + "._" + proto + "." + name
	f.calls = append(f.calls, "SRV "+key)
	if f.fail || f.srv[key] == nil {
		return "", nil, &net.DNSError{Err: "no such host", Name: key, IsNotFound: true}
	}
	return key, f.srv[key], nil
}

func (f *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "A "+host)
	if f.fail || f.hosts[host] == nil {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return f.hosts[host], nil
}

func TestResolve(t *testing.T) {
	res := func() *fakeResolver {
		return &fakeResolver{
			srv: map[string][]*net.SRV{
				"_sip._udp.example.net": {{Target: "edge1.example.net.", Port: 5070, Priority: 10}},
				"_sip._tcp.example.net": {{Target: "edge2.example.net.", Port: 5080, Priority: 10}},
			},
			hosts: map[string][]netip.Addr{
				"example.net":       {netip.MustParseAddr("198.51.100.1")},
				"edge1.example.net": {netip.MustParseAddr("198.51.100.7")},
				"edge2.example.net": {netip.MustParseAddr("2001:db8::7")},
				"nosrv.example.net": {netip.MustParseAddr("198.51.100.9")},
			},
		}
	}
	tests := []struct {
		name  string
		tgt   Target
		want  string
		err   error
		calls []string
	}{
		{"ipv4 literal", Target{Host: "192.0.2.1"}, "192.0.2.1:5060", nil, nil},
		{"ipv6 literal in brackets", Target{Host: "[2001:db8::1]", Port: 5062}, "[2001:db8::1]:5062", nil, nil},
		{"srv udp", Target{Host: "example.net"}, "198.51.100.7:5070", nil, []string{"SRV _sip._udp.example.net", "A edge1.example.net"}},
		{"srv tcp", Target{Host: "example.net", Transport: "tcp"}, "[2001:db8::7]:5080", nil, []string{"SRV _sip._tcp.example.net", "A edge2.example.net"}},
		{"explicit port skips srv", Target{Host: "example.net", Port: 5060}, "198.51.100.1:5060", nil, []string{"A example.net"}},
		{"no srv record", Target{Host: "nosrv.example.net"}, "198.51.100.9:5060", nil, []string{"SRV _sip._udp.nosrv.example.net", "A nosrv.example.net"}},
		{"unknown host", Target{Host: "gone.example.net", Port: 5060}, "", ErrResolve, []string{"A gone.example.net"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := res()
			p := New(tt.tgt, WithResolver(r), WithClock(clock.NewFake(t0)))
			got, err := p.resolve(context.Background())
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err == nil && got.String() != tt.want {
				t.Errorf("resolved %v, want %v", got, tt.want)
			}
			if strings.Join(r.calls, ",") != strings.Join(tt.calls, ",") {
				t.Errorf("lookups %v, want %v", r.calls, tt.calls)
			}
		})
	}
}

func TestResolveCache(t *testing.T) {
	r := &fakeResolver{hosts: map[string][]netip.Addr{"p.example.net": {netip.MustParseAddr("198.51.100.1")}}}
	clk := clock.NewFake(t0)
	p := New(Target{Host: "p.example.net", Port: 5060}, WithResolver(r), WithClock(clk))
	for range 3 {
		if _, err := p.resolve(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.calls) != 1 {
		t.Fatalf("%d lookups within the TTL, want 1", len(r.calls))
	}
	clk.Advance(resolveTTL)
	r.fail = true
	got, err := p.resolve(context.Background())
	if err != nil || got.String() != "198.51.100.1:5060" {
		t.Fatalf("DNS down after TTL: %v %v; want the last good address", got, err)
	}
	if len(r.calls) != 2 {
		t.Fatalf("%d lookups, want a retry after the TTL", len(r.calls))
	}
}
