package module

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"lifeline/hal/cellular/profiles"
	"lifeline/hal/clock"
	"lifeline/hal/modem/modemtest"
)

// Scripted dialects: the replies and URCs as the vendors' manuals and
// chan_dongle/chan_quectel show them, played by a scripted modem.

type scripted struct {
	t    *testing.T
	mdm  *modemtest.Modem
	mod  *Module
	kick chan struct{}
}

func newScripted(t *testing.T, profile string, script map[string][]string) *scripted {
	t.Helper()
	prof, err := profiles.Load(profile)
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{t: t, mdm: modemtest.New(script), kick: make(chan struct{}, 1)}
	op := modemtest.NewOpener()
	op.Plug(s.mdm)
	clk := clock.NewFake(time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC))
	audio := t.TempDir() // stands for the audio port: it exists
	s.mod, err = New("/dev/cell-at", audio, prof, WithClock(clk), WithOpener(op),
		WithStatusFunc(func(Status) {
			select {
			case s.kick <- struct{}{}:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.mod.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s
}

func (s *scripted) wait(what string, cond func(Status) bool) Status {
	s.t.Helper()
	return waitStatus(s.t, s.mod, s.kick, what+fmt.Sprintf(" (commands %q)", s.mdm.Commands()), cond)
}

// written waits until cmd has been written; writtenN until n times.
func (s *scripted) written(cmd string) { s.t.Helper(); s.writtenN(cmd, 1) }

func (s *scripted) writtenN(cmd string, n int) {
	s.t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for {
		count := 0
		for _, c := range s.mdm.Commands() {
			if c == cmd {
				count++
			}
		}
		if count >= n {
			return
		}
		select {
		case <-s.mdm.Written():
		case <-deadline.C:
			s.t.Fatalf("%s never written: %q", cmd, s.mdm.Commands())
		}
	}
}

func after(cmds []string, first, then string) bool {
	i := slices.Index(cmds, first)
	return i >= 0 && slices.Contains(cmds[i+1:], then)
}

func TestHuaweiDialect(t *testing.T) {
	s := newScripted(t, "huawei-e1550", map[string][]string{
		"AT+CPIN?":   {"+CPIN: READY", "OK"},
		"AT+CREG?":   {`+CREG: 2,1,"00D2","0000A1B2"`, "OK"},
		"AT+CSQ":     {"+CSQ: 17,99", "OK"},
		"AT+COPS?":   {`+COPS: 0,0,"T-Mobile D",2`, "OK"},
		"AT^CVOICE?": {"^CVOICE:0,8000,16,20", "OK"},
	})
	st := s.wait("idle", func(st Status) bool { return st.State == StateIdle })
	if st.Operator != "T-Mobile D" || st.Technology != "3G" || st.SignalDBm != -79 || st.Registration != "home" {
		t.Errorf("status %+v", st)
	}
	got := make(chan error, 1)
	var call *Call
	go func() {
		c, err := s.mod.Dial(ctxT(t), "+4930123456")
		call = c
		got <- err
	}()
	s.written("ATD+4930123456;")
	s.mdm.Inject("^ORIG:2,0", "^CONF:2")
	s.wait("alerting", func(st Status) bool { return st.Call.Phase == PhaseAlerting })
	s.mdm.Inject("^CONN:2,0")
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if !after(s.mdm.Commands(), "ATD+4930123456;", "AT^DDSETEX=2") {
		t.Errorf("audio not routed after ATD: %q", s.mdm.Commands())
	}
	if err := s.mod.SendDTMF(ctxT(t), "5"); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(s.mdm.Commands(), "AT^DTMF=2,5") {
		t.Errorf("DTMF with the call index of ^ORIG: %q", s.mdm.Commands())
	}
	s.mdm.Inject("^DDTMF: 7", "^DDTMF: *") // the far end presses 7 *
	heard(t, call, "7*")
	s.mdm.Inject("^CEND:2,12,104,16", "NO CARRIER")
	<-call.Done()
	if err := call.Err(); !strings.Contains(err.Error(), "remote hung up") {
		t.Errorf("ended: %v", err)
	}
	s.wait("idle", func(st Status) bool { return st.State == StateIdle })

	// Busy by the cause of ^CEND (17, user busy), without a BUSY code.
	go func() {
		_, err := s.mod.Dial(ctxT(t), "5551234")
		got <- err
	}()
	s.written("ATD5551234;")
	s.mdm.Inject("^ORIG:1,0", "^CEND:1,0,104,17") // first ATD5551234;
	if err := <-got; !errors.Is(err, ErrBusy) {
		t.Errorf("busy: %v", err)
	}

	// Incoming with caller ID; answered; the caller hangs up.
	s.mdm.Inject("RING", `+CLIP: "+4917012345",145,,,,0`)
	s.wait("ringing", func(st Status) bool { return st.Call.Number == "+4917012345" && st.State == StateRinging })
	c, err := s.mod.Answer(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if !after(s.mdm.Commands(), "ATA", "AT^DDSETEX=2") {
		t.Errorf("audio not routed after ATA: %q", s.mdm.Commands())
	}
	s.mdm.Inject("^CEND:1,3,104,16")
	<-c.Done()
	s.wait("idle", func(st Status) bool { return st.State == StateIdle })
}

func TestHuaweiDataOnlyFirmwareIsNoLine(t *testing.T) {
	s := newScripted(t, "huawei-e1550", map[string][]string{
		"AT+CPIN?":   {"+CPIN: READY", "OK"},
		"AT+CREG?":   {"+CREG: 2,1", "OK"},
		"AT^CVOICE?": {"ERROR"},
	})
	st := s.wait("no-line", func(st Status) bool { return st.State == StateNoLine })
	if !strings.Contains(st.Reason, "voice disabled") {
		t.Errorf("reason %q", st.Reason)
	}
}

func TestQuectelDialect(t *testing.T) {
	s := newScripted(t, "quectel-ec25", map[string][]string{
		"AT+CPIN?":      {"+CPIN: READY", "OK"},
		"AT+CREG?":      {"+CREG: 2,0", "OK"},
		"AT+CEREG?":     {`+CEREG: 2,1,"1A2B","01A2B3C4",7`, "OK"},
		"AT+CSQ":        {"+CSQ: 25,99", "OK"},
		"AT+COPS?":      {`+COPS: 0,0,"Telekom.de",7`, "OK"},
		`AT+QCFG="ims"`: {`+QCFG: "ims",2,0`, "OK"},
	})
	st := s.wait("idle", func(st Status) bool { return st.State == StateIdle })
	if st.VoLTE != VoLTEOff || !strings.Contains(st.Reason, "VoLTE off") || st.Technology != "4G" || st.SignalDBm != -63 {
		t.Errorf("status %+v", st)
	}
	s.mdm.Set(`AT+QCFG="ims"`, `+QCFG: "ims",1,1`, "OK")
	if err := s.mod.CheckNow(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if st := s.mod.Status(); st.VoLTE != VoLTEOn || st.Reason != "registered home" {
		t.Errorf("VoLTE on: %+v", st)
	}

	got := make(chan error, 1)
	var call *Call
	go func() {
		c, err := s.mod.Dial(ctxT(t), "10086")
		call = c
		got <- err
	}()
	s.written("ATD10086;")
	s.mdm.Inject(`+QIND: "ccinfo",1,0,2,0,0,"10086",129`, `+QIND: "ccinfo",1,0,3,0,0,"10086",129`,
		`+QIND: "ccinfo",1,0,0,0,0,"10086",129`)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if !after(s.mdm.Commands(), "ATD10086;", "AT+QPCMV=1,0") {
		t.Errorf("PCM not started: %q", s.mdm.Commands())
	}
	if err := s.mod.SendDTMF(ctxT(t), "#"); err != nil || !slices.Contains(s.mdm.Commands(), "AT+VTS=#") {
		t.Errorf("DTMF: %v %q", err, s.mdm.Commands())
	}
	if !slices.Contains(s.mdm.Commands(), "AT+QTONEDET=1") {
		t.Errorf("far-end DTMF detection not enabled: %q", s.mdm.Commands())
	}
	s.mdm.Inject("+QTONEDET: 52", "+QTONEDET: 35") // the ASCII codes of 4 and #
	heard(t, call, "4#")
	// Released as stat -1 (some firmware), without NO CARRIER.
	s.mdm.Inject(`+QIND: "ccinfo",1,0,-1,0,0,"10086",129`)
	<-call.Done()
	s.written("AT+QPCMV=0")

	// Incoming reported by ccinfo and +CLIP only (EG25 firmware sends no
	// RING by default).
	s.mdm.Inject(`+CLIP: "+4930123",145,,,,0`, `+QIND: "ccinfo",2,1,4,0,0,"+4930123",145`)
	s.wait("ringing", func(st Status) bool { return st.State == StateRinging && st.Call.Number == "+4930123" })
	s.mdm.Inject(`+QIND: "ccinfo",2,1,6,0,0,"+4930123",145`, "NO CARRIER")
	s.wait("idle", func(st Status) bool { return st.State == StateIdle })

	// Busy: the release code first, then BUSY says why.
	go func() {
		_, err := s.mod.Dial(ctxT(t), "10086")
		got <- err
	}()
	s.writtenN("ATD10086;", 2)
	s.mdm.Inject(`+QIND: "ccinfo",1,0,2,0,0,"10086",129`, `+QIND: "ccinfo",1,0,6,0,0,"10086",129`, "BUSY")
	if err := <-got; !errors.Is(err, ErrBusy) {
		t.Errorf("busy: %v", err)
	}
}

// heard waits for want on the call's Digits: the far end's digits as the
// module reported them.
func heard(t *testing.T, c *Call, want string) {
	t.Helper()
	var got []byte
	for len(got) < len(want) {
		select {
		case d := <-c.Digits():
			got = append(got, d)
		case <-time.After(patience):
			t.Fatalf("far-end digits: got %q, want %q", got, want)
		}
	}
	if string(got) != want {
		t.Errorf("far-end digits %q, want %q", got, want)
	}
}

func TestSIMComDialect(t *testing.T) {
	s := newScripted(t, "simcom-sim7600", map[string][]string{
		"AT+CPIN?":  {"+CPIN: READY", "OK"},
		"AT+CREG?":  {"+CREG: 2,5", "OK"},
		"AT+CEREG?": {`+CEREG: 2,5,"1A2B","01A2B3C4",7`, "OK"},
		"AT+CSQ":    {"+CSQ: 99,99", "OK"},
		"AT+COPS?":  {`+COPS: 0,0,"Vodafone.de",7`, "OK"},
	})
	st := s.wait("idle", func(st Status) bool { return st.State == StateIdle })
	if st.Registration != "roaming" || st.SignalKnown || st.VoLTE != VoLTEUnknown {
		t.Errorf("status %+v", st)
	}
	got := make(chan error, 1)
	var call *Call
	go func() {
		c, err := s.mod.Dial(ctxT(t), "5551234")
		call = c
		got <- err
	}()
	s.written("ATD5551234;")
	if slices.Contains(s.mdm.Commands(), "AT+CPCMREG=1") {
		t.Fatal("AT+CPCMREG=1 before the call is connected")
	}
	s.mdm.Inject("VOICE CALL: BEGIN")
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	s.written("AT+CPCMREG=1")
	s.mdm.Inject("+RXDTMF: 8", "+RXDTMF: #") // the far end presses 8 #
	heard(t, call, "8#")
	if err := s.mod.Hangup(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	<-call.Done()
	if !after(s.mdm.Commands(), "AT+CHUP", "AT+CPCMREG=0") {
		t.Errorf("PCM not stopped: %q", s.mdm.Commands())
	}
	s.mdm.Inject("VOICE CALL: END: 000012") // late: no call, ignored
	s.wait("idle", func(st Status) bool { return st.State == StateIdle })
}

func TestSIMStates(t *testing.T) {
	for _, tc := range []struct {
		cpin   []string
		reason string
	}{
		{[]string{"+CME ERROR: 10"}, "no SIM"},
		{[]string{"+CPIN: SIM PUK", "OK"}, "SIM locked: PUK required"},
		{[]string{"+CPIN: PH-SIM PIN", "OK"}, "SIM blocked: needs a code other than the PIN"},
		{[]string{"+CPIN: SIM PIN", "OK"}, "SIM PIN required (no PIN configured)"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			s := newScripted(t, "simcom-sim7600", map[string][]string{"AT+CPIN?": tc.cpin, "AT+CREG?": {"+CREG: 2,0", "OK"}})
			st := s.wait("no-line", func(st Status) bool { return st.State == StateNoLine })
			if st.Reason != tc.reason {
				t.Errorf("reason %q", st.Reason)
			}
			if _, err := s.mod.Dial(ctxT(t), "5551234"); !errors.Is(err, ErrNoLine) {
				t.Errorf("Dial: %v", err)
			}
			for _, c := range s.mdm.Commands() {
				if strings.HasPrefix(c, "AT+CPIN=") {
					t.Errorf("sent %s", c)
				}
			}
		})
	}
}

func TestRingingStopsWithoutHangupCode(t *testing.T) {
	s := newScripted(t, "simcom-sim7600", map[string][]string{
		"AT+CPIN?": {"+CPIN: READY", "OK"},
		"AT+CREG?": {"+CREG: 2,1", "OK"},
	})
	s.wait("idle", func(st Status) bool { return st.State == StateIdle })
	s.mdm.Inject("RING", `+CLIP: "5550000",129,,,,0`)
	s.wait("ringing", func(st Status) bool { return st.State == StateRinging && st.Call.Number == "5550000" })
	// The ring timer (15 s) is due before the health timer (30 s): the
	// caller gave up without the module saying so.
	s.mod.cfg.clk.(*clock.Fake).Advance(DefaultRingTimeout)
	st := s.wait("idle", func(st Status) bool { return st.State == StateIdle })
	if st.Call != (CallInfo{}) {
		t.Errorf("status %+v", st)
	}
}

func TestDialCancelledHangsUp(t *testing.T) {
	s := newScripted(t, "quectel-ec25", map[string][]string{
		"AT+CPIN?": {"+CPIN: READY", "OK"},
		"AT+CREG?": {"+CREG: 2,1", "OK"},
	})
	s.wait("idle", func(st Status) bool { return st.State == StateIdle })
	ctx, cancel := context.WithCancel(ctxT(t))
	got := make(chan error, 1)
	go func() {
		_, err := s.mod.Dial(ctx, "5551234")
		got <- err
	}()
	s.written("ATD5551234;")
	s.wait("dialing", func(st Status) bool { return st.State == StateInCall })
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Errorf("Dial: %v", err)
	}
	s.written("AT+CHUP")
	s.written("AT+QPCMV=0")
	s.wait("idle", func(st Status) bool { return st.State == StateIdle })
}
