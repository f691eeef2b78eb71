package modem_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/modem"
	"lifeline/hal/modem/modemtest"
)

// safety bounds real-time waits in tests that are otherwise driven by the
// fake clock; it only fires when something is broken.
const safety = 10 * time.Second

type lineRig struct {
	t      *testing.T
	clk    *clock.Fake
	op     *modemtest.Opener
	m      *modemtest.Modem
	p      *modem.Profile
	line   *modem.Line
	states chan modem.StateChange
	cancel context.CancelFunc
	done   chan error
}

// newLineRig runs a Line on the analog profile (DTR drop off unless dtr)
// with a scripted modem plugged in and a 1 s health interval.
func newLineRig(t *testing.T, m *modemtest.Modem, dtr bool, opts ...modem.Option) *lineRig {
	t.Helper()
	p, err := modem.LoadProfile("analog")
	if err != nil {
		t.Fatal(err)
	}
	if !dtr {
		p.Hangup.DTRDrop = 0
	}
	r := &lineRig{t: t, clk: clock.NewFake(epoch), op: modemtest.NewOpener(), m: m, p: p,
		states: make(chan modem.StateChange, 256), done: make(chan error, 1)}
	if m != nil {
		r.op.Plug(m)
	}
	opts = append([]modem.Option{
		modem.WithClock(r.clk), modem.WithOpener(r.op), modem.WithHealthInterval(time.Second),
		modem.WithStateFunc(func(c modem.StateChange) { r.states <- c }),
	}, opts...)
	r.line = modem.New("/dev/ttyTEST0", p, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.line.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

func (r *lineRig) stop() {
	r.cancel()
	if err := <-r.done; err != nil {
		r.t.Errorf("Run: %v", err)
	}
}

func (r *lineRig) waitState(want modem.State) modem.StateChange {
	r.t.Helper()
	tm := time.NewTimer(safety)
	defer tm.Stop()
	for {
		select {
		case c := <-r.states:
			if c.To == want {
				return c
			}
		case <-tm.C:
			st, why := r.line.Status()
			r.t.Fatalf("no transition to %v; state %v (%s)", want, st, why)
		}
	}
}

// waitCmd waits until the modem has received cmd.
func waitCmd(t *testing.T, m *modemtest.Modem, cmd string) {
	t.Helper()
	tm := time.NewTimer(safety)
	defer tm.Stop()
	for {
		select {
		case c := <-m.Written():
			if strings.EqualFold(c, cmd) {
				return
			}
		case <-tm.C:
			t.Fatalf("modem never got %q; got %q", cmd, m.Commands())
		}
	}
}

func TestStateStrings(t *testing.T) {
	want := map[modem.State]string{modem.StateAbsent: "absent", modem.StateInitialising: "initialising",
		modem.StateIdle: "idle", modem.StateRinging: "ringing", modem.StateInCall: "in-call", modem.StateNoLine: "no-line"}
	for s, w := range want {
		if s.String() != w {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), w)
		}
	}
}

func TestLineFirstHealthCheck(t *testing.T) {
	tests := []struct {
		name  string
		reply []string
		want  modem.State
		why   string
	}{
		{"dial tone", []string{"OK"}, modem.StateIdle, "health check passed"},
		{"no dial tone", []string{"NO DIALTONE"}, modem.StateNoLine, "ATDT; answered NO DIALTONE"},
		{"no carrier", []string{"NO CARRIER"}, modem.StateNoLine, "ATDT; answered NO CARRIER"},
		{"unexpected", []string{"ERROR"}, modem.StateNoLine, `ATDT; answered unexpected "ERROR"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := modemtest.New(map[string][]string{"ATDT;": tc.reply})
			r := newLineRig(t, m, false)
			r.waitState(modem.StateInitialising)
			c := r.waitState(tc.want)
			if c.Reason != tc.why {
				t.Errorf("reason %q, want %q", c.Reason, tc.why)
			}
			waitCmd(t, m, "ATH0") // the hang-up after the dial-tone check
			cmds := strings.Join(m.Commands(), " ")
			if !strings.Contains(cmds, "ATZ ATE0V1Q0 AT&C1&D2 ATX4 AT+VCID=1 AT#CID=1 ATX4 ATDT; ATH0") {
				t.Errorf("commands %q", cmds)
			}
		})
	}
}

func TestLineHealthInterval(t *testing.T) {
	m := modemtest.New(nil)
	r := newLineRig(t, m, false)
	r.waitState(modem.StateIdle)
	waitCmd(t, m, "ATH0")
	m.Set("ATDT;", "NO DIALTONE")
	r.clk.Advance(time.Second)
	r.waitState(modem.StateNoLine)
	waitCmd(t, m, "ATH0")
	m.Set("ATDT;", "OK")
	r.clk.Advance(time.Second)
	r.waitState(modem.StateIdle)
}

func TestLineHealthNotDuringCall(t *testing.T) {
	m := modemtest.New(nil)
	r := newLineRig(t, m, false)
	r.waitState(modem.StateIdle)
	waitCmd(t, m, "ATH0")
	if err := r.line.Dial(context.Background(), "0301234"); err != nil {
		t.Fatal(err)
	}
	n := len(m.Commands())
	for i := 0; i < 5; i++ {
		r.clk.Advance(time.Second)
	}
	// A hang-up is served after the ticks, so every tick has been handled.
	if err := r.line.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The health checks held back by the call may run right after the
	// hang-up; nothing may come before it.
	if got := m.Commands()[n:]; len(got) == 0 || got[0] != "ATH0" {
		t.Errorf("commands during the call: %q, want the hang-up first", got)
	}
}

func TestLineNotAnsweringIsAbsent(t *testing.T) {
	m := modemtest.New(nil)
	r := newLineRig(t, m, false)
	r.waitState(modem.StateIdle)
	waitCmd(t, m, "ATH0")
	m.SetFaults(modemtest.Faults{Mute: true})
	r.clk.Advance(time.Second)
	tm := time.NewTimer(safety)
	defer tm.Stop()
	for {
		select {
		case c := <-r.states:
			if c.To == modem.StateAbsent {
				if !strings.Contains(c.Reason, "not answering") {
					t.Errorf("reason %q", c.Reason)
				}
				if !m.Closed() {
					t.Error("port not closed")
				}
				return
			}
		case <-m.Written():
			r.clk.Advance(r.p.Health.Timeout.D())
		case <-tm.C:
			t.Fatalf("never absent: %v", r.line.State())
		}
	}
}

func TestLineDial(t *testing.T) {
	tests := []struct {
		name    string
		reply   []string
		wantErr error
		state   modem.State
	}{
		{"connected", []string{"OK"}, nil, modem.StateInCall},
		{"connect", []string{"CONNECT"}, nil, modem.StateInCall},
		{"busy", []string{"BUSY"}, modem.ErrBusy, modem.StateIdle},
		{"no answer", []string{"NO ANSWER"}, modem.ErrNoAnswer, modem.StateIdle},
		{"no dial tone", []string{"NO DIALTONE"}, modem.ErrNoDialtone, modem.StateNoLine},
		{"no carrier", []string{"NO CARRIER"}, modem.ErrNoCarrier, modem.StateIdle},
		{"error", []string{"ERROR"}, modem.ErrCommand, modem.StateIdle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := modemtest.New(map[string][]string{"ATDT0301234;": tc.reply})
			r := newLineRig(t, m, false)
			r.waitState(modem.StateIdle)
			err := r.line.Dial(context.Background(), "0301234")
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Dial = %v, want %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "/dev/ttyTEST0") {
				t.Errorf("error does not name the device: %v", err)
			}
			if got := r.line.State(); got != tc.state {
				t.Errorf("state %v, want %v", got, tc.state)
			}
			if tc.wantErr == nil {
				if err := r.line.Dial(context.Background(), "110"); !errors.Is(err, modem.ErrLineBusy) {
					t.Errorf("second Dial = %v, want ErrLineBusy", err)
				}
				if err := r.line.Hangup(context.Background()); err != nil || r.line.State() != modem.StateIdle {
					t.Errorf("Hangup = %v, state %v", err, r.line.State())
				}
			}
		})
	}
}

func TestLineDialBadNumber(t *testing.T) {
	r := newLineRig(t, modemtest.New(nil), false)
	for _, n := range []string{"", "123;ATZ", "12\r", strings.Repeat("1", 41)} {
		if err := r.line.Dial(context.Background(), n); !errors.Is(err, modem.ErrBadNumber) {
			t.Errorf("Dial(%q) = %v", n, err)
		}
	}
}

func TestLineDialCancelHangsUp(t *testing.T) {
	m := modemtest.New(map[string][]string{"ATDT0301234;": nil}) // never answers
	r := newLineRig(t, m, false)
	r.waitState(modem.StateIdle)
	waitCmd(t, m, "ATH0")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.line.Dial(ctx, "0301234") }()
	r.waitState(modem.StateInCall)
	waitCmd(t, m, "ATDT0301234;")
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial = %v", err)
	}
	waitCmd(t, m, "ATH0")
	if c := r.waitState(modem.StateIdle); !strings.HasPrefix(c.Reason, "dial aborted") {
		t.Errorf("reason %q", c.Reason)
	}
}

func TestLineDialTimeout(t *testing.T) {
	m := modemtest.New(map[string][]string{"ATDT0301234;": nil})
	r := newLineRig(t, m, false, modem.WithHealthInterval(time.Hour))
	r.waitState(modem.StateIdle)
	waitCmd(t, m, "ATH0")
	errc := make(chan error, 1)
	go func() { errc <- r.line.Dial(context.Background(), "0301234") }()
	waitCmd(t, m, "ATDT0301234;")
	r.clk.Advance(r.p.Dial.Timeout.D())
	if err := <-errc; !errors.Is(err, modem.ErrTimeout) {
		t.Fatalf("Dial = %v, want ErrTimeout", err)
	}
}

func TestLineHangupDropsDTR(t *testing.T) {
	m := modemtest.New(nil)
	r := newLineRig(t, m, true, modem.WithHealthInterval(time.Hour))
	r.waitState(modem.StateIdle)
	if err := r.line.Dial(context.Background(), "0301234"); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- r.line.Hangup(context.Background()) }()
	r.clk.WaitTimers(2) // health + DTR pulse
	r.clk.Advance(r.p.Hangup.DTRDrop.D())
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if d := m.DTR(); len(d) != 2 || d[0] || !d[1] {
		t.Errorf("DTR sequence %v, want [false true]", d)
	}
	if cmds := m.Commands(); cmds[len(cmds)-1] != "ATH0" {
		t.Errorf("last command %q", cmds[len(cmds)-1])
	}
}

func TestLineRingWithCallerID(t *testing.T) {
	m := modemtest.New(nil)
	r := newLineRig(t, m, false, modem.WithHealthInterval(time.Hour))
	rings, cancel := r.line.SubscribeRings(16)
	defer cancel()
	r.waitState(modem.StateIdle)
	waitCmd(t, m, "ATH0")
	m.Inject("RING", "DATE = 1125", "TIME = 1330", "NMBR = 0301234567", "NAME = ALICE", "RING")
	r.waitState(modem.StateRinging)
	var last modem.Ring
	for last.Count < 2 {
		select {
		case last = <-rings:
		case <-time.After(safety):
			t.Fatal("rings missing")
		}
	}
	want := modem.CallerID{Number: "0301234567", Name: "ALICE", Date: "1125", Time: "1330"}
	if last.Caller != want {
		t.Errorf("caller %+v, want %+v", last.Caller, want)
	}
	if err := r.line.Dial(context.Background(), "110"); !errors.Is(err, modem.ErrLineBusy) {
		t.Errorf("Dial while ringing = %v", err)
	}
	r.clk.Advance(r.p.RingTimeout.D())
	if c := r.waitState(modem.StateIdle); c.Reason != "ringing stopped" {
		t.Errorf("reason %q", c.Reason)
	}
	select {
	case end := <-rings:
		if !end.Ended || end.Reason != "ringing stopped" || end.Count != 2 || end.Caller != want {
			t.Errorf("last ring %+v", end)
		}
	case <-time.After(safety):
		t.Fatal("no Ended ring")
	}
	// The next call starts with no stale caller ID.
	m.Inject("RING")
	for {
		select {
		case rg := <-rings:
			if rg.Count == 1 {
				if !rg.Caller.IsZero() {
					t.Errorf("stale caller ID %+v", rg.Caller)
				}
				return
			}
		case <-time.After(safety):
			t.Fatal("second call's ring missing")
		}
	}
}

func TestLineRemoteHangup(t *testing.T) {
	m := modemtest.New(nil)
	r := newLineRig(t, m, false)
	r.waitState(modem.StateIdle)
	if err := r.line.Dial(context.Background(), "0301234"); err != nil {
		t.Fatal(err)
	}
	m.Inject("NO CARRIER")
	if c := r.waitState(modem.StateIdle); c.Reason != "remote hung up" {
		t.Errorf("reason %q", c.Reason)
	}
}

func TestLineUnplugReplug(t *testing.T) {
	m := modemtest.New(nil)
	r := newLineRig(t, m, false)
	r.waitState(modem.StateIdle)
	m.Unplug()
	r.waitState(modem.StateAbsent)
	if err := r.line.Dial(context.Background(), "110"); !errors.Is(err, modem.ErrNotReady) {
		t.Errorf("Dial while absent = %v", err)
	}
	m2 := modemtest.New(nil)
	r.op.Plug(m2)
	r.clk.WaitTimers(1) // the backoff wait
	r.clk.Advance(modem.DefaultBackoffMax)
	r.waitState(modem.StateIdle)
	if r.op.Opens() != 2 {
		t.Errorf("opens = %d", r.op.Opens())
	}
}

func TestLineBackoffIsBounded(t *testing.T) {
	r := newLineRig(t, nil, false, modem.WithBackoff(100*time.Millisecond, 400*time.Millisecond))
	// Attempts at 0, +100, +200, +400, +400 ms: the wait never exceeds max.
	waits := []time.Duration{100, 200, 400, 400, 400}
	<-r.op.Attempts()
	for _, w := range waits {
		r.clk.WaitTimers(1)
		next, _ := r.clk.NextDeadline()
		if got := next.Sub(r.clk.Now()); got != w*time.Millisecond {
			t.Fatalf("backoff %v, want %v", got, w*time.Millisecond)
		}
		r.clk.Advance(w * time.Millisecond)
		<-r.op.Attempts()
	}
}

func TestLineInitFailure(t *testing.T) {
	m := modemtest.New(map[string][]string{"ATZ": {"ERROR"}})
	r := newLineRig(t, m, false)
	r.waitState(modem.StateInitialising)
	c := r.waitState(modem.StateAbsent)
	if !strings.Contains(c.Reason, `init: "ATZ" answered "ERROR"`) {
		t.Errorf("reason %q", c.Reason)
	}
}

func TestLineRunOnceAndStop(t *testing.T) {
	m := modemtest.New(nil)
	r := newLineRig(t, m, false)
	rings, _ := r.line.SubscribeRings(1)
	r.waitState(modem.StateIdle)
	if err := r.line.Run(context.Background()); !errors.Is(err, modem.ErrRunning) {
		t.Errorf("second Run = %v", err)
	}
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatal(err)
	}
	r.done <- nil // for cleanup
	if _, ok := <-rings; ok {
		t.Error("ring channel not closed")
	}
	if err := r.line.Dial(context.Background(), "110"); !errors.Is(err, modem.ErrStopped) {
		t.Errorf("Dial after Run = %v", err)
	}
	if r.line.State() != modem.StateAbsent || !m.Closed() {
		t.Errorf("after Run: state %v, port closed %v", r.line.State(), m.Closed())
	}
}

func TestLineCheckNow(t *testing.T) {
	m := modemtest.New(nil)
	r := newLineRig(t, m, false, modem.WithHealthInterval(time.Hour))
	r.waitState(modem.StateIdle)
	m.Set("ATDT;", "NO DIALTONE")
	if err := r.line.CheckNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := r.line.State(); st != modem.StateNoLine {
		t.Errorf("state after CheckNow %v", st)
	}
	m.Set("ATDT;", "OK")
	if err := r.line.CheckNow(context.Background()); err != nil || r.line.State() != modem.StateIdle {
		t.Fatalf("CheckNow = %v, state %v", err, r.line.State())
	}
	if err := r.line.Dial(context.Background(), "110"); err != nil {
		t.Fatal(err)
	}
	if err := r.line.CheckNow(context.Background()); !errors.Is(err, modem.ErrLineBusy) {
		t.Errorf("CheckNow in call = %v", err)
	}
}

func TestLinePathGoneIsAbsent(t *testing.T) {
	m := modemtest.New(nil)
	r := newLineRig(t, m, false)
	r.waitState(modem.StateIdle)
	m.SetFaults(modemtest.Faults{Gone: true})
	r.clk.Advance(time.Second)
	c := r.waitState(modem.StateAbsent)
	if !strings.Contains(c.Reason, "device gone") || !m.Closed() {
		t.Errorf("reason %q, closed %v", c.Reason, m.Closed())
	}
}
