package daemon

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lifeline/hal/clock"
)

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

type fakeSim struct{ got []string }

func (f *fakeSim) Sim(signal string, args []string) (string, error) {
	if signal == "bad" {
		return "", errors.New("no such signal")
	}
	f.got = append(f.got, signal+" "+strings.Join(args, " "))
	return "", nil
}

func startControl(t *testing.T) (string, *harness, *fakeSim) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	sim := &fakeSim{}
	cfg := DefaultConfig()
	cfg.HooksDir = filepath.Join(dir, "hooks.d")
	h := startWith(t, Options{Config: cfg, StateDir: dir, Board: "sim", Clock: clk, Sim: sim})
	sock := filepath.Join(dir, "s.sock")
	srv, err := ListenControl(sock, h.d, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); srv.Close() })
	return sock, h, sim
}

func TestControlCommands(t *testing.T) {
	sock, _, sim := startControl(t)
	ctx := context.Background()
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode = %v, %v", fi.Mode(), err)
	}
	st, err := Call(ctx, sock, Request{Cmd: "status"})
	if err != nil || st.Route != RouteSIP || st.Board != "sim" {
		t.Fatalf("status: %+v %v", st, err)
	}
	st, err = Call(ctx, sock, Request{Cmd: "override", Mode: "pstn", For: "10m"})
	if err != nil || st.Route != RoutePSTN || st.Override.Until == nil || !st.Override.Until.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("override: %+v %v", st, err)
	}
	if _, err := Call(ctx, sock, Request{Cmd: "sim", Signal: "wan", Args: []string{"down"}}); err != nil || sim.got[0] != "wan down" {
		t.Fatalf("sim: %v %v", sim.got, err)
	}
	if _, err := Call(ctx, sock, Request{Cmd: "sim", Signal: "bad", Args: []string{"x"}}); err == nil || !strings.Contains(err.Error(), "no such signal") {
		t.Fatalf("sim error = %v", err)
	}
}

// Malformed and oversized requests get a clear error and leave the daemon
// serving.
func TestControlBadRequests(t *testing.T) {
	sock, _, _ := startControl(t)
	raw := func(payload []byte) string {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(payload)
		c.(*net.UnixConn).CloseWrite()
		resp, _ := io.ReadAll(c)
		return string(resp)
	}
	tests := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"not json", []byte("hello\n"), "bad request: invalid character"},
		{"unknown cmd", []byte(`{"cmd":"reboot"}` + "\n"), `unknown cmd \"reboot\"`},
		{"unknown field", []byte(`{"cmd":"status","x":1}` + "\n"), `unknown field \"x\"`},
		{"bad mode", []byte(`{"cmd":"override","mode":"isdn"}` + "\n"), `unknown override mode \"isdn\"`},
		{"bad for", []byte(`{"cmd":"override","mode":"pstn","for":"-1m"}` + "\n"), `for \"-1m\"`},
		{"oversized", append(bytes.Repeat([]byte(" "), MaxRequest+10), '\n'), "larger than 4096 bytes"},
		{"oversized no newline", bytes.Repeat([]byte("x"), 100000), "larger than 4096 bytes"},
		{"empty", nil, "bad request"},
		{"two values", []byte(`{"cmd":"status"}{"cmd":"status"}` + "\n"), "more than one JSON value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := raw(tc.payload)
			if !strings.Contains(got, `"ok":false`) || !strings.Contains(got, tc.want) {
				t.Fatalf("response %q, want error containing %q", got, tc.want)
			}
		})
	}
	// Through the client, which writes its request whole before reading:
	// the answer must come, not a reset (issue 15.10).
	for _, n := range []int{5000, 64 << 10, 300 << 10} {
		_, err := Call(context.Background(), sock, Request{Cmd: "sim", Signal: "key", Args: []string{strings.Repeat("a", n)}})
		if err == nil || !strings.Contains(err.Error(), "larger than 4096 bytes") {
			t.Fatalf("%d-byte request: err = %v, want the size error", n, err)
		}
	}
	// A client that connects and says nothing does not stop others.
	idle, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if st, err := Call(context.Background(), sock, Request{Cmd: "status"}); err != nil || st.Route != RouteSIP {
		t.Fatalf("daemon disturbed: %v", err)
	}
}

func TestControlRefusesSecondDaemon(t *testing.T) {
	sock, h, _ := startControl(t)
	if _, err := ListenControl(sock, h.d, testLogger(t)); err == nil || !strings.Contains(err.Error(), "another lifeline is running") {
		t.Fatalf("err = %v", err)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{`{"cmd":"status"}`, `{"cmd":"override","mode":"pstn","for":"10m"}`,
		`{"cmd":"sim","signal":"key","args":["wps","press"]}`, `{"cmd":"override","mode":"auto"}`, `[]`, `{"cmd":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRequest(data)
		if err != nil {
			if !errors.Is(err, ErrRequest) {
				t.Fatalf("error does not wrap ErrRequest: %v", err)
			}
			return
		}
		switch r.Cmd {
		case "status", "sim":
		case "override":
			if _, err := ParseMode(r.Mode); err != nil {
				t.Fatalf("accepted bad mode %q", r.Mode)
			}
		default:
			t.Fatalf("accepted cmd %q", r.Cmd)
		}
	})
}
