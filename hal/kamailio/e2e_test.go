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
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
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
	providerScen string
	defines      []string
}

func needTools(tb testing.TB) {
	tb.Helper()
	for _, bin := range []string{"kamailio", "sipp"} {
		if _, err := exec.LookPath(bin); err != nil {
			tb.Skipf("needs %s (apt-get install -y kamailio sip-tester): %v", bin, err)
		}
	}
}

// freeUDPPort asks the kernel for a free loopback UDP port.
func freeUDPPort(tb testing.TB) int {
	tb.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
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
		r.provider = startUAS(tb, filepath.Join(dir, "provider"), r.providerScen)
	} else {
		r.provider = &uas{port: freeUDPPort(tb), calls: make(chan string)}
	}
	r.pstn = startUAS(tb, filepath.Join(dir, "pstn"), uasScen)
	r.providerURI = fmt.Sprintf("sip:127.0.0.1:%d", r.provider.port)
	r.pstnURI = fmt.Sprintf("sip:127.0.0.1:%d", r.pstn.port)
	r.startKamailio(tb)
	return r
}

func (r *rig) startKamailio(tb testing.TB) {
	tb.Helper()
	r.kamailioLog = filepath.Join(r.dir, "kamailio.log")
	logf, err := os.OpenFile(r.kamailioLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
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
		logf.Close()
		tb.Fatalf("start kamailio: %v", err)
	}
	logf.Close()
	r.kamailio = cmd
	tb.Cleanup(func() { r.stopKamailio() })
	r.waitKamailio(tb)
}

// stopKamailio ends the Kamailio process group this rig started.
func (r *rig) stopKamailio() {
	if r.kamailio == nil {
		return
	}
	_ = syscall.Kill(-r.kamailio.Process.Pid, syscall.SIGTERM)
	_ = r.kamailio.Wait()
	r.kamailio = nil
}

// waitKamailio polls core.uptime until Kamailio answers (readiness probe
// with a real-clock bound; nothing in the assertions depends on timing).
func (r *rig) waitKamailio(tb testing.TB) {
	tb.Helper()
	c, err := Dial(r.rpcSock, WithTimeout(200*time.Millisecond), WithLocalPath(filepath.Join(r.dir, "probe.sock")))
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := c.Uptime(context.Background()); err == nil {
			return
		} else if time.Now().After(deadline) {
			log, _ := os.ReadFile(r.kamailioLog)
			tb.Fatalf("kamailio did not answer on %s: %v\n%s", r.rpcSock, err, log)
		}
		<-tick.C
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

// uas is one SIPp UAS; every INVITE it answers arrives on calls as a
// Call-ID line through a FIFO its scenario writes to.
type uas struct {
	port  int
	calls chan string
}

func startUAS(tb testing.TB, dir, scenario string) *uas {
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
	u := &uas{port: freeUDPPort(tb), calls: make(chan string, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			u.calls <- sc.Text()
		}
	}()
	out, err := os.Create(filepath.Join(dir, "sipp.out"))
	if err != nil {
		tb.Fatal(err)
	}
	scen, _ := filepath.Abs(scenario)
	cmd := exec.Command("sipp", "-sf", scen, "-i", "127.0.0.1", "-p", strconv.Itoa(u.port),
		"-mp", strconv.Itoa(freeUDPPort(tb)), "-nostdin", "-trace_err")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start sipp uas: %v", err)
	}
	out.Close()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		f.Close() // ends the scanner goroutine
		<-done
	})
	return u
}

// placeCall runs one SIPp UAC call through the proxy; nil means the call
// was set up, acknowledged and torn down (BYE answered 200).
func (r *rig) placeCall(ctx context.Context, calls, rate int) error {
	scen, _ := filepath.Abs(uacScen)
	mp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mport := mp.LocalAddr().(*net.UDPAddr).Port
	mp.Close()
	args := []string{"-sf", scen, "-i", "127.0.0.1", "-mp", strconv.Itoa(mport), "-m", strconv.Itoa(calls),
		"-s", "lifeline", "-nostdin", "-timeout", "30s", "-timeout_error",
		fmt.Sprintf("127.0.0.1:%d", r.sipPort)}
	if rate > 0 {
		args = append(args, "-r", strconv.Itoa(rate), "-rp", "1000")
	}
	cmd := exec.CommandContext(ctx, "sipp", args...)
	cmd.Dir = r.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("sipp uac (%d calls): %w\n%s", calls, err, tail(out, 1500))
	}
	return nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// expectAt waits for the call to show up at want and checks that other
// got nothing.
func expectAt(t *testing.T, ctx context.Context, want, other *uas, wantName string) {
	t.Helper()
	select {
	case <-want.calls:
	case <-ctx.Done():
		t.Fatalf("call never reached the %s", wantName)
	}
	select {
	case id := <-other.calls:
		t.Fatalf("call %s reached the wrong side (expected only the %s)", id, wantName)
	default:
	}
}

func TestE2ECallRouting(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	defer cancel()
	c := r.client(t, "lifeline")

	steps := []struct {
		route, uri string
		at, other  *uas
		name       string
	}{
		{"sip", r.providerURI, r.provider, r.pstn, "provider"},
		{"pstn", r.pstnURI, r.pstn, r.provider, "PSTN gateway"},
		{"sip", r.providerURI, r.provider, r.pstn, "provider"},
	}
	for i, s := range steps {
		if err := c.SetNextHop(ctx, s.route, s.uri); err != nil {
			t.Fatalf("step %d: SetNextHop(%s): %v", i, s.route, err)
		}
		for call := 0; call < 2; call++ {
			if err := r.placeCall(ctx, 1, 0); err != nil {
				t.Fatalf("step %d (route %s) call %d lost: %v", i, s.route, call, err)
			}
			expectAt(t, ctx, s.at, s.other, s.name)
		}
	}
}

// TestE2ENoCallLostAcrossSwitch keeps calls flowing at a steady rate while
// the route switches to the PSTN gateway and back: every call completes,
// and both sides take a share.
func TestE2ENoCallLostAcrossSwitch(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	defer cancel()
	c := r.client(t, "lifeline")
	if err := c.SetNextHop(ctx, "sip", r.providerURI); err != nil {
		t.Fatal(err)
	}

	const total, rate = 60, 20
	uacErr := make(chan error, 1)
	go func() { uacErr <- r.placeCall(ctx, total, rate) }()

	count := map[*uas]int{}
	wait := func(u *uas, n int) {
		t.Helper()
		for count[u] < n {
			select {
			case <-r.provider.calls:
				count[r.provider]++
			case <-r.pstn.calls:
				count[r.pstn]++
			case err := <-uacErr:
				t.Fatalf("UAC ended early: %v", err)
			case <-ctx.Done():
				t.Fatalf("stuck: provider %d, pstn %d", count[r.provider], count[r.pstn])
			}
		}
	}
	wait(r.provider, 15)
	if err := c.SetNextHop(ctx, "pstn", r.pstnURI); err != nil {
		t.Fatal(err)
	}
	wait(r.pstn, 15)
	if err := c.SetNextHop(ctx, "sip", r.providerURI); err != nil {
		t.Fatal(err)
	}
	if err := <-uacErr; err != nil {
		t.Fatalf("a call was lost across the switch: %v", err)
	}
	// Drain what arrived after the last switch.
	for count[r.provider]+count[r.pstn] < total {
		select {
		case <-r.provider.calls:
			count[r.provider]++
		case <-r.pstn.calls:
			count[r.pstn]++
		case <-ctx.Done():
			t.Fatalf("only %d+%d of %d calls arrived", count[r.provider], count[r.pstn], total)
		}
	}
	if count[r.pstn] < 15 || count[r.provider] < 16 {
		t.Fatalf("provider %d, pstn %d: the switch back to sip took no calls", count[r.provider], count[r.pstn])
	}
	t.Logf("%d calls: provider %d, pstn %d, none failed", total, count[r.provider], count[r.pstn])
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
	if err := r.placeCall(ctx, 1, 0); err != nil {
		t.Fatal(err)
	}
	expectAt(t, ctx, r.pstn, r.provider, "PSTN gateway")

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
	if err := r.placeCall(ctx, 1, 0); err != nil {
		t.Fatal(err)
	}
	expectAt(t, ctx, r.pstn, r.provider, "PSTN gateway")
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
			if err := r.placeCall(ctx, 1, 0); err != nil {
				t.Fatalf("call lost although the PSTN gateway was up: %v", err)
			}
			select {
			case <-r.pstn.calls:
			case <-ctx.Done():
				t.Fatal("call never reached the PSTN gateway")
			}
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
		_ = r.placeCall(ctx, 1000000, 50) // killed by cancel below
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
