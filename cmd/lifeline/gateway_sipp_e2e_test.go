package main

// The gateway's call outcomes through the reference setup: SIPp UACs call
// through Kamailio (the shipped scripts/kamailio/lifeline.cfg, run by
// lifeline/hal/kamailio/siprig) whose next hop and line numbers the daemon
// keeps; the daemon's gateway carries the calls onto a
// modemsim.VoiceSim. Each failure of the line maps to its SIP response,
// CANCEL aborts the dial, a far-end hang-up reaches the caller as a BYE,
// and the dial prefix and emergency numbers go out over the line while
// the route is sip. Skips without kamailio or sipp, or with -short.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"lifeline/hal/voice/voicetest"

	"lifeline/hal/kamailio"
	"lifeline/hal/kamailio/siprig"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/voice/rtp"
)

const gwSIPpConfig = gwE2EConfig + gwProxyConfig

// sippOffer is the INVITE every scenario below sends: an SDP offer of PCMA
// and PCMU whose media address (RTP_PORT) is a socket of the test.
var sippOffer = sippInvite(`      v=0
      o=user1 53655765 2353687637 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio RTP_PORT RTP/AVP 8 0
      a=rtpmap:8 PCMA/8000
      a=rtpmap:0 PCMU/8000
      a=ptime:20
`)

// sippInvite is an INVITE step (retransmitted) with sdp as its body.
func sippInvite(sdp string) string {
	return `
  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

` + sdp + `
    ]]>
  </send>
`
}

// sippInDialog is a request inside the dialog, along the route set; an
// ACK is sent once (it has no response), others retransmitted.
func sippInDialog(method string, cseq int) string {
	retrans := ` retrans="500"`
	if method == "ACK" {
		retrans = ""
	}
	return fmt.Sprintf(`
  <send%[3]s>
    <![CDATA[

      %[1]s [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: %[2]d %[1]s
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
`, method, cseq, retrans)
}

// sippAckNon2xx acknowledges a final error response on the INVITE's branch
// ([branch-N]: the INVITE is N scenario steps back).
func sippAckNon2xx(back int) string {
	return fmt.Sprintf(`
  <send>
    <![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-%d]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
`, back)
}

func sippScenario(name string, steps ...string) string {
	return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="` + name + `">` + strings.Join(steps, "") + "</scenario>\n"
}

// The scenarios. Step indexes matter for [branch-N].
var (
	// A final error response: INVITE(0) 100(1) 180(2) 183(3) CODE(4) ACK(5).
	sippFinal = func(code int) string {
		return sippScenario(fmt.Sprintf("final %d", code), sippOffer,
			sippProvisional,
			fmt.Sprintf(`<recv response="%d"/>`, code), sippAckNon2xx(5))
	}
	// CANCEL once the line rings: INVITE(0) 100(1) 180(2) CANCEL(3)
	// 200(4) 487(5) ACK(6).
	sippCancel = sippScenario("cancel while dialling", sippOffer,
		`<recv response="100" optional="true"/><recv response="180"/>`,
		`
  <send>
    <![CDATA[

      CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-3]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 CANCEL
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
`, `<recv response="200"/><recv response="487"/>`, sippAckNon2xx(6))
	// A call answered and hung up by the caller after HOLD_MS.
	sippCall = sippScenario("call and hang up", sippOffer,
		sippProvisional,
		`<recv response="200" rrs="true"/>`, sippInDialog("ACK", 1), `<pause milliseconds="HOLD_MS"/>`,
		sippInDialog("BYE", 2), `<recv response="200" crlf="true"/>`)
	// A call answered, then hung up by the far end: the caller waits for
	// the BYE and answers it.
	sippFarEnd = sippScenario("far end hangs up", sippOffer,
		sippProvisional,
		`<recv response="200" rrs="true"/>`, sippInDialog("ACK", 1), sippAnswerBye)
)

// sippProvisional takes whichever provisional responses come.
const sippProvisional = `<recv response="100" optional="true"/><recv response="180" optional="true"/><recv response="183" optional="true"/>`

// sippAnswerBye waits for the other side's BYE and answers it.
const sippAnswerBye = `<recv request="BYE" timeout="20000"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
`

// gwSIPp is the daemon with its gateway behind the rig's Kamailio.
type gwSIPp struct {
	t     *testing.T
	e     *e2e
	sim   *modemsim.VoiceSim
	rig   *siprig.Rig
	probe *kamailio.Client
	ctx   context.Context
	gwURI string
	n     int // scenario files written
}

func startGatewaySIPp(t *testing.T) *gwSIPp {
	t.Helper()
	rig := siprig.New(t) // skips without kamailio/sipp or with -short
	// One ring of 300 ms: long enough to CANCEL while dialling, and NO
	// ANSWER (AnswerNever) after two.
	e, sim := newGatewayE2E(t, modemsim.VoiceRings(1, 300*time.Millisecond))
	g := &gwSIPp{t: t, e: e, sim: sim, rig: rig}
	gwPort := siprig.FreePort(t)
	g.gwURI = fmt.Sprintf("sip:127.0.0.1:%d", gwPort)
	e.writeConfig(fmt.Sprintf(gwSIPpConfig, filepath.Join(e.dir, "hooks.d"), sim.Path(), gwPort,
		rig.RPCSocket, rig.ProviderURI, g.gwURI))
	ctx, cancel := context.WithTimeout(context.Background(), 3*kamailioBudget)
	t.Cleanup(cancel)
	g.ctx = ctx
	e.start()
	e.waitFor("line idle", func(st map[string]any) bool { return field(st, "line.state") == "idle" })
	e.waitLog("SIP-to-line gateway")
	g.probe = rig.Client(t, "probe")
	// Loopback has no default route: the daemon starts on pstn. Force sip.
	e.mustCLI("override", "sip")
	e.waitFor("route sip", routeIs("sip"))
	waitNextHop(t, ctx, g.probe, rig.ProviderURI)
	for key, want := range map[string]string{kamailio.KeyLine: g.gwURI, kamailio.KeyPrefix: "*00", kamailio.KeyEmergency: "112"} {
		if got, err := g.probe.Get(ctx, kamailio.Table, key); err != nil || got != want {
			t.Fatalf("Kamailio's %s = %q (%v), want %q", key, got, err, want)
		}
	}
	return g
}

// sipp runs scenario once, calling service through Kamailio, and returns
// its error with SIPp's, Kamailio's and the daemon's logs.
func (g *gwSIPp) sipp(t *testing.T, scenario, service string) error {
	t.Helper()
	return g.sippStart(t, scenario, service)()
}

// sippStart starts SIPp on scenario and returns the function that waits
// for it (callable from any goroutine).
func (g *gwSIPp) sippStart(t *testing.T, scenario, service string) func() error {
	t.Helper()
	_, rtpPort := voicetest.EvenUDP(t)
	for _, r := range [][2]string{{"RTP_PORT", strconv.Itoa(rtpPort)}, {"HOLD_MS", "300"}} {
		scenario = strings.ReplaceAll(scenario, r[0], r[1])
	}
	g.n++
	ctx, cancel := context.WithTimeout(g.ctx, 30*time.Second)
	p := startSIPp(t, ctx, g.rig.Dir, fmt.Sprintf("gw_%d", g.n), scenario, "-p", strconv.Itoa(siprig.FreePort(t)),
		"-s", service, "-timeout", "25s", "-default_behaviors", "all,-abortunexp", fmt.Sprintf("127.0.0.1:%d", g.rig.SIPPort))
	return func() error {
		defer cancel()
		if err := p.wait(); err != nil {
			return fmt.Errorf("calling %s: %w\nkamailio log:\n%s\nlifeline log:\n%s", service, err, g.rig.KamailioLog(), g.e.stderr)
		}
		return nil
	}
}

// sippProc is one SIPp process of a test.
type sippProc struct {
	out     bytes.Buffer
	errFile string // -error_file; its -message_file is errFile+".msg"
	done    chan error
	err     error
	waited  bool
}

// startSIPp writes scenario to dir/name.xml and starts SIPp on it, on
// 127.0.0.1 for one call, tracing errors and messages, with args after
// those; ctx's end kills it.
func startSIPp(t *testing.T, ctx context.Context, dir, name, scenario string, args ...string) *sippProc {
	t.Helper()
	file := filepath.Join(dir, name+".xml")
	p := &sippProc{errFile: filepath.Join(dir, name+"_errors.log"), done: make(chan error, 1)}
	if err := os.WriteFile(file, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	argv := append([]string{"-sf", file, "-i", "127.0.0.1", "-m", "1", "-nostdin",
		"-trace_err", "-error_file", p.errFile, "-trace_msg", "-message_file", p.errFile + ".msg"}, args...)
	cmd := exec.CommandContext(ctx, "sipp", argv...)
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	return p
}

// wait waits for SIPp to exit; its error carries SIPp's output, error log
// and message trace. Call it from one goroutine.
func (p *sippProc) wait() error {
	if !p.waited {
		p.waited = true
		if err := <-p.done; err != nil {
			errs, _ := os.ReadFile(p.errFile)
			msgs, _ := os.ReadFile(p.errFile + ".msg")
			p.err = fmt.Errorf("sipp: %v\n%s\nsipp errors:\n%s\nsipp messages:\n%s", err, p.out.String(), errs, msgs)
		}
	}
	return p.err
}

// idle waits until the call is gone and the line idle again.
func (g *gwSIPp) idle(t *testing.T, what string) {
	t.Helper()
	g.e.waitFor(what, noCallLineIdle)
}

// dialledSince reports whether the line dialled number in its commands
// from index from on.
func (g *gwSIPp) dialledSince(from int, number string) bool {
	return slices.Contains(g.sim.Commands()[from:], "ATDT"+number)
}

// noCallAt fails unless u got no INVITE.
func (g *gwSIPp) noCallAt(t *testing.T, u *siprig.UAS, name string) {
	t.Helper()
	select {
	case id := <-u.Calls():
		t.Fatalf("the %s got a call (%s)", name, id)
	default:
	}
}

// logHas reports whether one line of log has every one of parts.
func logHas(log string, parts ...string) bool {
	for _, l := range strings.Split(log, "\n") {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(l, p) }) {
			return true
		}
	}
	return false
}

func TestE2EGatewaySIPp(t *testing.T) {
	g := startGatewaySIPp(t)
	e, sim, rig := g.e, g.sim, g.rig

	// Route sip: ordinary numbers go to the provider; the dial prefix and
	// the emergency number go out over the line.
	t.Run("route sip: a plain number goes to the provider", func(t *testing.T) {
		from := len(sim.Commands())
		if err := g.sipp(t, sippCall, "5550100"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-rig.Provider.Calls():
		case <-g.ctx.Done():
			t.Fatal("the provider never got the call")
		}
		if slices.ContainsFunc(sim.Commands()[from:], func(c string) bool { return strings.HasPrefix(c, "ATD") }) {
			t.Fatalf("the line dialled: %q", sim.Commands()[from:])
		}
	})
	for _, tc := range []struct{ name, service, dialled string }{
		{"route sip: the prefix goes out over the line", "*005550101", "5550101"},
		{"route sip: the emergency number goes out over the line", "112", "112"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := field(e.status(), "route"); r != "sip" {
				t.Fatalf("route %v, want sip", r)
			}
			from := len(sim.Commands())
			if err := g.sipp(t, sippCall, tc.service); err != nil {
				t.Fatal(err)
			}
			if !g.dialledSince(from, tc.dialled) {
				t.Fatalf("the line did not dial %s: %q", tc.dialled, sim.Commands()[from:])
			}
			g.noCallAt(t, rig.Provider, "provider")
			g.idle(t, "line idle after the call")
			if cmds := sim.Commands()[from:]; !slices.Contains(cmds, "ATH0") {
				t.Fatalf("never hung up: %q", cmds)
			}
		})
	}
	// An emergency call the line cannot carry is tried at the route's next
	// hop; a prefixed one gets the line's answer.
	t.Run("route sip: line down, the emergency call falls over to the provider", func(t *testing.T) {
		sim.SetLine(false)
		defer sim.SetLine(true)
		if err := g.sipp(t, sippCall, "112"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-rig.Provider.Calls():
		case <-g.ctx.Done():
			t.Fatal("the provider never got the emergency call")
		}
		// The gateway answers 503; Kamailio, as a proxy, must not forward
		// a 503 and sends 500 (RFC 3261 section 16.7, step 6).
		if err := g.sipp(t, sippFinal(500), "*005550102"); err != nil {
			t.Fatal(err)
		}
		g.noCallAt(t, rig.Provider, "provider")
		if !logHas(e.stderr.String(), `msg="gateway: call failed"`, "number=5550102", "code=503") {
			t.Fatalf("the gateway did not answer 503:\n%s", e.stderr)
		}
	})

	e.mustCLI("override", "pstn")
	e.waitFor("route pstn", routeIs("pstn"))
	e.waitLog("proxy next hop set\" route=pstn")
	waitNextHop(t, g.ctx, g.probe, g.gwURI)

	// code is what the caller gets through Kamailio, gw what the gateway
	// answered (a proxy turns 503 into 500: RFC 3261 section 16.7).
	for i, tc := range []struct {
		name     string
		setup    func() func()
		code, gw int
	}{
		{"busy is 486", func() func() {
			sim.SetAnswer(modemsim.AnswerBusy)
			return func() { sim.SetAnswer(modemsim.AnswerAfterRings) }
		}, 486, 486},
		{"no answer is 480", func() func() {
			sim.SetAnswer(modemsim.AnswerNever)
			return func() { sim.SetAnswer(modemsim.AnswerAfterRings) }
		}, 480, 480},
		{"no dial tone is 503", func() func() {
			sim.SetLine(false)
			return func() { sim.SetLine(true) }
		}, 500, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			undo := tc.setup()
			undone := false
			defer func() {
				if !undone {
					undo()
				}
			}()
			from := len(sim.Commands())
			number := fmt.Sprintf("55502%02d", i)
			if err := g.sipp(t, sippFinal(tc.code), number); err != nil {
				t.Fatal(err)
			}
			if !logHas(e.stderr.String(), `msg="gateway: call failed"`, "number="+number, fmt.Sprintf("code=%d", tc.gw)) {
				t.Fatalf("the gateway did not answer %d:\n%s", tc.gw, e.stderr)
			}
			if !g.dialledSince(from, number) {
				t.Fatalf("the line did not dial: %q", sim.Commands()[from:])
			}
			undo()
			undone = true
			if tc.gw == 503 { // the dial found no dial tone: the line says so
				e.waitFor("line no-line after NO DIALTONE", func(st map[string]any) bool {
					calls, _ := st["calls"].([]any)
					return len(calls) == 0 && field(st, "line.state") == "no-line"
				})
				return
			}
			g.idle(t, "line idle after the failed call")
			g.noCallAt(t, rig.PSTN, "rig's PSTN UAS")
		})
	}

	t.Run("CANCEL while dialling aborts the dial", func(t *testing.T) {
		// The far end rings on (a minute a ring): the 180 comes once the
		// modem has accepted the dial (the profile's alert_after), the
		// CANCEL after it, while the line still rings.
		sim.SetAnswer(modemsim.AnswerNever)
		sim.SetRings(1, time.Minute)
		defer sim.SetRings(1, 300*time.Millisecond)
		defer sim.SetAnswer(modemsim.AnswerAfterRings)
		from := len(sim.Commands())
		if err := g.sipp(t, sippCancel, "5550300"); err != nil {
			t.Fatal(err)
		}
		if cmds := sim.Commands()[from:]; !slices.Contains(cmds, "ATDT5550300") || slices.Contains(cmds, "AT+VTR") {
			t.Fatalf("the dial did not go out, or a call came up: %q", cmds)
		}
		g.idle(t, "line idle after CANCEL")
		if !logHas(e.stderr.String(), `msg="gateway: call failed"`, "number=5550300", "code=487") {
			t.Fatalf("the gateway did not end the dial with 487:\n%s", e.stderr)
		}
	})

	t.Run("the far end hangs up: BYE to the caller", func(t *testing.T) {
		from := len(sim.Commands())
		done := make(chan error, 1)
		wait := g.sippStart(t, sippFarEnd, "5550400")
		go func() { done <- wait() }()
		e.waitFor("the call in the status", func(st map[string]any) bool {
			calls, _ := st["calls"].([]any)
			return len(calls) == 1
		})
		if err := sim.HangupRemote(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		g.idle(t, "line idle after the far end hung up")
		if cmds := sim.Commands()[from:]; !slices.Contains(cmds, "ATH0") {
			t.Fatalf("never hung up: %q", cmds)
		}
	})

	t.Run("the caller hangs up: BYE to the line", func(t *testing.T) {
		from := len(sim.Commands())
		if err := g.sipp(t, sippCall, "5550500"); err != nil {
			t.Fatal(err)
		}
		g.idle(t, "line idle after the caller's BYE")
		if cmds := sim.Commands()[from:]; !slices.Contains(cmds, "ATH0") {
			t.Fatalf("never hung up: %q", cmds)
		}
	})
}

const gwIncomingConfig = gwLineConfig + `	option incoming '%s'
`

// sippIncomingUAS answers the gateway's INVITE only if From carries the
// caller's number (CALLER; check_it fails the call otherwise), with an SDP
// answer naming the test's RTP socket, and waits for the gateway's BYE.
const sippIncomingUAS = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="Lifeline incoming call UAS">
  <recv request="INVITE" crlf="true">
    <action>
      <ereg regexp="&lt;sip:CALLER@" search_in="hdr" header="From:" check_it="true" assign_to="from"/>
      <log message="From [$from]"/>
    </action>
  </recv>
  <send>
    <![CDATA[

      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:phones@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:phones@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

` + sippPCMA + `
    ]]>
  </send>
  <recv request="ACK"/>
` + sippAnswerBye + "</scenario>\n"

// TestE2EGatewayIncomingSIPp: the line rings with caller ID; the daemon's
// gateway offers the call to a SIPp UAS, which accepts it only with the
// caller's number in From; the line is answered, its audio reaches the
// UAS's media address as PCMA, status and status.json show the call
// (direction in, the caller's number), and the far end's hang-up reaches
// SIPp as a BYE.
func TestE2EGatewayIncomingSIPp(t *testing.T) {
	siprig.Require(t)
	e, sim := newGatewayE2E(t)
	uasPort, gwPort := siprig.FreePort(t), siprig.FreePort(t)
	e.writeConfig(fmt.Sprintf(gwIncomingConfig, filepath.Join(e.dir, "hooks.d"), sim.Path(), gwPort,
		fmt.Sprintf("sip:phones@127.0.0.1:%d", uasPort)))
	incomingCall(t, e, modemSimLine{sim}, uasPort, nil, nil)
}

// TestE2EGatewayIncomingKamailio is the same call in the reference setup:
// the gateway's incoming target is sip:phones@ the rig's Kamailio, which
// recognises the gateway (lifeline=>line, written by the daemon's proxy
// section) and sends the call to PHONES (the SIPp UAS), not to the
// provider; the BYE comes back through it (Record-Route).
func TestE2EGatewayIncomingKamailio(t *testing.T) {
	e, sim := newGatewayE2E(t)
	incomingKamailio(t, e, modemSimLine{sim}, func(gwPort int, incoming string) string {
		return fmt.Sprintf(gwIncomingConfig, filepath.Join(e.dir, "hooks.d"), sim.Path(), gwPort, incoming)
	}, nil)
}

// incomingKamailio runs incomingCall through the rig's Kamailio:
// config(gwPort, incoming) is the daemon's configuration with the
// gateway on gwPort offering the line's calls to incoming; the proxy
// section is added here.
func incomingKamailio(t *testing.T, e *e2e, line incomingLine, config func(gwPort int, incoming string) string,
	media func(*net.UDPConn, *net.UDPAddr)) {
	t.Helper()
	uasPort := siprig.FreePort(t)
	rig := siprig.New(t, siprig.Define(fmt.Sprintf(`PHONES="sip:127.0.0.1:%d"`, uasPort)))
	gwPort := siprig.FreePort(t)
	gwURI := fmt.Sprintf("sip:127.0.0.1:%d", gwPort)
	e.writeConfig(config(gwPort, fmt.Sprintf("sip:phones@127.0.0.1:%d", rig.SIPPort)) + fmt.Sprintf(`
config proxy 'kamailio'
	option socket '%s'
	option provider_uri '%s'
	option pstn_uri '%s'
	option check_interval '200ms'
`, rig.RPCSocket, rig.ProviderURI, gwURI))
	ctx, cancel := context.WithTimeout(context.Background(), kamailioBudget)
	defer cancel()
	probe := rig.Client(t, "probe")
	incomingCall(t, e, line, uasPort, func() {
		deadline := time.Now().Add(15 * time.Second)
		for {
			if v, err := probe.Get(ctx, kamailio.Table, kamailio.KeyLine); err == nil && v == gwURI {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Kamailio never learnt the line gateway %s", gwURI)
			}
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Millisecond): // polling another process
			}
		}
	}, media)
	g := &gwSIPp{t: t, rig: rig}
	g.noCallAt(t, rig.Provider, "provider")
	if !strings.Contains(string(rig.KamailioLog()), "lifeline: call from the line 5557777") {
		t.Fatalf("Kamailio did not route the call from the line:\n%s", rig.KamailioLog())
	}
}

// incomingLine is the line simulator incomingCall rings.
type incomingLine interface {
	ring(caller string) error
	hangupRemote() error
	answered() bool // the line took the call
}

// modemSimLine is the analog modem simulator as an incomingLine.
type modemSimLine struct{ sim *modemsim.VoiceSim }

func (l modemSimLine) ring(caller string) error {
	return l.sim.Ring(caller, modemsim.RingPeriod(500*time.Millisecond))
}
func (l modemSimLine) hangupRemote() error { return l.sim.HangupRemote() }
func (l modemSimLine) answered() bool      { return slices.Contains(l.sim.Commands(), "ATA") }

// incomingCall starts the daemon configured by the test, runs ready (if
// any) once it is up, and rings the line with caller ID; the SIPp UAS on
// uasPort (reached directly or through a proxy) must get the call with the
// caller's number in From, and the call must show in status and
// status.json until the far end hangs up. media, when set, gets the
// UAS's RTP socket and the gateway's RTP address once audio flows (the
// SIPp UAS sends none of its own).
func incomingCall(t *testing.T, e *e2e, line incomingLine, uasPort int, ready func(), media func(*net.UDPConn, *net.UDPAddr)) {
	t.Helper()
	if out, errs, code := e.cli("check", "-c", e.cfg, "--board", "generic"); code != 0 {
		t.Fatalf("check: exit %d: %s%s", code, out, errs)
	}
	e.start()
	e.waitFor("line idle", func(st map[string]any) bool { return field(st, "line.state") == "idle" })
	e.waitLog("SIP-to-line gateway")
	if ready != nil {
		ready()
	}

	const caller = "5557777"
	rtpConn, rtpPort := voicetest.EvenUDP(t)
	dir := t.TempDir()
	scen := strings.NewReplacer("CALLER", caller, "RTP_PORT", strconv.Itoa(rtpPort)).Replace(sippIncomingUAS)
	logFile := filepath.Join(dir, "uas.log")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := startSIPp(t, ctx, dir, "uas", scen, "-p", strconv.Itoa(uasPort), "-timeout", "40s", "-trace_logs", "-log_file", logFile)
	sippFailed := func(what string) {
		t.Helper()
		cancel()
		t.Fatalf("%s (%v)\nlifeline log:\n%s", what, p.wait(), e.stderr)
	}
	// An INVITE sent before SIPp listens is retransmitted (Timer A).
	if err := line.ring(caller); err != nil {
		t.Fatal(err)
	}

	// The line's audio reaches the UAS's media address.
	rtpConn.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 2048)
	var h rtp.Header
	var gwRTP net.Addr
	for n := 0; n < 10; n++ {
		k, from, err := rtpConn.ReadFrom(buf)
		if err != nil {
			sippFailed(fmt.Sprintf("after %d RTP packets from the gateway: %v", n, err))
		}
		if _, err := h.Unmarshal(buf[:k]); err != nil || h.PayloadType != rtp.PayloadPCMA {
			sippFailed(fmt.Sprintf("bad RTP %+v: %v", h, err))
		}
		gwRTP = from
	}
	st := e.waitFor("the call in the status", func(st map[string]any) bool {
		calls, _ := st["calls"].([]any)
		return len(calls) == 1
	})
	c := st["calls"].([]any)[0].(map[string]any)
	if c["direction"] != "in" || c["number"] != caller || c["codec"] != "PCMA" {
		t.Fatalf("call status %v", c)
	}
	onDisk, err := os.ReadFile(filepath.Join(e.dir, "status.json"))
	if err != nil || !strings.Contains(string(onDisk), `"direction":"in"`) {
		t.Fatalf("status.json does not show the call (%v):\n%s", err, onDisk)
	}
	if !line.answered() {
		t.Fatal("the line was not answered")
	}
	if media != nil {
		media(rtpConn, gwRTP.(*net.UDPAddr))
	}
	if err := line.hangupRemote(); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(); err != nil {
		t.Fatalf("%v\nlifeline log:\n%s", err, e.stderr)
	}
	if log, _ := os.ReadFile(logFile); !strings.Contains(string(log), "From <sip:"+caller+"@") {
		t.Fatalf("SIPp's log lacks the caller's From:\n%s", log)
	}
	e.waitFor("call gone, line idle", noCallLineIdle)
}
