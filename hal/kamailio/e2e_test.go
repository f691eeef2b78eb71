package kamailio

// The real thing: Kamailio (Debian package "kamailio") running the shipped
// scripts/kamailio/lifeline.cfg on loopback, two SIPp UAS processes standing
// for the SIP provider and the PSTN gateway, and SIPp UACs placing calls
// through the proxy (Debian package "sip-tester"). The route is driven with
// this package's client. Skips when either binary is missing.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	cfgPath   = "../../scripts/kamailio/lifeline.cfg"
	uacScen   = "testdata/uac_rr.xml"
	uasScen   = "testdata/uas_rr.xml"
	e2eBudget = 60 * time.Second // real-clock safety net for the whole test
)

type rig struct {
	dir          string
	sipPort      int
	rpcSock      string
	provider     *uas
	pstn         *uas
	providerURI  string
	pstnURI      string
	kamailio     *exec.Cmd
	kamailioLog  string
	kamailioDone chan struct{}
	providerScen string
	defines      []string
}

func needTools(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("real Kamailio/SIPp tests skipped with -short")
	}
	for _, bin := range []string{"kamailio", "sipp"} {
		if _, err := exec.LookPath(bin); err != nil {
			tb.Skipf("needs %s (apt-get install -y kamailio sip-tester): %v", bin, err)
		}
	}
}

// freeUDPPort returns a loopback UDP port that is free now, with the three
// above it (SIPp's media ports), picked at random below the kernel's
// ephemeral range so that the processes' own ephemeral ports, and parallel
// test runs, are unlikely to take it before the process binds it.
func freeUDPPort(tb testing.TB) int {
	tb.Helper()
	p, err := pickPort()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

var (
	handedMu sync.Mutex
	handed   = map[int]bool{} // blocks given out by this process
)

func pickPort() (int, error) {
	handedMu.Lock()
	defer handedMu.Unlock()
	for range 200 {
		base := 20000 + 4*rand.IntN(3000)
		if handed[base] {
			continue
		}
		ok := true
		var held []net.PacketConn
		for p := base; p < base+4 && ok; p++ {
			c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			handed[base] = true
			return base, nil
		}
	}
	return 0, errors.New("no free UDP port block in 20000-32000")
}

func modulesDir() string {
	m, _ := filepath.Glob("/usr/lib/*/kamailio/modules")
	if len(m) > 0 {
		return m[0] + "/"
	}
	return "/usr/lib/kamailio/modules/"
}

// rigOption varies the rig: the provider's scenario, or extra defines.
type rigOption func(*rig)

// providerScenario makes the provider UAS run scen; "" leaves the provider
// port silent (nothing listens).
func providerScenario(scen string) rigOption { return func(r *rig) { r.providerScen = scen } }

func define(kv string) rigOption { return func(r *rig) { r.defines = append(r.defines, kv) } }

func newRig(tb testing.TB, opts ...rigOption) *rig {
	tb.Helper()
	needTools(tb)
	dir := tb.TempDir()
	r := &rig{dir: dir, sipPort: freeUDPPort(tb), rpcSock: filepath.Join(dir, "rpc.sock"), providerScen: uasScen}
	for _, o := range opts {
		o(r)
	}
	if r.providerScen != "" {
		r.provider = startUAS(tb, filepath.Join(dir, "provider"), r.providerScen, "provider")
	} else {
		r.provider = &uas{port: freeUDPPort(tb), calls: make(chan string)}
	}
	r.pstn = startUAS(tb, filepath.Join(dir, "pstn"), uasScen, "pstn")
	r.providerURI = fmt.Sprintf("sip:127.0.0.1:%d", r.provider.port)
	r.pstnURI = fmt.Sprintf("sip:127.0.0.1:%d", r.pstn.port)
	r.startKamailio(tb)
	return r
}

// startKamailio starts Kamailio and waits until it answers. If its SIP
// port was taken meanwhile (parallel test runs), it retries on another.
func (r *rig) startKamailio(tb testing.TB) {
	tb.Helper()
	r.kamailioLog = filepath.Join(r.dir, "kamailio.log")
	for attempt := 1; ; attempt++ {
		err := r.tryKamailio()
		if err == nil {
			tb.Cleanup(func() { r.stopKamailio() })
			return
		}
		log, _ := os.ReadFile(r.kamailioLog)
		if attempt < 4 && strings.Contains(string(log), "Address already in use") {
			tb.Logf("kamailio port %d taken, retrying", r.sipPort)
			r.sipPort = freeUDPPort(tb)
			continue
		}
		tb.Fatalf("%v\n%s", err, tail(log, 3000))
	}
}

func (r *rig) tryKamailio() error {
	logf, err := os.OpenFile(r.kamailioLog, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := []string{"-f", cfgPath, "-DD", "-E",
		"-A", fmt.Sprintf("LISTEN=udp:127.0.0.1:%d", r.sipPort),
		"-A", fmt.Sprintf("PROVIDER=%q", r.providerURI),
		"-A", fmt.Sprintf("PSTN_GW=%q", r.pstnURI),
		"-A", fmt.Sprintf("RPC_SOCKET=%q", r.rpcSock),
		"-A", fmt.Sprintf("RUN_DIR=%q", r.dir),
		"-A", fmt.Sprintf("MPATH=%q", modulesDir()),
	}
	for _, d := range r.defines {
		args = append(args, "-A", d)
	}
	cmd := exec.Command("kamailio", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start kamailio: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	r.kamailio, r.kamailioDone = cmd, done
	if err := r.waitKamailio(); err != nil {
		r.stopKamailio()
		return err
	}
	return nil
}

// stopKamailio ends the Kamailio process group this rig started and waits
// for it.
func (r *rig) stopKamailio() {
	if r.kamailio == nil {
		return
	}
	_ = syscall.Kill(-r.kamailio.Process.Pid, syscall.SIGTERM)
	<-r.kamailioDone
	r.kamailio = nil
}

// waitKamailio polls core.uptime until Kamailio answers (readiness probe
// with a real-clock bound; nothing in the assertions depends on timing).
func (r *rig) waitKamailio() error {
	c, err := Dial(r.rpcSock, WithTimeout(200*time.Millisecond), WithLocalPath(filepath.Join(r.dir, "probe.sock")))
	if err != nil {
		return err
	}
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := c.Uptime(context.Background())
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kamailio did not answer on %s: %w", r.rpcSock, err)
		}
		select {
		case <-r.kamailioDone:
			return errors.New("kamailio exited at startup")
		case <-tick.C:
		}
	}
}

func (r *rig) client(tb testing.TB, name string) *Client {
	tb.Helper()
	c, err := Dial(r.rpcSock, WithTimeout(time.Second), WithLocalPath(filepath.Join(r.dir, name+".sock")))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// uas is one SIPp UAS. It names itself (callee) in its 200 OK, which the
// UAC logs: that log is the record of where calls landed. As a progress
// hint while calls flow, each INVITE it answers also arrives on calls as a
// Call-ID line through a FIFO its scenario writes to (SIPp's exec action;
// best effort).
type uas struct {
	port  int
	calls chan string
}

func startUAS(tb testing.TB, dir, scenario, callee string) *uas {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	fifo := filepath.Join(dir, "calls.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		tb.Fatal(err)
	}
	// O_RDWR: opening does not block, and the reader never sees EOF when a
	// writer closes.
	f, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	u := &uas{calls: make(chan string, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			u.calls <- sc.Text()
		}
	}()
	tb.Cleanup(func() {
		f.Close() // ends the scanner goroutine
		<-done
	})
	scen, _ := filepath.Abs(scenario)
	for attempt := 1; ; attempt++ {
		u.port = freeUDPPort(tb)
		args := []string{"-sf", scen, "-i", "127.0.0.1", "-p", strconv.Itoa(u.port),
			"-mp", strconv.Itoa(freeUDPPort(tb)), "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "errors.log")}
		if scenario == uasScen {
			args = append(args, "-set", "callee", callee)
		}
		out, err := os.Create(filepath.Join(dir, "sipp.out"))
		if err != nil {
			tb.Fatal(err)
		}
		cmd := exec.Command("sipp", args...)
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = out, out
		err = cmd.Start()
		out.Close()
		if err != nil {
			tb.Fatalf("start sipp uas: %v", err)
		}
		exited := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(exited)
		}()
		tb.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		if waitBound(u.port, exited) {
			return u
		}
		b, _ := os.ReadFile(filepath.Join(dir, "sipp.out"))
		if attempt == 3 {
			tb.Fatalf("sipp uas did not start on port %d:\n%s", u.port, tail(b, 2000))
		}
		tb.Logf("sipp uas did not start on port %d, retrying", u.port)
	}
}

// waitBound waits until a process holds UDP port (binding it fails) or
// the process exited (readiness probe with a real-clock bound).
func waitBound(port int, exited <-chan struct{}) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return true
		}
		c.Close()
		select {
		case <-exited:
			return false
		case <-tick.C:
		}
	}
	return false
}

// placeCall runs a SIPp UAC placing calls through the proxy (at rate per
// second when rate > 0). A nil error means every call was set up,
// acknowledged and torn down (BYE answered 200). It returns the callee
// that answered each call, in the order the calls were placed.
func (r *rig) placeCall(ctx context.Context, calls, rate int) ([]string, error) {
	scen, _ := filepath.Abs(uacScen)
	mport, err := pickPort()
	if err != nil {
		return nil, err
	}
	// An explicit SIP port: SIPp's default is 5060, which it binds with
	// SO_REUSEADDR, so parallel UACs (or anything else on 5060) would steal
	// each other's replies.
	sport, err := pickPort()
	if err != nil {
		return nil, err
	}
	args := []string{"-sf", scen, "-i", "127.0.0.1", "-p", strconv.Itoa(sport), "-mp", strconv.Itoa(mport), "-m", strconv.Itoa(calls),
		"-s", "lifeline", "-nostdin", "-timeout", "30s", "-timeout_error",
		fmt.Sprintf("127.0.0.1:%d", r.sipPort)}
	if rate > 0 {
		args = append(args, "-r", strconv.Itoa(rate), "-rp", "1000")
	}
	errFile := filepath.Join(r.dir, fmt.Sprintf("uac-%d-errors.log", sport))
	logFile := filepath.Join(r.dir, fmt.Sprintf("uac-%d-callees.log", sport))
	args = append(args, "-trace_err", "-error_file", errFile, "-trace_logs", "-log_file", logFile)
	cmd := exec.CommandContext(ctx, "sipp", args...)
	cmd.Dir = r.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		errs, _ := os.ReadFile(errFile)
		klog, _ := os.ReadFile(r.kamailioLog)
		pe, _ := os.ReadFile(filepath.Join(r.dir, "provider", "errors.log"))
		ge, _ := os.ReadFile(filepath.Join(r.dir, "pstn", "errors.log"))
		return nil, fmt.Errorf("sipp uac (%d calls): %w\n%s\nerrors:\n%s\nkamailio log:\n%s\nprovider errors:\n%s\npstn errors:\n%s",
			calls, err, tail(out, 600), tail(errs, 3000), tail(klog, 3000), tail(pe, 3000), tail(ge, 3000))
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		return nil, fmt.Errorf("sipp uac log: %w", err)
	}
	// Lines are "CALL-ID CALLEE" in answer order; SIPp's Call-IDs start
	// with the call number, which is the order the INVITEs were sent.
	type answered struct {
		n      int
		callee string
	}
	var all []answered
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		num, _, _ := strings.Cut(f[0], "-")
		n, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("sipp uac log: Call-ID %q", f[0])
		}
		all = append(all, answered{n, f[1]})
	}
	slices.SortFunc(all, func(a, b answered) int { return a.n - b.n })
	callees := make([]string, len(all))
	for i, a := range all {
		callees[i] = a.callee
	}
	return callees, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// placeOne places one call and checks where it landed.
func (r *rig) placeOne(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	callees, err := r.placeCall(ctx, 1, 0)
	if err != nil {
		t.Fatalf("call lost (expected at the %s): %v", want, err)
	}
	if len(callees) != 1 || callees[0] != want {
		t.Fatalf("call answered by %v, want the %s", callees, want)
	}
}

func TestE2ECallRouting(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	defer cancel()
	c := r.client(t, "lifeline")

	steps := []struct{ route, uri, callee string }{
		{"sip", r.providerURI, "provider"},
		{"pstn", r.pstnURI, "pstn"},
		{"sip", r.providerURI, "provider"},
	}
	for i, s := range steps {
		if err := c.SetNextHop(ctx, s.route, s.uri); err != nil {
			t.Fatalf("step %d: SetNextHop(%s): %v", i, s.route, err)
		}
		for range 2 {
			r.placeOne(t, ctx, s.callee)
		}
	}
}

// TestE2ENoCallLostAcrossSwitch keeps calls flowing at a steady rate while
// the route switches to the PSTN gateway and back: every call completes,
// and each side takes its share in order: provider, PSTN, provider.
func TestE2ENoCallLostAcrossSwitch(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	defer cancel()
	c := r.client(t, "lifeline")
	if err := c.SetNextHop(ctx, "sip", r.providerURI); err != nil {
		t.Fatal(err)
	}

	const total, rate, share = 60, 20, 15
	type result struct {
		callees []string
		err     error
	}
	uac := make(chan result, 1)
	go func() {
		callees, err := r.placeCall(ctx, total, rate)
		uac <- result{callees, err}
	}()

	// Progress hints from the UAS FIFOs decide when to switch.
	seen := map[*uas]int{}
	wait := func(u *uas, n int) {
		t.Helper()
		for seen[u] < n {
			select {
			case <-r.provider.calls:
				seen[r.provider]++
			case <-r.pstn.calls:
				seen[r.pstn]++
			case res := <-uac:
				t.Fatalf("UAC ended early: %v", res.err)
			case <-ctx.Done():
				t.Fatalf("stuck: provider %d, pstn %d", seen[r.provider], seen[r.pstn])
			}
		}
	}
	wait(r.provider, share)
	if err := c.SetNextHop(ctx, "pstn", r.pstnURI); err != nil {
		t.Fatal(err)
	}
	wait(r.pstn, share)
	if err := c.SetNextHop(ctx, "sip", r.providerURI); err != nil {
		t.Fatal(err)
	}
	res := <-uac
	if res.err != nil {
		t.Fatalf("a call was lost across the switch: %v", res.err)
	}
	// The record: who answered, in call order. Collapse runs.
	var runs []string
	count := map[string]int{}
	for _, c := range res.callees {
		count[c]++
		if len(runs) == 0 || runs[len(runs)-1] != c {
			runs = append(runs, c)
		}
	}
	if len(res.callees) != total {
		t.Fatalf("%d of %d calls answered", len(res.callees), total)
	}
	if !slices.Equal(runs, []string{"provider", "pstn", "provider"}) || count["pstn"] < share {
		t.Fatalf("answer order %v (provider %d, pstn %d)", runs, count["provider"], count["pstn"])
	}
	t.Logf("%d calls: provider %d, pstn %d, provider again; none failed", total, count["provider"], count["pstn"])
}

// TestE2EKeeperAfterKamailioRestart restarts Kamailio under a Keeper: the
// restarted proxy has an empty htable (calls would go to PROVIDER), and the
// Keeper puts the PSTN next hop back; the next call lands at the gateway.
func TestE2EKeeperAfterKamailioRestart(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	defer cancel()
	c := r.client(t, "lifeline")
	k := StartKeeper(ctx, c, WithInterval(100*time.Millisecond))
	defer k.Close()
	if err := k.Set(ctx, "pstn", r.pstnURI); err != nil {
		t.Fatal(err)
	}
	r.placeOne(t, ctx, "pstn")

	r.stopKamailio()
	r.startKamailio(t)
	probe := r.client(t, "probe2")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if v, err := probe.Get(ctx, Table, KeyNextHop); err == nil && v == r.pstnURI {
			break
		} else if ctx.Err() != nil {
			t.Fatalf("keeper never re-applied the next hop: %v %v", v, err)
		}
		<-tick.C
	}
	r.placeOne(t, ctx, "pstn")
}

// TestE2EFailover: while the route is sip, a call the provider refuses
// (503) or never answers is retried once at the PSTN gateway by the
// config's failure_route, so it is not lost before Lifeline switches.
func TestE2EFailover(t *testing.T) {
	cases := []struct {
		name string
		opts []rigOption
	}{
		{"provider answers 503", []rigOption{providerScenario("testdata/uas_503.xml")}},
		{"provider silent", []rigOption{providerScenario(""), define("FR_TIMER=500")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.opts...)
			ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
			defer cancel()
			c := r.client(t, "lifeline")
			if err := c.SetNextHop(ctx, "sip", r.providerURI); err != nil {
				t.Fatal(err)
			}
			r.placeOne(t, ctx, "pstn")
		})
	}
}

// BenchmarkSetNextHopLive measures the route change → Kamailio next hop
// updated round trip (two htable.sets) against a live Kamailio, reporting
// p50/p99 in milliseconds.
func BenchmarkSetNextHopLive(b *testing.B) {
	r := newRig(b)
	c := r.client(b, "bench")
	ctx := context.Background()
	uris := []string{r.providerURI, r.pstnURI}
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
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		i := int(p * float64(len(lat)-1))
		return float64(lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1.0), "max-ms")
}

// BenchmarkSetNextHopLiveUnderLoad is BenchmarkSetNextHopLive while a SIPp
// UAC keeps 50 calls per second flowing through the same Kamailio.
func BenchmarkSetNextHopLiveUnderLoad(b *testing.B) {
	r := newRig(b)
	c := r.client(b, "bench")
	ctx, cancel := context.WithCancel(context.Background())
	uacDone := make(chan struct{})
	go func() {
		defer close(uacDone)
		_, _ = r.placeCall(ctx, 1000000, 50) // killed by cancel below
	}()
	defer func() {
		cancel()
		<-uacDone
	}()
	// Let calls flow before measuring.
	select {
	case <-r.provider.calls:
	case <-time.After(10 * time.Second):
		b.Fatal("no call reached the provider")
	}
	uris := []string{r.providerURI, r.pstnURI}
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
	reportPercentiles(b, lat)
}

// TestE2EClientAgainstRealKamailio checks the client's reading of real
// replies: a missing key, a round trip, an unknown method, core.uptime.
func TestE2EClientAgainstRealKamailio(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	defer cancel()
	c := r.client(t, "lifeline")
	if _, err := c.Get(ctx, Table, KeyNextHop); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fresh Kamailio: err = %v, want ErrNotFound", err)
	}
	if err := c.SetNextHop(ctx, "pstn", r.pstnURI); err != nil {
		t.Fatal(err)
	}
	if route, uri, err := c.NextHop(ctx); err != nil || route != "pstn" || uri != r.pstnURI {
		t.Fatalf("NextHop = %q %q %v", route, uri, err)
	}
	var rpcErr *RPCError
	if _, err := c.Call(ctx, "no.such.method"); !errors.As(err, &rpcErr) {
		t.Fatalf("unknown method: err = %v, want *RPCError", err)
	}
	if u, err := c.Uptime(ctx); err != nil || u.UpSince == "" {
		t.Fatalf("Uptime = %+v, %v", u, err)
	}
}
