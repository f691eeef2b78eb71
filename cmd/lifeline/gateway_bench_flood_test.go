package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"lifeline/hal/voice"
)

// BenchmarkGatewayFlood is issue 15's soak: the real binary's gateway under
// a flood from strangers while one legitimate call is up.
//
//	CGO_ENABLED=1 go test -run '^$' -bench GatewayFlood -benchtime 1x -timeout 10m ./cmd/lifeline
//
// (`make soak`.) It runs itself again in a network namespace of its own
// (gwbIsolate: root, unshare(1) and ip(8); it skips without them), where
// 192.0.2.1 to 192.0.2.8 are put on loopback: eight sources the gateway
// does not allow (only loopback, its own addresses, the proxy and
// allow_source may use it). Each sends an equal share of about 300
// datagrams a second in all, in turn an INVITE (to international,
// premium-rate, emergency and local numbers), an OPTIONS (every tenth one
// 60 KB, over the gateway's datagram limit) and junk (random bytes, or
// the start of a SIP message cut short), each request with a Call-ID and
// branch of its own, for LIFELINE_BENCH_FLOOD (default 60s). Meanwhile the
// phone on loopback, the authorised source, holds one call through the
// BenchmarkGatewayCall rig (a modemsim.VoiceSim echoing on its 20 ms
// clock, tagged PCMA frames paced by the gateway's packets) for the same
// length.
//
// Metrics: rss-max-MiB (the daemon's largest VmRSS, sampled every 50 ms
// from /proc over the flood), cpu-ms/s (its CPU time per second of the
// flood), frames-lost and frames-sent (the legitimate call's frames whose
// echo never came back intact, of those sent), datagrams-sent and
// sent-bytes (the flood), replies and replies-CODE (what the sources
// received, by status code; replies-other for anything but a SIP
// response), reply/sent-bytes (the amplification: the bytes the sources
// received over those they sent) and unauth-dials (dial commands the line
// got that the legitimate call did not make).
//
// It asserts behaviour only: no unauthorised number reached the line
// (unauth-dials is 0), the legitimate call was dialled once and lasted
// (its RTP flowed to the end, which runGWBCall checks, audio came back,
// and the phone's BYE ended it). Timing and rates are reported, never
// asserted.
func BenchmarkGatewayFlood(b *testing.B) {
	dur := gwbEnv(b, "LIFELINE_BENCH_FLOOD", 60*time.Second)
	bin := gwbBinary(b)
	if os.Getenv(gwbEnvNetns) == "" {
		if !gwbIsolate(b, bin, dur, 0) {
			b.Skip("needs a network namespace of its own (root, unshare, ip) for the flood's 192.0.2.x sources")
		}
		return
	}
	srcs := gwfSources(b, 8)
	modemFmt := voice.FormatLinear8U // the analog profile's AT+VSM=1
	rig := startGWBRig(b, bin, dur, modemFmt)
	d, sim, sipPort := rig.d, rig.sim, rig.sipPort
	pid := d.cmd.Process.Pid
	phone := newGWBPhone(b, sipPort)

	var call gwbCall
	var fl gwfTotals
	var cpu time.Duration
	var wall time.Duration
	var rss int64
	for b.Loop() {
		cpu0, _, err := gwbCPU(pid)
		if err != nil {
			b.Fatal(err)
		}
		watch := watchGWBRSS(pid)
		start := time.Now()
		f := startGWFlood(srcs, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(sipPort)), 300)
		call.add(runGWBCall(b, d, phone, rig.relay, dur, modemFmt, rig.pcma, rig.echo))
		f.stop()
		wall += time.Since(start)
		cpu1, _, err := gwbCPU(pid)
		if err != nil {
			b.Fatal(err)
		}
		cpu += cpu1 - cpu0
		rss = max(rss, watch.Stop())
		fl.add(f.totals())
	}
	b.StopTimer()

	var unauth, legit []string
	for _, c := range sim.Commands() {
		switch {
		case !strings.HasPrefix(c, "ATD") || c == "ATDT;":
		case c == "ATDT5551234":
			legit = append(legit, c)
		default:
			unauth = append(unauth, c)
		}
	}
	b.ReportMetric(float64(rss)/(1<<20), "rss-max-MiB")
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/wall.Seconds(), "cpu-ms/s")
	b.ReportMetric(float64(call.sent-call.echoed), "frames-lost")
	b.ReportMetric(float64(call.sent), "frames-sent")
	b.ReportMetric(float64(fl.datagrams), "datagrams-sent")
	b.ReportMetric(float64(fl.bytes), "sent-bytes")
	b.ReportMetric(float64(fl.replies), "replies")
	for _, code := range slices.Sorted(maps.Keys(fl.codes)) {
		b.ReportMetric(float64(fl.codes[code]), "replies-"+code)
	}
	if fl.bytes > 0 {
		b.ReportMetric(float64(fl.replyBytes)/float64(fl.bytes), "reply/sent-bytes")
	}
	b.ReportMetric(float64(len(unauth)), "unauth-dials")
	b.Logf("flood: %d datagrams (%d bytes) from %d sources over %v, %d INVITE, %d OPTIONS (%d of 60 KB), %d junk; %d replies (%d bytes) %v",
		fl.datagrams, fl.bytes, len(srcs), wall.Round(time.Millisecond), fl.kinds[gwfInvite], fl.kinds[gwfOptions], fl.big,
		fl.kinds[gwfJunk], fl.replies, fl.replyBytes, fl.codes)
	b.Logf("legitimate call: %d frames sent, %d echoed intact, %d corrupt; daemon RSS max %.1f MiB, CPU %.1f ms/s",
		call.sent, call.echoed, call.corrupt, float64(rss)/(1<<20), float64(cpu)/float64(time.Millisecond)/wall.Seconds())
	if len(unauth) > 0 {
		b.Fatalf("unauthorised calls reached the line: %q\nlog:\n%s", unauth, d.log)
	}
	if len(legit) != b.N {
		b.Fatalf("the legitimate call was dialled %d times in %d runs: %q", len(legit), b.N, sim.Commands())
	}
	if call.echoed == 0 {
		b.Fatalf("the legitimate call carried no audio (%d frames sent)", call.sent)
	}
}

// gwfSources puts 192.0.2.1 to 192.0.2.n on loopback (in the
// benchmark's own network namespace) and binds a UDP socket on each.
func gwfSources(b *testing.B, n int) []*net.UDPConn {
	b.Helper()
	var conns []*net.UDPConn
	for i := 1; i <= n; i++ {
		a := netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
		if out, err := exec.Command("ip", "addr", "add", a.String()+"/32", "dev", "lo").CombinedOutput(); err != nil {
			b.Fatalf("ip addr add %s dev lo: %v %s", a, err, out)
		}
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadBuffer(1 << 20)
		b.Cleanup(func() { c.Close() })
		conns = append(conns, c)
	}
	return conns
}

// Kinds of flood datagram.
const (
	gwfInvite = iota
	gwfOptions
	gwfJunk
	gwfKinds
)

// gwfTotals is what a flood sent and drew.
type gwfTotals struct {
	datagrams, bytes, big int
	kinds                 [gwfKinds]int
	replies, replyBytes   int
	codes                 map[string]int // status code ("other": not a SIP response) → replies
}

func (t *gwfTotals) add(o gwfTotals) {
	t.datagrams += o.datagrams
	t.bytes += o.bytes
	t.big += o.big
	for k := range t.kinds {
		t.kinds[k] += o.kinds[k]
	}
	t.replies += o.replies
	t.replyBytes += o.replyBytes
	if t.codes == nil {
		t.codes = map[string]int{}
	}
	for c, n := range o.codes {
		t.codes[c] += n
	}
}

// gwFlood is a running flood: a sender and a reader per source.
type gwFlood struct {
	cancel  context.CancelFunc
	senders sync.WaitGroup
	readers sync.WaitGroup
	conns   []*net.UDPConn
	mu      sync.Mutex // guards tot
	tot     gwfTotals
}

// startGWFlood has each of conns send its share of rate datagrams a
// second to dst until stop.
func startGWFlood(conns []*net.UDPConn, dst netip.AddrPort, rate int) *gwFlood {
	ctx, cancel := context.WithCancel(context.Background())
	f := &gwFlood{cancel: cancel, conns: conns, tot: gwfTotals{codes: map[string]int{}}}
	every := time.Duration(len(conns)) * time.Second / time.Duration(rate)
	for i, c := range conns {
		f.senders.Add(1)
		go f.send(ctx, i, c, dst, every) // ends with ctx
		f.readers.Add(1)
		go f.read(c) // ends at the read deadline stop sets
	}
	return f
}

// stop ends the senders.
func (f *gwFlood) stop() {
	f.cancel()
	f.senders.Wait()
}

// totals waits a second for the last replies (after stop) and returns
// what the flood sent and drew.
func (f *gwFlood) totals() gwfTotals {
	for _, c := range f.conns {
		c.SetReadDeadline(time.Now().Add(time.Second))
	}
	f.readers.Wait()
	for _, c := range f.conns {
		c.SetReadDeadline(time.Time{})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tot
}

// send is source i's sender: an INVITE, an OPTIONS and junk in turn, one
// datagram every period.
func (f *gwFlood) send(ctx context.Context, i int, c *net.UDPConn, dst netip.AddrPort, every time.Duration) {
	defer f.senders.Done()
	rng := rand.New(rand.NewPCG(15, uint64(i)))
	src := c.LocalAddr().(*net.UDPAddr).AddrPort()
	to := net.UDPAddrFromAddrPort(dst)
	tick := time.NewTicker(every)
	defer tick.Stop()
	var tot gwfTotals
	for k := 0; ; k++ {
		select {
		case <-ctx.Done():
			f.mu.Lock()
			f.tot.add(tot)
			f.mu.Unlock()
			return
		case <-tick.C:
		}
		kind := k % gwfKinds
		var msg []byte
		switch kind {
		case gwfInvite:
			msg = gwfInviteMsg(src, dst, i, k)
		case gwfOptions:
			big := (k/gwfKinds)%10 == 9
			msg = gwfOptionsMsg(src, dst, i, k, big)
			if big {
				tot.big++
			}
		default:
			msg = gwfJunkMsg(rng, src, i, k)
		}
		if _, err := c.WriteTo(msg, to); err != nil {
			continue // ENOBUFS and the like: not sent
		}
		tot.datagrams++
		tot.bytes += len(msg)
		tot.kinds[kind]++
	}
}

// read counts source c's replies until its read deadline.
func (f *gwFlood) read(c *net.UDPConn) {
	defer f.readers.Done()
	buf := make([]byte, 65536)
	tot := gwfTotals{codes: map[string]int{}}
	for {
		n, err := c.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
				break
			}
			continue // ICMP errors and the like
		}
		tot.replies++
		tot.replyBytes += n
		code := "other"
		if rest, ok := bytes.CutPrefix(buf[:n], []byte("SIP/2.0 ")); ok && len(rest) >= 3 {
			if _, err := strconv.Atoi(string(rest[:3])); err == nil {
				code = string(rest[:3])
			}
		}
		tot.codes[code]++
	}
	f.mu.Lock()
	f.tot.replies += tot.replies
	f.tot.replyBytes += tot.replyBytes
	for c, n := range tot.codes {
		f.tot.codes[c] += n
	}
	f.mu.Unlock()
}

// gwfNumbers are what the strangers try to dial: international,
// premium-rate, emergency (which once ended the call in progress), local,
// and with the gateway's prefix.
var gwfNumbers = []string{"0090012345678", "009005551234", "112", "5550100", "*0019005551234", "%2B4930123456"}

func gwfInviteMsg(src, dst netip.AddrPort, i, k int) []byte {
	num := gwfNumbers[(k/gwfKinds+i)%len(gwfNumbers)]
	sdpBody := fmt.Sprintf("v=0\r\no=- %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 0 101\r\n"+
		"a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n", k, src.Addr(), src.Addr())
	return []byte(fmt.Sprintf("INVITE sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-flood-%d-%d;rport\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:intruder@%s>;tag=f%d-%d\r\nTo: <sip:%s@%s>\r\nCall-ID: flood-%d-%d@%s\r\n"+
		"CSeq: 1 INVITE\r\nContact: <sip:intruder@%s>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		num, dst, src, i, k, src.Addr(), i, k, num, dst.Addr(), i, k, src.Addr(), src, len(sdpBody), sdpBody))
}

func gwfOptionsMsg(src, dst netip.AddrPort, i, k int, big bool) []byte {
	body := ""
	if big {
		body = strings.Repeat("x", 60<<10)
	}
	return []byte(fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-flood-%d-%d;rport\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:intruder@%s>;tag=f%d-%d\r\nTo: <sip:%s>\r\nCall-ID: flood-%d-%d@%s\r\n"+
		"CSeq: 1 OPTIONS\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		dst, src, i, k, src.Addr(), i, k, dst, i, k, src.Addr(), len(body), body))
}

// gwfJunkMsg is random bytes, or (one time in two) the start of a SIP
// request cut short.
func gwfJunkMsg(rng *rand.Rand, src netip.AddrPort, i, k int) []byte {
	if rng.IntN(2) == 0 {
		m := fmt.Sprintf("INVITE sip:112@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-junk-%d-%d\r\nFrom: <sip:x@%s>;tag=j\r\nCall-ID: junk",
			src, i, k, src.Addr())
		return []byte(m[:1+rng.IntN(len(m)-1)])
	}
	b := make([]byte, 16+rng.IntN(1400))
	for j := range b {
		b[j] = byte(rng.Uint32())
	}
	return b
}
