package main

// The real binary on the sim board steering a real Kamailio: the rig
// (lifeline/hal/kamailio/siprig) runs Kamailio with the shipped
// scripts/kamailio/lifeline.cfg and two SIPp UAS standing for the SIP
// provider and the PSTN gateway; the daemon's `config proxy` section points
// at the rig's jsonrpcs socket. Calls are placed with SIPp UACs and the
// callee that answered each one is read from the UAC's log. Skips without
// kamailio or sipp (Debian packages kamailio, sip-tester) and with -short.
//
// Each switch is checked in three steps: the daemon's status says the new
// route, Kamailio's htable holds the new next hop (htable.get), and the
// next call lands at the matching UAS. TestE2EKamailioNoCallLostAcrossSwitch
// does not wait at all: calls flow while the route changes.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"lifeline/daemon"
	"lifeline/hal/clock"
	"lifeline/hal/kamailio"
	"lifeline/hal/kamailio/siprig"
)

const kamailioE2EConfig = `config lifeline 'main'
	option board 'sim'
	option failback_hold '%s'
	option hooks_dir '%s'

config provider 'sip'
	option host 'sip.example.net'
	option interval '50ms'
	option down_after '3'

config hotkey 'force_pstn'
	list key 'wps'
	list key 'phone'
	option hold '500ms'
	option action 'pstn'

config proxy 'kamailio'
	option socket '%s'
	option provider_uri '%s'
	option pstn_uri '%s'
	option check_interval '200ms'
`

const kamailioBudget = 90 * time.Second // real-clock safety net per test

// startWithKamailio starts the rig and the daemon configured to steer it,
// and waits until Kamailio's next hop is the provider (the daemon starts
// on route sip). It returns the harness, the rig, a probe client on the
// rig's Kamailio and a context bounded by kamailioBudget.
func startWithKamailio(t *testing.T, failbackHold string) (*e2e, *siprig.Rig, *kamailio.Client, context.Context) {
	t.Helper()
	rig := siprig.New(t) // skips without kamailio/sipp
	e := newE2E(t, failbackHold)
	e.writeConfig(fmt.Sprintf(kamailioE2EConfig, failbackHold, filepath.Join(e.dir, "hooks.d"),
		rig.RPCSocket, rig.ProviderURI, rig.PSTNURI))
	ctx, cancel := context.WithTimeout(context.Background(), kamailioBudget)
	t.Cleanup(cancel)
	e.start()
	probe := rig.Client(t, "probe")
	waitNextHop(t, ctx, probe, rig.ProviderURI)
	return e, rig, probe, ctx
}

// waitNextHop polls Kamailio's htable until its next hop is uri (deadline
// 15 s, real clock: the daemon runs in its own process).
func waitNextHop(t *testing.T, ctx context.Context, probe *kamailio.Client, uri string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var got string
	var err error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if got, err = probe.Get(ctx, kamailio.Table, kamailio.KeyNextHop); err == nil && got == uri {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatalf("Kamailio's next hop never became %s: last %q, %v", uri, got, err)
}

// TestE2EKamailioCallRouting: calls land at the provider while the route
// is sip, at the PSTN gateway after `sim wan down`, and at the provider
// again after `sim wan up` and failback_hold.
func TestE2EKamailioCallRouting(t *testing.T) {
	e, rig, probe, ctx := startWithKamailio(t, "1s")
	for range 2 {
		rig.PlaceOne(t, ctx, siprig.CalleeProvider)
	}

	e.mustCLI("sim", "wan", "down")
	e.waitFor("route pstn after wan down", routeIs("pstn"))
	waitNextHop(t, ctx, probe, rig.PSTNURI)
	e.waitLog(`msg="proxy next hop set" route=pstn uri=` + rig.PSTNURI)
	for range 2 {
		rig.PlaceOne(t, ctx, siprig.CalleePSTN)
	}

	e.mustCLI("sim", "wan", "up")
	e.waitFor("route sip after failback", routeIs("sip"))
	waitNextHop(t, ctx, probe, rig.ProviderURI)
	for range 2 {
		rig.PlaceOne(t, ctx, siprig.CalleeProvider)
	}
}

// TestE2EKamailioHotkey: the key combination on the sim board (wps+phone
// held 500 ms, action pstn) sends the next call to the PSTN gateway;
// `override auto` brings calls back to the provider.
func TestE2EKamailioHotkey(t *testing.T) {
	e, rig, probe, ctx := startWithKamailio(t, "1s")
	rig.PlaceOne(t, ctx, siprig.CalleeProvider)

	e.mustCLI("sim", "key", "wps", "press")
	e.mustCLI("sim", "key", "phone", "press")
	st := e.waitFor("override pstn from the chord", func(st map[string]any) bool {
		return field(st, "override.mode") == "pstn"
	})
	e.mustCLI("sim", "key", "phone", "release")
	e.mustCLI("sim", "key", "wps", "release")
	if st["route"] != "pstn" || field(st, "override.source") != "keypad" {
		t.Fatalf("after the chord: route %v, override %v", st["route"], st["override"])
	}
	waitNextHop(t, ctx, probe, rig.PSTNURI)
	rig.PlaceOne(t, ctx, siprig.CalleePSTN)
	rig.PlaceOne(t, ctx, siprig.CalleePSTN)

	e.mustCLI("override", "auto")
	e.waitFor("route sip after override auto", routeIs("sip"))
	waitNextHop(t, ctx, probe, rig.ProviderURI)
	rig.PlaceOne(t, ctx, siprig.CalleeProvider)
}

// TestE2EKamailioNoCallLostAcrossSwitch keeps calls flowing at a steady
// rate while the route switches to the PSTN gateway and back, for each
// cause of a switch: every call completes, and the answers run provider,
// PSTN gateway, provider, in call order.
func TestE2EKamailioNoCallLostAcrossSwitch(t *testing.T) {
	cases := []struct {
		name          string
		toPSTN, toSIP func(e *e2e)
	}{
		{"wan down then up and failback",
			func(e *e2e) { e.mustCLI("sim", "wan", "down") },
			func(e *e2e) { e.mustCLI("sim", "wan", "up") }},
		{"hotkey chord then override auto",
			func(e *e2e) {
				e.mustCLI("sim", "key", "wps", "press")
				e.mustCLI("sim", "key", "phone", "press")
				e.waitFor("override pstn from the chord", func(st map[string]any) bool { return field(st, "override.mode") == "pstn" })
				e.mustCLI("sim", "key", "phone", "release")
				e.mustCLI("sim", "key", "wps", "release")
			},
			func(e *e2e) { e.mustCLI("override", "auto") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, rig, _, ctx := startWithKamailio(t, "1s")

			// Calls until the last share has arrived (PlaceCallsUntil): a
			// fixed number could all be placed before a loaded machine
			// has switched.
			const rate, share = 20, 15
			type result struct {
				callees []string
				err     error
			}
			uac := make(chan result, 1)
			stop := make(chan struct{})
			go func() {
				callees, err := rig.PlaceCallsUntil(ctx, rate, stop)
				uac <- result{callees, err}
			}()

			// Progress hints from the UAS decide when to switch.
			seen := map[*siprig.UAS]int{}
			wait := func(u *siprig.UAS, n int) {
				t.Helper()
				for seen[u] < n {
					select {
					case <-rig.Provider.Calls():
						seen[rig.Provider]++
					case <-rig.PSTN.Calls():
						seen[rig.PSTN]++
					case res := <-uac:
						t.Fatalf("UAC ended early (provider %d, pstn %d): %v", seen[rig.Provider], seen[rig.PSTN], res.err)
					case <-ctx.Done():
						t.Fatalf("stuck: provider %d, pstn %d", seen[rig.Provider], seen[rig.PSTN])
					}
				}
			}
			wait(rig.Provider, share)
			tc.toPSTN(e)
			wait(rig.PSTN, share)
			tc.toSIP(e)
			wait(rig.Provider, seen[rig.Provider]+share)
			close(stop)

			res := <-uac
			if res.err != nil {
				t.Fatalf("a call was lost across the switch: %v\ndaemon log:\n%s", res.err, e.stderr)
			}
			runs, count := siprig.Runs(res.callees)
			if !slices.Equal(runs, []string{siprig.CalleeProvider, siprig.CalleePSTN, siprig.CalleeProvider}) ||
				count[siprig.CalleePSTN] < share || count[siprig.CalleeProvider] < 2*share {
				t.Fatalf("answer order %v (provider %d, pstn %d)", runs, count[siprig.CalleeProvider], count[siprig.CalleePSTN])
			}
			t.Logf("%d calls at %d/s: provider, pstn %d, provider again (provider %d); none failed",
				len(res.callees), rate, count[siprig.CalleePSTN], count[siprig.CalleeProvider])
		})
	}
}

// TestE2EKamailioRestartReapplied: Kamailio restarts while the route is
// pstn; its htable comes back empty (calls would go to the provider) and
// the daemon's keeper (check_interval 200ms) puts the PSTN next hop back,
// so the next call lands at the gateway.
func TestE2EKamailioRestartReapplied(t *testing.T) {
	e, rig, probe, ctx := startWithKamailio(t, "1s")
	e.mustCLI("override", "pstn")
	e.waitFor("route pstn", routeIs("pstn"))
	waitNextHop(t, ctx, probe, rig.PSTNURI)

	rig.Restart(t)
	waitNextHop(t, ctx, probe, rig.PSTNURI)
	rig.PlaceOne(t, ctx, siprig.CalleePSTN)
	if st := e.status(); st["route"] != "pstn" {
		t.Fatalf("route after the Kamailio restart: %v", st["route"])
	}
}

// BenchmarkKamailioRouteChange measures route change → next hop visible in
// Kamailio: the daemon's proxy actuator (the same proxyAdapter `run`
// wires) is told the route changed, and the clock stops when htable.get on
// a separate client returns the new next hop. One switch per iteration,
// alternating sip and pstn; reports p50/p99/max in ms over all iterations
// (run with -benchtime=200x or more for a meaningful p99).
func BenchmarkKamailioRouteChange(b *testing.B) {
	rig := siprig.New(b)
	cfg := &daemon.ProxyConfig{Name: "kamailio", Socket: rig.RPCSocket,
		ProviderURI: rig.ProviderURI, PSTNURI: rig.PSTNURI, CheckInterval: 2 * time.Second}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := newProxyAdapter(log, clock.Real())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.run(ctx, &daemon.Config{Proxy: cfg})
	}()
	defer func() {
		cancel()
		<-done
	}()
	probe := rig.Client(b, "probe")
	routes := []daemon.Route{daemon.RouteSIP, daemon.RoutePSTN}
	uris := []string{rig.ProviderURI, rig.PSTNURI}
	// Settle on pstn first so that the first measured switch is a change.
	p.SetRoute(daemon.RoutePSTN, "bench")
	benchWaitNextHop(b, ctx, probe, rig.PSTNURI, time.Now().Add(15*time.Second))

	lat := make([]time.Duration, 0, 1024)
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		p.SetRoute(routes[i%2], "bench")
		benchWaitNextHop(b, ctx, probe, uris[i%2], start.Add(5*time.Second))
		lat = append(lat, time.Since(start))
	}
	siprig.ReportPercentiles(b, lat)
}

// BenchmarkKamailioOverrideE2E measures the whole chain in the real
// binary: `override sip|pstn` over the control socket (the request the CLI
// sends) → the daemon decides → its proxy adapter sets Kamailio's htable →
// htable.get on a separate client returns the new next hop. One switch per
// iteration (run with -benchtime=200x or more for a meaningful p99).
func BenchmarkKamailioOverrideE2E(b *testing.B) {
	rig := siprig.New(b)
	bin := lifelineBin(b)
	dir := b.TempDir()
	sock := filepath.Join(dir, "lifeline.sock")
	cfg := filepath.Join(dir, "lifeline.conf")
	conf := fmt.Sprintf(kamailioE2EConfig, "1s", filepath.Join(dir, "hooks.d"), rig.RPCSocket, rig.ProviderURI, rig.PSTNURI)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	startBenchDaemon(b, ctx, bin, sock, "run", "-c", cfg, "--state-dir", dir, "--socket", sock)
	probe := rig.Client(b, "probe")
	benchWaitNextHop(b, ctx, probe, rig.ProviderURI, time.Now().Add(15*time.Second))

	modes := []string{"pstn", "sip"}
	uris := []string{rig.PSTNURI, rig.ProviderURI}
	lat := make([]time.Duration, 0, 1024)
	ack := make([]time.Duration, 0, 1024)
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := daemon.Call(ctx, sock, daemon.Request{Cmd: "override", Mode: modes[i%2]}); err != nil {
			b.Fatalf("override %s: %v", modes[i%2], err)
		}
		ack = append(ack, time.Since(start))
		benchWaitNextHop(b, ctx, probe, uris[i%2], start.Add(5*time.Second))
		lat = append(lat, time.Since(start))
	}
	siprig.ReportPercentiles(b, lat)
	// Where the time goes: the control-socket round trip alone.
	if len(ack) > 0 {
		slices.Sort(ack)
		b.ReportMetric(siprig.Percentile(ack, 0.5), "ack-p50-ms")
		b.ReportMetric(siprig.Percentile(ack, 0.99), "ack-p99-ms")
	}
}

// startBenchDaemon starts `bin args...`, waits until it answers status on
// sock, and stops it (SIGTERM, then wait) in b.Cleanup.
func startBenchDaemon(b *testing.B, ctx context.Context, bin, sock string, args ...string) {
	b.Helper()
	cmd := exec.Command(bin, args...)
	stderr := newLogBuffer()
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := daemon.Call(ctx, sock, daemon.Request{Cmd: "status"}); err == nil {
			return
		} else if time.Now().After(deadline) {
			b.Fatalf("daemon never answered: %v\n%s", err, stderr)
		}
		select {
		case err := <-exited:
			b.Fatalf("daemon exited: %v\n%s", err, stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// benchWaitNextHop polls htable.get back to back until the next hop is uri.
func benchWaitNextHop(b *testing.B, ctx context.Context, probe *kamailio.Client, uri string, deadline time.Time) {
	for {
		got, err := probe.Get(ctx, kamailio.Table, kamailio.KeyNextHop)
		if err == nil && got == uri {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("Kamailio's next hop never became %s: last %q, %v", uri, got, err)
		}
		if err != nil && !errors.Is(err, kamailio.ErrNotFound) {
			b.Fatalf("htable.get: %v", err)
		}
	}
}
