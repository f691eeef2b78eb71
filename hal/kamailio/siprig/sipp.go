package siprig

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// UAS is one SIPp UAS (the provider or the PSTN gateway). It names itself
// in its 200 OK (X-Lifeline-Callee), which the UAC logs: that log, returned
// by PlaceCalls, is the record of where calls landed.
type UAS struct {
	// Port is its UDP port on 127.0.0.1.
	Port  int
	calls chan string
	proc  *os.Process // nil for a Silent provider
}

// Freeze stops the UAS process (SIGSTOP): it falls silent without a word,
// as a provider whose host dies does (no ICMP, no reply); the kernel keeps
// what arrives meanwhile. Thaw lets it go on. No-ops without a process.
func (u *UAS) Freeze() error { return u.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen UAS (SIGCONT).
func (u *UAS) Thaw() error { return u.signal(syscall.SIGCONT) }

func (u *UAS) signal(sig syscall.Signal) error {
	if u.proc == nil {
		return nil
	}
	return u.proc.Signal(sig)
}

// Calls delivers the Call-ID of each INVITE the UAS received, as a progress
// hint while calls flow (SIPp's exec action writes it to a FIFO; best
// effort, buffered, never closed). For a Silent provider it never delivers.
// Use PlaceCalls' result, not Calls, to assert where calls landed.
func (u *UAS) Calls() <-chan string { return u.calls }

// FreePort returns an even loopback UDP port that is free now, with the
// three above it (SIPp's media ports: -mp binds it and the port 2 above),
// picked at random below the kernel's ephemeral range so that the
// processes' own ephemeral ports, and parallel test runs, are unlikely to
// take it before the process binds it. No block is handed out twice in a
// test process.
func FreePort(tb testing.TB) int {
	tb.Helper()
	p, err := pickPort()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

var (
	handedMu sync.Mutex
	handed   = map[int]bool{} // blocks given out by this process
)

func pickPort() (int, error) {
	handedMu.Lock()
	defer handedMu.Unlock()
	for range 200 {
		base := 20000 + 4*rand.IntN(3000)
		if handed[base] {
			continue
		}
		ok := true
		var held []net.PacketConn
		for p := base; p < base+4 && ok; p++ {
			c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			handed[base] = true
			return base, nil
		}
	}
	return 0, errors.New("siprig: no free UDP port block in 20000-32000")
}

func startUAS(tb testing.TB, dir string, scenario Scenario, callee string) *UAS {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	scen := filepath.Join(dir, string(scenario))
	if err := os.WriteFile(scen, mustScenario(tb, string(scenario)), 0o644); err != nil {
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
	u := &UAS{calls: make(chan string, 4096)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			select {
			case u.calls <- sc.Text():
			default: // nobody reads the hints: drop them
			}
		}
	}()
	tb.Cleanup(func() {
		f.Close() // ends the scanner goroutine
		<-done
	})
	for attempt := 1; ; attempt++ {
		u.Port = FreePort(tb)
		args := []string{"-sf", scen, "-i", "127.0.0.1", "-p", strconv.Itoa(u.Port),
			"-mp", strconv.Itoa(FreePort(tb)), "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
			"-trace_msg", "-message_file", filepath.Join(dir, "messages.log")}
		if scenario == Answer {
			args = append(args, "-set", "callee", callee)
		}
		out, err := os.Create(filepath.Join(dir, "sipp.out"))
		if err != nil {
			tb.Fatal(err)
		}
		cmd := exec.Command("sipp", args...)
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = out, out
		err = cmd.Start()
		out.Close()
		if err != nil {
			tb.Fatalf("siprig: start sipp uas: %v", err)
		}
		exited := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(exited)
		}()
		tb.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		if waitBound(u.Port, exited) {
			u.proc = cmd.Process
			return u
		}
		b, _ := os.ReadFile(filepath.Join(dir, "sipp.out"))
		if attempt == 3 {
			tb.Fatalf("siprig: sipp uas did not start on port %d:\n%s", u.Port, tail(b, 2000))
		}
		tb.Logf("siprig: sipp uas did not start on port %d, retrying", u.Port)
	}
}

// waitBound waits until a process holds UDP port (binding it fails) or
// the process exited (readiness probe with a real-clock bound).
func waitBound(port int, exited <-chan struct{}) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return true
		}
		c.Close()
		select {
		case <-exited:
			return false
		case <-tick.C:
		}
	}
	return false
}

// PlaceCalls runs a SIPp UAC that places calls through Kamailio, rate per
// second when rate > 0 (else one after the other), and waits for it; ctx
// ends it early (with an error). A nil error means every call was set up,
// acknowledged and torn down (BYE answered 200). It returns the callee
// (CalleeProvider or CalleePSTN) that answered each call, in the order the
// calls were placed. On failure the error wraps ErrCallFailed and carries
// the tails of the UAC's, Kamailio's and both UAS' error logs, and the
// callees are those of the calls that were answered.
func (r *Rig) PlaceCalls(ctx context.Context, calls, rate int) ([]string, error) {
	return r.placeCalls(ctx, calls, rate, nil)
}

// PlaceCallsUntil is PlaceCalls without a number of calls: the UAC places
// calls at rate per second until stop closes, then places no more, lets
// the calls it has started finish (SIPp's soft quit, 'q' on its control
// port) and returns. A test that acts on the calls' progress (switching
// the route while they flow) then never finds the UAC finished before it
// has acted, however slowly a loaded machine runs it.
func (r *Rig) PlaceCallsUntil(ctx context.Context, rate int, stop <-chan struct{}) ([]string, error) {
	if rate <= 0 || stop == nil {
		return nil, fmt.Errorf("siprig: PlaceCallsUntil needs a rate (%d) and a stop channel", rate)
	}
	return r.placeCalls(ctx, 0, rate, stop)
}

// placeCalls is PlaceCalls (calls > 0) or PlaceCallsUntil (calls 0,
// until stop closes).
func (r *Rig) placeCalls(ctx context.Context, calls, rate int, stop <-chan struct{}) ([]string, error) {
	scen := filepath.Join(r.Dir, uacScenario)
	mport, err := pickPort()
	if err != nil {
		return nil, err
	}
	// An explicit SIP port: SIPp's default is 5060, which it binds with
	// SO_REUSEADDR, so parallel UACs (or anything else on 5060) would steal
	// each other's replies.
	sport, err := pickPort()
	if err != nil {
		return nil, err
	}
	args := []string{"-sf", scen, "-i", "127.0.0.1", "-p", strconv.Itoa(sport), "-mp", strconv.Itoa(mport),
		"-s", "lifeline", "-nostdin", "-timeout", "30s", "-timeout_error",
		// A late provisional reply is ignored, not fatal: see uac_rr.xml.
		"-default_behaviors", "all,-abortunexp",
		fmt.Sprintf("127.0.0.1:%d", r.SIPPort)}
	if rate > 0 {
		args = append(args, "-r", strconv.Itoa(rate), "-rp", "1000")
	}
	var ctlPort int
	if stop != nil {
		if ctlPort, err = pickPort(); err != nil {
			return nil, err
		}
		args = append(args, "-ci", "127.0.0.1", "-cp", strconv.Itoa(ctlPort))
	} else {
		args = append(args, "-m", strconv.Itoa(calls))
	}
	errFile := filepath.Join(r.Dir, fmt.Sprintf("uac-%d-errors.log", sport))
	logFile := filepath.Join(r.Dir, fmt.Sprintf("uac-%d-callees.log", sport))
	msgFile := filepath.Join(r.Dir, fmt.Sprintf("uac-%d-messages.log", sport))
	statFile := filepath.Join(r.Dir, fmt.Sprintf("uac-%d-stats.csv", sport))
	args = append(args, "-trace_err", "-error_file", errFile, "-trace_logs", "-log_file", logFile,
		"-trace_msg", "-message_file", msgFile, "-trace_stat", "-stf", statFile)
	cmd := exec.CommandContext(ctx, "sipp", args...)
	cmd.Dir = r.Dir
	var out []byte
	if stop == nil {
		out, err = cmd.CombinedOutput()
	} else {
		out, err = runUntil(cmd, ctlPort, stop)
	}
	if err != nil {
		errs, _ := os.ReadFile(errFile)
		pe, _ := os.ReadFile(filepath.Join(r.Dir, CalleeProvider, "errors.log"))
		ge, _ := os.ReadFile(filepath.Join(r.Dir, CalleePSTN, "errors.log"))
		var pid int
		if cmd.Process != nil {
			pid = cmd.Process.Pid
		}
		answered, _ := os.ReadFile(logFile)
		callees, _ := parseCallees(answered)
		return callees, &CallsFailed{Failed: failedCalls(statFile), err: fmt.Errorf("%w: sipp uac (%d calls to 127.0.0.1:%d): %w\n%s\nerrors:\n%s\nkamailio log:\n%s\nprovider errors:\n%s\npstn errors:\n%s%s",
			ErrCallFailed, calls, r.SIPPort, err, tail(out, 600), tail(errs, 3000), tail(r.KamailioLog(), 3000), tail(pe, 3000), tail(ge, 3000),
			r.unfinished(msgFile, calls, pid))}
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		return nil, fmt.Errorf("siprig: sipp uac log: %w", err)
	}
	if refused := refusedCalls(b); len(refused) > 0 && cmd.Process != nil {
		// Not an error (the caller judges a refused call), but its
		// messages are the only clue to why: logged for a failing test.
		r.tb.Logf("siprig: calls refused by the proxy (by number): %v%s", refused, r.trace(msgFile, refused, cmd.Process.Pid))
	}
	return parseCallees(b)
}

// runUntil runs the SIPp UAC cmd until it exits; once stop closes it
// sends SIPp's soft quit, 'q', to its control port ctlPort (once: a
// second 'q' quits at once, failing the calls in progress).
func runUntil(cmd *exec.Cmd, ctlPort int, stop <-chan struct{}) ([]byte, error) {
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		return []byte(out.String()), err
	case <-stop:
	}
	c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(ctlPort)))
	if err == nil {
		_, err = c.Write([]byte("q"))
		c.Close()
	}
	if err != nil {
		cmd.Process.Kill()
		<-exited
		return []byte(out.String()), fmt.Errorf("soft quit on the control port %d: %w", ctlPort, err)
	}
	err = <-exited
	return []byte(out.String()), err
}

// refusedCalls are the numbers of the calls the UAC's log says the proxy
// refused or timed out ("CALL-ID refused-CODE").
func refusedCalls(log []byte) []int {
	var out []int
	for _, line := range strings.Split(string(log), "\n") {
		if f := strings.Fields(line); len(f) == 2 && strings.HasPrefix(f[1], CalleeRefused) {
			num, _, _ := strings.Cut(f[0], "-")
			if n, err := strconv.Atoi(num); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// CallsFailed is PlaceCalls' error when calls failed: Failed is SIPp's
// count of failed calls (-1 when its statistics could not be read). It
// wraps ErrCallFailed.
type CallsFailed struct {
	Failed int
	err    error
}

func (e *CallsFailed) Error() string { return e.err.Error() }
func (e *CallsFailed) Unwrap() error { return e.err }

// failedCalls reads FailedCall(C) from the last row of a SIPp statistics
// file (-trace_stat), or -1.
func failedCalls(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	rows := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(rows) < 2 {
		return -1
	}
	head := strings.Split(rows[0], ";")
	last := strings.Split(rows[len(rows)-1], ";")
	col := slices.Index(head, "FailedCall(C)")
	if col < 0 || col >= len(last) {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(last[col]))
	if err != nil {
		return -1
	}
	return n
}

// parseCallees reads the UAC's log: lines "CALL-ID CALLEE" in answer
// order. SIPp's Call-IDs start with the call number, which is the order
// the INVITEs were sent; the result is in that order.
func parseCallees(b []byte) ([]string, error) {
	type answered struct {
		n      int
		callee string
	}
	var all []answered
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		num, _, _ := strings.Cut(f[0], "-")
		n, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("siprig: sipp uac log: Call-ID %q", f[0])
		}
		all = append(all, answered{n, f[1]})
	}
	slices.SortStableFunc(all, func(a, b answered) int { return a.n - b.n })
	callees := make([]string, len(all))
	for i, a := range all {
		callees[i] = a.callee
	}
	return callees, nil
}

// CalleeRefused prefixes the callee PlaceCalls reports for a call the
// proxy refused or timed out (e.g. "refused-408"): the call was lost.
const CalleeRefused = "refused-"

// PlaceOne places one call and fails tb unless it completed and landed at
// want (CalleeProvider or CalleePSTN).
func (r *Rig) PlaceOne(tb testing.TB, ctx context.Context, want string) {
	tb.Helper()
	callees, err := r.PlaceCalls(ctx, 1, 0)
	if err != nil {
		tb.Fatalf("call lost (expected at the %s): %v", want, err)
	}
	if len(callees) != 1 || callees[0] != want {
		tb.Fatalf("call answered by %v, want the %s", callees, want)
	}
}

// Runs collapses callees into runs of the same callee, e.g. [provider
// provider pstn provider] → [provider pstn provider], and counts each.
func Runs(callees []string) (runs []string, count map[string]int) {
	count = map[string]int{}
	for _, c := range callees {
		count[c]++
		if len(runs) == 0 || runs[len(runs)-1] != c {
			runs = append(runs, c)
		}
	}
	return runs, count
}

// unfinished describes, for a failed UAC run, the calls the UAC did not
// complete (no 200 to its BYE): for the first few, every SIP message of the
// call as the UAC, both UAS and Kamailio saw it. Best effort: "" when
// nothing is known.
func (r *Rig) unfinished(msgFile string, calls, pid int) string {
	b, _ := os.ReadFile(msgFile)
	done := map[int]bool{}
	for _, block := range strings.Split(string(b), "\n----------") {
		if !strings.Contains(block, "received") || !strings.Contains(block, "CSeq: 2 BYE") || !strings.Contains(block, "SIP/2.0 200") {
			continue
		}
		_, id, ok := strings.Cut(block, "Call-ID: ")
		num, _, _ := strings.Cut(id, "-")
		if n, err := strconv.Atoi(num); ok && err == nil {
			done[n] = true
		}
	}
	var missing []int
	for n := 1; n <= calls; n++ {
		if !done[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 || pid == 0 || len(missing) == calls {
		return ""
	}
	return fmt.Sprintf("\ncalls not completed (by number): %v", missing[:min(len(missing), 20)]) + r.trace(msgFile, missing, pid)
}

// trace is every SIP message of the first few calls of nums (by number,
// of the UAC with process id pid) as the UAC, both UAS and Kamailio saw
// them.
func (r *Rig) trace(msgFile string, nums []int, pid int) string {
	var sb strings.Builder
	sources := []struct{ name, path string }{
		{"uac", msgFile},
		{"provider", filepath.Join(r.Dir, CalleeProvider, "messages.log")},
		{"pstn", filepath.Join(r.Dir, CalleePSTN, "messages.log")},
	}
	for _, n := range nums[:min(len(nums), 3)] {
		id := fmt.Sprintf("%d-%d@", n, pid)
		fmt.Fprintf(&sb, "\n=== call %s", id)
		for _, src := range sources {
			b, _ := os.ReadFile(src.path)
			for _, block := range strings.Split(string(b), "\n----------") {
				if strings.Contains(block, "Call-ID: "+id) {
					fmt.Fprintf(&sb, "\n--- %s:%s", src.name, tail([]byte(block), 1500))
				}
			}
		}
		for _, line := range strings.Split(string(r.KamailioLog()), "\n") {
			if strings.Contains(line, " "+id) {
				fmt.Fprintf(&sb, "\n--- kamailio: %s", line)
			}
		}
	}
	return sb.String()
}
