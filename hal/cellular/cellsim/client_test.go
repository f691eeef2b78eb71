package cellsim

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// patience bounds every wait of the tests (a failure bound, not a
// synchronisation: every wait ends on an event).
const patience = 10 * time.Second

// host is the test's side of the AT port: a reader goroutine splits what
// the module sends into lines (and the "> " prompt).
type host struct {
	t     *testing.T
	f     *os.File
	lines chan string
	done  chan struct{}
}

func dialHost(t *testing.T, path string) *host {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	h := &host{t: t, f: f, lines: make(chan string, 256), done: make(chan struct{})}
	go h.read()
	t.Cleanup(h.close)
	return h
}

func (h *host) read() {
	defer close(h.done)
	defer close(h.lines)
	var buf bytes.Buffer
	b := make([]byte, 512)
	for {
		n, err := h.f.Read(b)
		if err != nil {
			return
		}
		buf.Write(b[:n])
		for {
			s := buf.String()
			if strings.HasPrefix(s, "\r\n> ") || strings.HasPrefix(s, "> ") {
				h.lines <- "> "
				buf.Next(strings.Index(s, "> ") + 2)
				continue
			}
			i := strings.Index(s, "\r\n")
			if i < 0 {
				break
			}
			if line := s[:i]; line != "" {
				h.lines <- line
			}
			buf.Next(i + 2)
		}
	}
}

var closeOnce sync.Map

func (h *host) close() {
	if _, dup := closeOnce.LoadOrStore(h, true); dup {
		return
	}
	h.f.Close()
	<-h.done
}

func (h *host) write(s string) {
	h.t.Helper()
	if _, err := io.WriteString(h.f, s); err != nil {
		h.t.Fatalf("write %q: %v", s, err)
	}
}

// next returns the next line.
func (h *host) next() string {
	h.t.Helper()
	select {
	case l, ok := <-h.lines:
		if !ok {
			h.t.Fatal("AT port closed")
		}
		return l
	case <-time.After(patience):
		h.t.Fatal("no line from the module")
	}
	return ""
}

func final(l string) bool {
	return l == "OK" || l == "ERROR" || l == "NO CARRIER" || strings.HasPrefix(l, "+CME ERROR:") || strings.HasPrefix(l, "+CMS ERROR:")
}

// cmd sends a command and returns its information lines and final result.
func (h *host) cmd(c string) (info []string, result string) {
	h.t.Helper()
	h.write(c + "\r")
	for {
		l := h.next()
		if final(l) || l == "> " {
			return info, l
		}
		info = append(info, l)
	}
}

// ok sends a command that must answer OK and returns its information.
func (h *host) ok(c string) []string {
	h.t.Helper()
	info, res := h.cmd(c)
	if res != "OK" {
		h.t.Fatalf("%s: %v %s, want OK", c, info, res)
	}
	return info
}

// expect reads lines until one starts with prefix.
func (h *host) expect(prefix string) string {
	h.t.Helper()
	for {
		if l := h.next(); strings.HasPrefix(l, prefix) {
			return l
		}
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return c
}
