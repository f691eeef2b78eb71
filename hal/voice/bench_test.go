package voice

import (
	"bytes"
	"io"
	"sync"
	"testing"
)

// audio is one second of 8-bit audio with a DLE every 64 bytes.
func benchAudio() []byte {
	b := make([]byte, SampleRate)
	for i := range b {
		b[i] = byte(i * 7)
		if i%64 == 0 {
			b[i] = DLE
		}
	}
	return b
}

func BenchmarkEncoder(b *testing.B) {
	audio := benchAudio()
	e := NewEncoder(io.Discard)
	b.SetBytes(int64(len(audio)))
	for b.Loop() {
		for off := 0; off < len(audio); off += FrameSamples {
			e.Write(audio[off : off+FrameSamples])
		}
	}
}

func BenchmarkDecoder(b *testing.B) {
	shielded := Shield(nil, benchAudio())
	shielded = append(shielded, DLE, 'b') // one event a second
	r := bytes.NewReader(nil)
	p := make([]byte, FrameSamples)
	b.SetBytes(int64(SampleRate))
	for b.Loop() {
		r.Reset(shielded)
		d := NewDecoder(r)
		for {
			if _, _, err := d.Next(p); err != nil {
				break
			}
		}
	}
}

func BenchmarkTranscodeALawToULaw(b *testing.B) {
	src := benchAudio()[:FrameSamples]
	dst := make([]byte, 0, FrameSamples)
	b.SetBytes(FrameSamples)
	for b.Loop() {
		dst = Transcode(dst[:0], FormatULaw, src, FormatALaw)
	}
}

func BenchmarkTranscodeALawToLinear8U(b *testing.B) {
	src := benchAudio()[:FrameSamples]
	dst := make([]byte, 0, FrameSamples)
	b.SetBytes(FrameSamples)
	for b.Loop() {
		dst = Transcode(dst[:0], FormatLinear8U, src, FormatALaw)
	}
}

// BenchmarkConnRouteFrame is the Conn's cost for one 20 ms frame of
// 8-bit audio in data state (scan for <DLE><ETX> and queue).
func BenchmarkConnRouteFrame(b *testing.B) {
	c := &Conn{}
	c.cond = sync.NewCond(&c.mu)
	c.cmdPipe = newPipe(c)
	ds, _ := c.ExpectData()
	c.mu.Lock()
	c.route([]byte("\r\nCONNECT\r\n"))
	c.mu.Unlock()
	frame := Shield(nil, benchAudio()[:FrameSamples])
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		c.mu.Lock()
		c.route(frame)
		ds.p.buf, ds.p.off = ds.p.buf[:0], 0
		c.mu.Unlock()
	}
}
