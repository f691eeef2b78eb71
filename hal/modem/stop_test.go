package modem_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"lifeline/hal/modem"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/modem/modemtest"
)

// stoppableLine is a Line on the analog profile over a VoiceSim whose Run
// the test stops itself (stop waits for Run to return).
type stoppableLine struct {
	sim  *modemsim.VoiceSim
	line *modem.Line
	log  *lockedBuffer
	stop func()
}

func newStoppableLine(t *testing.T, before func(*modemsim.VoiceSim)) *stoppableLine {
	t.Helper()
	modemtest.NeedPTY(t)
	p, err := modem.LoadProfile("analog")
	if err != nil {
		t.Fatal(err)
	}
	p.Hangup.DTRDrop = 0 // a pty has no DTR
	p.CommandTimeout = modem.Duration(500 * time.Millisecond)
	sim, err := modemsim.NewVoice(t.TempDir(), modemsim.VoiceRings(1, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if before != nil {
		before(sim)
	}
	logBuf := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logBuf, nil))
	states := make(chan modem.StateChange, 256)
	l := modem.New(sim.Path(), p, modem.WithLogger(log), modem.WithHealthInterval(time.Hour),
		modem.WithStateFunc(func(c modem.StateChange) {
			select {
			case states <- c:
			default:
			}
		}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	stopped := false
	s := &stoppableLine{sim: sim, line: l, log: logBuf, stop: func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}}
	t.Cleanup(s.stop)
	tm := time.NewTimer(safety)
	defer tm.Stop()
	for {
		select {
		case c := <-states:
			if c.To == modem.StateIdle {
				return s
			}
		case <-tm.C:
			st, why := l.Status()
			t.Fatalf("line never idle: %v (%s)\nlog:\n%s", st, why, logBuf.String())
		}
	}
}

// TestVoiceCallRunStopHangsUpFirst: Run stopping during a voice call (the
// daemon stopping) ends the call's context with ErrStopped as its cause,
// leaves the voice stream (<DLE>!), hangs up (ATH0), leaves voice mode and
// logs why, before Run returns. (Before, the modem was left in AT+VTR.)
func TestVoiceCallRunStopHangsUpFirst(t *testing.T) {
	s := newStoppableLine(t, nil)
	up := make(chan struct{})
	cause := make(chan error, 1)
	res := make(chan error, 1)
	go func() {
		res <- s.line.VoiceCall(context.Background(), "5551234", modem.VoiceOptions{}, func(cctx context.Context, c *modem.Call) error {
			close(up)
			<-cctx.Done()
			cause <- context.Cause(cctx)
			return nil
		})
	}()
	select {
	case <-up:
	case <-time.After(safety):
		t.Fatal("the call never came up")
	}
	s.stop()
	if err := <-cause; !errors.Is(err, modem.ErrStopped) {
		t.Fatalf("the call's context ended with %v, want ErrStopped", err)
	}
	if err := <-res; err != nil {
		t.Fatalf("VoiceCall: %v (the call was ended properly: want nil)", err)
	}
	if codes := s.sim.StreamCommands(); !slices.Contains(codes, '!') {
		t.Fatalf("the modem never got <DLE>!: stream codes %q", codes)
	}
	cmds := s.sim.Commands()
	vtr := slices.Index(cmds, "AT+VTR")
	if vtr < 0 || !slices.Contains(cmds[vtr:], "ATH0") || !slices.Contains(cmds[vtr:], "AT+FCLASS=0") {
		t.Fatalf("no hang-up and voice mode left after the stream: %q", cmds)
	}
	if s.sim.Mode() != "command" || s.sim.InCall() {
		t.Fatalf("modem left in %s, in call %v", s.sim.Mode(), s.sim.InCall())
	}
	if !strings.Contains(s.log.String(), "stopping during a call") {
		t.Fatalf("the log does not say why the call ended:\n%s", s.log)
	}
}

// TestOpenRecoversModemLeftInVoiceStream: a run that ended without
// hanging up (a crash, kill -9) left the modem in a full-duplex voice
// stream, where it takes ATZ for audio. Opening it leaves the stream
// (<DLE>!), hangs up and initialises it; the line becomes idle. (Before,
// Run looped on ATZ timeouts for ever.)
func TestOpenRecoversModemLeftInVoiceStream(t *testing.T) {
	s := newStoppableLine(t, func(sim *modemsim.VoiceSim) {
		dte, err := os.OpenFile(sim.Path(), os.O_RDWR|syscall.O_NOCTTY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer dte.Close() // the crashed run: the device closed mid-call
		for _, step := range []struct{ cmd, want string }{
			{"AT+FCLASS=8", "OK"}, {"AT+VLS=1", "OK"}, {"ATDT5551234", "VCON"}, {"AT+VTR", "CONNECT"},
		} {
			rawCommand(t, dte, step.cmd, step.want)
		}
		if sim.Mode() != "duplex" {
			t.Fatalf("the simulator is in %s, want duplex", sim.Mode())
		}
	})
	if s.sim.Mode() != "command" || s.sim.InCall() {
		t.Fatalf("modem still in %s, in call %v", s.sim.Mode(), s.sim.InCall())
	}
	if !slices.Contains(s.sim.StreamCommands(), '!') {
		t.Fatalf("the stream was not left with <DLE>!: %q", s.sim.StreamCommands())
	}
	cmds := s.sim.Commands()
	vtr := slices.Index(cmds, "AT+VTR")
	rest := cmds[vtr+1:]
	h := slices.Index(rest, "ATH0")
	if h < 0 || !slices.Contains(rest[h:], "ATZ") {
		t.Fatalf("want ATH0 then ATZ after the stream, got %q", rest)
	}
	if !strings.Contains(s.log.String(), "modem recovered") {
		t.Fatalf("the log does not say the modem was recovered:\n%s", s.log)
	}
}

// lockedBuffer is a log sink safe for the line's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rawCommand writes cmd to the device and reads until want arrives.
func rawCommand(t *testing.T, f *os.File, cmd, want string) {
	t.Helper()
	if _, err := f.Write([]byte(cmd + "\r")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 256)
	deadline := time.Now().Add(safety)
	for !bytes.Contains(got, []byte(want)) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s in %q", cmd, want, got)
		}
		_ = f.SetReadDeadline(time.Now().Add(time.Second))
		n, _ := f.Read(buf)
		got = append(got, buf[:n]...)
	}
}
