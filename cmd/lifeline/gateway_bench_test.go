package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"lifeline/hal/modem/modemsim"
	"lifeline/hal/voice"
	"lifeline/hal/voice/rtp"
	"lifeline/hal/voice/voicetest"
)

// BenchmarkGatewayCall measures a call through the real binary (generic
// board, its line a modemsim.VoiceSim whose far end echoes on the
// modem's 20 ms clock, PlayEchoPaced), one call per iteration, in real
// time:
//
//	CGO_ENABLED=1 go test -run '^$' -bench GatewayCall -benchtime 1x ./cmd/lifeline
//
// As root with unshare(1) and ip(8), the benchmark runs itself again in a
// network namespace of its own (only loopback, up): every lifeline daemon
// watching the same namespace's netlink (other tests' daemons on a shared
// machine) would otherwise feed the idle daemon a storm of netlink dumps
// (see gwbIsolate) and make the idle CPU meaningless. Without them it runs
// here and says so; LIFELINE_BENCH_NETNS=0 asks for that.
//
// LIFELINE_BENCH_CALL sets the call's length (default 60s), LIFELINE_BENCH_IDLE
// the idle period measured before it (default the call's length, 10s to 40s).
// The simulator keeps at most 1 MiB of heard audio, so calls longer than
// about two minutes lose their echo's tail (8000 bytes a second).
//
// The phone is a sipgo UAC in the test sending PCMA on loopback with no
// loss. It sends one frame for each RTP packet the gateway sends it, 10 ms
// after that packet arrived: its clock is the line's (the simulator's 20
// ms timer runs a little slow, so a phone on its own ticker would overrun
// any jitter buffer within the call and the loss would be the simulator's,
// not the bridge's), and its frames reach the bridge in the middle of the
// modem's period, the mean phase of two free-running clocks. Every frame
// carries its number in its samples (gwbFrames), so each echo is matched
// to the frame sent and compared byte for byte with what the far end must
// send back (the frame through the modem's 8-bit linear and back).
//
// Metrics:
//
//   - oneway-ms, oneway-p99-ms, oneway-max-ms: the brief's estimate of
//     the delay the bridge adds one way, averaged over both. The phone
//     times the round trip of each frame (sent at t, its echo received at
//     t'), RTT_gateway. A control run straight on a second simulator's
//     pty, without the daemon, times the simulator's own share, RTT_sim:
//     the test is the DTE (AT+FCLASS=8, ATD, AT+VTR) and, as the bridge
//     does, writes one tagged frame to the modem right after each frame
//     it reads, so that each frame waits in the simulated far end as it
//     does behind the bridge (until the next 20 ms tick, after a frame's
//     worth of queue). Then one-way = (RTT_gateway − median RTT_sim) / 2,
//     from the median, the 99th percentile and the worst RTT_gateway.
//   - phone-to-line-ms (and -p99), line-to-phone-ms (and -p99),
//     far-end-hold-ms: the same round trip measured in its parts, which
//     is the better figure, because halving assumes both directions add
//     equally and they do not. A relay (gwbRelay) sits on the serial line
//     between the daemon and the simulator and stamps each tagged frame
//     when it passes whole in the voice data state: phone → line is the
//     phone's send to the frame reaching the modem (UDP, the jitter
//     buffer with its prefill of 2 frames and the wait for the modem's
//     tick, transcoding, the DLE stream), line → phone is the modem's echo
//     leaving the modem to the phone receiving it, the far end's hold is
//     between the two (it should equal rtt-sim-ms; it is not the
//     bridge's). The relay's own pty hop (tens of µs) is counted against
//     the bridge in each direction.
//   - rtt-added-ms (RTT_gateway − RTT_sim, both directions), rtt-gw-ms,
//     rtt-sim-ms: the medians behind oneway-ms.
//   - lost-frames/min: frames sent by the phone whose echo never came back
//     intact (missing, or not equal to the expected bytes), scaled to a
//     minute of call.
//   - ctxsw/s-call, ctxsw/s-idle: the daemon's context switches (all
//     threads, voluntary and not, /proc/PID/task/*/status) per second of
//     call and of idle; rss-MiB-call, rss-MiB-idle: its largest VmRSS,
//     sampled every 50 ms, in each period; cpu-us/frame, ctxsw/frame: the
//     call's CPU time and switches per frame the phone sent, which a
//     simulator slowed down by a busy machine does not skew.
//   - cpu-ms/s-call, cpu-ms/s-idle, cpu-call/idle: the daemon process's CPU
//     time (all its threads' run time from /proc/PID/task/*/schedstat, or
//     utime+stime from /proc/PID/stat) per second of wall time during the
//     call (from the first frame sent to the last) and during the idle
//     period before it (line idle, gateway listening), and their ratio.
//     An idle daemon hardly runs at all, so the ratio is large and noisy;
//     cpu-ms/s-call is the figure to compare across builds and boards.
func BenchmarkGatewayCall(b *testing.B) {
	benchGatewayCall(b, gwbLine{
		format:  voice.FormatLinear8U, // the analog profile's AT+VSM=1
		control: func(b *testing.B, dur time.Duration) []time.Duration { return gwbSimOnly(b, dur, voice.FormatLinear8U) },
		start:   startGWBRig,
	})
}

// gwbLine is the line a gateway call benchmark runs on.
type gwbLine struct {
	format voice.Format // the line's sample format
	// control is the far end's own round trip, without the daemon, for
	// dur (gwbSimOnly).
	control func(b *testing.B, dur time.Duration) []time.Duration
	// start starts the daemon on the line's simulator (startGWBRig); a
	// rig without a relay does not split the round trip.
	start func(b *testing.B, bin string, dur time.Duration, format voice.Format) *gwbRig
}

// benchGatewayCall is BenchmarkGatewayCall on line l.
func benchGatewayCall(b *testing.B, l gwbLine) {
	callDur := gwbEnv(b, "LIFELINE_BENCH_CALL", 60*time.Second)
	idleDur := gwbEnv(b, "LIFELINE_BENCH_IDLE", min(max(callDur, 10*time.Second), 40*time.Second))
	ctlDur := min(callDur, 10*time.Second)
	bin := gwbBinary(b)
	if gwbIsolate(b, bin, callDur, idleDur) {
		return
	}
	modemFmt := l.format

	simRTT := l.control(b, ctlDur)
	if len(simRTT) < 10 {
		b.Fatalf("control run: only %d echoes", len(simRTT))
	}

	rig := l.start(b, bin, callDur, modemFmt)
	d, relay, sipPort, pcma, echo := rig.d, rig.relay, rig.sipPort, rig.pcma, rig.echo
	pid := d.cmd.Process.Pid

	// Idle: the daemon with its line idle and the gateway listening.
	c0, src, err := gwbCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	s0, _ := gwbCPUStat(pid)
	sw0, err := gwbSwitches(pid)
	if err != nil {
		b.Fatal(err)
	}
	rssIdle := watchGWBRSS(pid)
	t0 := time.Now()
	time.Sleep(idleDur) // real time passing: this is what is measured
	c1, _, err := gwbCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	s1, _ := gwbCPUStat(pid)
	sw1, err := gwbSwitches(pid)
	if err != nil {
		b.Fatal(err)
	}
	idleWall := time.Since(t0).Seconds()
	idleRSS := rssIdle.Stop()
	idlePerSec := float64(c1-c0) / float64(time.Millisecond) / idleWall
	idleStat := float64(s1-s0) / float64(time.Millisecond) / idleWall

	phone := newGWBPhone(b, sipPort)
	var all gwbCall
	for b.Loop() {
		r := runGWBCall(b, d, phone, relay, callDur, modemFmt, pcma, echo)
		all.add(r)
	}
	b.StopTimer()

	slices.Sort(simRTT)
	slices.Sort(all.rtt)
	if len(all.rtt) == 0 {
		b.Fatalf("no echo came back (sent %d)", all.sent)
	}
	sim0 := gwbMS(gwbMedian(simRTT))
	gwMed, gwP99, gwMax := gwbMS(gwbMedian(all.rtt)), gwbMS(gwbPct(all.rtt, 99)), gwbMS(all.rtt[len(all.rtt)-1])
	b.ReportMetric((gwMed-sim0)/2, "oneway-ms")
	b.ReportMetric((gwP99-sim0)/2, "oneway-p99-ms")
	b.ReportMetric((gwMax-sim0)/2, "oneway-max-ms")
	b.ReportMetric(gwMed-sim0, "rtt-added-ms")
	b.ReportMetric(gwMed, "rtt-gw-ms")
	b.ReportMetric(sim0, "rtt-sim-ms")
	if len(all.down) > 0 {
		for _, s := range [][]time.Duration{all.down, all.hold, all.up} {
			slices.Sort(s)
		}
		b.ReportMetric(gwbMS(gwbMedian(all.down)), "phone-to-line-ms")
		b.ReportMetric(gwbMS(gwbPct(all.down, 99)), "phone-to-line-p99-ms")
		b.ReportMetric(gwbMS(gwbMedian(all.up)), "line-to-phone-ms")
		b.ReportMetric(gwbMS(gwbPct(all.up, 99)), "line-to-phone-p99-ms")
		b.ReportMetric(gwbMS(gwbMedian(all.hold)), "far-end-hold-ms")
		b.Logf("split by the relay on the serial line (%d frames): phone → line median %.2f p99 %.2f max %.2f ms; far end's hold median %.2f ms; line → phone median %.2f p99 %.2f max %.2f ms",
			len(all.down), gwbMS(gwbMedian(all.down)), gwbMS(gwbPct(all.down, 99)), gwbMS(all.down[len(all.down)-1]),
			gwbMS(gwbMedian(all.hold)), gwbMS(gwbMedian(all.up)), gwbMS(gwbPct(all.up, 99)), gwbMS(all.up[len(all.up)-1]))
	}
	minutes := all.dur.Minutes()
	b.ReportMetric(float64(all.sent-all.echoed)/minutes, "lost-frames/min")
	callPerSec := float64(all.cpu) / float64(time.Millisecond) / all.dur.Seconds()
	b.ReportMetric(callPerSec, "cpu-ms/s-call")
	b.ReportMetric(idlePerSec, "cpu-ms/s-idle")
	if idlePerSec > 0 {
		b.ReportMetric(callPerSec/idlePerSec, "cpu-call/idle")
	}
	if all.sent > 0 {
		// Per frame: a simulator slowed by a busy machine sends fewer
		// frames a second, and the per-second figures fall with it.
		b.ReportMetric(float64(all.cpu)/float64(time.Microsecond)/float64(all.sent), "cpu-us/frame")
		b.ReportMetric(float64(all.switches)/float64(all.sent), "ctxsw/frame")
	}
	b.ReportMetric(float64(all.switches)/all.dur.Seconds(), "ctxsw/s-call")
	b.ReportMetric(float64(sw1-sw0)/idleWall, "ctxsw/s-idle")
	b.ReportMetric(float64(all.rss)/(1<<20), "rss-MiB-call")
	b.ReportMetric(float64(idleRSS)/(1<<20), "rss-MiB-idle")
	b.Logf("control (sim only, %v): %d echoes, RTT median %.2f ms, p99 %.2f ms, max %.2f ms",
		ctlDur, len(simRTT), sim0, gwbMS(gwbPct(simRTT, 99)), gwbMS(simRTT[len(simRTT)-1]))
	b.Logf("gateway: %d call(s) of %v: sent %d, echoed intact %d, corrupt %d, duplicate %d; RTT median %.2f p99 %.2f max %.2f ms",
		b.N, callDur, all.sent, all.echoed, all.corrupt, all.dup, gwMed, gwP99, gwMax)
	b.Logf("daemon CPU (%s): idle %.3f ms/s over %v (/proc/%d/stat: %.1f), call %.3f ms/s over %v",
		src, idlePerSec, idleDur, pid, idleStat, callPerSec, all.dur.Round(time.Millisecond))
}

// gwbCall is what one call measured.
type gwbCall struct {
	rtt                        []time.Duration
	down, hold, up             []time.Duration // phone → line, far end, line → phone (relay's stamps)
	sent, echoed, corrupt, dup int
	dur                        time.Duration // first frame sent to the last
	cpu                        time.Duration // the daemon's CPU time in dur
	switches                   int64         // the daemon's context switches in dur
	rss                        int64         // the daemon's largest RSS in dur, bytes
}

func (c *gwbCall) add(r gwbCall) {
	c.rtt = append(c.rtt, r.rtt...)
	c.down = append(c.down, r.down...)
	c.hold = append(c.hold, r.hold...)
	c.up = append(c.up, r.up...)
	c.sent += r.sent
	c.echoed += r.echoed
	c.corrupt += r.corrupt
	c.dup += r.dup
	c.dur += r.dur
	c.cpu += r.cpu
	c.switches += r.switches
	c.rss = max(c.rss, r.rss)
}

// gwbPhase is when the phone sends a frame after an RTP packet arrives:
// half the modem's 20 ms period.
const gwbPhase = 10 * time.Millisecond

// runGWBCall places one call of length dur, sends tagged PCMA frames
// paced by the gateway's packets and matches their echoes, then hangs up.
func runGWBCall(b *testing.B, d *gwbDaemon, phone *gwbPhone, relay *gwbRelay, dur time.Duration, modemFmt voice.Format, pcma, echo [][]byte) gwbCall {
	b.Helper()
	n := len(pcma)
	if relay != nil {
		relay.reset()
	}
	idx := make(map[string]int, n)
	for k, e := range echo {
		idx[string(e)] = k
	}
	rtpConn, rtpPort := voicetest.EvenUDP(b)
	sess, gw := phone.call(b, "5551234", rtpPort)
	st := d.waitFor(b, "the call in the status", func(st map[string]any) bool {
		calls, _ := st["calls"].([]any)
		return len(calls) == 1
	})
	if c := st["calls"].([]any)[0].(map[string]any); c["codec"] != "PCMA" || c["format"] != modemFmt.String() {
		b.Fatalf("call %v: want PCMA over %v", c, modemFmt)
	}

	// Drop what the bridge sent before the measurement.
	buf := make([]byte, 2048)
	for {
		rtpConn.SetReadDeadline(time.Now().Add(2 * time.Millisecond))
		if _, _, err := rtpConn.ReadFrom(buf); err != nil {
			break
		}
	}

	// The sender: one frame per request, at the requested time.
	sentAt := make([]atomic.Int64, n)
	var sent atomic.Int64
	reqs := make(chan time.Time, 1024)
	senderDone := make(chan struct{})
	pk := rtp.NewPacketizer(rtp.PayloadPCMA, 42, 100, 1000)
	go func() {
		defer close(senderDone)
		for at := range reqs {
			k := int(sent.Load())
			if k >= n {
				continue
			}
			time.Sleep(time.Until(at)) // pacing: the frame's send time
			sentAt[k].Store(time.Now().UnixNano())
			if _, err := rtpConn.WriteTo(pk.Packet(pcma[k], voice.FrameSamples), gw); err != nil {
				return
			}
			sent.Store(int64(k + 1))
		}
	}()

	pid := d.cmd.Process.Pid
	cpu0, _, err := gwbCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	sw0, err := gwbSwitches(pid)
	if err != nil {
		b.Fatal(err)
	}
	rss := watchGWBRSS(pid)
	defer rss.Stop() // a Fatal mid-call
	start := time.Now()
	stopAt := start.Add(dur)
	var end time.Time
	var cpu1 time.Duration
	var r gwbCall
	got := make([]bool, n)
	silence := voice.FormatALaw.SilenceByte()
	var h rtp.Header
	sending := true
	var drainUntil time.Time
	defer func() { // a Fatal mid-call: stop the sender
		if sending {
			close(reqs)
			<-senderDone
		}
	}()
	for {
		rtpConn.SetReadDeadline(time.Now().Add(5 * time.Second))
		nb, _, err := rtpConn.ReadFrom(buf)
		if err != nil {
			b.Fatalf("RTP from the gateway after %d frames sent, %d echoed: %v\nlog:\n%s", sent.Load(), r.echoed, err, d.log)
		}
		now := time.Now()
		payload, err := h.Unmarshal(buf[:nb])
		if err != nil || h.PayloadType != rtp.PayloadPCMA || len(payload) != voice.FrameSamples {
			b.Fatalf("bad RTP from the gateway %+v: %v", h, err)
		}
		switch {
		case sending && now.Before(stopAt):
			reqs <- now.Add(gwbPhase)
		case sending:
			sending = false
			close(reqs)
			<-senderDone
			end = time.Now()
			if cpu1, _, err = gwbCPU(pid); err != nil {
				b.Fatal(err)
			}
			sw1, err := gwbSwitches(pid)
			if err != nil {
				b.Fatal(err)
			}
			r.switches, r.rss = sw1-sw0, rss.Stop()
			drainUntil = now.Add(time.Second)
		}
		if k, ok := idx[string(payload)]; ok {
			if got[k] {
				r.dup++
			} else {
				got[k] = true
				r.echoed++
				sent := sentAt[k].Load()
				r.rtt = append(r.rtt, now.Sub(time.Unix(0, sent)))
				if relay != nil {
					if to, from := relay.toLine.at[k].Load(), relay.fromLine.at[k].Load(); to != 0 && from != 0 {
						r.down = append(r.down, time.Duration(to-sent))
						r.hold = append(r.hold, time.Duration(from-to))
						r.up = append(r.up, now.Sub(time.Unix(0, from)))
					}
				}
			}
		} else if !gwbAll(payload, silence) {
			r.corrupt++
		}
		if !sending && (r.echoed == int(sent.Load()) || now.After(drainUntil)) {
			break
		}
	}
	r.sent = int(sent.Load())
	r.dur = end.Sub(start)
	r.cpu = cpu1 - cpu0
	if len(r.down) > 0 && b.N > 1 {
		down := slices.Sorted(slices.Values(r.down))
		b.Logf("this call: %d frames sent, %d echoed intact; phone → line median %.2f ms, max %.2f ms",
			r.sent, r.echoed, gwbMS(gwbMedian(down)), gwbMS(down[len(down)-1]))
	}

	if err := sess.Bye(gwbStepCtx(b)); err != nil {
		b.Fatal(err)
	}
	d.waitFor(b, "line idle after the call", noCallLineIdle)
	return r
}

// gwbSimOnly is the control run: the test is the DTE straight on a
// VoiceSim's pty (no daemon) and, like the bridge, answers each frame the
// modem sends with one tagged frame; it returns the round trip of each
// frame's echo.
func gwbSimOnly(b *testing.B, dur time.Duration, modemFmt voice.Format) []time.Duration {
	b.Helper()
	sim, err := modemsim.NewVoice(b.TempDir(), modemsim.VoiceRings(1, 10*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	sim.SetPlayback(modemsim.PlayEchoPaced)
	m := openGWBDTE(b, sim.Path())
	m.command(b, "AT+FCLASS=8", "OK\r\n")
	m.command(b, "AT+VSM=1", "OK\r\n")
	m.command(b, "AT+VLS=1", "OK\r\n")
	m.command(b, "ATDT5551234", "VCON\r\n")
	m.command(b, "AT+VTR", "CONNECT\r\n")
	if sim.Format() != modemFmt {
		b.Fatalf("control run: simulator format %v, want %v", sim.Format(), modemFmt)
	}
	n := int(dur/(20*time.Millisecond)) + 100
	_, line, _ := gwbFrames(n, modemFmt)
	idx := make(map[string]int, n)
	for k, l := range line {
		idx[string(l)] = k
	}
	sentAt := make([]time.Time, 0, n)
	got := make([]bool, n)
	dec := voice.NewDecoder(m.br)
	frame := make([]byte, modemFmt.FrameBytes())
	var rtts []time.Duration
	end := time.Now().Add(dur)
	for {
		m.f.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := dec.ReadFrame(frame, nil); err != nil {
			b.Fatalf("control run: %s: %v", sim.Path(), err)
		}
		now := time.Now()
		if k, ok := idx[string(frame)]; ok && k < len(sentAt) && !got[k] {
			got[k] = true
			rtts = append(rtts, now.Sub(sentAt[k]))
		}
		if now.After(end) || len(sentAt) == n {
			break
		}
		sentAt = append(sentAt, time.Now())
		if _, err := m.f.Write(voice.Shield(nil, line[len(sentAt)-1])); err != nil {
			b.Fatal(err)
		}
	}
	m.f.Write([]byte{voice.DLE, voice.CmdAbort})
	return rtts
}

func gwbStepCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func gwbEnv(tb testing.TB, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		tb.Fatalf("%s=%q: want a duration of at least 1s", name, v)
	}
	return d
}

func gwbAll(p []byte, c byte) bool {
	for _, x := range p {
		if x != c {
			return false
		}
	}
	return true
}

func gwbMedian(s []time.Duration) time.Duration { return gwbPct(s, 50) }

// pct is the p-th percentile of sorted s (nearest rank).
func gwbPct(s []time.Duration, p int) time.Duration {
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

func gwbMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Environment of the benchmark run again in its own network namespace.
const (
	gwbEnvNetns = "LIFELINE_BENCH_IN_NETNS" // set in the child
	gwbEnvBin   = "LIFELINE_BENCH_GW_BIN"   // the binary the parent built
)

// gwbIsolate runs the benchmark b again (BenchmarkGatewayCall,
// BenchmarkGatewayFlood), in a new network namespace with only loopback,
// and reports the child's metrics as its own; it returns false (the
// caller measures here) when it is that child or cannot isolate.
//
// Why: hal/netmon subscribes to link, address and route messages with
// ListExisting (vishvananda/netlink), whose dump request is sent to the
// subscription's multicast groups; every other such subscriber in the
// namespace (run as root) receives it from a non-kernel port id, its
// ErrorCallback says "Wrong sender portid", netmon takes that for a lost
// subscription and resubscribes, with ListExisting again: two daemons in
// one namespace keep each other re-dumping without end (about 0.8 CPU-s/s
// measured here with the other tests' daemons beside it).
func gwbIsolate(b *testing.B, bin string, callDur, idleDur time.Duration) bool {
	b.Helper()
	if os.Getenv(gwbEnvNetns) != "" {
		return false
	}
	if os.Getenv("LIFELINE_BENCH_NETNS") == "0" {
		b.Logf("LIFELINE_BENCH_NETNS=0: measuring in the shared network namespace")
		return false
	}
	if os.Geteuid() != 0 {
		b.Logf("not root: measuring in the shared network namespace (another lifeline daemon there inflates the idle CPU)")
		return false
	}
	for _, c := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(c); err != nil {
			b.Logf("no %s: measuring in the shared network namespace (another lifeline daemon there inflates the idle CPU)", c)
			return false
		}
	}
	if out, err := exec.Command("unshare", "--net", "--", "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		b.Logf("unshare --net: %v %s: measuring in the shared network namespace (another lifeline daemon there inflates the idle CPU)", err, out)
		return false
	}
	args := []string{"--net", "--", "sh", "-c", `ip link set lo up && exec "$0" "$@"`, os.Args[0],
		"-test.run=^$", "-test.bench=^" + b.Name() + "$", fmt.Sprintf("-test.benchtime=%dx", b.N), "-test.v",
		"-test.timeout=" + (callDur + idleDur + 3*time.Minute).String()}
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), gwbEnvNetns+"=1", gwbEnvBin+"="+bin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("the benchmark in its own network namespace: %v\n%s", err, out.String())
	}
	found := false
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) > 2 && strings.HasPrefix(f[0], b.Name()) {
			for i := 4; i+1 < len(f); i += 2 { // after name, N, ns, "ns/op"
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					b.Fatalf("child's metric %q: %v", f[i], err)
				}
				b.ReportMetric(v, f[i+1])
			}
			found = true
		} else if t := strings.TrimSpace(line); strings.HasPrefix(t, "gateway_bench") {
			b.Log("[own netns] " + t)
		}
	}
	if !found {
		b.Fatalf("the benchmark in its own network namespace reported nothing:\n%s", out.String())
	}
	return true
}
