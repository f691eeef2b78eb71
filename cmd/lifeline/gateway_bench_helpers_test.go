package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"lifeline/hal/kamailio/siprig"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/modem/modemtest"
	"lifeline/hal/voice"
	"lifeline/hal/voice/sdp"
)

// testing.TB versions of the gateway e2e helpers (which take *testing.T),
// for BenchmarkGatewayCall.

// gwbBinary is the lifeline binary the gateway benchmarks run: the
// parent's (in a benchmark run again in its own network namespace) or one
// built now. It skips without pseudo-terminals.
func gwbBinary(b *testing.B) string {
	b.Helper()
	modemtest.NeedPTY(b)
	if bin := os.Getenv(gwbEnvBin); bin != "" {
		return bin
	}
	return lifelineBin(b)
}

// gwbRig is the gateway benchmarks' rig: the binary on the generic board
// (gwE2EConfig), its line a modemsim.VoiceSim whose far end echoes on the
// modem's 20 ms clock (PlayEchoPaced) behind a gwbRelay, and the tagged
// frames of a call (gwbFrames) as the phone sends them and as their echo
// must come back.
type gwbRig struct {
	sim        *modemsim.VoiceSim
	relay      *gwbRelay
	d          *gwbDaemon
	sipPort    int
	pcma, echo [][]byte
}

// startGWBRig starts the rig with frames for a call of dur and waits
// until the line is idle.
func startGWBRig(b *testing.B, bin string, dur time.Duration, modemFmt voice.Format) *gwbRig {
	b.Helper()
	sim, err := modemsim.NewVoice(b.TempDir(), modemsim.VoiceRings(1, 10*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sim.Close() })
	sim.SetPlayback(modemsim.PlayEchoPaced)
	r := &gwbRig{sim: sim, sipPort: siprig.FreePort(b)}
	var line [][]byte
	r.pcma, line, r.echo = gwbFrames(int(dur/(20*time.Millisecond))+100, modemFmt)
	dir := b.TempDir()
	r.relay = newGWBRelay(b, dir, sim.Path(), line)
	r.d = startGWBDaemon(b, bin, fmt.Sprintf(gwE2EConfig, filepath.Join(dir, "hooks.d"), r.relay.path, r.sipPort))
	r.d.waitFor(b, "line idle", noCallLineIdle)
	return r
}

// gwbDaemon is `lifeline run` started by a benchmark.
type gwbDaemon struct {
	bin, dir, cfg, sock string
	cmd                 *exec.Cmd
	log                 *logBuffer
	exited              chan error
}

// startGWBDaemon writes config into a temp dir and starts bin on the
// generic board; it is stopped (SIGTERM) with the benchmark.
func startGWBDaemon(tb testing.TB, bin, config string) *gwbDaemon {
	tb.Helper()
	d := &gwbDaemon{bin: bin, dir: tb.TempDir()}
	d.cfg = filepath.Join(d.dir, "lifeline.conf")
	d.sock = filepath.Join(d.dir, "lifeline.sock")
	if err := os.WriteFile(d.cfg, []byte(config), 0o644); err != nil {
		tb.Fatal(err)
	}
	d.cmd = exec.Command(bin, "run", "-c", d.cfg, "--state-dir", d.dir, "--socket", d.sock, "--board", "generic")
	d.log = newLogBuffer()
	d.cmd.Stderr = d.log
	if err := d.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	d.exited = make(chan error, 1)
	go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(d.cmd, d.exited)
	tb.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(20 * time.Second):
			d.cmd.Process.Kill()
			<-d.exited
		}
	})
	d.waitFor(tb, "daemon answering", func(st map[string]any) bool { return st["route"] != nil })
	return d
}

// status returns `status --json`, nil while the daemon does not answer.
func (d *gwbDaemon) status(tb testing.TB) map[string]any {
	out, err := exec.Command(d.bin, "status", "--json", "--socket", d.sock).Output()
	if err != nil {
		return nil
	}
	var st map[string]any
	if err := json.Unmarshal(out, &st); err != nil {
		tb.Fatalf("status --json is not JSON: %v\n%s", err, out)
	}
	return st
}

// waitFor polls the status until cond holds (safety net 15 s).
func (d *gwbDaemon) waitFor(tb testing.TB, what string, cond func(map[string]any) bool) map[string]any {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last map[string]any
	for time.Now().Before(deadline) {
		if st := d.status(tb); st != nil {
			last = st
			if cond(st) {
				return st
			}
		}
		select {
		case err := <-d.exited:
			tb.Fatalf("daemon exited (%v) while waiting for %s; log:\n%s", err, what, d.log)
		case <-time.After(20 * time.Millisecond):
		}
	}
	tb.Fatalf("timed out waiting for %s; last status %v\nlog:\n%s", what, last, d.log)
	return nil
}

// noCallLineIdle: no call in the status and the line idle (a waitFor
// predicate for the end of a gateway call, in the e2e tests and the bench).
func noCallLineIdle(st map[string]any) bool {
	calls, _ := st["calls"].([]any)
	return len(calls) == 0 && field(st, "line.state") == "idle"
}

// gwbCPU is the CPU time a process has used: the sum of its threads'
// run time from /proc/PID/task/*/schedstat (nanoseconds), or, where the
// kernel keeps no schedstat, utime+stime from /proc/PID/stat (USER_HZ
// ticks, 100 a second on Linux). src names the source used.
func gwbCPU(pid int) (d time.Duration, src string, err error) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var ns int64
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited
		}
		f := strings.Fields(string(b))
		if len(f) < 1 {
			continue
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, "", fmt.Errorf("%s: %q: %w", p, b, err)
		}
		ns += v
	}
	if ns > 0 {
		return time.Duration(ns), "schedstat", nil
	}
	d, err = gwbCPUStat(pid)
	return d, "stat", err
}

// gwbCPUStat is utime+stime from /proc/PID/stat.
func gwbCPUStat(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: fields count from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q: too short", pid, b)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14 utime
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15 stime
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q: bad utime/stime", pid, b)
	}
	const userHZ = 100
	return time.Duration(ut+st) * time.Second / userHZ, nil
}

// gwbPhone is a sipgo UAC with its own socket.
type gwbPhone struct {
	dc *sipgo.DialogClientCache
	gw int // the gateway's SIP port
}

func newGWBPhone(tb testing.TB, gwPort int) *gwbPhone {
	tb.Helper()
	sipLogOnce.Do(func() { sip.SetDefaultLogger(slog.New(slog.DiscardHandler)) })
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("phone"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Skipf("needs loopback UDP: %v", err)
	}
	srv, _ := sipgo.NewServer(ua)
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	p := &gwbPhone{gw: gwPort}
	p.dc = sipgo.NewDialogClientCache(cli, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "phone", Host: "127.0.0.1",
		Port: conn.LocalAddr().(*net.UDPAddr).Port}})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) { p.dc.ReadBye(req, tx) })
	served := make(chan struct{})
	go func() { defer close(served); srv.ServeUDP(conn) }()
	tb.Cleanup(func() {
		ua.Close()
		conn.Close()
		<-served
	})
	return p
}

// call places a PCMA call to user with its RTP on rtpPort, acknowledges
// the 200 and returns the session and the gateway's RTP address.
func (p *gwbPhone) call(tb testing.TB, user string, rtpPort int) (*sipgo.DialogClientSession, *net.UDPAddr) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	offer, err := sdp.Offer(sdp.Local{Addr: loopback4, Port: rtpPort, SessionID: 7, Version: 1}, "PCMA")
	if err != nil {
		tb.Fatal(err)
	}
	sess, err := p.dc.Invite(ctx, sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: p.gw}, offer,
		sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		tb.Fatalf("INVITE: %v", err)
	}
	tb.Cleanup(func() { sess.Close() })
	if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		tb.Fatalf("INVITE %s: %v", user, err)
	}
	if err := sess.Ack(ctx); err != nil {
		tb.Fatal(err)
	}
	ans, err := sdp.Parse(sess.InviteResponse.Body())
	if err != nil || len(ans.Media) == 0 {
		tb.Fatalf("SDP answer: %v", err)
	}
	return sess, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ans.Media[0].Port}
}

// gwbDTE talks to a voice modem's device as the DTE: AT commands, then
// the DLE-shielded stream.
type gwbDTE struct {
	f  *os.File
	br *bufio.Reader
}

func openGWBDTE(tb testing.TB, path string) *gwbDTE {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return &gwbDTE{f: f, br: bufio.NewReader(f)}
}

// command sends cmd and reads until the text want (safety net 10 s);
// bytes after want stay buffered for the stream.
func (m *gwbDTE) command(tb testing.TB, cmd, want string) {
	tb.Helper()
	if _, err := m.f.Write([]byte(cmd + "\r")); err != nil {
		tb.Fatal(err)
	}
	m.f.SetReadDeadline(time.Now().Add(10 * time.Second))
	var seen []byte
	for !bytes.HasSuffix(seen, []byte(want)) {
		c, err := m.br.ReadByte()
		if err != nil {
			tb.Fatalf("%s: waiting for %q after %q: %v (read %q)", m.f.Name(), want, cmd, err, seen)
		}
		seen = append(seen, c)
	}
}

// gwbFrames makes n PCMA frames of a tone, each tagged with its number in
// its first four samples (base 16, levels 2048 apart, which survive A-law
// and 8-bit linear quantisation), so that every frame is unique and can
// be told by its content after the bridge's transcoding. It returns the
// frames as the phone sends them (pcma), as the modem hears them in
// modemFmt (line), and as the echo must come back to the phone (echo).
func gwbFrames(n int, modemFmt voice.Format) (pcma, line, echo [][]byte) {
	for k := range n {
		lin := make([]int16, voice.FrameSamples)
		for i := range lin {
			s := k*voice.FrameSamples + i
			lin[i] = int16(6000 * math.Sin(2*math.Pi*440*float64(s)/voice.SampleRate))
		}
		for d := range 4 {
			digit := (k >> (4 * d)) & 15
			lin[d] = int16(digit*2048 - 15360)
		}
		a := voice.FormatALaw.Encode(nil, lin)
		l := voice.Transcode(nil, modemFmt, a, voice.FormatALaw)
		pcma = append(pcma, a)
		line = append(line, l)
		echo = append(echo, voice.Transcode(nil, voice.FormatALaw, l, modemFmt))
	}
	return pcma, line, echo
}

// gwbRelay sits on the serial line between the daemon and the simulated
// modem: the daemon opens a pty of the relay's, the relay is the DTE on
// the simulator's pty and copies bytes both ways. It notes when each
// tagged frame passes, whole, in the voice data state: toLine[k] when
// the daemon's frame k reached the modem side, fromLine[k] when the
// modem's echo of it left for the daemon (Unix ns; 0 not seen). That
// splits the phone's round trip into phone → line, the far end's hold
// and line → phone. The relay itself adds one pty hop each way.
//
// One goroutine per direction; Close (in Cleanup) closes the files and
// waits for both.
type gwbRelay struct {
	path             string
	master, slave    *os.File
	line             *os.File
	toLine, fromLine *gwbTap
	wg               sync.WaitGroup
}

func newGWBRelay(tb testing.TB, dir, linePath string, frames [][]byte) *gwbRelay {
	tb.Helper()
	master, slave, err := modemsim.OpenPTY()
	if err != nil {
		tb.Skipf("needs pseudo-terminals: %v", err)
	}
	r := &gwbRelay{path: filepath.Join(dir, "relay"), master: master, slave: slave}
	if err := os.Symlink(slave.Name(), r.path); err != nil {
		tb.Fatal(err)
	}
	r.line, err = os.OpenFile(linePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	idx := make(map[string]int, len(frames))
	for k, f := range frames {
		idx[string(f)] = k
	}
	fb := len(frames[0])
	r.toLine = &gwbTap{idx: idx, at: make([]atomic.Int64, len(frames)), frameBytes: fb, enter: func(text []byte) bool {
		return bytes.HasSuffix(bytes.ToUpper(text), []byte("+VTR\r"))
	}}
	r.fromLine = &gwbTap{idx: idx, at: make([]atomic.Int64, len(frames)), frameBytes: fb, enter: func(text []byte) bool {
		return bytes.HasSuffix(text, []byte("CONNECT\r\n"))
	}}
	r.wg.Add(2)
	go r.pump(r.line, r.master, r.toLine)
	go r.pump(r.master, r.line, r.fromLine)
	tb.Cleanup(r.Close)
	return r
}

func (r *gwbRelay) pump(dst, src *os.File, tap *gwbTap) {
	defer r.wg.Done()
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			tap.feed(buf[:n], time.Now())
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Close stops both directions and waits for them.
func (r *gwbRelay) Close() {
	os.Remove(r.path)
	r.master.Close()
	r.line.Close()
	r.slave.Close()
	r.wg.Wait()
}

// reset forgets the frames seen (before a call).
func (r *gwbRelay) reset() {
	for _, t := range []*gwbTap{r.toLine, r.fromLine} {
		for i := range t.at {
			t.at[i].Store(0)
		}
	}
}

// gwbTap follows one direction of the line: command text until enter
// says the voice data state begins, then DLE-shielded audio cut into
// frames from the state's first byte, until <DLE><ETX> or <DLE>!. Only
// its pump goroutine calls feed; at is read by others.
type gwbTap struct {
	idx        map[string]int
	at         []atomic.Int64
	frameBytes int
	enter      func(text []byte) bool

	data  bool
	text  []byte
	u     voice.Unshielder
	frame []byte
	out   []byte
}

func (t *gwbTap) feed(b []byte, now time.Time) {
	for len(b) > 0 {
		if !t.data {
			t.text = append(t.text, b[0])
			b = b[1:]
			if len(t.text) > 64 {
				t.text = append(t.text[:0], t.text[len(t.text)-32:]...)
			}
			if t.enter(t.text) {
				t.data, t.text, t.frame, t.u = true, t.text[:0], t.frame[:0], voice.Unshielder{}
			}
			continue
		}
		out, used, code, ok := t.u.Feed(t.out[:0], b)
		t.out = out
		b = b[used:]
		for _, x := range out {
			t.frame = append(t.frame, x)
			if len(t.frame) == t.frameBytes {
				if k, found := t.idx[string(t.frame)]; found && t.at[k].Load() == 0 {
					t.at[k].Store(now.UnixNano())
				}
				t.frame = t.frame[:0]
			}
		}
		if ok && (code == voice.ETX || code == voice.CmdAbort) {
			t.data = false
		}
	}
}

// gwbSwitches is the number of context switches (voluntary, when a thread
// blocks, and involuntary, when it is preempted) of all of a process's
// threads, from /proc/PID/task/*/status.
func gwbSwitches(pid int) (int64, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("/proc/%d/task: no threads (%v)", pid, err)
	}
	var n int64
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited
		}
		for _, key := range []string{"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"} {
			v, err := gwbStatusField(b, key)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", p, err)
			}
			n += v
		}
	}
	return n, nil
}

// gwbRSS is a process's resident set (VmRSS) in bytes.
func gwbRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	kb, err := gwbStatusField(b, "VmRSS:")
	return kb << 10, err
}

// gwbStatusField is the number after key at a line start of a
// /proc/…/status file.
func gwbStatusField(status []byte, key string) (int64, error) {
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s", key)
}

// gwbRSSWatch samples a process's RSS every 50 ms until stopped and keeps
// the largest value: the peak of a period (idle or a call), where VmHWM
// would be the peak of the process's whole life.
type gwbRSSWatch struct {
	max  atomic.Int64
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func watchGWBRSS(pid int) *gwbRSSWatch {
	w := &gwbRSSWatch{stop: make(chan struct{}), done: make(chan struct{})}
	sample := func() {
		if v, err := gwbRSS(pid); err == nil && v > w.max.Load() {
			w.max.Store(v)
		}
	}
	sample()
	go func() {
		defer close(w.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				sample()
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return w
}

// Stop ends the sampling and returns the largest RSS seen, in bytes.
// Idempotent.
func (w *gwbRSSWatch) Stop() int64 {
	w.once.Do(func() { close(w.stop) })
	<-w.done
	return w.max.Load()
}
