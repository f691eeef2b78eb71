package sipprobe_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"lifeline/hal/netmon/netnstest"
	"lifeline/hal/sipprobe"
)

// provider is Kamailio running in the pair's internet namespace.
type provider struct {
	t    testing.TB
	p    *netnstest.Pair
	cmd  *exec.Cmd
	out  *syncBuffer
	once sync.Once
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startKamailio starts Kamailio (Debian package kamailio) in the internet
// namespace, listening on the pair's internet addresses, UDP and TCP, and
// waits until it answers. It is stopped in t.Cleanup.
func startKamailio(t testing.TB, p *netnstest.Pair) *provider {
	t.Helper()
	cfg, err := filepath.Abs("testdata/kamailio.cfg")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k := &provider{t: t, p: p, out: &syncBuffer{}}
	k.cmd = p.Command(p.Internet, "kamailio", "-f", cfg, "-DD", "-E", "-m", "16", "-M", "4", "-Y", dir, "-w", dir,
		"-l", "udp:"+netnstest.InternetIP4+":5060", "-l", "tcp:"+netnstest.InternetIP4+":5060",
		"-l", "udp:["+netnstest.InternetIP6+"]:5060", "-l", "tcp:["+netnstest.InternetIP6+"]:5060",
		"-l", "udp:"+netnstest.InternetIP4+":5071", "-l", "tcp:"+netnstest.InternetIP4+":5072",
		"-l", "udp:"+netnstest.InternetIP4+":5073", "-l", "udp:"+netnstest.InternetIP4+":5074",
		"-l", "udp:"+netnstest.InternetIP4+":5075")
	k.cmd.Stdout, k.cmd.Stderr = k.out, k.out
	// Its own process group, so stop reaches Kamailio's children and
	// nothing else.
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := k.cmd.Start(); err != nil {
		t.Fatalf("start kamailio: %v", err)
	}
	t.Cleanup(k.stop)
	pr := sipprobe.New(sipprobe.Target{Host: netnstest.InternetIP4, Port: 5060, Interface: netnstest.WAN},
		sipprobe.WithNetns(p.RouterNS))
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := pr.Probe(context.Background())
		if r.OK {
			return k
		}
		if time.Now().After(deadline) {
			t.Fatalf("kamailio does not answer: %v\n%s", r.Err, k.out.String())
		}
		time.Sleep(50 * time.Millisecond) // startup poll of an external process
	}
}

// stop terminates Kamailio and its children and waits for them.
func (k *provider) stop() {
	k.once.Do(func() {
		pgid := k.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = k.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
		// Children may outlive the main process by a moment.
		for i := 0; i < 100 && syscall.Kill(-pgid, 0) == nil; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	})
}

func requireKamailio(t testing.TB) {
	t.Helper()
	netnstest.Require(t)
	if _, err := exec.LookPath("kamailio"); err != nil {
		t.Skip("needs kamailio (Debian package kamailio): not on PATH")
	}
}

func requireNft(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs nft (Debian package nftables): not on PATH")
	}
}

// nft loads an nftables script into the internet namespace.
func nft(t testing.TB, p *netnstest.Pair, script string) string {
	t.Helper()
	cmd := p.Command(p.Internet, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nft: %v: %s\nscript:\n%s", err, out, script)
	}
	return string(out)
}

// dropSIP makes the provider silently dead: SIP to it is dropped in an
// input hook, no ICMP, no RST.
const dropSIP = `table inet lifeline_test {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 5060 drop
		tcp dport 5060 drop
	}
}`

const undrop = "delete table inet lifeline_test\n"

// lossSIP drops 5 % of SIP datagrams at random in each direction.
const lossSIP = `table inet lifeline_test {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 5060 counter numgen random mod 100 < 5 counter drop
	}
	chain output {
		type filter hook output priority 0; policy accept;
		udp sport 5060 counter numgen random mod 100 < 5 counter drop
	}
}`

func newProber(p *netnstest.Pair, tgt sipprobe.Target, opts ...sipprobe.Option) *sipprobe.Prober {
	return sipprobe.New(tgt, append([]sipprobe.Option{sipprobe.WithNetns(p.RouterNS)}, opts...)...)
}

func TestKamailioProbe(t *testing.T) {
	requireKamailio(t)
	p := netnstest.NewPair(t)
	startKamailio(t, p)
	tests := []struct {
		name   string
		tgt    sipprobe.Target
		ok     bool
		err    error
		status int
	}{
		{"udp ipv4", sipprobe.Target{Host: netnstest.InternetIP4, Port: 5060, Transport: "udp", Interface: netnstest.WAN}, true, nil, 200},
		{"401 is alive", sipprobe.Target{Host: netnstest.InternetIP4, Port: 5071, Transport: "udp", Interface: netnstest.WAN}, true, nil, 401},
		{"407 over tcp is alive", sipprobe.Target{Host: netnstest.InternetIP4, Port: 5072, Transport: "tcp", Interface: netnstest.WAN}, true, nil, 407},
		{"403 is alive", sipprobe.Target{Host: netnstest.InternetIP4, Port: 5073, Transport: "udp", Interface: netnstest.WAN}, true, nil, 403},
		{"404 is alive", sipprobe.Target{Host: netnstest.InternetIP4, Port: 5074, Transport: "udp", Interface: netnstest.WAN}, true, nil, 404},
		{"405 is alive", sipprobe.Target{Host: netnstest.InternetIP4, Port: 5075, Transport: "udp", Interface: netnstest.WAN}, true, nil, 405},
		{"tcp ipv4", sipprobe.Target{Host: netnstest.InternetIP4, Port: 5060, Transport: "tcp", Interface: netnstest.WAN}, true, nil, 200},
		{"udp ipv6", sipprobe.Target{Host: netnstest.InternetIP6, Port: 5060, Transport: "udp", Interface: netnstest.WAN}, true, nil, 200},
		{"tcp ipv6", sipprobe.Target{Host: "[" + netnstest.InternetIP6 + "]", Transport: "tcp", Interface: netnstest.WAN}, true, nil, 200},
		{"no interface binding", sipprobe.Target{Host: netnstest.InternetIP4, Port: 5060}, true, nil, 200},
		{"bound to the wrong interface", sipprobe.Target{Host: netnstest.InternetIP4, Port: 5060, Interface: "lo"}, false, nil, 0},
		{"interface missing", sipprobe.Target{Host: netnstest.InternetIP4, Port: 5060, Interface: "nonexist0"}, false, sipprobe.ErrBindDevice, 0},
		{"closed port", sipprobe.Target{Host: netnstest.InternetIP4, Port: 5999, Interface: netnstest.WAN}, false, sipprobe.ErrRefused, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newProber(p, tt.tgt).Probe(context.Background())
			t.Logf("%+v", r)
			if r.OK != tt.ok || (tt.err != nil && !errors.Is(r.Err, tt.err)) {
				t.Fatalf("result %+v, want ok=%v err=%v", r, tt.ok, tt.err)
			}
			if r.OK && (r.Status != tt.status || r.RTT <= 0) {
				t.Errorf("status %d rtt %v", r.Status, r.RTT)
			}
		})
	}
}

// TestKamailioDeath kills the provider two ways — stopping Kamailio (the
// host answers with ICMP port unreachable / RST) and dropping SIP silently
// with nftables — and checks that the probe and the schedule see it and
// the return.
func TestKamailioDeath(t *testing.T) {
	requireKamailio(t)
	requireNft(t)
	p := netnstest.NewPair(t)
	k := startKamailio(t, p)
	udp := sipprobe.Target{Host: netnstest.InternetIP4, Port: 5060, Transport: "udp", Interface: netnstest.WAN}
	tcp := udp
	tcp.Transport = "tcp"
	ctx := context.Background()

	k.stop()
	for _, tgt := range []sipprobe.Target{udp, tcp} {
		r := newProber(p, tgt).Probe(ctx)
		// qemu-user (the cross-arch tier) hands some connect errnos back
		// untranslated (111 on MIPS, where ECONNREFUSED is 146): the probe
		// then says ErrTransport. Either way it must fail at once.
		if r.OK || errors.Is(r.Err, sipprobe.ErrTimeout) ||
			!(errors.Is(r.Err, sipprobe.ErrRefused) || errors.Is(r.Err, sipprobe.ErrTransport)) {
			t.Errorf("%s, Kamailio stopped: %+v, want ErrRefused", tgt, r)
		}
	}
	startKamailio(t, p)

	nft(t, p, dropSIP)
	for _, tgt := range []sipprobe.Target{udp, tcp} {
		if r := newProber(p, tgt).Probe(ctx); r.OK || !errors.Is(r.Err, sipprobe.ErrTimeout) {
			t.Errorf("%s, SIP dropped: %+v, want ErrTimeout", tgt, r)
		}
	}
	nft(t, p, undrop)
	for _, tgt := range []sipprobe.Target{udp, tcp} {
		if r := newProber(p, tgt).Probe(ctx); !r.OK {
			t.Errorf("%s, back: %+v", tgt, r)
		}
	}

	// The schedule: three losses in a row after the drop, then recovery.
	results := make(chan sipprobe.Result, 1024)
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = newProber(p, udp, sipprobe.WithInterval(200*time.Millisecond)).Run(runCtx, func(r sipprobe.Result) { results <- r })
	}()
	defer func() { cancel(); wg.Wait() }()
	next := func() sipprobe.Result {
		select {
		case r := <-results:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no result from Run")
			return sipprobe.Result{}
		}
	}
	for !next().OK {
	}
	nft(t, p, dropSIP)
	dropped := time.Now()
	for losses := 0; losses < 3; {
		if r := next(); r.OK {
			losses = 0 // a probe already in flight before the rule
		} else {
			losses++
		}
	}
	t.Logf("silent death confirmed (3 losses) %v after the drop rule", time.Since(dropped))
	nft(t, p, undrop)
	for !next().OK {
	}
}

// TestKamailioRandomLoss drops 5 % of SIP datagrams each way at random
// and counts consecutive lost probes: a rule needing 3 in a row must never
// fire.
func TestKamailioRandomLoss(t *testing.T) {
	requireKamailio(t)
	requireNft(t)
	p := netnstest.NewPair(t)
	startKamailio(t, p)
	nft(t, p, lossSIP)
	n := 600
	if testing.Short() {
		n = 150
	}
	results := make(chan sipprobe.Result, n+10)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tgt := sipprobe.Target{Host: netnstest.InternetIP4, Port: 5060, Interface: netnstest.WAN}
		_ = newProber(p, tgt, sipprobe.WithInterval(20*time.Millisecond)).Run(ctx, func(r sipprobe.Result) {
			select {
			case results <- r:
			default:
			}
		})
	}()
	lost, run, maxRun, downs := 0, 0, 0, 0
	for i := 0; i < n; i++ {
		var r sipprobe.Result
		select {
		case r = <-results:
		case <-time.After(10 * time.Second):
			t.Fatal("no result from Run")
		}
		if r.OK {
			run = 0
			continue
		}
		lost++
		run++
		maxRun = max(maxRun, run)
		if run == 3 {
			downs++
		}
	}
	cancel()
	wg.Wait()
	out := p.Exec(p.Internet, "nft", "list", "table", "inet", "lifeline_test")
	var c []int
	for _, m := range regexp.MustCompile(`counter packets (\d+)`).FindAllStringSubmatch(out, -1) {
		v, _ := strconv.Atoi(m[1])
		c = append(c, v)
	}
	t.Logf("%d probes, %d lost, longest run %d, %d false downs; nft counters (in seen, in dropped, out seen, out dropped) %v",
		n, lost, maxRun, downs, c)
	if downs != 0 {
		t.Errorf("%d false down decisions (3 losses in a row) under 5%% loss", downs)
	}
	if len(c) == 4 && c[1]+c[3] == 0 {
		t.Errorf("nft dropped nothing: the loss rule is not working")
	}
}

// BenchmarkKamailioSilentDeath measures, on the real probe against Kamailio
// at the default schedule (1 s steady, 300 ms timeout, fast re-probes),
// the time from the nftables drop rule to the third loss in a row
// (down_after = 3). The rule lands at a random phase of the interval.
// Run with -benchtime=10x or so; each iteration takes ~3 s.
func BenchmarkKamailioSilentDeath(b *testing.B) {
	requireKamailio(b)
	requireNft(b)
	p := netnstest.NewPair(b)
	startKamailio(b, p)
	type stamped struct {
		r  sipprobe.Result
		at time.Time
	}
	results := make(chan stamped, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tgt := sipprobe.Target{Host: netnstest.InternetIP4, Port: 5060, Interface: netnstest.WAN}
		_ = newProber(p, tgt, sipprobe.WithInterval(time.Second), sipprobe.WithTimeout(300*time.Millisecond)).
			Run(ctx, func(r sipprobe.Result) { results <- stamped{r, time.Now()} })
	}()
	defer func() { cancel(); wg.Wait() }()
	next := func() stamped {
		select {
		case s := <-results:
			return s
		case <-time.After(10 * time.Second):
			b.Fatal("no result from Run")
			return stamped{}
		}
	}
	var detect []time.Duration
	var healthyProbes int
	var healthySpan time.Duration
	b.ResetTimer()
	for i := range b.N {
		first := next()
		for !first.r.OK {
			first = next()
		}
		last := first
		// Two healthy probes measure the steady rate, then the drop lands
		// at a pseudo-random phase of the interval.
		for range 2 {
			if last = next(); last.r.OK {
				healthyProbes++
			}
		}
		healthySpan += last.r.At.Sub(first.r.At)
		phase := time.Duration((i*7919)%1000) * time.Millisecond
		<-time.After(phase)
		nft(b, p, dropSIP)
		dropped := time.Now()
		for losses := 0; losses < 3; {
			s := next()
			if s.r.OK {
				losses = 0
				continue
			}
			if losses++; losses == 3 {
				detect = append(detect, s.at.Sub(dropped))
			}
		}
		nft(b, p, undrop)
	}
	b.StopTimer()
	sort.Slice(detect, func(i, j int) bool { return detect[i] < detect[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	b.ReportMetric(ms(detect[len(detect)/2]), "detect-p50-ms")
	b.ReportMetric(ms(detect[len(detect)-1]), "detect-max-ms")
	b.ReportMetric(float64(healthyProbes)/healthySpan.Seconds(), "healthy-probes/s")
}
