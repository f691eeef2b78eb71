package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"lifeline/hal/gateway"
	"lifeline/hal/gateway/dialplan"
	"lifeline/hal/modem"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/modem/modemtest"
	"lifeline/hal/voice"
	"lifeline/hal/voice/rtp"
	"lifeline/hal/voice/sdp"
	"lifeline/hal/voice/voicetest"
)

func TestMain(m *testing.M) {
	flag.Parse()
	sip.SetDefaultLogger(logger()) // global in sipgo: once, before any UA runs
	// The phone's sipgo UA closes its client sockets on Close but does not
	// wait for their reader goroutines; under emulation one can outlive
	// the last test. It is the test phone's, not the gateway's.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readListenerConnection"))
}

// safety is the real-clock net: the tests wait on SIP messages, packets
// and states, never on time, but must not hang.
const safety = 15 * time.Second

var loopback = netip.MustParseAddr("127.0.0.1")

func logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// rig is the gateway on loopback in front of a Line on the analog profile
// over a VoiceSim on a pty, and a sipgo UAC as the phone.
type rig struct {
	t      *testing.T
	sim    *modemsim.VoiceSim
	line   *modem.Line
	gwAddr *net.UDPAddr
	dc     *sipgo.DialogClientCache
	byes   chan struct{}
	states chan modem.State
	gw     *gateway.Gateway
	// The phone's side of calls from the line: each INVITE the gateway
	// sends, for the test to answer.
	dsc     *sipgo.DialogServerCache
	invites chan phoneInvite
	changed chan struct{} // OnCallsChanged
	quit    chan struct{} // closed when the test ends: the phone's handlers return
}

// phoneInvite is an INVITE from the gateway at the phone; the test answers
// on dlg. done closes when the phone's handler may return.
type phoneInvite struct {
	req  *sip.Request
	dlg  *sipgo.DialogServerSession
	done chan struct{}
}

func newRig(t *testing.T, simOpts ...modemsim.VoiceOption) *rig {
	t.Helper()
	return newRigWith(t, nil, simOpts...)
}

// newRigWith is newRig with the gateway's and the line profile's
// configuration changed by mut (nil: none). The phone's own address is
// phoneURI (its user "phone") for Config.Incoming.
func newRigWith(t *testing.T, mut func(c *gateway.Config, p *modem.Profile, phoneURI string), simOpts ...modemsim.VoiceOption) *rig {
	t.Helper()
	modemtest.NeedPTY(t)
	p, err := modem.LoadProfile("analog")
	if err != nil {
		t.Fatal(err)
	}
	p.Hangup.DTRDrop = 0
	// The simulator's G.711 methods too, so PCMA needs no transcoding.
	p.Voice.Formats = []modem.VoiceFormat{{VSM: 1, Format: "linear8u"}, {VSM: 4, Format: "ulaw"}, {VSM: 5, Format: "alaw"}}
	simOpts = append([]modemsim.VoiceOption{modemsim.VoiceRings(1, 10*time.Millisecond), modemsim.VoiceLogger(logger())}, simOpts...)
	sim, err := modemsim.NewVoice(t.TempDir(), simOpts...)
	if err != nil {
		t.Fatal(err)
	}
	sim.SetPlayback(modemsim.PlayEchoPaced)
	r := &rig{t: t, sim: sim, byes: make(chan struct{}, 4), invites: make(chan phoneInvite, 4), changed: make(chan struct{}, 16),
		quit: make(chan struct{})}
	// The phone: a UA with its own listening socket for the gateway's
	// INVITEs and BYEs.
	phoneConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("needs loopback UDP: %v", err)
	}
	pa := phoneConn.LocalAddr().(*net.UDPAddr)
	gwCfg := gateway.Config{Line: nil, RTPAddr: loopback, Logger: logger(), JitterDepth: 16, JitterPrefill: 4,
		OnCallsChanged: func() {
			select {
			case r.changed <- struct{}{}:
			default:
			}
		}}
	if mut != nil {
		mut(&gwCfg, p, fmt.Sprintf("sip:phone@127.0.0.1:%d", pa.Port))
	}
	states := make(chan modem.State, 64)
	r.states = states
	r.line = modem.New(sim.Path(), p, modem.WithLogger(logger()), modem.WithHealthInterval(time.Hour),
		modem.WithStateFunc(func(c modem.StateChange) {
			select {
			case states <- c.To:
			default:
			}
		}))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.line.Run(ctx) }()

	sipConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		cancel()
		wg.Wait()
		t.Skipf("needs loopback UDP: %v", err)
	}
	r.gwAddr = sipConn.LocalAddr().(*net.UDPAddr)
	if gwCfg.Line == nil { // mut may plug another line kind in
		gwCfg.Line = r.line.Calls()
	}
	gwCfg.Conn = sipConn
	gw, err := gateway.New(gwCfg)
	if err != nil {
		t.Fatal(err)
	}
	r.gw = gw
	wg.Add(1)
	go func() { defer wg.Done(); gw.Run(ctx) }()

	ua, _ := sipgo.NewUA(sipgo.WithUserAgent("phone"), sipgo.WithUserAgentHostname("127.0.0.1"))
	srv, _ := sipgo.NewServer(ua)
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "phone", Host: "127.0.0.1", Port: pa.Port}}
	r.dc = sipgo.NewDialogClientCache(cli, contact)
	r.dsc = sipgo.NewDialogServerCache(cli, contact)
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		err := r.dc.ReadBye(req, tx)
		if errors.Is(err, sipgo.ErrDialogDoesNotExists) {
			err = r.dsc.ReadBye(req, tx)
		}
		if err != nil {
			t.Errorf("BYE from the gateway: %v", err)
		}
		r.byes <- struct{}{}
	})
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		dlg, err := r.dsc.ReadInvite(req, tx)
		if err != nil {
			t.Errorf("INVITE from the gateway: %v", err)
			return
		}
		inv := phoneInvite{req: req, dlg: dlg, done: make(chan struct{})}
		select {
		case r.invites <- inv:
		case <-r.quit:
			return
		}
		select {
		case <-inv.done:
		case <-r.quit:
		}
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { r.dsc.ReadAck(req, tx) })
	wg.Add(1)
	go func() { defer wg.Done(); srv.ServeUDP(phoneConn) }()
	t.Cleanup(func() {
		close(r.quit)
		cancel()
		ua.Close()
		phoneConn.Close()
		wg.Wait()
		sim.Close()
	})
	deadline := time.After(safety)
	for st := modem.StateAbsent; st != modem.StateIdle; {
		select {
		case st = <-states:
		case <-deadline:
			t.Fatal("line never idle")
		}
	}
	return r
}

// ctx bounds one step on the real clock.
func (r *rig) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	r.t.Cleanup(cancel)
	return ctx
}

// call is one INVITE from the phone and its final response.
type call struct {
	sess  *sipgo.DialogClientSession
	codes []int
	err   error
}

// invite sends an INVITE for user with offer and waits for the final
// response; onResponse sees every response (to cancel on 180).
func (r *rig) invite(ctx context.Context, user string, offer []byte, onResponse func(*sip.Response)) *call {
	r.t.Helper()
	return r.inviteURI(ctx, sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: r.gwAddr.Port}, offer, onResponse)
}

// inviteURI is invite with a whole Request-URI and extra headers.
func (r *rig) inviteURI(ctx context.Context, ruri sip.Uri, offer []byte, onResponse func(*sip.Response), hdrs ...sip.Header) *call {
	r.t.Helper()
	sess, err := r.dc.Invite(ctx, ruri, offer, append(hdrs, sip.NewHeader("Content-Type", "application/sdp"))...)
	if err != nil {
		r.t.Fatalf("INVITE: %v", err)
	}
	r.t.Cleanup(func() { sess.Close() })
	c := &call{sess: sess}
	var mu sync.Mutex
	c.err = sess.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
		mu.Lock()
		c.codes = append(c.codes, int(res.StatusCode))
		mu.Unlock()
		if onResponse != nil {
			onResponse(res)
		}
		return nil
	}})
	if sess.InviteResponse != nil {
		c.codes = append(c.codes, int(sess.InviteResponse.StatusCode))
	}
	return c
}

// dial invites user with an offer for a fresh RTP socket of the test
// (which nothing reads) and waits for the final response.
func (r *rig) dial(user string) *call {
	r.t.Helper()
	_, port := voicetest.EvenUDP(r.t)
	return r.invite(r.ctx(), user, offerFor(r.t, port), nil)
}

// answered is dial for a call that must be answered with 200; it
// acknowledges the answer. what names the call in a failure.
func (r *rig) answered(what, user string) *call {
	r.t.Helper()
	c := r.dial(user)
	if c.err != nil || c.codes[len(c.codes)-1] != 200 {
		r.t.Fatalf("%s: %v, responses %v; want 200", what, c.err, c.codes)
	}
	if err := c.sess.Ack(r.ctx()); err != nil {
		r.t.Fatal(err)
	}
	return c
}

func offerFor(t *testing.T, port int, codecs ...string) []byte {
	t.Helper()
	b, err := sdp.Offer(sdp.Local{Addr: loopback, Port: port, SessionID: 7, Version: 1}, codecs...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitIdle waits until the line is idle again (which it becomes only
// once the modem is on hook and out of voice mode).
func (r *rig) waitIdle() {
	r.t.Helper()
	deadline := time.After(safety)
	for {
		select {
		case st := <-r.states:
			if st != modem.StateIdle {
				continue
			}
			if r.sim.InCall() || r.sim.Mode() != "command" {
				r.t.Fatalf("line idle, but the sim is in call %v, mode %s", r.sim.InCall(), r.sim.Mode())
			}
			return
		case <-deadline:
			st, why := r.line.Status()
			r.t.Fatalf("line %v (%s), sim in call %v mode %s", st, why, r.sim.InCall(), r.sim.Mode())
		}
	}
}

// TestCallEchoAndHangup: a prefixed call goes out with the prefix
// stripped; 100, 180, 200 with PCMA; one second of audio comes back from
// the far end's echo and is compared frame by frame; then a BYE from the
// phone, or the far end hanging up (the gateway's BYE), ends it.
func TestCallEchoAndHangup(t *testing.T) {
	for _, tc := range []struct {
		name   string
		codecs []string
		pt     uint8
		hangup string // "phone" or "line"
	}{
		{"PCMA, phone hangs up", []string{"PCMA"}, rtp.PayloadPCMA, "phone"},
		{"PCMU, far end hangs up", []string{"PCMU", "PCMA"}, rtp.PayloadPCMU, "line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The line rings for 300 ms and its dial counts as accepted
			// after 1 ms, so the 180 leaves well before the 200. With the
			// rig's 10 ms ring the call was up before AlertAfter, the 180
			// went out right before the 200, and the test phone (sipgo)
			// could take the two in the other order and drop the 180.
			r := newRigWith(t, func(_ *gateway.Config, p *modem.Profile, _ string) {
				p.Voice.AlertAfter = modem.Duration(time.Millisecond)
			}, modemsim.VoiceRings(1, 300*time.Millisecond))
			phone, port := voicetest.EvenUDP(t)
			defer phone.Close()
			c := r.invite(r.ctx(), "*005551234", offerFor(t, port, tc.codecs...), nil)
			if c.err != nil {
				t.Fatalf("INVITE: %v (responses %v)", c.err, c.codes)
			}
			if !slices.Contains(c.codes, 180) || c.codes[len(c.codes)-1] != 200 {
				t.Fatalf("responses %v, want 180 then 200", c.codes)
			}
			if err := c.sess.Ack(r.ctx()); err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(r.sim.Commands(), "ATDT5551234") {
				t.Fatalf("the prefix was not stripped: %q", r.sim.Commands())
			}
			ans, err := sdp.Parse(c.sess.InviteResponse.Body())
			if err != nil {
				t.Fatal(err)
			}
			m := ans.Media[0]
			if len(m.Formats) == 0 || m.Formats[0] != map[uint8]string{8: "8", 0: "0"}[tc.pt] {
				t.Fatalf("answer %+v", m)
			}
			codecFmt, _ := voice.CodecFormat(tc.codecs[0])
			echoCheck(t, phone, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: m.Port}, tc.pt, codecFmt)
			switch tc.hangup {
			case "phone":
				if err := c.sess.Bye(r.ctx()); err != nil {
					t.Fatal(err)
				}
			case "line":
				if err := r.sim.HangupRemote(); err != nil {
					t.Fatal(err)
				}
				select {
				case <-r.byes:
				case <-time.After(safety):
					t.Fatal("no BYE from the gateway after the far end hung up")
				}
			}
			r.waitIdle()
			cmds := r.sim.Commands()
			if i := slices.Index(cmds, "AT+VTR"); i < 0 || !slices.Contains(cmds[i:], "ATH0") {
				t.Fatalf("never hung up: %q", cmds)
			}
		})
	}
}

// echoCheck sends audio in codec f (payload type pt) from phone to the
// gateway's RTP address gwRTP, one frame per packet received (after four
// to start), and checks the far end's echo: every frame that comes back
// is one that was sent, unaltered, and in the order sent, and echoNeed of
// them come back among at most echoFrames sent. A starved machine
// (stress-ng on every core, the race detector) loses frames on a
// real-time path as any would; how many a call loses is measured by
// BenchmarkGatewayCall (cmd/lifeline), not asserted here.
func echoCheck(t *testing.T, phone *net.UDPConn, gwRTP *net.UDPAddr, pt uint8, f voice.Format) {
	t.Helper()
	const echoFrames, echoNeed = 250, 50
	frames := voicetest.Tone(f, echoFrames)
	pk := rtp.NewPacketizer(pt, 42, 100, 1000)
	sent := 0
	send := func() {
		if sent < len(frames) {
			if _, err := phone.WriteTo(pk.Packet(frames[sent], voice.FrameSamples), gwRTP); err != nil {
				t.Fatal(err)
			}
			sent++
		}
	}
	// The line's silence queued since the call came up would pace a burst
	// of sends below: drop it.
	voicetest.Drain(t, phone)
	for range 4 {
		send()
	}
	silence := bytes.Repeat([]byte{f.SilenceByte()}, voice.FrameSamples)
	var h rtp.Header
	buf := make([]byte, 2048)
	next, echoed := 0, 0 // the first frame an echo may still be; frames echoed
	phone.SetReadDeadline(time.Now().Add(safety))
	for packets := 0; echoed < echoNeed; packets++ {
		n, _, err := phone.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d packets, %d frames echoed: %v", packets, echoed, err)
		}
		payload, err := h.Unmarshal(buf[:n])
		if err != nil || h.PayloadType != pt {
			t.Fatalf("bad RTP %+v: %v", h, err)
		}
		if packets > len(frames)+50 {
			t.Fatalf("%d packets, %d frames echoed of %d sent", packets, echoed, sent)
		}
		send()
		if bytes.Equal(payload, silence) {
			continue
		}
		i := slices.IndexFunc(frames[next:sent], func(fr []byte) bool { return bytes.Equal(fr, payload) })
		if i < 0 {
			t.Fatalf("packet %d: the echo is none of frames %d to %d sent (altered, or out of order)", packets, next, sent-1)
		}
		next += i + 1
		echoed++
	}
	if lost := next - echoed; lost > 0 {
		t.Logf("%d of the first %d frames sent did not come back (a loaded machine)", lost, next)
	}
}

// TestCallFailures: each way a call can fail maps to its SIP response.
func TestCallFailures(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(*rig)
		codecs []string
		want   int
	}{
		{"busy", func(r *rig) { r.sim.SetAnswer(modemsim.AnswerBusy) }, nil, 486},
		{"no answer", func(r *rig) { r.sim.SetAnswer(modemsim.AnswerNever) }, nil, 480},
		{"no dial tone", func(r *rig) { r.sim.SetLine(false) }, nil, 503},
		{"line absent", func(r *rig) { r.sim.Close() }, nil, 503},
		{"no common codec", nil, []string{"G722"}, 488},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			if tc.setup != nil {
				tc.setup(r)
			}
			_, port := voicetest.EvenUDP(t)
			var offer []byte
			if tc.codecs != nil {
				offer = []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
					"m=audio " + itoa(port) + " RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n")
			} else {
				offer = offerFor(t, port)
			}
			c := r.invite(r.ctx(), "5551234", offer, nil)
			if c.err == nil {
				t.Fatalf("call up, responses %v", c.codes)
			}
			if last := c.codes[len(c.codes)-1]; last != tc.want {
				t.Fatalf("responses %v, want final %d", c.codes, tc.want)
			}
			// No 180 before the modem has accepted the dial: a line
			// without a dial tone never rang.
			if tc.name == "no dial tone" && slices.Contains(c.codes, 180) {
				t.Fatalf("responses %v: 180 for a dial the modem refused", c.codes)
			}
			if r.sim.InCall() {
				t.Fatal("sim in call")
			}
		})
	}
}

// TestCancelDuringDial: a CANCEL while the far end rings aborts the dial.
func TestCancelDuringDial(t *testing.T) {
	r := newRig(t, modemsim.VoiceRings(1000, time.Hour))
	_, port := voicetest.EvenUDP(t)
	ctx, cancel := context.WithCancel(r.ctx())
	c := r.invite(ctx, "5551234", offerFor(t, port), func(res *sip.Response) {
		if res.StatusCode == 180 {
			cancel()
		}
	})
	if !errors.Is(c.err, context.Canceled) {
		t.Fatalf("WaitAnswer = %v, responses %v", c.err, c.codes)
	}
	r.waitIdle()
	// The 180 comes once the modem has accepted the dial, so the CANCEL
	// found the line ringing: the dial went out, was aborted, voice mode
	// was left and no call came up.
	cmds := r.sim.Commands()
	i := slices.Index(cmds, "AT+FCLASS=8")
	if i < 0 || !slices.Contains(cmds[i:], "ATDT5551234") || !slices.Contains(cmds[i:], "AT+FCLASS=0") || slices.Contains(cmds[i:], "AT+VTR") {
		t.Fatalf("dial not aborted: %q", cmds)
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"busy", modem.ErrBusy, 486},
		{"line busy", modem.ErrLineBusy, 486},
		{"no answer", modem.ErrNoAnswer, 480},
		{"no carrier", modem.ErrNoCarrier, 480},
		{"no dial tone", modem.ErrNoDialtone, 503},
		{"absent", modem.ErrNotReady, 503},
		{"no voice", modem.ErrNoVoice, 503},
		{"timeout", modem.ErrTimeout, 503},
		{"bad number", modem.ErrBadNumber, 484},
		{"cancelled", context.Canceled, 487},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := gateway.Status(tc.err); got != tc.want {
				t.Fatalf("Status(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

func TestNumber(t *testing.T) {
	c, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer c.Close()
	for _, tc := range []struct{ prefix, in, want string }{
		{"", "*005551234", "5551234"},
		{"", "5551234", "5551234"},
		{"", "*00-555-1234", "5551234"},
		{"9", "95551234", "5551234"},
		{"-", "*005551234", "*005551234"},
		{"", "%2A00%2A21%23", "*21#"},
		{"", "+4930123", "030123"},
		{"", "+33123", "0033123"},
		{"", "030123;phone-context=+49", "030123"},
	} {
		g, err := gateway.New(gateway.Config{Line: (*modem.Line)(nil).Calls(), Conn: c, RTPAddr: loopback, Prefix: tc.prefix,
			Numbering: dialplan.Numbering{CountryCode: "49", InternationalPrefix: "00", NationalPrefix: "0"}})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := g.Number(tc.in); err != nil || got != tc.want {
			t.Errorf("prefix %q: Number(%q) = %q, %v; want %q", tc.prefix, tc.in, got, err, tc.want)
		}
	}
	if _, err := gateway.New(gateway.Config{Conn: c, RTPAddr: loopback}); !errors.Is(err, gateway.ErrConfig) {
		t.Errorf("no line: %v", err)
	}
}

func itoa(n int) string { return netip.AddrPortFrom(loopback, uint16(n)).String()[len("127.0.0.1:"):] }

// TestSecondCallWhileBusy: one line, one call: a second INVITE during a
// call gets 486 and leaves the first call up.
func TestSecondCallWhileBusy(t *testing.T) {
	r := newRig(t)
	first := r.answered("first call", "5551234")
	second := r.dial("5559876")
	if second.err == nil || second.codes[len(second.codes)-1] != 486 {
		t.Fatalf("second call: %v, responses %v; want 486", second.err, second.codes)
	}
	if st := r.line.State(); st != modem.StateInCall || !r.sim.InCall() {
		t.Fatalf("first call lost: line %v, sim in call %v", st, r.sim.InCall())
	}
	calls := r.gw.Calls()
	if len(calls) != 1 || calls[0].Number != "5551234" || calls[0].Codec != "PCMA" || calls[0].Direction != "out" ||
		calls[0].Format != voice.FormatALaw || calls[0].Started.IsZero() {
		t.Fatalf("Calls = %+v", calls)
	}
	if err := first.sess.Bye(r.ctx()); err != nil {
		t.Fatal(err)
	}
	r.waitIdle()
	if calls := r.gw.Calls(); len(calls) != 0 {
		t.Fatalf("Calls after the BYE = %+v", calls)
	}
}

// An emergency number takes the line from a call that is not an
// emergency call: that call's phone gets a BYE, the line hangs up and
// dials the emergency number. A second emergency call does not pre-empt
// the first.
func TestEmergencyPreempts(t *testing.T) {
	r := newRigWith(t, func(c *gateway.Config, _ *modem.Profile, _ string) { c.Emergency = []string{"112"} })
	r.answered("first call", "5551234")
	emergency := r.answered("emergency call", "112")
	select {
	case <-r.byes:
	case <-time.After(safety):
		t.Fatal("the pre-empted call's phone got no BYE")
	}
	cmds := r.sim.Commands()
	i := slices.Index(cmds, "ATDT5551234")
	j := slices.Index(cmds, "ATDT112")
	if i < 0 || j < i || !slices.Contains(cmds[i:j], "ATH0") {
		t.Fatalf("want the first call hung up before 112 is dialled: %q", cmds)
	}
	if calls := r.gw.Calls(); len(calls) != 1 || calls[0].Number != "112" {
		t.Fatalf("Calls = %+v, want the emergency call only", calls)
	}
	again := r.dial("112")
	if again.err == nil || again.codes[len(again.codes)-1] != 486 {
		t.Fatalf("second emergency call: %v, responses %v; want 486", again.err, again.codes)
	}
	for len(r.states) > 0 { // the idle between the two calls is history
		<-r.states
	}
	if err := emergency.sess.Bye(r.ctx()); err != nil {
		t.Fatal(err)
	}
	r.waitIdle()
}
