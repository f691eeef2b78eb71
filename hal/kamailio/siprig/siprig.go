// Package siprig starts a real SIP call-routing rig for integration tests:
// Kamailio (Debian package "kamailio") running the shipped
// scripts/kamailio/lifeline.cfg on loopback, two SIPp UAS processes
// (Debian package "sip-tester") standing for the SIP provider and the PSTN
// gateway, and SIPp UACs that place calls through the proxy and record
// which side answered each one.
//
// New skips the test, with a message naming the missing package, when
// kamailio or sipp is not on PATH, or when the test runs with -short.
// Every process, goroutine, FIFO and socket the rig creates is ended or
// removed in tb.Cleanup; Kamailio and SIPp listen on 127.0.0.1 only.
//
// The SIPp scenarios are embedded (scenarios/*.xml) and written to the
// rig's directory, so the rig works from any package's test binary. The
// Kamailio configuration is found by walking up from the working
// directory to the module root (go.mod); ConfigFile overrides it.
//
// A Rig is driven from the test goroutine: its methods other than
// PlaceCalls, and UAS.Calls, are not safe for concurrent use. PlaceCalls
// may run concurrently with itself and with the rig's other methods
// except Restart and Stop.
package siprig

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"lifeline/hal/kamailio"
)

//go:embed scenarios/*.xml
var scenarios embed.FS

// Scenario names an embedded SIPp scenario for the provider UAS.
type Scenario string

// The provider scenarios. The PSTN gateway always runs Answer.
const (
	// Answer answers every INVITE (180, 200 with X-Lifeline-Callee naming
	// the UAS), honours Record-Route and answers the BYE.
	Answer Scenario = "uas_rr.xml"
	// Refuse answers every INVITE with 503 Service Unavailable.
	Refuse Scenario = "uas_503.xml"
	// Silent starts no process: nothing listens on the provider's port.
	Silent Scenario = ""

	uacScenario = "uac_rr.xml"
)

// Callee names: the value of X-Lifeline-Callee, as PlaceCalls reports it.
const (
	CalleeProvider = "provider"
	CalleePSTN     = "pstn"
)

// ErrCallFailed means a SIPp UAC reported at least one failed call.
var ErrCallFailed = errors.New("siprig: call failed")

// Option varies a rig.
type Option func(*Rig)

// ProviderScenario makes the provider UAS run s (default Answer).
func ProviderScenario(s Scenario) Option { return func(r *Rig) { r.providerScen = s } }

// Define passes a Kamailio define (-A NAME=VALUE), e.g. "FR_TIMER=500".
func Define(kv string) Option { return func(r *Rig) { r.defines = append(r.defines, kv) } }

// ConfigFile runs Kamailio with path instead of the module's
// scripts/kamailio/lifeline.cfg.
func ConfigFile(path string) Option { return func(r *Rig) { r.cfgPath = path } }

// Rig is one Kamailio and its two UAS. The exported fields are set by New
// and must not be changed.
type Rig struct {
	// Dir is the rig's private directory: logs, sockets, scenarios.
	Dir string
	// SIPPort is Kamailio's UDP port on 127.0.0.1 (it may change across
	// Restart when the old one was taken meanwhile).
	SIPPort int
	// RPCSocket is Kamailio's jsonrpcs datagram socket.
	RPCSocket string
	// Provider and PSTN are the two UAS; Provider has no process under
	// the Silent scenario.
	Provider, PSTN *UAS
	// ProviderURI and PSTNURI are their SIP URIs, the next hops to set.
	ProviderURI, PSTNURI string

	cfgPath      string
	providerScen Scenario
	defines      []string
	kamailio     *exec.Cmd
	kamailioLog  string
	kamailioDone chan struct{}
	tb           testing.TB // logs the messages of refused calls (PlaceCalls)
}

// Require skips tb unless kamailio and sipp are on PATH and the test does
// not run with -short.
func Require(tb testing.TB) {
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

// New starts the two UAS and Kamailio, and returns once Kamailio answers
// core.uptime on RPCSocket. Its htable is empty: calls go to the
// provider (the config's PROVIDER define) until a next hop is set.
func New(tb testing.TB, opts ...Option) *Rig {
	tb.Helper()
	Require(tb)
	dir := tb.TempDir()
	r := &Rig{Dir: dir, RPCSocket: filepath.Join(dir, "rpc.sock"), providerScen: Answer, tb: tb}
	for _, o := range opts {
		o(r)
	}
	if r.cfgPath == "" {
		r.cfgPath = ConfigPath(tb)
	}
	if err := os.WriteFile(filepath.Join(dir, uacScenario), mustScenario(tb, uacScenario), 0o644); err != nil {
		tb.Fatal(err)
	}
	if r.providerScen != Silent {
		r.Provider = startUAS(tb, filepath.Join(dir, CalleeProvider), r.providerScen, CalleeProvider)
	} else {
		r.Provider = &UAS{Port: FreePort(tb), calls: make(chan string)}
	}
	r.PSTN = startUAS(tb, filepath.Join(dir, CalleePSTN), Answer, CalleePSTN)
	r.ProviderURI = fmt.Sprintf("sip:127.0.0.1:%d", r.Provider.Port)
	r.PSTNURI = fmt.Sprintf("sip:127.0.0.1:%d", r.PSTN.Port)
	r.SIPPort = FreePort(tb)
	r.startKamailio(tb)
	return r
}

func mustScenario(tb testing.TB, name string) []byte {
	b, err := scenarios.ReadFile("scenarios/" + name)
	if err != nil {
		tb.Fatalf("siprig: scenario %s: %v", name, err)
	}
	return b
}

// ConfigPath walks up from the working directory to go.mod and returns
// scripts/kamailio/lifeline.cfg there, the configuration the rig runs.
func ConfigPath(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "scripts", "kamailio", "lifeline.cfg")
			if _, err := os.Stat(p); err != nil {
				tb.Fatalf("siprig: Kamailio config: %v", err)
			}
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("siprig: no go.mod above the working directory; pass siprig.ConfigFile")
		}
		dir = parent
	}
}

// ModulesDir is Kamailio's module directory on this machine (Debian's
// multiarch path when present), with a trailing slash, for the MPATH
// define.
func ModulesDir() string {
	m, _ := filepath.Glob("/usr/lib/*/kamailio/modules")
	if len(m) > 0 {
		return m[0] + "/"
	}
	return "/usr/lib/kamailio/modules/"
}

// readySock is the reply socket of the rig's own readiness probe, bound
// and removed at every (re)start of Kamailio.
const readySock = "siprig-ready.sock"

// Client returns a JSON-RPC client for the rig's Kamailio whose reply
// socket is Dir/name.sock, closed in tb.Cleanup. name must be unique per
// rig and not "siprig-ready". The client outlives Restart.
func (r *Rig) Client(tb testing.TB, name string) *kamailio.Client {
	tb.Helper()
	if name+".sock" == readySock {
		tb.Fatalf("siprig: client name %q is the rig's own", name)
	}
	// 5 s: a Kamailio slowed by a busy machine still answers in time.
	c, err := kamailio.Dial(r.RPCSocket, kamailio.WithTimeout(5*time.Second), kamailio.WithLocalPath(filepath.Join(r.Dir, name+".sock")))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// KamailioLog returns Kamailio's log so far (its stderr, -E).
func (r *Rig) KamailioLog() []byte {
	b, _ := os.ReadFile(r.kamailioLog)
	return b
}

// Stop ends Kamailio (SIGTERM to its process group) and waits for it. The
// UAS keep running. Stop is idempotent.
func (r *Rig) Stop() {
	if r.kamailio == nil {
		return
	}
	_ = syscall.Kill(-r.kamailio.Process.Pid, syscall.SIGTERM)
	<-r.kamailioDone
	r.kamailio = nil
}

// Restart stops Kamailio if it runs and starts it again with an empty
// htable, on the same RPC socket, returning once it answers.
func (r *Rig) Restart(tb testing.TB) {
	tb.Helper()
	r.Stop()
	r.startKamailio(tb)
}

// startKamailio starts Kamailio and waits until it answers. If its SIP
// port was taken meanwhile (parallel test runs), it retries on another.
func (r *Rig) startKamailio(tb testing.TB) {
	tb.Helper()
	r.kamailioLog = filepath.Join(r.Dir, "kamailio.log")
	for attempt := 1; ; attempt++ {
		err := r.tryKamailio()
		if err == nil {
			tb.Cleanup(r.Stop)
			return
		}
		log := r.KamailioLog()
		if attempt < 4 && strings.Contains(string(log), "Address already in use") {
			tb.Logf("siprig: kamailio port %d taken, retrying", r.SIPPort)
			r.SIPPort = FreePort(tb)
			continue
		}
		tb.Fatalf("siprig: %v\n%s", err, tail(log, 3000))
	}
}

func (r *Rig) tryKamailio() error {
	logf, err := os.OpenFile(r.kamailioLog, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := []string{"-f", r.cfgPath, "-DD", "-E",
		"-A", fmt.Sprintf("LISTEN=udp:127.0.0.1:%d", r.SIPPort),
		"-A", fmt.Sprintf("PROVIDER=%q", r.ProviderURI),
		"-A", fmt.Sprintf("PSTN_GW=%q", r.PSTNURI),
		"-A", fmt.Sprintf("RPC_SOCKET=%q", r.RPCSocket),
		"-A", fmt.Sprintf("RUN_DIR=%q", r.Dir),
		"-A", fmt.Sprintf("MPATH=%q", ModulesDir()),
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
		r.Stop()
		return err
	}
	return nil
}

// waitKamailio polls core.uptime until Kamailio answers (readiness probe
// with a real-clock bound; nothing in the assertions depends on timing).
func (r *Rig) waitKamailio() error {
	c, err := kamailio.Dial(r.RPCSocket, kamailio.WithTimeout(200*time.Millisecond), kamailio.WithLocalPath(filepath.Join(r.Dir, readySock)))
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
			return fmt.Errorf("kamailio did not answer on %s: %w", r.RPCSocket, err)
		}
		select {
		case <-r.kamailioDone:
			return errors.New("kamailio exited at startup")
		case <-tick.C:
		}
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
