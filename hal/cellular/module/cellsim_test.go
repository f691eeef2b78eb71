package module

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/hal/cellular/at"
	"lifeline/hal/cellular/cellsim"
	"lifeline/hal/cellular/profiles"
	"lifeline/hal/cellular/sms"
	"lifeline/hal/clock"
	"lifeline/hal/modem/modemtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// patience bounds every wait (a failure bound, not a synchronisation:
// each wait ends on an event).
const patience = 10 * time.Second

var allProfiles = []string{"huawei-e1550", "quectel-ec25", "simcom-sim7600"}

type received struct {
	from, text string
	at         time.Time
}

// rig is a Module running against a cellsim module on a fake clock.
type rig struct {
	t    *testing.T
	sim  *cellsim.Sim
	clk  *clock.Fake
	mod  *Module
	kick chan struct{}
	smsC chan received
	stop func()
}

func newRig(t *testing.T, profile string, simOpts []cellsim.Option, opts ...Option) *rig {
	t.Helper()
	prof, err := profiles.Load(profile)
	if err != nil {
		t.Fatal(err)
	}
	return newRigProfile(t, prof, simOpts, opts...)
}

func newRigProfile(t *testing.T, prof *profiles.Profile, simOpts []cellsim.Option, opts ...Option) *rig {
	t.Helper()
	modemtest.NeedPTY(t)
	clk := clock.NewFake(time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC))
	sim, err := cellsim.New(t.TempDir(), prof, append([]cellsim.Option{cellsim.WithClock(clk)}, simOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, sim: sim, clk: clk, kick: make(chan struct{}, 1), smsC: make(chan received, 16)}
	opts = append([]Option{WithClock(clk),
		WithStatusFunc(func(Status) {
			select {
			case r.kick <- struct{}{}:
			default:
			}
		}),
		WithSMSFunc(func(from, text string, at time.Time) { r.smsC <- received{from, text, at} }),
	}, opts...)
	r.mod, err = New(sim.ATPath(), sim.AudioPath(), prof, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.mod.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			sim.Close()
		})
	}
	t.Cleanup(r.stop)
	return r
}

// wait waits until cond holds for the Module's status.
func (r *rig) wait(what string, cond func(Status) bool) Status {
	r.t.Helper()
	return waitStatus(r.t, r.mod, r.kick, what, cond)
}

// waitStatus re-reads m's status at each kick (its status callback) until
// cond holds.
func waitStatus(t *testing.T, m *Module, kick <-chan struct{}, what string, cond func(Status) bool) Status {
	t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for {
		st := m.Status()
		if cond(st) {
			return st
		}
		select {
		case <-kick:
		case <-deadline.C:
			t.Fatalf("waiting for %s: status %+v", what, st)
		}
	}
}

func (r *rig) waitState(s State) Status {
	r.t.Helper()
	return r.wait(s.String(), func(st Status) bool { return st.State == s })
}

// simWait waits for the simulator's state.
func (r *rig) simWait(cond func(cellsim.State) bool) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := r.sim.Wait(ctx, cond); err != nil {
		r.t.Fatal(err)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

func TestRegisteredHealthEachProfile(t *testing.T) {
	for _, name := range allProfiles {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, name, nil)
			st := r.waitState(StateIdle)
			want := Status{State: StateIdle, Reason: "registered home", SIM: at.SIMReady, Registration: "home",
				Operator: "Lifeline Mobile", Technology: "4G", SignalDBm: -73, SignalKnown: true, Since: st.Since}
			if name == "quectel-ec25" {
				want.VoLTE = VoLTEOn
			}
			if st != want {
				t.Errorf("status\n got %+v\nwant %+v", st, want)
			}
			// Roaming on 3G with a weak signal, read at the next health check.
			r.sim.SetSignal(5)
			r.sim.SetRegistration(at.RegRoaming, 2) // +CREG URC: a re-read at once
			st = r.wait("roaming", func(st Status) bool { return st.Registration == "roaming" && st.SignalDBm == -103 })
			if st.State != StateIdle || st.Reason != "registered roaming" {
				t.Errorf("roaming: %+v", st)
			}
		})
	}
}

func TestDeregisteredIsNoLine(t *testing.T) {
	for _, name := range allProfiles {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, name, nil)
			r.waitState(StateIdle)
			r.sim.SetRegistration(at.RegDenied, 7)
			st := r.waitState(StateNoLine)
			if st.Reason != "not registered: denied" || st.Registration != "denied" {
				t.Errorf("status %+v", st)
			}
			if _, err := r.mod.Dial(ctxT(t), "+4930123456"); !errors.Is(err, ErrNoLine) || !strings.Contains(err.Error(), "denied") {
				t.Errorf("Dial on no-line: %v", err)
			}
			r.sim.SetRegistration(at.RegHome, 7)
			r.waitState(StateIdle)
		})
	}
}

func TestNoSIMAndEmergency(t *testing.T) {
	r := newRig(t, "quectel-ec25", nil)
	r.waitState(StateIdle)
	r.sim.SetSIM(at.SIMAbsent)
	if err := r.mod.CheckNow(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if st := r.mod.Status(); st.State != StateNoLine || st.Reason != "no SIM" || st.SIM != at.SIMAbsent {
		t.Fatalf("status %+v", st)
	}
	if _, err := r.mod.Dial(ctxT(t), "5551234"); !errors.Is(err, ErrNoLine) {
		t.Errorf("Dial without SIM: %v", err)
	}
	c, err := r.mod.Dial(ctxT(t), "112")
	if err != nil {
		t.Fatalf("112 without SIM: %v", err)
	}
	if st := r.sim.State(); st.Call != cellsim.CallActive || st.Number != "112" {
		t.Errorf("sim %+v", st)
	}
	if err := r.mod.Hangup(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	if st := r.waitState(StateNoLine); st.Reason != "no SIM" {
		t.Errorf("after the call: %+v", st)
	}
}

func TestOutgoingCallEachProfile(t *testing.T) {
	for _, name := range allProfiles {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, name, nil)
			r.waitState(StateIdle)
			c, err := r.mod.Dial(ctxT(t), "+4930123456")
			if err != nil {
				t.Fatal(err)
			}
			if c.Number != "+4930123456" || c.Incoming || c.AudioPath != r.sim.AudioPath() {
				t.Errorf("call %+v", c)
			}
			st := r.mod.Status()
			if st.State != StateInCall || st.Call != (CallInfo{Phase: PhaseConnected, Number: "+4930123456"}) {
				t.Errorf("status %+v", st)
			}
			if s := r.sim.State(); s.Call != cellsim.CallActive || !s.AudioRouted {
				t.Errorf("sim after dial: %+v", s)
			}
			if err := r.mod.SendDTMF(ctxT(t), "1#9"); err != nil {
				t.Fatal(err)
			}
			if s := r.sim.State(); s.DTMF != "1#9" {
				t.Errorf("DTMF %q", s.DTMF)
			}
			if _, err := r.mod.Dial(ctxT(t), "5551234"); !errors.Is(err, ErrLineBusy) {
				t.Errorf("second Dial: %v", err)
			}
			if err := r.mod.Hangup(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			<-c.Done()
			if !errors.Is(c.Err(), ErrEnded) {
				t.Errorf("Err %v", c.Err())
			}
			if s := r.sim.State(); s.Call != cellsim.CallIdle || s.AudioRouted {
				t.Errorf("sim after hang-up: %+v", s)
			}
			r.waitState(StateIdle)
			if err := r.mod.SendDTMF(ctxT(t), "1"); !errors.Is(err, ErrNoCall) {
				t.Errorf("DTMF without a call: %v", err)
			}
		})
	}
}

func TestDialOutcomesEachProfile(t *testing.T) {
	for _, name := range allProfiles {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, name, nil)
			r.waitState(StateIdle)
			r.sim.SetDialOutcome(cellsim.Busy)
			if _, err := r.mod.Dial(ctxT(t), "5551234"); !errors.Is(err, ErrBusy) {
				t.Errorf("busy: %v", err)
			}
			r.waitState(StateIdle)
			r.sim.SetDialOutcome(cellsim.NoAnswer)
			if _, err := r.mod.Dial(ctxT(t), "5551234"); !errors.Is(err, ErrNoAnswer) {
				t.Errorf("no answer: %v", err)
			}
			r.waitState(StateIdle)
			// The far end rings and answers later, then hangs up.
			r.sim.SetDialOutcome(cellsim.Ringing)
			type res struct {
				c   *Call
				err error
			}
			got := make(chan res, 1)
			go func() {
				c, err := r.mod.Dial(ctxT(t), "5551234")
				got <- res{c, err}
			}()
			r.simWait(func(s cellsim.State) bool { return s.Call == cellsim.CallAlerting })
			if err := r.sim.RemoteAnswer(); err != nil {
				t.Fatal(err)
			}
			d := <-got
			if d.err != nil {
				t.Fatal(d.err)
			}
			if err := r.sim.RemoteHangup(); err != nil {
				t.Fatal(err)
			}
			<-d.c.Done()
			if err := d.c.Err(); !errors.Is(err, ErrEnded) || !strings.Contains(err.Error(), "remote hung up") {
				t.Errorf("remote hang-up: %v", err)
			}
			r.waitState(StateIdle)
			if name != "huawei-e1550" {
				r.simWait(func(s cellsim.State) bool { return !s.AudioRouted })
			}
		})
	}
}

func TestDialTimeoutHangsUp(t *testing.T) {
	// The health timer goes after the 60 s dial timer.
	r := newRig(t, "huawei-e1550", nil, WithHealthInterval(5*time.Minute))
	r.waitState(StateIdle)
	r.sim.SetDialOutcome(cellsim.Ringing)
	got := make(chan error, 1)
	go func() {
		_, err := r.mod.Dial(ctxT(t), "5551234")
		got <- err
	}()
	// ^CONF (the far end rings) is handled after ATD's OK and the audio
	// command, when the dial timer is armed and no command is pending.
	r.wait("alerting", func(st Status) bool { return st.Call.Phase == PhaseAlerting })
	r.clk.Advance(r.mod.Profile().Dial.Timeout.D())
	if err := <-got; !errors.Is(err, ErrTimeout) {
		t.Errorf("Dial: %v", err)
	}
	r.simWait(func(s cellsim.State) bool { return s.Call == cellsim.CallIdle })
}

func TestIncomingCallEachProfile(t *testing.T) {
	for _, name := range allProfiles {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, name, nil)
			r.waitState(StateIdle)
			if _, err := r.mod.Answer(ctxT(t)); !errors.Is(err, ErrNoCall) {
				t.Errorf("Answer with nothing ringing: %v", err)
			}
			if err := r.sim.Ring("+4917012345"); err != nil {
				t.Fatal(err)
			}
			st := r.wait("ringing with caller ID", func(st Status) bool {
				return st.State == StateRinging && st.Call.Number != "" && st.Call.Rings > 0
			})
			if st.Call != (CallInfo{Phase: PhaseRinging, Incoming: true, Number: "+4917012345", Rings: 1}) {
				t.Errorf("ringing %+v", st)
			}
			c, err := r.mod.Answer(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if !c.Incoming || c.Number != "+4917012345" {
				t.Errorf("call %+v", c)
			}
			r.simWait(func(s cellsim.State) bool { return s.Call == cellsim.CallActive && s.AudioRouted })
			if err := r.sim.RemoteHangup(); err != nil {
				t.Fatal(err)
			}
			<-c.Done()
			r.waitState(StateIdle)

			// The caller gives up before the answer.
			if err := r.sim.Ring(""); err != nil {
				t.Fatal(err)
			}
			r.waitState(StateRinging)
			if err := r.sim.RemoteHangup(); err != nil {
				t.Fatal(err)
			}
			r.waitState(StateIdle)
		})
	}
}

func TestHangupIncomingRinging(t *testing.T) {
	r := newRig(t, "quectel-ec25", nil)
	r.waitState(StateIdle)
	if err := r.sim.Ring("+4917012345"); err != nil {
		t.Fatal(err)
	}
	r.waitState(StateRinging)
	if err := r.mod.Hangup(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	r.waitState(StateIdle)
	r.simWait(func(s cellsim.State) bool { return s.Call == cellsim.CallIdle })
}

func TestSIMPIN(t *testing.T) {
	t.Run("right", func(t *testing.T) {
		r := newRig(t, "simcom-sim7600", []cellsim.Option{cellsim.WithPIN("1234", "12345678")}, WithPIN("1234"))
		st := r.waitState(StateIdle)
		if st.SIM != at.SIMReady {
			t.Errorf("status %+v", st)
		}
	})
	t.Run("none configured", func(t *testing.T) {
		r := newRig(t, "simcom-sim7600", []cellsim.Option{cellsim.WithPIN("1234", "12345678")})
		st := r.waitState(StateNoLine)
		if st.SIM != at.SIMPIN || st.Reason != "SIM PIN required (no PIN configured)" {
			t.Errorf("status %+v", st)
		}
	})
	t.Run("wrong is entered once", func(t *testing.T) {
		r := newRig(t, "simcom-sim7600", []cellsim.Option{cellsim.WithPIN("1234", "12345678")}, WithPIN("9999"))
		st := r.waitState(StateNoLine)
		if st.SIM != at.SIMPIN || !strings.Contains(st.Reason, "refused") {
			t.Errorf("status %+v", st)
		}
		// Three more checks and a replug: a SIM that took the wrong PIN
		// each time would now want the PUK.
		for range 3 {
			if err := r.mod.CheckNow(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		}
		r.sim.Unplug()
		r.waitState(StateAbsent)
		if err := r.sim.Replug(); err != nil {
			t.Fatal(err)
		}
		r.advanceUntil(StateNoLine)
		if err := r.mod.CheckNow(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if st := r.mod.Status(); st.SIM != at.SIMPIN {
			t.Errorf("the wrong PIN was sent again: SIM %s", st.SIM)
		}
	})
}

// advanceUntil moves the fake clock by the reopen backoff until the state
// is s: while absent the Module waits on the clock between reopen
// attempts (its only timer then), and each attempt changes the status.
func (r *rig) advanceUntil(s State) {
	r.t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for {
		st := r.mod.Status()
		if st.State == s {
			return
		}
		if st.State == StateAbsent {
			r.clk.WaitTimers(1)
			r.clk.Advance(DefaultBackoffMax) // less than a command timeout
		}
		select {
		case <-r.kick:
		case <-deadline.C:
			r.t.Fatalf("waiting for %s: %+v", s, st)
		}
	}
}

func TestUnplugReplug(t *testing.T) {
	r := newRig(t, "quectel-ec25", nil)
	r.waitState(StateIdle)
	c, err := r.mod.Dial(ctxT(t), "5551234")
	if err != nil {
		t.Fatal(err)
	}
	r.sim.Unplug()
	st := r.waitState(StateAbsent)
	if !strings.HasPrefix(st.Reason, "module absent") || st.Call != (CallInfo{}) {
		t.Errorf("unplugged: %+v", st)
	}
	<-c.Done()
	if err := c.Err(); !errors.Is(err, ErrEnded) || !strings.Contains(err.Error(), "module lost") {
		t.Errorf("call: %v", err)
	}
	if _, err := r.mod.Dial(ctxT(t), "5551234"); !errors.Is(err, ErrNotReady) {
		t.Errorf("Dial while absent: %v", err)
	}
	// An SMS queued while the module is away goes out after the replug.
	sent := make(chan error, 1)
	go func() { sent <- r.mod.SendSMS(ctxT(t), "+491701234567", "gw1: line lost") }()
	r.waitQueued(1)
	// And one that came meanwhile, unannounced, is read after the replug.
	const pdu = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
	if err := r.sim.StoreSMS(pdu); err != nil {
		t.Fatal(err)
	}
	if err := r.sim.Replug(); err != nil {
		t.Fatal(err)
	}
	r.advanceUntil(StateIdle)
	select {
	case m := <-r.smsC:
		if m.from != "27838890001" || m.text != "hellohello" {
			t.Errorf("stored SMS %+v", m)
		}
	case <-time.After(patience):
		t.Fatal("the SMS stored while unplugged was not read")
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if s := r.sim.State(); len(s.Sent) != 1 {
		t.Errorf("sent %+v", s.Sent)
	}
	c, err = r.mod.Dial(ctxT(t), "5551234")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.mod.Hangup(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
}

// waitQueued waits until n messages wait in the SMS queue.
func (r *rig) waitQueued(n int) {
	r.t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	q := &r.mod.sms
	for {
		q.mu.Lock()
		l, changed := len(q.q), q.changed
		q.mu.Unlock()
		if l == n {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			r.t.Fatalf("SMS queue has %d, want %d", l, n)
		}
	}
}

func TestSendSMSEachEncoding(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"gsm7", "gw1: mains lost 18:05"},
		{"ucs2", "gw1: Stromausfall ⚡ 18:05"},
		{"long", strings.Repeat("gw1: battery low. ", 12)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, "huawei-e1550", nil)
			r.waitState(StateIdle)
			if err := r.mod.SendSMS(ctxT(t), "+491701234567", tc.text); err != nil {
				t.Fatal(err)
			}
			want, err := sms.Submit("+491701234567", tc.text, 1)
			if err != nil {
				t.Fatal(err)
			}
			got := r.sim.State().Sent
			if len(got) != len(want) {
				t.Fatalf("sent %d parts, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].PDU != want[i].Hex || got[i].Length != want[i].TPDULen {
					t.Errorf("part %d: %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestSMSWaitsForTheCall(t *testing.T) {
	r := newRig(t, "simcom-sim7600", nil)
	r.waitState(StateIdle)
	c, err := r.mod.Dial(ctxT(t), "5551234")
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() { sent <- r.mod.SendSMS(ctxT(t), "+491701234567", "gw1: mains lost") }()
	r.waitQueued(1)
	// Two requests served: the loop has looked at the queue in between.
	for _, d := range "12" {
		if err := r.mod.SendDTMF(ctxT(t), string(d)); err != nil {
			t.Fatal(err)
		}
	}
	if s := r.sim.State(); len(s.Sent) != 0 {
		t.Fatalf("SMS sent during a call: %+v", s.Sent)
	}
	if err := r.mod.Hangup(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if s := r.sim.State(); len(s.Sent) != 1 {
		t.Errorf("sent %+v", s.Sent)
	}
}

func TestSMSRefusedThenGivenUp(t *testing.T) {
	r := newRig(t, "quectel-ec25", nil)
	r.waitState(StateIdle)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	if err := r.mod.SendSMS(ctx, "12", ""); err == nil {
		t.Error("empty text accepted")
	}
	if err := r.mod.SendSMS(ctx, "12#", "x"); !errors.Is(err, ErrBadNumber) {
		t.Errorf("bad number: %v", err)
	}
	// Cancelled while the line is not idle: taken out of the queue.
	r.sim.SetRegistration(at.RegSearching, 7)
	r.waitState(StateNoLine)
	ctx2, cancel2 := context.WithCancel(ctx)
	res := make(chan error, 1)
	go func() { res <- r.mod.SendSMS(ctx2, "+491701234567", "x") }()
	r.waitQueued(1)
	cancel2()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	r.waitQueued(0)
}

func TestReceiveSMS(t *testing.T) {
	const pdu = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
	for _, direct := range []bool{false, true} {
		r := newRig(t, "quectel-ec25", nil)
		r.waitState(StateIdle)
		if err := r.sim.InjectSMS(pdu, direct); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-r.smsC:
			if m.from != "27838890001" || m.text != "hellohello" || m.at.Year() != 1999 {
				t.Errorf("direct %v: %+v", direct, m)
			}
		case <-time.After(patience):
			t.Fatalf("direct %v: no SMS", direct)
		}
		r.stop()
	}
}

func TestSMSRetriedThenRefused(t *testing.T) {
	// The health check waits longer than the retries.
	r := newRig(t, "simcom-sim7600", nil, WithHealthInterval(time.Hour))
	r.waitState(StateIdle)
	r.sim.SetSMSError(500)
	res := make(chan error, 1)
	go func() { res <- r.mod.SendSMS(ctxT(t), "+491701234567", "gw1: mains lost") }()
	for try := 1; try < SMSTries; try++ {
		r.simWait(func(s cellsim.State) bool { return s.Refused == try })
		// Back in the queue, the retry waits smsRetryAfter on the clock.
		r.waitQueued(1)
		r.clk.Advance(smsRetryAfter)
	}
	if err := <-res; !errors.Is(err, ErrSMS) || !strings.Contains(err.Error(), "+CMS ERROR: 500") {
		t.Errorf("SendSMS: %v", err)
	}
	if s := r.sim.State(); s.Refused != SMSTries || len(s.Sent) != 0 {
		t.Errorf("sim %+v", s)
	}
	// The next message goes out at once once the module takes it.
	r.sim.SetSMSError(0)
	if err := r.mod.SendSMS(ctxT(t), "+491701234567", "gw1: mains back"); err != nil {
		t.Fatal(err)
	}
}

func TestSMSTextMode(t *testing.T) {
	prof, err := profiles.Load("simcom-sim7600")
	if err != nil {
		t.Fatal(err)
	}
	text := *prof
	text.Init = nil
	for _, c := range prof.Init {
		if c == "AT+CMGF=0" {
			c = "AT+CMGF=1"
		}
		text.Init = append(text.Init, c)
	}
	r := newRigProfile(t, &text, nil)
	r.waitState(StateIdle)
	if err := r.mod.SendSMS(ctxT(t), "+491701234567", "gw1: mains lost 18:05"); err != nil {
		t.Fatal(err)
	}
	if s := r.sim.State(); len(s.Sent) != 1 || s.Sent[0] != (cellsim.SentSMS{To: "+491701234567", Text: "gw1: mains lost 18:05"}) {
		t.Errorf("sent %+v", s.Sent)
	}
	if err := r.mod.SendSMS(ctxT(t), "+491701234567", "Strom ⚡"); err == nil {
		t.Error("UCS-2 text accepted in text mode")
	}
	const pdu = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
	if err := r.sim.InjectSMS(pdu, false); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-r.smsC:
		if m.from != "27838890001" || m.text != "hellohello" || m.at.Year() != 1999 {
			t.Errorf("received %+v", m)
		}
	case <-time.After(patience):
		t.Fatal("no SMS")
	}
}

// Several SMS queued while the module is away all go out once it is idle
// again, without waiting for a health check or another message to wake
// the loop.
func TestSMSQueuedWhileNoLineAllSent(t *testing.T) {
	r := newRig(t, "quectel-ec25", nil)
	r.waitState(StateIdle)
	r.sim.Unplug()
	r.waitState(StateAbsent)
	const n = 4
	sent := make(chan error, n)
	for i := range n {
		go func() { sent <- r.mod.SendSMS(ctxT(t), "+491701234567", "gw1: event "+strconv.Itoa(i)) }()
	}
	r.waitQueued(n)
	if err := r.sim.Replug(); err != nil {
		t.Fatal(err)
	}
	r.advanceUntil(StateIdle)
	for range n {
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
	}
	if s := r.sim.State(); len(s.Sent) != n {
		t.Errorf("sent %d, want %d: %+v", len(s.Sent), n, s.Sent)
	}
}
