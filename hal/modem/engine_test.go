package modem_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/hal/clock"
	"lifeline/hal/modem"
	"lifeline/hal/modem/modemtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2026, 11, 25, 13, 30, 0, 0, time.UTC)

func TestEngineCommands(t *testing.T) {
	tests := []struct {
		name    string
		script  map[string][]string
		echo    bool
		faults  modemtest.Faults
		cmd     string
		want    modem.Result
		info    []string
		wantErr error // from Command
		replErr error // from Reply.Err
		code    int
	}{
		{name: "ok", cmd: "AT", want: modem.ResultOK},
		{name: "echo skipped", echo: true, cmd: "ATE0", want: modem.ResultOK},
		{name: "info lines", script: map[string][]string{"ATI3": {"Lifeline sim", "rev 2", "OK"}}, cmd: "ATI3", want: modem.ResultOK, info: []string{"Lifeline sim", "rev 2"}},
		{name: "info with echo", echo: true, script: map[string][]string{"ATI3": {"Lifeline sim", "OK"}}, cmd: "ATI3", want: modem.ResultOK, info: []string{"Lifeline sim"}},
		{name: "error", script: map[string][]string{"AT+FOO": {"ERROR"}}, cmd: "AT+FOO", want: modem.ResultError, replErr: modem.ErrCommand},
		{name: "cme error", script: map[string][]string{"AT+CPIN?": {"+CME ERROR: 10"}}, cmd: "AT+CPIN?", want: modem.ResultCMEError, replErr: modem.ErrCommand, code: 10},
		{name: "connect", script: map[string][]string{"ATD123": {"CALL SENT", "ALERTING", "CONNECT 64000/ISDN"}}, cmd: "ATD123", want: modem.ResultConnect, info: []string{"CALL SENT", "ALERTING"}},
		{name: "busy", script: map[string][]string{"ATDT1;": {"BUSY"}}, cmd: "ATDT1;", want: modem.ResultBusy, replErr: modem.ErrBusy},
		{name: "no dialtone", script: map[string][]string{"ATDT;": {"NO DIALTONE"}}, cmd: "ATDT;", want: modem.ResultNoDialtone, replErr: modem.ErrNoDialtone},
		{name: "no answer", script: map[string][]string{"ATDT1;": {"NO ANSWER"}}, cmd: "ATDT1;", want: modem.ResultNoAnswer, replErr: modem.ErrNoAnswer},
		{name: "vcon ends a voice dial", script: map[string][]string{"ATDT5551234": {"VCON"}}, cmd: "ATDT5551234", want: modem.ResultVCON},
		{name: "no carrier", script: map[string][]string{"ATD1": {"NO CARRIER"}}, cmd: "ATD1", want: modem.ResultNoCarrier, replErr: modem.ErrNoCarrier},
		{name: "garbage before reply", faults: modemtest.Faults{Garbage: []byte("\x00\xff\xfe")}, cmd: "AT", want: modem.ResultOK},
		{name: "garbage line becomes info", faults: modemtest.Faults{Garbage: []byte("#~noise\r\n")}, cmd: "AT", want: modem.ResultOK, info: []string{"#~noise"}},
		{name: "ring during command", script: map[string][]string{"AT": {"RING", "OK"}}, cmd: "AT", want: modem.ResultOK},
		{name: "write error", faults: modemtest.Faults{ErrorOnWrite: true}, cmd: "AT", wantErr: modem.ErrClosed},
		{name: "close on write", faults: modemtest.Faults{CloseOnWrite: true}, cmd: "AT", wantErr: modem.ErrClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := modemtest.New(tc.script)
			m.SetEcho(tc.echo)
			m.SetFaults(tc.faults)
			e := modem.NewEngine(m, modem.EngineName("test0"))
			defer e.Close()
			r, err := e.Command(context.Background(), tc.cmd)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Command err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if r.Final.Result != tc.want {
				t.Errorf("final %v (%q), want %v", r.Final.Result, r.Final.Line, tc.want)
			}
			if !errors.Is(r.Err(), tc.replErr) || (tc.replErr == nil) != (r.Err() == nil) {
				t.Errorf("Reply.Err = %v, want %v", r.Err(), tc.replErr)
			}
			if tc.code != 0 && r.Final.Code != tc.code {
				t.Errorf("code %d, want %d", r.Final.Code, tc.code)
			}
			if len(r.Info) != len(tc.info) {
				t.Fatalf("info %q, want %q", r.Info, tc.info)
			}
			for i := range r.Info {
				if r.Info[i] != tc.info[i] {
					t.Errorf("info %q, want %q", r.Info, tc.info)
				}
			}
		})
	}
}

func TestEngineTimeoutOnFakeClock(t *testing.T) {
	clk := clock.NewFake(epoch)
	m := modemtest.New(nil)
	m.SetFaults(modemtest.Faults{Mute: true})
	e := modem.NewEngine(m, modem.WithClock(clk), modem.EngineTimeout(3*time.Second))
	defer e.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := e.Command(context.Background(), "AT")
		errc <- err
	}()
	clk.WaitTimers(1)
	clk.Advance(2 * time.Second)
	select {
	case err := <-errc:
		t.Fatalf("returned early: %v", err)
	default:
	}
	clk.Advance(time.Second)
	if err := <-errc; !errors.Is(err, modem.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	// The engine stays usable: a late reply is ignored, the next command works.
	m.SetFaults(modemtest.Faults{})
	m.Inject("OK")
	if r, err := e.Command(context.Background(), "AT", modem.WithTimeout(time.Hour)); err != nil || r.Final.Result != modem.ResultOK {
		t.Fatalf("next command: %v %v", r.Final, err)
	}
}

func TestEngineContextCancel(t *testing.T) {
	m := modemtest.New(nil)
	m.SetFaults(modemtest.Faults{Mute: true})
	e := modem.NewEngine(m, modem.EngineTimeout(time.Hour))
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := e.Command(ctx, "ATDT123;")
		errc <- err
	}()
	<-m.Written()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestEngineNumericMode(t *testing.T) {
	m := modemtest.New(nil)
	e := modem.NewEngine(m)
	defer e.Close()
	ctx := context.Background()
	if _, err := e.Command(ctx, "ATV0"); err != nil {
		t.Fatal(err)
	}
	m.InjectRaw(nil)
	m.Set("ATDT;", "6")
	r, err := e.Command(ctx, "ATDT;")
	if err != nil || r.Final.Result != modem.ResultNoDialtone {
		t.Fatalf("numeric NO DIALTONE: %+v %v", r.Final, err)
	}
	m.Set("ATS0?", "000")
	m.Set("ATV1", "OK")
	if _, err := e.Command(ctx, "ATV1"); err != nil {
		t.Fatal(err)
	}
	// Back in verbose mode digits are information text.
	m.Set("ATS0?", "000", "OK")
	r, err = e.Command(ctx, "ATS0?")
	if err != nil || r.Final.Result != modem.ResultOK || len(r.Info) != 1 || r.Info[0] != "000" {
		t.Fatalf("verbose S0 read: %+v %v", r, err)
	}
}

func TestEngineUnsolicited(t *testing.T) {
	m := modemtest.New(nil)
	e := modem.NewEngine(m)
	defer e.Close()
	sub, cancel := e.Subscribe(16)
	defer cancel()
	m.Inject("RING", "DATE = 1125", "NMBR = 0301234", "garbage line", `+CLIP: "0401",129`, "NO CARRIER")
	want := []struct {
		res modem.Result
		num string
	}{{modem.ResultRing, ""}, {modem.ResultNone, ""}, {modem.ResultNone, "0301234"}, {modem.ResultNone, "0401"}, {modem.ResultNoCarrier, ""}}
	for i, w := range want {
		r := <-sub
		if r.Result != w.res || r.CID.Number != w.num {
			t.Errorf("unsolicited %d: %+v, want %v %q", i, r, w.res, w.num)
		}
	}
}

func TestEngineDeviceGone(t *testing.T) {
	m := modemtest.New(nil)
	e := modem.NewEngine(m)
	sub, _ := e.Subscribe(1)
	m.Unplug()
	<-e.Done()
	if !errors.Is(e.Err(), modem.ErrClosed) {
		t.Errorf("Err = %v", e.Err())
	}
	if _, ok := <-sub; ok {
		t.Error("subscription not closed")
	}
	if _, err := e.Command(context.Background(), "AT"); !errors.Is(err, modem.ErrClosed) {
		t.Errorf("Command after loss: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Error(err)
	}
	if err := e.Close(); err != nil {
		t.Error("second Close:", err)
	}
}

func BenchmarkEngineRoundTripScripted(b *testing.B) {
	m := modemtest.New(nil)
	e := modem.NewEngine(m)
	defer e.Close()
	ctx := context.Background()
	for b.Loop() {
		if _, err := e.Command(ctx, "AT"); err != nil {
			b.Fatal(err)
		}
	}
}

// A write blocked by flow control must not block the command's timeout,
// and Close must release it.
func TestEngineBlockedWriteTimesOut(t *testing.T) {
	clk := clock.NewFake(epoch)
	m := modemtest.New(nil)
	m.SetFaults(modemtest.Faults{BlockWrite: true})
	e := modem.NewEngine(m, modem.WithClock(clk), modem.EngineTimeout(time.Second))
	errc := make(chan error, 1)
	go func() {
		_, err := e.Command(context.Background(), "AT")
		errc <- err
	}()
	clk.WaitTimers(1)
	clk.Advance(time.Second)
	if err := <-errc; !errors.Is(err, modem.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	// The next command waits for the stuck write, and times out too.
	go func() {
		_, err := e.Command(context.Background(), "ATI")
		errc <- err
	}()
	clk.WaitTimers(1)
	clk.Advance(time.Second)
	if err := <-errc; !errors.Is(err, modem.ErrTimeout) {
		t.Fatalf("second err = %v, want ErrTimeout", err)
	}
	if err := e.Close(); err != nil { // unblocks the writer goroutine
		t.Fatal(err)
	}
}
