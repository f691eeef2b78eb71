package voice

import (
	"errors"
	"io"
	"sync"
)

// Audio is the line side of a call's audio, the seam between a line and
// the bridge (hal/voice/bridge): 20 ms frames of Format from the line and
// to it, and in-band events where the line has them. A line kind hands
// one to the gateway with each call (hal/voice/call.Call.Audio):
// DLEAudio for an analog modem's V.253 data period, PCMAudio for raw PCM
// on a separate port (a cellular module's audio tty).
//
// The line's clock paces the call: Deliver pushes each frame as the line
// produces it, and the bridge answers each with one frame written back.
type Audio interface {
	// Format is the sample format of the frames, both ways.
	Format() Format
	// Deliver starts the line's side: s.Frame gets each whole frame
	// (Format().FrameBytes() bytes, valid only during the call), s.Event
	// the in-band events between them, in stream order, serially from one
	// goroutine of the Audio's (or of its line's); then s.End once when
	// the stream ends: nil at the line's end of stream, else why. A
	// Frame that returns an error ends the stream with it. Once Close
	// has returned nothing more is called. Call Deliver at most once.
	Deliver(s Sink)
	// WriteFrame sends one frame to the line.
	WriteFrame(frame []byte) error
	// Close ends the audio: the line is told to stop the stream when it
	// still runs (an analog modem's <DLE>!), delivery stops and is
	// waited for. Idempotent.
	Close() error
}

// Sink is where Audio.Deliver sends the line's side. Frame and End are
// required; Event may be nil.
type Sink struct {
	Frame func(frame []byte) error
	Event func(Event)
	End   func(err error)
}

// ErrAudioClosed is the end of an Audio's stream that Close caused.
var ErrAudioClosed = errors.New("voice: audio closed")

// pusher is implemented by *DataStream (Deliver): its bytes come on the
// Conn's reader goroutine, with no goroutine of ours.
type pusher interface {
	Deliver(sink func(data []byte, err error))
}

// aborter is implemented by *DataStream: Abort sends <DLE>! at most once
// per data period, whoever else (the line that owns the call) sends it.
type aborter interface{ Abort() error }

// DLEAudio is an analog voice modem's full-duplex data period (AT+VTR) as
// an Audio: the V.253 DLE-shielded stream, in-band events included. Its
// stream is usually a *DataStream, whose bytes are pushed from the
// Conn's reader goroutine (one wake-up per frame); any other
// io.ReadWriteCloser is read by a goroutine of the DLEAudio.
type DLEAudio struct {
	rw     io.ReadWriteCloser
	format Format
	enc    *Encoder
	sink   Sink

	// The delivery's state: only the goroutine that delivers touches it.
	u       Unshielder
	decoded []byte // scratch for Unshielder.Feed
	frame   []byte // the frame being assembled
	fill    int    // bytes of frame filled
	offset  int64  // audio bytes before the next one (Event.Offset)

	mu     sync.Mutex
	ended  bool           // under mu: the stream ended (no <DLE>! owed)
	closed bool           // under mu: Close has run
	wg     sync.WaitGroup // the reading goroutine, for a stream that cannot push
}

// NewDLEAudio returns the Audio of a modem data period rw speaking f.
func NewDLEAudio(rw io.ReadWriteCloser, f Format) *DLEAudio {
	return &DLEAudio{rw: rw, format: f, enc: NewEncoder(rw)}
}

// Format returns the AT+VSM format the modem speaks.
func (a *DLEAudio) Format() Format { return a.format }

// Deliver starts decoding the modem's stream into frames and events; the
// end event (<DLE><ETX>) is passed to s.Event before s.End(nil).
func (a *DLEAudio) Deliver(s Sink) {
	a.sink = s
	a.frame = make([]byte, a.format.FrameBytes())
	a.decoded = make([]byte, 0, 4096)
	if p, ok := a.rw.(pusher); ok {
		p.Deliver(a.push)
		return
	}
	a.wg.Add(1)
	go func() { // ends at the stream's end, or when Close closes rw
		defer a.wg.Done()
		buf := make([]byte, 4096)
		for {
			n, err := a.rw.Read(buf)
			if n > 0 && a.feed(buf[:n], nil) {
				return
			}
			if err != nil {
				a.feed(nil, err)
				return
			}
		}
	}()
}

// push is the DataStream's sink.
func (a *DLEAudio) push(data []byte, err error) { a.feed(data, err) }

// feed decodes the modem's bytes: it cuts them into frames and reports
// the in-band events in stream order. It reports whether the stream has
// ended.
func (a *DLEAudio) feed(data []byte, err error) (ended bool) {
	if a.isEnded() {
		return true // ended (a failed frame): the rest is not ours
	}
	for len(data) > 0 {
		var used int
		var code byte
		var ev bool
		a.decoded, used, code, ev = a.u.Feed(a.decoded[:0], data)
		data = data[used:]
		for d := a.decoded; len(d) > 0; {
			n := copy(a.frame[a.fill:], d)
			d = d[n:]
			a.fill += n
			a.offset += int64(n)
			if a.fill == len(a.frame) {
				a.fill = 0
				if ferr := a.sink.Frame(a.frame); ferr != nil {
					a.end(ferr)
					return true
				}
			}
		}
		if ev {
			if a.sink.Event != nil {
				a.sink.Event(Event{Code: code, Offset: a.offset})
			}
			if code == EventEnd {
				a.end(nil)
				return true
			}
		}
	}
	if err != nil {
		if errors.Is(err, io.EOF) && (a.u.Pending() || a.fill > 0) {
			err = io.ErrUnexpectedEOF
		}
		a.end(err)
		return true
	}
	return false
}

func (a *DLEAudio) isEnded() bool {
	a.mu.Lock()
	ended := a.ended
	a.mu.Unlock()
	return ended
}

// end ends the stream once and tells the sink.
func (a *DLEAudio) end(err error) {
	a.mu.Lock()
	was := a.ended
	a.ended = true
	a.mu.Unlock()
	if !was {
		if errors.Is(err, io.EOF) {
			err = nil
		}
		a.sink.End(err)
	}
}

// WriteFrame shields frame and writes it to the modem.
func (a *DLEAudio) WriteFrame(frame []byte) error {
	_, err := a.enc.Write(frame)
	return err
}

// Close sends <DLE>! (abort) unless the stream has ended (through the
// stream's Abort when it has one, so that the line that owns the call
// does not send a second one), then closes the stream, after which no
// more of it is delivered. The modem's closing OK is left to the line
// (DataStream.Final).
func (a *DLEAudio) Close() error {
	a.mu.Lock()
	ended, closed := a.ended, a.closed
	a.ended, a.closed = true, true
	a.mu.Unlock()
	if closed {
		return nil
	}
	var err error
	if !ended {
		if ab, ok := a.rw.(aborter); ok {
			err = ab.Abort()
		} else {
			_, err = a.rw.Write([]byte{DLE, CmdAbort})
		}
	}
	if cerr := a.rw.Close(); err == nil { // a running delivery ends first
		err = cerr
	}
	a.wg.Wait()
	return err
}

// PCMAudio is raw 16-bit signed little-endian PCM at 8 kHz, mono
// (FormatLinear16), on a port of its own: a cellular module's audio tty
// or USB audio function, 320 bytes per 20 ms both ways, paced by the
// port's clock. It has no in-band events: the line's control port says
// when the call ends.
type PCMAudio struct {
	port      io.ReadWriteCloser
	mu        sync.Mutex
	closed    bool
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup // the reading goroutine
}

// NewPCMAudio returns the Audio of a PCM port; Close closes the port.
func NewPCMAudio(port io.ReadWriteCloser) *PCMAudio { return &PCMAudio{port: port} }

// Format is FormatLinear16.
func (a *PCMAudio) Format() Format { return FormatLinear16 }

// Deliver reads whole frames from the port on a goroutine of the
// PCMAudio until the port ends (s.End(nil) at io.EOF on a frame
// boundary) or Close.
func (a *PCMAudio) Deliver(s Sink) {
	a.wg.Add(1)
	go func() { // ends when the port fails or Close closes it
		defer a.wg.Done()
		frame := make([]byte, FormatLinear16.FrameBytes())
		for {
			_, err := io.ReadFull(a.port, frame)
			if err == nil {
				err = a.deliver(func() error { return s.Frame(frame) })
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				a.deliver(func() error { s.End(err); return nil })
				return
			}
		}
	}()
}

// deliver runs f unless Close has begun; the closed case reports
// ErrAudioClosed so that the reader stops.
func (a *PCMAudio) deliver(f func() error) error {
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		return ErrAudioClosed
	}
	return f()
}

// WriteFrame writes one frame to the port.
func (a *PCMAudio) WriteFrame(frame []byte) error {
	_, err := a.port.Write(frame)
	return err
}

// Close closes the port and waits for the reading goroutine.
func (a *PCMAudio) Close() error {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		a.mu.Unlock()
		a.closeErr = a.port.Close()
		a.wg.Wait()
	})
	return a.closeErr
}
