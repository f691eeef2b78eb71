package voice_test

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"

	"lifeline/hal/voice"
)

// pipePort is one end of a port: the test writes what the line sends
// (in) and reads what the Audio writes (out).
type pipePort struct {
	r  *io.PipeReader
	mu sync.Mutex
	w  bytes.Buffer
}

func newPipePort() (*pipePort, *io.PipeWriter) {
	r, w := io.Pipe()
	return &pipePort{r: r}, w
}

func (p *pipePort) Read(b []byte) (int, error) { return p.r.Read(b) }
func (p *pipePort) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.w.Write(b)
}
func (p *pipePort) Close() error { return p.r.Close() }
func (p *pipePort) written() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.w.Bytes())
}

// collect is a Sink that keeps what it gets; end closes when End came.
type collect struct {
	frames [][]byte
	events []voice.Event
	err    error
	end    chan struct{}
}

func newCollect() *collect { return &collect{end: make(chan struct{})} }

func (c *collect) sink() voice.Sink {
	return voice.Sink{
		Frame: func(f []byte) error { c.frames = append(c.frames, bytes.Clone(f)); return nil },
		Event: func(e voice.Event) { c.events = append(c.events, e) },
		End:   func(err error) { c.err = err; close(c.end) },
	}
}

// TestPCMAudio: raw s16le frames from the port arrive whole and in order
// however the port cuts them, the port's end is the stream's end (a cut
// frame is an error), frames written go to the port as they are, and
// Close stops the reader.
func TestPCMAudio(t *testing.T) {
	frame := func(tag byte) []byte { return bytes.Repeat([]byte{tag, 0}, voice.FrameSamples) }
	for _, tc := range []struct {
		name    string
		tail    []byte
		wantErr error
	}{{"ends on a frame", nil, nil}, {"ends inside a frame", []byte{1, 2, 3}, io.ErrUnexpectedEOF}} {
		t.Run(tc.name, func(t *testing.T) {
			port, line := newPipePort()
			a := voice.NewPCMAudio(port)
			if a.Format() != voice.FormatLinear16 || a.Format().FrameBytes() != 320 {
				t.Fatalf("format %v, %d bytes a frame; want linear16le, 320", a.Format(), a.Format().FrameBytes())
			}
			c := newCollect()
			a.Deliver(c.sink())
			stream := append(append(frame(1), frame(2)...), frame(3)...)
			for len(stream) > 0 { // cut across frames
				n := min(len(stream), 100)
				line.Write(stream[:n])
				stream = stream[n:]
			}
			line.Write(tc.tail)
			line.Close()
			<-c.end
			if !errors.Is(c.err, tc.wantErr) || (tc.wantErr == nil) != (c.err == nil) {
				t.Fatalf("end %v, want %v", c.err, tc.wantErr)
			}
			if len(c.frames) != 3 || !bytes.Equal(c.frames[0], frame(1)) || !bytes.Equal(c.frames[2], frame(3)) || len(c.events) != 0 {
				t.Fatalf("%d frames, %d events; want the 3 frames in order, no event", len(c.frames), len(c.events))
			}
			if err := a.WriteFrame(frame(9)); err != nil || !bytes.Equal(port.written(), frame(9)) {
				t.Fatalf("WriteFrame: %v, port got %d bytes", err, len(port.written()))
			}
			a.Close()
			a.Close()
		})
	}
	t.Run("close while reading", func(t *testing.T) {
		port, line := newPipePort()
		defer line.Close()
		a := voice.NewPCMAudio(port)
		c := newCollect()
		a.Deliver(c.sink())
		a.Close() // returns once the reader has stopped; End is not called after
		select {
		case <-c.end:
			t.Fatalf("End(%v) after Close", c.err)
		default:
		}
	})
}

// TestDLEAudio: a modem's shielded stream gives whole frames of its
// format with <DLE><DLE> unshielded, events in stream order with their
// offsets, and ends at <DLE><ETX>; frames written are shielded; Close
// aborts (<DLE>!) a stream that still runs, and only such a stream.
func TestDLEAudio(t *testing.T) {
	f := voice.FormatALaw
	audio := bytes.Repeat([]byte{0x10, 0x55}, voice.FrameSamples) // two frames, every other byte DLE
	for _, ended := range []bool{true, false} {
		port, line := newPipePort()
		a := voice.NewDLEAudio(port, f)
		c := newCollect()
		a.Deliver(c.sink())
		var enc bytes.Buffer
		e := voice.NewEncoder(&enc)
		e.Write(audio[:100])
		e.Code('5')
		e.Write(audio[100:])
		if ended {
			e.End()
		}
		line.Write(enc.Bytes())
		if ended {
			<-c.end
			if c.err != nil || len(c.events) != 2 || c.events[0] != (voice.Event{Code: '5', Offset: 100}) || c.events[1].Code != voice.EventEnd {
				t.Fatalf("end %v, events %v; want nil, dtmf-5 at 100 then end", c.err, c.events)
			}
			if len(c.frames) != 2 || !bytes.Equal(append(c.frames[0], c.frames[1]...), audio) {
				t.Fatalf("%d frames, not the audio sent", len(c.frames))
			}
		}
		if err := a.WriteFrame([]byte{1, 0x10, 2}); err != nil {
			t.Fatal(err)
		}
		a.Close()
		line.Close()
		want := []byte{1, 0x10, 0x10, 2}
		if !ended {
			want = append(want, voice.DLE, voice.CmdAbort)
		}
		if got := port.written(); !bytes.Equal(got, want) {
			t.Fatalf("ended %t: the modem got %x, want %x", ended, got, want)
		}
	}
}
