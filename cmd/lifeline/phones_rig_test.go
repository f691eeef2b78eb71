package main

// The real-phone rig: three network namespaces — the phones' LAN, the
// router, the provider's side of the WAN (lifeline/hal/netmon/netnstest's
// pair plus a LAN namespace) — with Kamailio running the shipped
// scripts/kamailio/lifeline.cfg and the real binary (with its gateway, the
// generic board) in the router, its line a modemsim.VoiceSim, a SIP
// provider in the provider namespace that answers OPTIONS and REGISTER,
// and real phones from Debian (baresip-core; see phones_baresip_test.go)
// in the LAN. Skips without root, ip(8), kamailio or the phone.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"lifeline/hal/kamailio"
	"lifeline/hal/kamailio/siprig"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/netmon/netnstest"
)

// The LAN's addresses (RFC 5737 TEST-NET-2); the WAN's are netnstest's.
const (
	lanRouterIP = "198.51.100.1"
	lanPhoneIP  = "198.51.100.20"
	lanRouterIf = "lan0"
	lanPhoneIf  = "eth0"
	gwSIPPort   = 5080
)

// phoneRig is the whole setup; its fields are set by newPhoneRig.
type phoneRig struct {
	t        *testing.T
	net      *netnstest.Pair
	lan      string // the phones' namespace
	e        *e2e   // the daemon, in the router namespace
	sim      *modemsim.VoiceSim
	provider *fakeProvider
	kam      *exec.Cmd
	kamLog   string
	rpc      string
	gwURI    string
}

// newPhoneRig builds the namespaces and starts the provider, Kamailio and
// the daemon (route sip, provider healthy). phone is Kamailio's PHONES,
// the target of calls from the line (user@LAN-address:port); bins lists
// the binaries the caller needs, for the skip.
func newPhoneRig(t *testing.T, phone string, bins ...string) *phoneRig {
	t.Helper()
	if testing.Short() {
		t.Skip("real phone tests skipped with -short")
	}
	netnstest.Require(t, append([]string{"kamailio"}, bins...)...)
	e, sim := newGatewayE2E(t) // skips without pseudo-terminals
	p := netnstest.NewPair(t)
	r := &phoneRig{t: t, net: p, e: e, sim: sim, gwURI: fmt.Sprintf("sip:%s:%d", lanRouterIP, gwSIPPort)}
	r.lan = p.Router + "-lan"
	if out, err := exec.Command("ip", "netns", "add", r.lan).CombinedOutput(); err != nil {
		t.Skipf("needs network namespaces: ip netns add %s: %v: %s", r.lan, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", r.lan).Run() })
	p.In(r.lan, "link", "set", "lo", "up")
	p.In(p.Router, "link", "add", lanRouterIf, "type", "veth", "peer", "name", lanPhoneIf, "netns", r.lan)
	p.In(p.Router, "addr", "add", lanRouterIP+"/24", "dev", lanRouterIf)
	p.In(p.Router, "link", "set", lanRouterIf, "up")
	p.In(r.lan, "addr", "add", lanPhoneIP+"/24", "dev", lanPhoneIf)
	p.In(r.lan, "link", "set", lanPhoneIf, "up")
	p.In(r.lan, "route", "add", "default", "via", lanRouterIP)
	// The provider answers Kamailio's LAN address: routed, not NATed.
	p.Exec(p.Router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	p.In(p.Internet, "route", "add", "198.51.100.0/24", "via", netnstest.RouterIP4)

	r.provider = startFakeProvider(t, p.Internet, netnstest.InternetIP4+":5060")
	r.startKamailio("sip:" + phone)

	e.wrap = []string{"ip", "netns", "exec", p.Router}
	e.writeConfig(fmt.Sprintf(`config lifeline 'main'
	option wan_interface '%s'
	option failback_hold '1s'
	option hooks_dir '%s'

config provider 'sip'
	option host '%s'
	option port '5060'
	option interval '200ms'
	option down_after '3'

config line 'pstn'
	option device '%s'
	option profile 'analog'

config gateway 'gw'
	option listen '%s:%d'
	option prefix '*00'
	list emergency '112'
	option incoming 'sip:phones@%s:5060'

config proxy 'kamailio'
	option socket '%s'
	option provider_uri 'sip:%s:5060'
	option pstn_uri '%s'
	option check_interval '200ms'
`, netnstest.WAN, filepath.Join(e.dir, "hooks.d"), netnstest.InternetIP4, sim.Path(),
		lanRouterIP, gwSIPPort, lanRouterIP, r.rpc, netnstest.InternetIP4, r.gwURI))
	e.start()
	e.waitFor("route sip, line idle", func(st map[string]any) bool {
		return st["route"] == "sip" && field(st, "line.state") == "idle"
	})
	r.waitNextHop(fmt.Sprintf("sip:%s:5060", netnstest.InternetIP4))
	return r
}

// startKamailio runs the shipped config in the router namespace, listening
// on the LAN, with the phone as PHONES.
func (r *phoneRig) startKamailio(phones string) {
	t := r.t
	dir := t.TempDir()
	r.rpc = filepath.Join(dir, "rpc.sock")
	r.kamLog = filepath.Join(dir, "kamailio.log")
	logf, err := os.Create(r.kamLog)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := r.net.Command(r.net.Router, "kamailio", "-f", siprig.ConfigPath(t), "-DD", "-E",
		"-A", fmt.Sprintf("LISTEN=udp:%s:5060", lanRouterIP),
		"-A", fmt.Sprintf("PROVIDER=\"sip:%s:5060\"", netnstest.InternetIP4),
		"-A", fmt.Sprintf("PSTN_GW=%q", r.gwURI),
		"-A", fmt.Sprintf("PHONES=%q", phones),
		"-A", fmt.Sprintf("RPC_SOCKET=%q", r.rpc),
		"-A", fmt.Sprintf("RUN_DIR=%q", dir),
		"-A", fmt.Sprintf("MPATH=%q", siprig.ModulesDir()))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kamailio: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		<-done
	})
	r.kam = cmd
	c, err := kamailio.Dial(r.rpc, kamailio.WithTimeout(200*time.Millisecond), kamailio.WithLocalPath(filepath.Join(dir, "ready.sock")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := c.Uptime(context.Background()); err == nil {
			return
		}
		select {
		case <-done:
			t.Fatalf("kamailio exited at start:\n%s", r.kamailioLog())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("kamailio never answered:\n%s", r.kamailioLog())
		}
	}
}

func (r *phoneRig) kamailioLog() string {
	b, _ := os.ReadFile(r.kamLog)
	return string(b)
}

// waitNextHop waits until Kamailio's next hop is uri.
func (r *phoneRig) waitNextHop(uri string) {
	r.t.Helper()
	c, err := kamailio.Dial(r.rpc, kamailio.WithTimeout(time.Second), kamailio.WithLocalPath(filepath.Join(r.t.TempDir(), "probe.sock")))
	if err != nil {
		r.t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	waitNextHop(r.t, ctx, c, uri)
}

// lineHearsTone waits until the line has heard two seconds more than mark
// (bytes of sim.Recorded) and checks that it was the phones' 1 kHz tone;
// it returns the new mark.
func (r *phoneRig) lineHearsTone(t *testing.T, mark int) int {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for len(r.sim.Recorded()) < mark+2*8000 {
		if time.Now().After(deadline) {
			t.Fatalf("the line heard %d samples of the phone\n%s", len(r.sim.Recorded())-mark, r.logs())
		}
		time.Sleep(50 * time.Millisecond) // polling a separate process's progress
	}
	rec := r.sim.Recorded()
	if share := toneShare(modemHeard(rec[mark:]), phoneToneHz); share < 0.5 {
		t.Fatalf("the line heard the phone's 1 kHz tone at %.2f of its energy", share)
	}
	return len(rec)
}

// lineKeys has the line's far end key digits in the running call: once
// the stream runs, the modem reports each as <DLE>digit; the sim's record
// must hold exactly them.
func (r *phoneRig) lineKeys(t *testing.T, digits string) {
	t.Helper()
	r.lineHearsTone(t, len(r.sim.Recorded())) // the stream runs
	for _, d := range []byte(digits) {
		if err := r.sim.SendEvent(d); err != nil {
			t.Fatal(err)
		}
	}
	if got := string(r.sim.EventsSent()); got != digits {
		t.Fatalf("the line reported DTMF %q, want %q", got, digits)
	}
}

// lineInCall waits for the daemon's status to show the line in a call
// (and, for an outgoing call, the call in its list).
func (r *phoneRig) lineInCall(t *testing.T, dialled string) {
	t.Helper()
	if dialled != "" && !slices.Contains(r.sim.Commands(), "ATDT"+dialled) {
		t.Fatalf("the line never dialled %s: %q\n%s", dialled, r.sim.Commands(), r.logs())
	}
	r.e.waitFor("the line in a call", func(st map[string]any) bool {
		calls, _ := st["calls"].([]any)
		return len(calls) == 1 && field(st, "line.state") == "in-call"
	})
}

// lineIdle waits for the line to be idle with no call, and for an
// outgoing call checks that the line was hung up after the dial.
func (r *phoneRig) lineIdle(t *testing.T, dialled string) {
	t.Helper()
	r.e.waitFor("line idle, no call", noCallLineIdle)
	if dialled == "" {
		return
	}
	cmds := r.sim.Commands()
	if !slices.Contains(cmds[slices.Index(cmds, "ATDT"+dialled):], "ATH0") {
		t.Fatalf("the line was not hung up: %q", cmds)
	}
}

// logs is what a failing case prints: the daemon's and Kamailio's logs.
func (r *phoneRig) logs() string {
	return fmt.Sprintf("lifeline log:\n%s\nkamailio log:\n%s", r.e.stderr, tailString(r.kamailioLog(), 4000))
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// inNetns runs f on a thread in namespace ns: sockets f creates belong to
// ns and stay there.
func inNetns(ns string, f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	h, err := netns.GetFromName(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := netns.Set(h); err != nil {
		return err
	}
	defer netns.Set(orig) //nolint:errcheck // back to where the thread was
	return f()
}

// fakeProvider is the SIP provider on the WAN's far side: it answers
// OPTIONS (the daemon's probe) and REGISTER with 200, and anything else
// with 480; it records the REGISTERs. Its goroutine ends in t.Cleanup.
type fakeProvider struct {
	conn      *net.UDPConn
	mu        sync.Mutex
	registers []string // each REGISTER's To header
	regs      chan string
}

func startFakeProvider(t *testing.T, ns, addr string) *fakeProvider {
	t.Helper()
	p := &fakeProvider{regs: make(chan string, 16)}
	if err := inNetns(ns, func() error {
		a, err := net.ResolveUDPAddr("udp4", addr)
		if err != nil {
			return err
		}
		p.conn, err = net.ListenUDP("udp4", a)
		return err
	}); err != nil {
		t.Fatalf("provider in %s: %v", ns, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := p.conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			p.handle(string(buf[:n]), from)
		}
	}()
	t.Cleanup(func() {
		p.conn.Close()
		<-done
	})
	return p
}

func (p *fakeProvider) handle(msg string, from *net.UDPAddr) {
	first, _, _ := strings.Cut(msg, "\r\n")
	method, _, _ := strings.Cut(first, " ")
	if strings.HasPrefix(first, "SIP/2.0") || method == "ACK" {
		return
	}
	code, reason := 480, "Temporarily Unavailable"
	var extra string
	switch method {
	case "OPTIONS":
		code, reason = 200, "OK"
	case "REGISTER":
		code, reason = 200, "OK"
		to := sipHeader(msg, "To")
		p.mu.Lock()
		p.registers = append(p.registers, to)
		p.mu.Unlock()
		select {
		case p.regs <- to:
		default:
		}
		if c := sipHeader(msg, "Contact"); c != "" {
			extra = "Contact: " + c + ";expires=60\r\n"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, line := range strings.Split(msg, "\r\n") {
		name, _, _ := strings.Cut(line, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "v", "from", "f", "call-id", "i", "cseq":
			b.WriteString(line + "\r\n")
		case "to", "t":
			if !strings.Contains(line, "tag=") {
				line += ";tag=provider"
			}
			b.WriteString(line + "\r\n")
		}
	}
	b.WriteString(extra + "Server: fake-provider\r\nContent-Length: 0\r\n\r\n")
	_, _ = p.conn.WriteToUDP([]byte(b.String()), from)
}

// sipHeader returns the value of the first header name (long form) in msg.
func sipHeader(msg, name string) string {
	for _, line := range strings.Split(msg, "\r\n") {
		n, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(n), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
