package modemsim

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCommandText(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{"plain", "ATH", "ATH"},
		{"blanks", "  at+vtr ", "at+vtr"},
		{"audio before the prefix", "\xd5\x10\x80\xffATH", "ATH"},
		{"printable audio before the prefix", "\x01xyzATDT123", "ATDT123"},
		{"no command", "\xd5\xd5", ""},
		{"not a command", "hello", "hello"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := commandText([]byte(tc.line)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestVoiceCloseWhileWriteBlocked: Close returns while the loop is blocked
// writing to a DTE that stopped reading, as in a test's cleanup that
// closed the line first. The loop writes under mu, so a Close that takes
// mu before closing the master waited for ever.
func TestVoiceCloseWhileWriteBlocked(t *testing.T) {
	s, err := NewVoice(t.TempDir())
	if err != nil {
		t.Skipf("needs pseudo-terminals: %v", err)
	}
	defer s.Close()
	// Stop the master's output (TCOOFF, as a DTE's XOFF would): every
	// write to it now blocks, deterministically. Filling the pty until
	// EAGAIN did not: the kernel moves its buffers to the line
	// discipline asynchronously, so room came back later on a busy
	// machine and the echo got through.
	rc, err := s.master.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) { ierr = unix.IoctlSetInt(int(fd), unix.TCXONC, unix.TCOOFF) }); err != nil || ierr != nil {
		t.Fatalf("TCOOFF on the pty master: %v %v", err, ierr)
	}
	// A command from the DTE: the loop's echo of it cannot be written.
	dte, err := os.OpenFile(s.Path(), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dte.Close()
	if _, err := dte.Write([]byte("AT\r")); err != nil {
		t.Fatal(err)
	}
	// Wait (on the state, not on time) until the loop is inside that
	// write: it holds wmu only while writing, and the write cannot end.
	deadline := time.Now().Add(10 * time.Second)
	for s.wmu.TryLock() {
		s.wmu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the loop never started writing the echo")
		}
		runtime.Gosched()
	}
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked behind the loop's write")
	}
}
