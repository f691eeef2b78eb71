package syslog

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listen is a syslog socket in a temp dir, as logd's /dev/log.
func listen(t *testing.T) (string, *net.UnixConn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return path, c
}

func recv(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

var stamp = time.Date(2026, 12, 4, 9, 5, 7, 0, time.UTC)

func TestEachLevelItsOwnPriority(t *testing.T) {
	path, c := listen(t)
	h, err := Dial(path, "lifeline", Daemon, slog.LevelDebug, WithClock(func() time.Time { return stamp }))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	log := slog.New(h).With("part", "test")
	pid := os.Getpid()
	cases := []struct {
		log  func(string, ...any)
		want string
	}{
		{log.Error, fmt.Sprintf("<27>Dec  4 09:05:07 lifeline[%d]: route changed part=test from=sip to=pstn", pid)},
		{log.Warn, fmt.Sprintf("<28>Dec  4 09:05:07 lifeline[%d]: route changed part=test from=sip to=pstn", pid)},
		{log.Info, fmt.Sprintf("<30>Dec  4 09:05:07 lifeline[%d]: route changed part=test from=sip to=pstn", pid)},
		{log.Debug, fmt.Sprintf("<31>Dec  4 09:05:07 lifeline[%d]: route changed part=test from=sip to=pstn", pid)},
	}
	for _, tc := range cases {
		tc.log("route changed", "from", "sip", "to", "pstn")
		if got := recv(t, c); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
	// logd drops exactly 16 bytes after the priority when the 16th is a
	// space (syslog(3)'s timestamp): what remains starts with the tag, so
	// the line carries one stamp, logd's.
	log.Info("x")
	got := recv(t, c)
	rest := got[strings.IndexByte(got, '>')+1:]
	if rest[15] != ' ' || !strings.HasPrefix(rest[16:], "lifeline[") || strings.Contains(got, "time=") || strings.Contains(got, "level=") {
		t.Fatalf("line %q: logd would not strip a timestamp exactly, or a second one is inside", got)
	}
}

func TestLevelFilterAndGroups(t *testing.T) {
	path, c := listen(t)
	h, err := Dial(path, "t", Local0, slog.LevelWarn, WithClock(func() time.Time { return stamp }))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	log := slog.New(h)
	log.Info("dropped")
	log.WithGroup("wan").Warn("down", "if", "eth1")
	got := recv(t, c)
	if want := fmt.Sprintf("<132>Dec  4 09:05:07 t[%d]: down wan.if=eth1", os.Getpid()); got != want {
		t.Fatalf("got %q, want %q (Info must have been filtered)", got, want)
	}
}

// A restarted logd (socket re-created) gets the next line; while nobody
// listens, lines go to the fallback.
func TestRedialAndFallback(t *testing.T) {
	path, c := listen(t)
	var fb bytes.Buffer
	h, err := Dial(path, "t", Daemon, nil, WithClock(func() time.Time { return stamp }), WithFallback(&fb))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	log := slog.New(h)
	c.Close()
	os.Remove(path)
	log.Warn("while logd is away")
	if !strings.Contains(fb.String(), "while logd is away") {
		t.Fatalf("fallback = %q", fb.String())
	}
	c2, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	log.Error("logd back")
	if got := recv(t, c2); !strings.HasSuffix(got, "logd back") || !strings.HasPrefix(got, "<27>") {
		t.Fatalf("after the restart: %q", got)
	}
}

func TestDialMissing(t *testing.T) {
	if _, err := Dial(filepath.Join(t.TempDir(), "nope"), "t", Daemon, nil); err == nil {
		t.Fatal("Dial of a missing socket succeeded")
	}
}
