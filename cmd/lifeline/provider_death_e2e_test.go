package main

// A continuous stream of calls across a silent provider death, through the
// real binary and a real Kamailio (scripts/kamailio/lifeline.cfg): SIPp
// places calls at a steady rate; the provider (a SIPp UAS) is frozen
// (SIGSTOP: no reply, no ICMP, as a dead host) and the sim board's
// provider, which the daemon's real probe asks, falls silent at the same
// moment. Calls already sent to the provider wait for the proxy's timer
// and fail over to the PSTN gateway (the failure route judges the hop the
// call took, though the daemon has switched to pstn by then); the daemon
// switches and the next calls go to the gateway. None may be lost.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lifeline/daemon"
	"lifeline/hal/kamailio/siprig"
)

// providerDeathConfig is kamailioE2EConfig with the provider probe's
// default pace (1 s, fast re-probes after a loss): a silent provider is
// confirmed dead 0.9-1.9 s after it stopped, so at 5 calls/s several calls
// leave for the dead provider before the daemon switches.
func providerDeathConfig(hooks, rpc, provider, pstn string) string {
	c := fmt.Sprintf(kamailioE2EConfig, "1s", hooks, rpc, provider, pstn)
	return strings.Replace(c, "option interval '50ms'", "option interval '1s'", 1)
}

// providerDeath runs total calls at rate through rig and kills the
// provider silently once it has taken before calls; sim applies a `sim`
// signal to the daemon. The provider is thawed once the PSTN gateway has
// taken after calls (BYEs of calls answered just before the death get
// their answer then). It returns the callees of the answered calls, the
// UAC's error, and how many calls Kamailio failed over.
func providerDeath(ctx context.Context, rig *siprig.Rig, sim func(args ...string) error, total, rate, before, after int) (callees []string, uacErr error, failovers int, err error) {
	type result struct {
		callees []string
		err     error
	}
	uac := make(chan result, 1)
	go func() {
		c, err := rig.PlaceCalls(ctx, total, rate)
		uac <- result{c, err}
	}()
	seen := map[*siprig.UAS]int{}
	wait := func(u *siprig.UAS, n int) (*result, error) {
		for seen[u] < n {
			select {
			case <-rig.Provider.Calls():
				seen[rig.Provider]++
			case <-rig.PSTN.Calls():
				seen[rig.PSTN]++
			case res := <-uac:
				return &res, nil
			case <-ctx.Done():
				return nil, fmt.Errorf("stuck: provider %d, pstn %d", seen[rig.Provider], seen[rig.PSTN])
			}
		}
		return nil, nil
	}
	var early *result
	if early, err = wait(rig.Provider, before); err != nil || early != nil {
		if early != nil {
			return early.callees, early.err, 0, fmt.Errorf("the UAC ended before the provider died")
		}
		return nil, nil, 0, err
	}
	if err := rig.Provider.Freeze(); err != nil {
		return nil, nil, 0, err
	}
	if err := sim("provider", "down"); err != nil {
		return nil, nil, 0, err
	}
	early, err = wait(rig.PSTN, after)
	if terr := rig.Provider.Thaw(); terr != nil && err == nil {
		err = terr
	}
	if err != nil {
		return nil, nil, 0, err
	}
	res := early
	if res == nil {
		r := <-uac
		res = &r
	}
	failovers = strings.Count(string(rig.KamailioLog()), "trying the PSTN gateway")
	return res.callees, res.err, failovers, nil
}

// lostCalls is how many calls of total were lost: refused or timed out by
// the proxy (the phone got 408 or 5xx), or failed in SIPp.
func lostCalls(total int, callees []string, uacErr error) int {
	lost := 0
	for _, c := range callees {
		if strings.HasPrefix(c, siprig.CalleeRefused) {
			lost++
		}
	}
	if uacErr == nil {
		return lost
	}
	var cf *siprig.CallsFailed
	if errors.As(uacErr, &cf) && cf.Failed >= 0 {
		return lost + cf.Failed
	}
	return max(total-len(callees), 1)
}

// TestE2EKamailioNoCallLostAcrossSilentProviderDeath: 5 calls per second
// across a silent provider death; every call is answered (by the provider
// before, by the PSTN gateway after), the calls that were waiting on the
// dead provider among them.
func TestE2EKamailioNoCallLostAcrossSilentProviderDeath(t *testing.T) {
	rig := siprig.New(t, siprig.Define("FR_TIMER=2000"))
	e := newE2E(t, "1s")
	e.writeConfig(providerDeathConfig(filepath.Join(e.dir, "hooks.d"), rig.RPCSocket, rig.ProviderURI, rig.PSTNURI))
	ctx, cancel := context.WithTimeout(context.Background(), kamailioBudget)
	defer cancel()
	e.start()
	waitNextHop(t, ctx, rig.Client(t, "probe"), rig.ProviderURI)

	const total, rate, before, after = 60, 5, 10, 15
	callees, uacErr, failovers, err := providerDeath(ctx, rig, func(args ...string) error {
		e.mustCLI(append([]string{"sim"}, args...)...)
		return nil
	}, total, rate, before, after)
	if err != nil {
		t.Fatalf("%v\ndaemon log:\n%s", err, e.stderr)
	}
	if lost := lostCalls(total, callees, uacErr); lost != 0 || len(callees) != total {
		runs, count := siprig.Runs(callees)
		t.Logf("answers: %v %v", runs, count)
		t.Fatalf("%d of %d calls lost across the provider's death (%d answered): %v\ndaemon log:\n%s", lost, total, len(callees), uacErr, e.stderr)
	}
	runs, count := siprig.Runs(callees)
	if runs[0] != siprig.CalleeProvider || count[siprig.CalleePSTN] < after {
		t.Fatalf("answer order %v (provider %d, pstn %d)", runs, count[siprig.CalleeProvider], count[siprig.CalleePSTN])
	}
	if st := e.status(); st["route"] != "pstn" {
		t.Fatalf("route after the provider's death: %v", st["route"])
	}
	t.Logf("%d calls at %d/s across a silent provider death: provider %d, pstn %d, %d failed over; none lost",
		total, rate, count[siprig.CalleeProvider], count[siprig.CalleePSTN], failovers)
}

// BenchmarkCallsLostSilentProviderDeath reports the calls lost (not
// answered) in a stream of 5 calls per second across a silent provider
// death, through the real binary and Kamailio with its default 5 s
// fr_timer, and how many calls the proxy failed over. One death per
// iteration (run with -benchtime 1x; each takes about 20 s).
func BenchmarkCallsLostSilentProviderDeath(b *testing.B) {
	for b.Loop() {
		rig := siprig.New(b)
		bin := lifelineBin(b)
		dir := b.TempDir()
		sock := filepath.Join(dir, "lifeline.sock")
		cfg := filepath.Join(dir, "lifeline.conf")
		conf := providerDeathConfig(filepath.Join(dir, "hooks.d"), rig.RPCSocket, rig.ProviderURI, rig.PSTNURI)
		if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		startBenchDaemon(b, ctx, bin, sock, "run", "-c", cfg, "--state-dir", dir, "--socket", sock)
		benchWaitNextHop(b, ctx, rig.Client(b, "probe"), rig.ProviderURI, time.Now().Add(15*time.Second))
		const total, rate, before, after = 75, 5, 10, 20
		callees, uacErr, failovers, err := providerDeath(ctx, rig, func(args ...string) error {
			_, err := daemon.Call(ctx, sock, daemon.Request{Cmd: "sim", Signal: args[0], Args: args[1:]})
			return err
		}, total, rate, before, after)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(lostCalls(total, callees, uacErr)), "calls-lost")
		b.ReportMetric(float64(failovers), "failed-over")
		b.ReportMetric(float64(rate), "calls/s")
	}
}
