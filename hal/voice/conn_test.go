package voice

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConnRouteSplits feeds a whole voice session in two chunks split at
// every position and checks that each side gets exactly its bytes.
func TestConnRouteSplits(t *testing.T) {
	cmd1 := "AT+VTR\r\r\nCONNECT\r\n"
	data := "ab\x10\x10c\x10b\n\x10\x03"
	cmd2 := "\r\nOK\r\nRING\r\n"
	in := cmd1 + data + cmd2
	for split := 0; split <= len(in); split++ {
		var lines []string
		c := &Conn{lineFunc: func(l string) { lines = append(lines, l) }}
		c.cond = sync.NewCond(&c.mu)
		c.cmdPipe = newPipe(c)
		ds, err := c.ExpectData()
		if err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		c.route([]byte(in[:split]))
		c.route([]byte(in[split:]))
		c.mu.Unlock()
		gotCmd := string(c.cmdPipe.buf[c.cmdPipe.off:])
		gotData := string(ds.p.buf[ds.p.off:])
		// The OK that ends the period goes to Final, not to the engine.
		if gotCmd != cmd1+"\r\n\nRING\r\n" || gotData != data || ds.p.err != io.EOF {
			t.Fatalf("split %d: cmd %q data %q err %v", split, gotCmd, gotData, ds.p.err)
		}
		select {
		case l := <-ds.final:
			if l != "OK" {
				t.Fatalf("split %d: final %q", split, l)
			}
		default:
			t.Fatalf("split %d: no final result", split)
		}
		if c.data != nil || c.inData || c.await != nil {
			t.Fatalf("split %d: still in data state", split)
		}
		if want := []string{"AT+VTR", "CONNECT", "OK", "RING"}; !equalStrings(lines, want) {
			t.Fatalf("split %d: lines %q", split, lines)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fakeDev is a modem device made of two pipes.
type fakeDev struct {
	fromModem *io.PipeReader // the Conn reads this
	modemOut  *io.PipeWriter // the test writes modem bytes here
	toModem   *io.PipeWriter // the Conn writes this
	modemIn   *io.PipeReader // the test reads DTE bytes here
}

func newFakeDev() *fakeDev {
	d := &fakeDev{}
	d.fromModem, d.modemOut = io.Pipe()
	d.modemIn, d.toModem = io.Pipe()
	return d
}

func (d *fakeDev) Read(p []byte) (int, error)  { return d.fromModem.Read(p) }
func (d *fakeDev) Write(p []byte) (int, error) { return d.toModem.Write(p) }
func (d *fakeDev) Close() error {
	d.fromModem.Close()
	d.toModem.Close()
	return nil
}

func TestConnDataPeriod(t *testing.T) {
	dev := newFakeDev()
	c := NewConn(dev)
	defer c.Close()
	ds, err := c.ExpectData()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExpectData(); !errors.Is(err, ErrDataPending) {
		t.Fatalf("second ExpectData: %v", err)
	}
	go func() {
		dev.modemOut.Write([]byte("\r\nCONNECT\r\n"))
		var b bytes.Buffer
		e := NewEncoder(&b)
		e.Write([]byte("hello\x10"))
		e.Code(EventBusy)
		e.End()
		dev.modemOut.Write(b.Bytes())
		dev.modemOut.Write([]byte("\r\nOK\r\n"))
	}()
	// Command side sees CONNECT then OK; data side the audio and the busy event.
	cmdBuf := make([]byte, 64)
	var cmd []byte
	for !bytes.Contains(cmd, []byte("CONNECT\r\n")) {
		n, err := c.Command().Read(cmdBuf)
		if err != nil {
			t.Fatal(err)
		}
		cmd = append(cmd, cmdBuf[:n]...)
	}
	got, err, _ := decodeAll(t, ds, 64)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("data err %v", err)
	}
	if want := []item{{data: "hello\x10"}, {ev: "busy", off: 6}, {ev: "end", off: 6}}; !equalItems(got, want) {
		t.Fatalf("data %+v", got)
	}
	if l, err := ds.Final(context.Background()); err != nil || l != "OK" {
		t.Fatalf("Final = %q, %v", l, err)
	}
	// Writes from the data side reach the device.
	go func() { ds.Write([]byte("\x10!")) }()
	b := make([]byte, 2)
	if _, err := io.ReadFull(dev.modemIn, b); err != nil || string(b) != "\x10!" {
		t.Fatalf("device got %q %v", b, err)
	}
	c.Close()
	err = nil
	for err == nil { // buffered bytes first, then the error
		_, err = c.Command().Read(b)
	}
	if !errors.Is(err, ErrConnClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if _, err := c.Command().Write(b); !errors.Is(err, ErrConnClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

func TestConnDisarm(t *testing.T) {
	dev := newFakeDev()
	c := NewConn(dev)
	defer c.Close()
	ds, _ := c.ExpectData()
	ds.Close()
	go dev.modemOut.Write([]byte("\r\nCONNECT\r\nabc"))
	buf := make([]byte, 64)
	var cmd []byte
	for !bytes.Contains(cmd, []byte("abc")) {
		n, err := c.Command().Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		cmd = append(cmd, buf[:n]...)
	}
	if _, err := c.ExpectData(); err != nil {
		t.Fatalf("ExpectData after disarm: %v", err)
	}
}

// recDev records what the Conn writes; reads block until Close.
type recDev struct {
	mu     sync.Mutex
	out    bytes.Buffer
	closed chan struct{}
	once   sync.Once
}

func (d *recDev) Read([]byte) (int, error) { <-d.closed; return 0, io.EOF }
func (d *recDev) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.Write(p)
}
func (d *recDev) Close() error { d.once.Do(func() { close(d.closed) }); return nil }
func (d *recDev) written() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

// TestDataStreamAbort: Abort sends <DLE>! once per period, and not at all
// after the modem ended the stream; Final answers a done context when the
// period is over.
func TestDataStreamAbort(t *testing.T) {
	tests := []struct {
		name    string
		modem   string // bytes the modem sent after CONNECT
		aborts  int
		want    string // DTE bytes written
		final   string // Final(doneCtx), "" for none yet
		prepare func(*DataStream)
	}{
		{"running period aborted once", "ab", 3, "\x10!", "", nil},
		{"modem ended the stream first", "ab\x10\x03\r\nOK\r\n", 2, "", "OK", nil},
		{"after EndTransmit", "", 1, "\x10\x03", "", func(ds *DataStream) { ds.EndTransmit() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dev := &recDev{closed: make(chan struct{})}
			c := NewConn(dev)
			defer c.Close()
			ds, err := c.ExpectData()
			if err != nil {
				t.Fatal(err)
			}
			c.mu.Lock()
			c.route([]byte("\r\nCONNECT\r\n" + tc.modem))
			c.mu.Unlock()
			if tc.prepare != nil {
				tc.prepare(ds)
			}
			for range tc.aborts {
				if err := ds.Abort(); err != nil {
					t.Fatal(err)
				}
			}
			if got := dev.written(); got != tc.want {
				t.Fatalf("written %q, want %q", got, tc.want)
			}
			done, cancel := context.WithCancel(context.Background())
			cancel()
			got, err := ds.Final(done)
			if tc.final == "" {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Final = %q, %v; want context.Canceled", got, err)
				}
				return
			}
			if err != nil || got != tc.final {
				t.Fatalf("Final = %q, %v; want %q", got, err, tc.final)
			}
		})
	}
}
