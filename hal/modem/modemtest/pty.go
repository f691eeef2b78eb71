package modemtest

import (
	"os"
	"testing"
)

// NeedPTY skips tb unless the machine can open pseudo-terminals
// (/dev/ptmx), which the modem simulators run on.
func NeedPTY(tb testing.TB) {
	tb.Helper()
	f, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		tb.Skipf("needs pseudo-terminals (/dev/ptmx): %v", err)
	}
	f.Close()
}
