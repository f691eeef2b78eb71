package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"lifeline/hal/kamailio/siprig"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/modem/modemtest"
	"lifeline/hal/voice"
	"lifeline/hal/voice/rtp"
	"lifeline/hal/voice/sdp"
	"lifeline/hal/voice/voicetest"
)

// The gateway end to end: the real binary (lifelineBin) on the
// generic board, its line a modemsim.VoiceSim made by the test (the analog
// profile, so the bridge transcodes PCMA to the modem's 8-bit linear), a
// sipgo UAC in the test as the phone.

// The gateway tests' configs start alike: the hooks directory, the line's
// device and the gateway's port, in that order, are their first Sprintf
// arguments.
const (
	gwLineConfig = `config lifeline 'main'
	option wan_interface 'lo'
	option hooks_dir '%s'

config line 'pstn'
	option device '%s'
	option profile 'analog'

config gateway 'gw'
	option listen '127.0.0.1:%d'
`
	gwE2EConfig = gwLineConfig + `	option prefix '*00'
	list emergency '112'
`
	// gwProxyConfig follows with the control socket and the provider's
	// and the gateway's URIs.
	gwProxyConfig = `
config proxy 'kamailio'
	option socket '%s'
	option provider_uri '%s'
	option pstn_uri '%s'
	option check_interval '200ms'
`
)

// sipPhone is a sipgo UA with its own socket (for the gateway's BYE).
type sipPhone struct {
	t    *testing.T
	dc   *sipgo.DialogClientCache
	gw   int           // the gateway's SIP port
	byes chan struct{} // a BYE from the gateway was answered
}

var sipLogOnce sync.Once

func newSIPPhone(t *testing.T, gwPort int) *sipPhone {
	t.Helper()
	sipLogOnce.Do(func() { sip.SetDefaultLogger(slog.New(slog.DiscardHandler)) })
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("phone"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua)
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	p := &sipPhone{t: t, gw: gwPort, byes: make(chan struct{}, 4)}
	p.dc = sipgo.NewDialogClientCache(cli, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "phone", Host: "127.0.0.1",
		Port: conn.LocalAddr().(*net.UDPAddr).Port}})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := p.dc.ReadBye(req, tx); err == nil {
			p.byes <- struct{}{}
		}
	})
	served := make(chan struct{})
	go func() { defer close(served); srv.ServeUDP(conn) }()
	t.Cleanup(func() {
		ua.Close()
		conn.Close()
		<-served
	})
	return p
}

// invite calls user and waits for the final response; codes are every
// response seen, provisional ones included.
func (p *sipPhone) invite(user string, rtpPort int) (*sipgo.DialogClientSession, []int, error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	offer, err := sdp.Offer(sdp.Local{Addr: loopback4, Port: rtpPort, SessionID: 7, Version: 1}, "PCMA")
	if err != nil {
		p.t.Fatal(err)
	}
	sess, err := p.dc.Invite(ctx, sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: p.gw}, offer,
		sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		p.t.Fatalf("INVITE: %v", err)
	}
	p.t.Cleanup(func() { sess.Close() })
	var mu sync.Mutex
	var codes []int
	err = sess.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
		mu.Lock()
		codes = append(codes, int(res.StatusCode))
		mu.Unlock()
		return nil
	}})
	mu.Lock()
	defer mu.Unlock()
	if sess.InviteResponse != nil && (len(codes) == 0 || codes[len(codes)-1] != int(sess.InviteResponse.StatusCode)) {
		codes = append(codes, int(sess.InviteResponse.StatusCode))
	}
	return sess, codes, err
}

func stepCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newGatewayE2E prepares the binary built with the gateway, on the generic
// board, and a voice modem simulator for its line that answers after one
// ring (of 10 ms; opts may change that) and echoes at the modem's pace. It
// skips without pseudo-terminals.
func newGatewayE2E(t *testing.T, opts ...modemsim.VoiceOption) (*e2e, *modemsim.VoiceSim) {
	t.Helper()
	modemtest.NeedPTY(t)
	sim, err := modemsim.NewVoice(t.TempDir(), append([]modemsim.VoiceOption{modemsim.VoiceRings(1, 10*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	sim.SetPlayback(modemsim.PlayEchoPaced)
	e := e2eWith(t, lifelineBin(t))
	e.board = "generic"
	return e, sim
}

func TestE2EGatewayCallOverTheLine(t *testing.T) {
	e, sim := newGatewayE2E(t)
	sipPort := siprig.FreePort(t)
	e.writeConfig(fmt.Sprintf(gwE2EConfig, filepath.Join(e.dir, "hooks.d"), sim.Path(), sipPort))
	if out, errs, code := e.cli("check", "-c", e.cfg, "--board", "generic"); code != 0 {
		t.Fatalf("check: exit %d: %s%s", code, out, errs)
	}
	e.start()
	st := e.waitFor("line idle", func(st map[string]any) bool { return field(st, "line.state") == "idle" })
	if calls, ok := st["calls"].([]any); !ok || len(calls) != 0 {
		t.Fatalf("calls = %#v, want []", st["calls"])
	}
	e.waitLog("SIP-to-line gateway")
	phone := newSIPPhone(t, sipPort)

	t.Run("call, echo, status, BYE", func(t *testing.T) {
		rtpConn, rtpPort := voicetest.EvenUDP(t)
		sess, codes, err := phone.invite("*005551234", rtpPort)
		if err != nil {
			t.Fatalf("INVITE: %v (responses %v)\nlog:\n%s", err, codes, e.stderr)
		}
		if !slices.Contains(codes, 100) || !slices.Contains(codes, 180) || codes[len(codes)-1] != 200 {
			t.Fatalf("responses %v, want 100, 180, 200", codes)
		}
		if err := sess.Ack(stepCtx(t)); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(sim.Commands(), "ATDT5551234") {
			t.Fatalf("the prefix was not stripped: %q", sim.Commands())
		}
		st := e.waitFor("the call in the status", func(st map[string]any) bool {
			calls, _ := st["calls"].([]any)
			return len(calls) == 1
		})
		c := st["calls"].([]any)[0].(map[string]any)
		if c["direction"] != "out" || c["number"] != "5551234" || c["codec"] != "PCMA" || c["format"] != "linear8u" {
			t.Fatalf("call status %v", c)
		}
		if started, err := time.Parse(time.RFC3339Nano, fmt.Sprint(c["started"])); err != nil || time.Since(started) > time.Minute {
			t.Fatalf("started %v: %v", c["started"], err)
		}
		if field(st, "line.state") != "in-call" {
			t.Fatalf("line state during the call: %v", field(st, "line.state"))
		}

		ans, err := sdp.Parse(sess.InviteResponse.Body())
		if err != nil || len(ans.Media) == 0 {
			t.Fatalf("SDP answer: %v", err)
		}
		echoCompare(t, rtpConn, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ans.Media[0].Port})

		if err := sess.Bye(stepCtx(t)); err != nil {
			t.Fatal(err)
		}
		e.waitFor("call gone, line idle", noCallLineIdle)
		if cmds := sim.Commands(); !slices.Contains(cmds[slices.Index(cmds, "ATDT5551234"):], "ATH0") {
			t.Fatalf("never hung up: %q", cmds)
		}
	})

	// A reload that leaves the line and gateway sections as they were
	// keeps them running: a call in progress goes on.
	t.Run("a reload keeps the call", func(t *testing.T) {
		rtpConn, rtpPort := voicetest.EvenUDP(t)
		sess, codes, err := phone.invite("5550000", rtpPort)
		if err != nil || codes[len(codes)-1] != 200 {
			t.Fatalf("call: %v (responses %v)\nlog:\n%s", err, codes, e.stderr)
		}
		if err := sess.Ack(stepCtx(t)); err != nil {
			t.Fatal(err)
		}
		ans, err := sdp.Parse(sess.InviteResponse.Body())
		if err != nil || len(ans.Media) == 0 {
			t.Fatalf("SDP answer: %v", err)
		}
		gwRTP := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ans.Media[0].Port}
		pk := rtp.NewPacketizer(rtp.PayloadPCMA, 42, 100, 1000)
		echoCompareWith(t, rtpConn, gwRTP, pk)
		if err := e.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		e.waitLog("line and gateway unchanged: kept across the reload")
		echoCompareWith(t, rtpConn, gwRTP, pk) // the same call, after the reload
		if n := strings.Count(e.stderr.String(), "SIP-to-line gateway"); n != 1 {
			t.Fatalf("gateway started %d times:\n%s", n, e.stderr)
		}
		e.waitFor("the call in the status after the reload", func(st map[string]any) bool {
			calls, _ := st["calls"].([]any)
			return len(calls) == 1 && field(st, "line.state") == "in-call"
		})
		if err := sess.Bye(stepCtx(t)); err != nil {
			t.Fatal(err)
		}
		e.waitFor("line idle after the call", noCallLineIdle)
	})

	// A changed gateway section restarts the line and the gateway on the
	// same socket address; the next call uses the new prefix.
	t.Run("a changed gateway section restarts it", func(t *testing.T) {
		e.writeConfig(strings.Replace(fmt.Sprintf(gwE2EConfig, filepath.Join(e.dir, "hooks.d"), sim.Path(), sipPort),
			"option prefix '*00'", "option prefix '*01'", 1))
		if err := e.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitLogCount(t, e.stderr, "SIP-to-line gateway", 2)
		e.waitFor("line idle after reload", func(st map[string]any) bool { return field(st, "line.state") == "idle" })
		from := len(sim.Commands())
		_, rtpPort := voicetest.EvenUDP(t)
		sess, codes, err := phone.invite("*015550001", rtpPort)
		if err != nil || codes[len(codes)-1] != 200 {
			t.Fatalf("call after reload: %v (responses %v)\nlog:\n%s", err, codes, e.stderr)
		}
		if err := sess.Ack(stepCtx(t)); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(sim.Commands()[from:], "ATDT5550001") {
			t.Fatalf("the new prefix was not stripped: %q", sim.Commands()[from:])
		}
		if err := sess.Bye(stepCtx(t)); err != nil {
			t.Fatal(err)
		}
		e.waitFor("line idle after the call", noCallLineIdle)
	})

	// The far end hangs up: the gateway sends the phone a BYE.
	t.Run("far end hangs up", func(t *testing.T) {
		_, rtpPort := voicetest.EvenUDP(t)
		sess, codes, err := phone.invite("5551111", rtpPort)
		if err != nil || codes[len(codes)-1] != 200 {
			t.Fatalf("call: %v (responses %v)", err, codes)
		}
		if err := sess.Ack(stepCtx(t)); err != nil {
			t.Fatal(err)
		}
		e.waitFor("the call in the status", func(st map[string]any) bool {
			calls, _ := st["calls"].([]any)
			return len(calls) == 1
		})
		if err := sim.HangupRemote(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-phone.byes:
		case <-stepCtx(t).Done():
			t.Fatalf("no BYE from the gateway after the far end hung up\nlog:\n%s", e.stderr)
		}
		e.waitFor("line idle after the far end hung up", noCallLineIdle)
	})

	t.Run("busy is 486", func(t *testing.T) {
		sim.SetAnswer(modemsim.AnswerBusy)
		defer sim.SetAnswer(modemsim.AnswerAfterRings)
		_, rtpPort := voicetest.EvenUDP(t)
		_, codes, err := phone.invite("5559876", rtpPort)
		if err == nil || len(codes) == 0 || codes[len(codes)-1] != 486 {
			t.Fatalf("responses %v (%v), want a final 486", codes, err)
		}
		e.waitFor("line idle after busy", noCallLineIdle)
	})
}

var loopback4 = netip.MustParseAddr("127.0.0.1")

// echoCompare sends one second of PCMA to the gateway and checks what
// comes back against what the far end's echo must be (echoMatch).
func echoCompare(t *testing.T, conn *net.UDPConn, gw *net.UDPAddr) {
	t.Helper()
	echoCompareWith(t, conn, gw, rtp.NewPacketizer(rtp.PayloadPCMA, 42, 100, 1000))
}

// echoFrames is the echo tests' signal: n A-law frames of a tone, each
// tagged with its number (gwbFrames), and the echo the analog profile's
// simulated line must return of each: the frame through the modem's
// 8-bit linear and back.
func echoFrames(n int) (frames, echo [][]byte) {
	frames, _, echo = gwbFrames(n, voice.FormatLinear8U)
	return frames, echo
}

// echoMatch tells the echoes of tagged frames by their content: a
// payload other than silence must be one of the expected echoes, byte for
// byte, each later than the one before. Under load the line may lose a
// frame or two; echoes out of order, twice or altered are a bug.
type echoMatch struct {
	idx     map[string]int
	silence []byte
	last    int // the frame last echoed, -1 before the first
	matched int
	corrupt int   // neither silence nor an expected echo
	order   []int // echoes out of order or twice
}

func newEchoMatch(echo [][]byte) *echoMatch {
	m := &echoMatch{idx: make(map[string]int, len(echo)), last: -1,
		silence: bytes.Repeat([]byte{voice.FormatALaw.SilenceByte()}, voice.FrameSamples)}
	for k, e := range echo {
		m.idx[string(e)] = k
	}
	return m
}

// feed takes one RTP payload from the gateway and reports whether it was
// an expected echo.
func (m *echoMatch) feed(payload []byte) bool {
	k, ok := m.idx[string(payload)]
	switch {
	case ok && k > m.last:
		m.last = k
		m.matched++
		return true
	case ok:
		m.order = append(m.order, k)
	case !bytes.Equal(payload, m.silence):
		m.corrupt++
	}
	return false
}

// echoNeed is how many echoes a SIPp call's fixed stream must get back
// exact and in order. A starved machine (stress-ng on every core, the
// race detector) loses frames on the real-time path, about half of them
// at worst seen; how many a call loses is measured by BenchmarkGatewayCall,
// not asserted by these tests, which prove that the audio flows both
// ways unaltered and in order.
const echoNeed = 20

// check fails t unless need of the frames sent came back exact and in
// order, and none out of order or twice; what was lost is logged.
func (m *echoMatch) check(t *testing.T, sent, need int) {
	t.Helper()
	if len(m.order) > 0 || m.matched < need {
		t.Fatalf("of %d frames sent, %d echoed exact and in order (want %d), %d altered, out of order or twice: %v",
			sent, m.matched, need, m.corrupt, m.order)
	}
	if lost := m.last + 1 - m.matched; lost > 0 {
		t.Logf("%d of the first %d frames sent did not come back (a loaded machine)", lost, m.last+1)
	}
}

// echoTail is how many RTP packets from the gateway (20 ms of the line's
// clock each, not of the test's) the echo tests wait after the last frame
// sent for the last echoes.
const echoTail = 50

// echoCompareWith is echoCompare continuing the stream of pk (a second
// second of the same call keeps its sequence numbers going). It sends
// tagged frames, one for each packet the gateway sends (the line's pace),
// 4 ahead, until 50 have come back (of at most 250 sent).
func echoCompareWith(t *testing.T, conn *net.UDPConn, gw *net.UDPAddr, pk *rtp.Packetizer) {
	t.Helper()
	echoCompareLine(t, conn, gw, pk, voice.FormatLinear8U)
}

// echoCompareLine is echoCompareWith on a line of format lineFmt (the
// echo is each frame through lineFmt and back).
func echoCompareLine(t *testing.T, conn *net.UDPConn, gw *net.UDPAddr, pk *rtp.Packetizer, lineFmt voice.Format) {
	t.Helper()
	const want = 50
	frames, _, echo := gwbFrames(5*want, lineFmt)
	m := newEchoMatch(echo)
	// Packets queued while nobody read (the line's silence) would pace a
	// burst of sends below, deeper than the jitter buffer: drop them.
	voicetest.Drain(t, conn)
	buf := make([]byte, 2048)
	sent := 0
	send := func() {
		if sent < len(frames) {
			if _, err := conn.WriteTo(pk.Packet(frames[sent], voice.FrameSamples), gw); err != nil {
				t.Fatal(err)
			}
			sent++
		}
	}
	for range 4 {
		send()
	}
	var h rtp.Header
	conn.SetReadDeadline(time.Now().Add(30 * time.Second)) // safety net: the gateway sends every 20 ms
	// Once want have come back, no more is sent, and the frames still on
	// their way are read for 20 more of the line's packets: a second
	// compare in the same call must not meet them.
	tail, drain := 0, echoTail
	for tail < drain {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d frames sent, %d echoed: %v", sent, m.matched, err)
		}
		payload, err := h.Unmarshal(buf[:n])
		if err != nil || h.PayloadType != rtp.PayloadPCMA {
			t.Fatalf("bad RTP %+v: %v", h, err)
		}
		m.feed(payload)
		switch {
		case m.matched >= want:
			tail, drain = tail+1, min(drain, 20)
		case sent == len(frames):
			tail++
		default:
			send()
		}
	}
	m.check(t, sent, want)
}

// waitLogCount waits until the log has said s n times.
func waitLogCount(t *testing.T, l *logBuffer, s string, n int) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		l.mu.Lock()
		found, ch := strings.Count(l.b.String(), s) >= n, l.changed
		l.mu.Unlock()
		if found {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("log never said %q %d times:\n%s", s, n, l)
		}
	}
}
