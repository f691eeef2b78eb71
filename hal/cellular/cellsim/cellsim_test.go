package cellsim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"lifeline/hal/cellular/at"
	"lifeline/hal/cellular/profiles"
	"lifeline/hal/cellular/sms"
	"lifeline/hal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newSim(t *testing.T, name string, opts ...Option) (*Sim, *clock.Fake, *host) {
	t.Helper()
	prof, err := profiles.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC))
	s, err := New(t.TempDir(), prof, append([]Option{WithClock(clk)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	h := dialHost(t, s.ATPath())
	return s, clk, h
}

// event reads lines until a call-state code and parses it.
func (h *host) event() at.CallEvent {
	h.t.Helper()
	for {
		l := h.next()
		if ev, ok, err := at.ParseCallEvent(l); ok {
			if err != nil {
				h.t.Fatalf("%q: %v", l, err)
			}
			return ev
		}
	}
}

// eventUntil reads call events until one of kind, returning it.
func (h *host) eventUntil(kind at.EventKind) at.CallEvent {
	h.t.Helper()
	for {
		if ev := h.event(); ev.Kind == kind {
			return ev
		}
	}
}

func TestStatusEachProfile(t *testing.T) {
	for _, name := range profiles.Names() {
		t.Run(name, func(t *testing.T) {
			s, _, h := newSim(t, name)
			prof, _ := profiles.Load(name)
			for _, c := range append(prof.Init, prof.InitOptional...) {
				h.ok(c)
			}
			if st, err := at.ParseCPIN(h.ok("AT+CPIN?")[0]); err != nil || st != at.SIMReady {
				t.Fatalf("CPIN %v %v", st, err)
			}
			reg, err := at.ParseRegistration(h.ok("AT+CREG?")[0])
			if err != nil || reg.N != 2 || reg.Stat != at.RegHome || reg.Technology() != "4G" {
				t.Fatalf("CREG %+v %v", reg, err)
			}
			sig, _ := at.ParseCSQ(h.ok("AT+CSQ")[0])
			if dbm, ok := sig.DBm(); !ok || dbm != -73 {
				t.Errorf("signal %d dBm", dbm)
			}
			s.SetOperator("Telekom.de")
			if op, err := at.ParseCOPS(h.ok("AT+COPS?")[0]); err != nil || op.Name != "Telekom.de" {
				t.Errorf("COPS %+v %v", op, err)
			}
			if c := prof.VoiceCheck; c != nil && !strings.HasPrefix(h.ok(c.Command)[0], c.Enabled) {
				t.Errorf("voice check")
			}
			if c := prof.VOLTECheck; c != nil {
				ims, err := at.ParseQCFGIMS(h.ok(c.Command)[0])
				if err != nil || !ims.VoLTEReady {
					t.Errorf("IMS %+v %v", ims, err)
				}
			}
			for _, tc := range []struct {
				stat at.RegStat
				act  int
			}{{at.RegRoaming, 2}, {at.RegSearching, 0}, {at.RegDenied, 0}, {at.RegHome, 7}} {
				s.SetRegistration(tc.stat, tc.act)
				r, err := at.ParseRegistration(h.expect("+CREG:"))
				if err != nil || r.N != -1 || r.Stat != tc.stat || tc.stat.Registered() && r.AcT != tc.act {
					t.Errorf("URC %+v %v, want %v", r, err, tc.stat)
				}
			}
			if _, res := h.cmd("AT+BOGUS"); res != "ERROR" {
				t.Errorf("unknown command answered %s", res)
			}
		})
	}
}

func TestPIN(t *testing.T) {
	s, _, h := newSim(t, "quectel-ec25", WithPIN("1234", "12345678"))
	if st, _ := at.ParseCPIN(h.ok("AT+CPIN?")[0]); st != at.SIMPIN {
		t.Fatalf("state %v, want PIN", st)
	}
	if r, _ := at.ParseRegistration(h.ok("AT+CREG?")[0]); r.Stat.Registered() {
		t.Fatal("registered without the PIN")
	}
	if _, res := h.cmd(`AT+CPIN="0000"`); res != "+CME ERROR: 16" {
		t.Fatalf("wrong PIN: %s", res)
	}
	h.ok(`AT+CPIN="1234"`)
	if st, _ := at.ParseCPIN(h.ok("AT+CPIN?")[0]); st != at.SIMReady {
		t.Fatalf("state %v after PIN", st)
	}
	if _, res := h.cmd(`AT+CPIN="1234"`); res != "+CME ERROR: 3" {
		t.Fatalf("PIN accepted twice: %s", res)
	}
	// Three wrong PINs block the SIM; the PUK sets a new PIN.
	s.SetSIM(at.SIMPIN)
	for range 3 {
		h.cmd(`AT+CPIN="9999"`)
	}
	if st, _ := at.ParseCPIN(h.ok("AT+CPIN?")[0]); st != at.SIMPUK {
		t.Fatalf("state %v after three wrong PINs", st)
	}
	h.ok(`AT+CPIN="12345678","4321"`)
	if s.State().SIM != at.SIMReady {
		t.Fatal("PUK not accepted")
	}
	s.SetSIM(at.SIMAbsent)
	_, res := h.cmd("AT+CPIN?")
	if st, err := at.ParseCPIN(res); err != nil || st != at.SIMAbsent {
		t.Fatalf("absent SIM: %q -> %v %v", res, st, err)
	}
}

// callAudio checks the echo over the audio port: a frame written by the
// host comes back in the next paced frame.
func callAudio(t *testing.T, s *Sim, clk *clock.Fake) {
	t.Helper()
	a, err := os.OpenFile(s.AudioPath(), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	frame := bytes.Repeat([]byte{0x34, 0x12}, 160)
	if _, err := a.Write(frame); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(ctx(t), func(st State) bool { return st.AudioIn >= 320 }); err != nil {
		t.Fatal(err)
	}
	clk.WaitTimers(1)
	clk.Advance(20 * time.Millisecond)
	got := make([]byte, 320)
	if _, err := io.ReadFull(a, got); err != nil || !bytes.Equal(got, frame) {
		t.Fatalf("echo frame % x…, %v", got[:4], err)
	}
	clk.WaitTimers(1)
	clk.Advance(20 * time.Millisecond)
	if _, err := io.ReadFull(a, got); err != nil || !bytes.Equal(got, make([]byte, 320)) {
		t.Fatalf("want a silent frame, got % x…, %v", got[:4], err)
	}
	if err := s.Wait(ctx(t), func(st State) bool { return st.AudioOut >= 2 }); err != nil {
		t.Fatal(err)
	}
}

func TestOutgoingCallEachProfile(t *testing.T) {
	for _, name := range profiles.Names() {
		t.Run(name, func(t *testing.T) {
			s, clk, h := newSim(t, name)
			prof, _ := profiles.Load(name)
			dial, _ := profiles.Expand(prof.Dial.Command, map[string]string{"number": "+4930123"})
			h.ok(dial)
			ev := h.eventUntil(at.EventConnected)
			for _, c := range append(prof.Dial.Audio, prof.Dial.AudioOnConnect...) {
				h.ok(c)
			}
			if st := s.State(); st.Call != CallActive || !st.AudioRouted || st.Number != "+4930123" {
				t.Fatalf("state %+v after %+v", st, ev)
			}
			callAudio(t, s, clk)
			for _, d := range "1#" {
				c, err := profiles.Expand(prof.DTMF, map[string]string{"digit": string(d), "call": "1"})
				if err != nil {
					t.Fatal(err)
				}
				h.ok(c)
			}
			if got := s.State().DTMF; got != "1#" {
				t.Errorf("DTMF %q", got)
			}
			clk.Advance(65 * time.Second)
			h.ok(prof.Hangup.Command)
			ev = h.eventUntil(at.EventEnded)
			if name == "huawei-e1550" && (ev.Duration != 65*time.Second || ev.Cause != 16) ||
				name == "simcom-sim7600" && ev.Duration != 65*time.Second {
				t.Errorf("end %+v", ev)
			}
			for _, c := range prof.Hangup.AudioOff {
				h.ok(c)
			}
			if st := s.State(); st.Call != CallIdle || st.AudioRouted {
				t.Errorf("after hang-up: %+v", st)
			}
		})
	}
}

func TestDialOutcomes(t *testing.T) {
	for _, name := range profiles.Names() {
		t.Run(name, func(t *testing.T) {
			s, _, h := newSim(t, name)
			s.SetDialOutcome(Busy)
			h.ok("ATD5551234;")
			ev := h.event()
			for ev.Kind == at.EventDialing || ev.Kind == at.EventEnded && name == "quectel-ec25" {
				ev = h.event()
			}
			if !(ev.Kind == at.EventBusy || name == "huawei-e1550" && ev.Kind == at.EventEnded && ev.Cause == 17) {
				t.Errorf("busy: %+v", ev)
			}
			s.SetDialOutcome(NoAnswer)
			h.ok("ATD5551234;")
			ev = h.event()
			for ev.Kind == at.EventDialing || ev.Kind == at.EventAlerting || ev.Kind == at.EventEnded && name == "quectel-ec25" {
				ev = h.event()
			}
			if !(ev.Kind == at.EventNoAnswer || name == "huawei-e1550" && ev.Kind == at.EventEnded && ev.Cause == 19) {
				t.Errorf("no answer: %+v", ev)
			}
			// Ringing until the far end answers, then it hangs up.
			s.SetDialOutcome(Ringing)
			h.ok("ATD5551234;")
			if err := s.Wait(ctx(t), func(st State) bool { return st.Call == CallAlerting }); err != nil {
				t.Fatal(err)
			}
			if err := s.RemoteAnswer(); err != nil {
				t.Fatal(err)
			}
			h.eventUntil(at.EventConnected)
			if err := s.RemoteHangup(); err != nil {
				t.Fatal(err)
			}
			h.expect("NO CARRIER")
			if s.State().Call != CallIdle {
				t.Error("call not over")
			}
			// Not registered: only emergency numbers go out.
			s.SetRegistration(at.RegDenied, 0)
			if _, res := h.cmd("ATD5551234;"); res != "NO CARRIER" {
				t.Errorf("dial while denied: %s", res)
			}
			s.SetDialOutcome(Answer)
			h.ok("ATD112;")
			h.eventUntil(at.EventConnected)
		})
	}
}

func TestIncomingCall(t *testing.T) {
	for _, name := range profiles.Names() {
		t.Run(name, func(t *testing.T) {
			s, clk, h := newSim(t, name)
			if err := s.Ring("+491701234567"); err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				h.expect("RING")
				c, err := at.ParseCLIP(h.expect("+CLIP:"))
				if err != nil || c.Number != "+491701234567" || c.Type != 145 || c.Validity != 0 {
					t.Fatalf("ring %d: %+v %v", i, c, err)
				}
				if i == 0 { // the second RING comes RingEvery later
					clk.WaitTimers(1)
					clk.Advance(RingEvery)
				}
			}
			h.ok("ATA")
			h.eventUntil(at.EventConnected)
			if err := s.RemoteHangup(); err != nil {
				t.Fatal(err)
			}
			h.eventUntil(at.EventEnded)
			if _, res := h.cmd("ATA"); res != "NO CARRIER" {
				t.Errorf("ATA with no call: %s", res)
			}
			if err := s.Ring(""); err != nil {
				t.Fatal(err)
			}
			if c, _ := at.ParseCLIP(h.expect("+CLIP:")); c.Number != "" || c.Validity != 1 {
				t.Errorf("withheld: %+v", c)
			}
			if err := s.Ring("1"); !errors.Is(err, ErrState) {
				t.Errorf("second ring: %v", err)
			}
			s.RemoteHangup()
		})
	}
}

func TestSMS(t *testing.T) {
	s, _, h := newSim(t, "simcom-sim7600")
	h.ok("AT+CMGF=0")
	parts, err := sms.Submit("+491701234567", sms.Alert("gw1", "mains lost", time.Date(2026, 12, 4, 17, 5, 0, 0, time.UTC)), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, res := h.cmd(fmt.Sprintf("AT+CMGS=%d", parts[0].TPDULen)); res != "> " {
		t.Fatalf("no prompt: %s", res)
	}
	h.write(parts[0].Hex + "\x1a")
	if l := h.expect("+CMGS:"); l != "+CMGS: 1" {
		t.Errorf("got %q", l)
	}
	h.expect("OK")
	if st := s.State(); len(st.Sent) != 1 || st.Sent[0].PDU != parts[0].Hex || st.Sent[0].Length != parts[0].TPDULen {
		t.Fatalf("sent %+v", st.Sent)
	}
	// A wrong length is refused; Esc cancels.
	if _, res := h.cmd("AT+CMGS=5"); res != "+CMS ERROR: 304" {
		t.Errorf("AT+CMGS=5: %s", res)
	}
	h.cmd("AT+CMGS=9")
	h.write(parts[0].Hex + "\x1a")
	h.expect("+CMS ERROR: 304")
	h.cmd("AT+CMGS=10")
	h.write("0011\x1b")
	h.expect("OK")
	// Text mode.
	h.ok("AT+CMGF=1")
	h.cmd(`AT+CMGS="+491701234567"`)
	h.write("gw1: mains back\x1a")
	h.expect("+CMGS: 2")
	h.expect("OK")
	if st := s.State(); len(st.Sent) != 2 || st.Sent[1] != (SentSMS{To: "+491701234567", Text: "gw1: mains back"}) {
		t.Fatalf("sent %+v", st.Sent)
	}

	// Received: stored (+CMTI, AT+CMGR) in PDU and text mode, and direct (+CMT).
	const pdu = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
	h.ok("AT+CMGF=0")
	if err := s.InjectSMS(pdu, false); err != nil {
		t.Fatal(err)
	}
	n, err := at.ParseCMTI(h.expect("+CMTI:"))
	if err != nil || n.Memory != "SM" {
		t.Fatal(n, err)
	}
	info := h.ok(fmt.Sprintf("AT+CMGR=%d", n.Index))
	if len(info) != 2 {
		t.Fatalf("AT+CMGR: %q", info)
	}
	hdr, err := at.ParseCMGR(info[0])
	if err != nil || !hdr.PDU || hdr.Length != 28 {
		t.Fatalf("%q: %+v %v", info[0], hdr, err)
	}
	if m, err := sms.DecodeDeliver(info[1]); err != nil || m.Text != "hellohello" {
		t.Fatalf("%+v %v", m, err)
	}
	h.ok("AT+CMGF=1")
	info = h.ok(fmt.Sprintf("AT+CMGR=%d", n.Index))
	hdr, err = at.ParseCMGR(info[0])
	if err != nil || hdr.Originator != "27838890001" || hdr.Time.Year() != 1999 || info[1] != "hellohello" {
		t.Fatalf("text %q: %+v %v", info, hdr, err)
	}
	h.ok(fmt.Sprintf("AT+CMGD=%d", n.Index))
	if _, res := h.cmd(fmt.Sprintf("AT+CMGR=%d", n.Index)); res != "+CMS ERROR: 321" {
		t.Errorf("deleted message read: %s", res)
	}
	h.ok("AT+CMGF=0")
	if err := s.InjectSMS(pdu, true); err != nil {
		t.Fatal(err)
	}
	hdr, err = at.ParseCMT(h.expect("+CMT:"))
	if m, derr := sms.DecodeDeliver(h.next()); err != nil || derr != nil || m.From != "27838890001" || !hdr.PDU {
		t.Fatalf("+CMT %+v %v %+v %v", hdr, err, m, derr)
	}
	if err := s.InjectSMS("00zz", false); err == nil {
		t.Error("bad PDU injected")
	}
	// No network: sending fails.
	s.SetRegistration(at.RegSearching, 0)
	h.cmd(fmt.Sprintf("AT+CMGS=%d", parts[0].TPDULen))
	h.write(parts[0].Hex + "\x1a")
	h.expect("+CMS ERROR: 331")
}

func TestUnplugReplug(t *testing.T) {
	s, clk, h := newSim(t, "huawei-e1550")
	h.ok("ATD5551234;")
	h.eventUntil(at.EventConnected)
	s.Unplug()
	s.Unplug() // no-op
	for range h.lines {
	} // the reader sees the hang-up and ends
	for _, p := range []string{s.ATPath(), s.AudioPath()} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	if st := s.State(); st.Plugged || st.Call != CallIdle {
		t.Errorf("state %+v", st)
	}
	if err := s.Ring("1"); !errors.Is(err, ErrUnplugged) {
		t.Errorf("Ring unplugged: %v", err)
	}
	if err := s.Replug(); err != nil {
		t.Fatal(err)
	}
	h2 := dialHost(t, s.ATPath())
	h2.ok("AT")
	h2.ok("ATD5551234;")
	h2.eventUntil(at.EventConnected)
	callAudio(t, s, clk)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := s.Replug(); !errors.Is(err, ErrClosed) {
		t.Errorf("Replug after Close: %v", err)
	}
}

func TestStoredSMSListed(t *testing.T) {
	s, _, h := newSim(t, "quectel-ec25")
	const pdu = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
	s.Unplug()
	for range h.lines {
	}
	if err := s.StoreSMS(pdu); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreSMS("00zz"); err == nil {
		t.Error("bad PDU stored")
	}
	if err := s.Replug(); err != nil {
		t.Fatal(err)
	}
	h = dialHost(t, s.ATPath())
	h.ok("AT+CMGF=0")
	info := h.ok("AT+CMGL=0")
	if len(info) != 2 || info[0] != "+CMGL: 1,0,,28" || info[1] != pdu {
		t.Fatalf("AT+CMGL=0: %q", info)
	}
	h.ok("AT+CMGR=1")
	if info := h.ok("AT+CMGL=0"); len(info) != 0 {
		t.Errorf("read message still unread: %q", info)
	}
	if info := h.ok("AT+CMGL=4"); len(info) != 2 || info[0] != "+CMGL: 1,1,,28" {
		t.Errorf("AT+CMGL=4: %q", info)
	}
	if _, res := h.cmd("AT+CMGL=9"); res != "+CMS ERROR: 302" {
		t.Errorf("AT+CMGL=9: %s", res)
	}
}
