package serialport_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/creack/pty"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"lifeline/hal/modem/serialport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParse(t *testing.T) {
	tests := []struct {
		in     string
		parity serialport.Parity
		pErr   bool
		flow   serialport.Flow
		fErr   bool
	}{
		{"none", serialport.ParityNone, false, serialport.FlowNone, false},
		{"", serialport.ParityNone, false, serialport.FlowNone, false},
		{"even", serialport.ParityEven, false, 0, true},
		{"o", serialport.ParityOdd, false, 0, true},
		{"rtscts", 0, true, serialport.FlowRTSCTS, false},
		{"xonxoff", 0, true, serialport.FlowXONXOFF, false},
		{"bogus", 0, true, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			p, err := serialport.ParseParity(tc.in)
			if (err != nil) != tc.pErr || (err == nil && p != tc.parity) {
				t.Errorf("ParseParity(%q) = %v, %v", tc.in, p, err)
			}
			if err != nil && !errors.Is(err, serialport.ErrMode) {
				t.Errorf("parity error not ErrMode: %v", err)
			}
			f, err := serialport.ParseFlow(tc.in)
			if (err != nil) != tc.fErr || (err == nil && f != tc.flow) {
				t.Errorf("ParseFlow(%q) = %v, %v", tc.in, f, err)
			}
		})
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := serialport.Open(filepath.Join(t.TempDir(), "ttyUSB9"), serialport.Mode{})
	if !errors.Is(err, serialport.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestOpenBadMode(t *testing.T) {
	tests := []struct {
		name string
		m    serialport.Mode
	}{
		{"stop bits", serialport.Mode{StopBits: 3}},
		{"data bits", serialport.Mode{DataBits: 9}},
		{"parity", serialport.Mode{Parity: 7}},
		{"flow", serialport.Mode{Flow: 9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := serialport.Open("/nonexistent", tc.m); !errors.Is(err, serialport.ErrMode) {
				t.Errorf("err = %v, want ErrMode", err)
			}
		})
	}
}

// ptyLink makes a pty and a symlink to its slave, as /dev/serial/by-id does.
func ptyLink(t *testing.T) (master, slave *os.File, link string) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Skipf("needs pseudo-terminals: %v", err)
	}
	link = filepath.Join(t.TempDir(), "usb-modem-if00")
	if err := os.Symlink(s.Name(), link); err != nil {
		t.Fatal(err)
	}
	return m, s, link
}

func TestModeAndFlowApplied(t *testing.T) {
	tests := []struct {
		name  string
		mode  serialport.Mode
		check func(t *testing.T, tio *unix.Termios)
	}{
		{"default 115200 8N1", serialport.Mode{}, func(t *testing.T, tio *unix.Termios) {
			if tio.Cflag&unix.CBAUD != unix.B115200 || tio.Cflag&unix.CSIZE != unix.CS8 || tio.Cflag&unix.PARENB != 0 || tio.Cflag&unix.CRTSCTS != 0 {
				t.Errorf("cflag %#o", tio.Cflag)
			}
		}},
		{"19200 7E2 rtscts", serialport.Mode{Baud: 19200, DataBits: 7, Parity: serialport.ParityEven, StopBits: 2, Flow: serialport.FlowRTSCTS}, func(t *testing.T, tio *unix.Termios) {
			// The Linux pty driver forces CS8 and clears PARENB, so data
			// bits and parity cannot be observed here.
			if tio.Cflag&unix.CBAUD != unix.B19200 || tio.Cflag&unix.CSTOPB == 0 || tio.Cflag&unix.CRTSCTS == 0 {
				t.Errorf("cflag %#o", tio.Cflag)
			}
		}},
		{"xonxoff", serialport.Mode{Flow: serialport.FlowXONXOFF}, func(t *testing.T, tio *unix.Termios) {
			if tio.Iflag&(unix.IXON|unix.IXOFF) != unix.IXON|unix.IXOFF || tio.Cflag&unix.CRTSCTS != 0 {
				t.Errorf("iflag %#o cflag %#o", tio.Iflag, tio.Cflag)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, s, link := ptyLink(t)
			defer m.Close()
			defer s.Close()
			p, err := serialport.Open(link, tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, tio)
		})
	}
}

func TestDeviceGone(t *testing.T) {
	m, s, link := ptyLink(t)
	s.Close()
	p, err := serialport.Open(link, serialport.Mode{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Check(); err != nil {
		t.Fatalf("Check while present: %v", err)
	}
	if _, err := m.Write([]byte("OK\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := p.Read(buf); err != nil || string(buf[:n]) != "OK\r\n" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	// Unplug: the link goes, the other end closes.
	os.Remove(link)
	if err := p.Check(); !errors.Is(err, serialport.ErrGone) {
		t.Errorf("Check after removal = %v", err)
	}
	m.Close()
	_, err = p.Read(buf)
	if !errors.Is(err, serialport.ErrGone) {
		t.Fatalf("Read after unplug = %v, want ErrGone", err)
	}
	if _, err := p.Write([]byte("AT\r")); !errors.Is(err, serialport.ErrGone) {
		t.Errorf("Write after unplug = %v, want ErrGone", err)
	}
	if err := p.Close(); err != nil {
		t.Error(err)
	}
	if err := p.Close(); err != nil {
		t.Error("second Close:", err)
	}
}

// Close makes a Read waiting for data, and a Write waiting for room,
// return with an error.
func TestCloseUnblocks(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   func(p *serialport.Port) error
	}{
		{"read", func(p *serialport.Port) error { _, err := p.Read(make([]byte, 8)); return err }},
		{"write", func(p *serialport.Port) error { _, err := p.Write(make([]byte, 1<<20)); return err }}, // nobody reads the peer
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, p := openPTYPort(t)
			errc := make(chan error, 1)
			go func() { errc <- tc.op(p) }()
			p.Close()
			if err := <-errc; err == nil {
				t.Fatalf("%s after Close: no error", tc.name)
			}
		})
	}
}

// openPTYPort opens a Port on a new pty and returns the pty's master
// (the modem's side); both are closed with the test.
func openPTYPort(t *testing.T) (*os.File, *serialport.Port) {
	t.Helper()
	m, s, link := ptyLink(t)
	t.Cleanup(func() { m.Close(); s.Close() })
	p, err := serialport.Open(link, serialport.Mode{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return m, p
}

func TestSetDTROnPTY(t *testing.T) {
	m, s, link := ptyLink(t)
	defer m.Close()
	defer s.Close()
	p, err := serialport.Open(link, serialport.Mode{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// A pty has no modem control lines; the error must name the device.
	if err := p.SetDTR(false); err != nil && !contains(err.Error(), link) {
		t.Errorf("SetDTR error does not name the device: %v", err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub))
}

func TestCheckSeesReplugAsOtherDevice(t *testing.T) {
	m, s, link := ptyLink(t)
	defer m.Close()
	defer s.Close()
	p, err := serialport.Open(link, serialport.Mode{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m2, s2, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	defer s2.Close()
	tmp := link + ".new"
	if err := os.Symlink(s2.Name(), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
	if err := p.Check(); !errors.Is(err, serialport.ErrGone) {
		t.Errorf("Check after the link moved = %v, want ErrGone", err)
	}
}

// A write larger than the tty's buffer waits for room (the peer reading)
// and then completes, in order.
func TestWriteWaitsForRoom(t *testing.T) {
	m, p := openPTYPort(t)
	want := make([]byte, 256<<10) // far more than a pty buffers
	for i := range want {
		want[i] = byte(i % 251)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := p.Write(want)
		done <- result{n, err}
	}()
	got := make([]byte, 0, len(want))
	buf := make([]byte, 8192)
	for len(got) < len(want) {
		n, err := m.Read(buf)
		if err != nil {
			t.Fatalf("reading the peer after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:n]...)
	}
	if r := <-done; r.err != nil || r.n != len(want) {
		t.Fatalf("Write = %d, %v; want %d, nil", r.n, r.err, len(want))
	}
	if string(got) != string(want) {
		t.Fatal("the peer read other bytes than were written")
	}
}
