package bridge

import (
	"encoding/binary"
	"math"
	"testing"

	"lifeline/hal/voice"
	"lifeline/hal/voice/rtp"
)

type pkt struct {
	ts uint32
	ev rtp.Event
}

// play runs the player until it is idle and returns the samples of tone
// (non-zero) it wrote and the frames it owned.
func play(t *testing.T, p *dtmfPlayer) (toneSamples, frames int) {
	t.Helper()
	lin := make([]int16, voice.FrameSamples)
	for p.active() {
		if frames++; frames > 100000 {
			t.Fatal("player never idle")
		}
		p.fill(lin)
		for _, v := range lin {
			if v != 0 {
				toneSamples++
			}
		}
	}
	return toneSamples, frames
}

// TestDTMFPlayerEvents: how RFC 4733 packet sequences become tones.
func TestDTMFPlayerEvents(t *testing.T) {
	e := func(code uint8, end bool, dur uint16) rtp.Event {
		return rtp.Event{Code: code, End: end, Volume: 10, Duration: dur}
	}
	tests := []struct {
		name    string
		packets []pkt
		tones   int // tones started
		queued  int
	}{
		{"one digit", []pkt{{1, e(5, false, 160)}, {1, e(5, true, 800)}, {1, e(5, true, 800)}}, 1, 1},
		{"end only", []pkt{{1, e(5, true, 800)}}, 1, 1},
		{"same digit twice", []pkt{{1, e(5, true, 800)}, {2000, e(5, true, 800)}}, 2, 2},
		{"flash is not a digit", []pkt{{1, e(16, true, 800)}}, 0, 0},
		{"retransmission after a new digit", []pkt{{1, e(1, true, 800)}, {2000, e(2, true, 800)}, {1, e(1, true, 800)}}, 3, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newDTMFPlayer()
			n := 0
			for _, k := range tc.packets {
				if p.event(k.ts, k.ev) {
					n++
				}
			}
			if n != tc.tones || len(p.queue) != tc.queued {
				t.Fatalf("%d tones started, %d queued; want %d, %d", n, len(p.queue), tc.tones, tc.queued)
			}
		})
	}
	t.Run("packets of a played digit are ignored", func(t *testing.T) {
		p := newDTMFPlayer()
		p.event(1, e(1, true, 800))
		// 800 samples of tone (the first is sin 0 = 0), 65 ms of pause
		// rounded up to whole frames.
		if n, frames := play(t, p); n < 790 || n > 800 || frames != (800+DTMFMinPause+voice.FrameSamples-1)/voice.FrameSamples {
			t.Fatalf("%d tone samples in %d frames", n, frames)
		}
		if p.event(1, e(1, true, 800)) || p.active() {
			t.Fatal("a retransmitted end packet restarted the tone")
		}
	})
	t.Run("queue bound", func(t *testing.T) {
		p := newDTMFPlayer()
		for i := range dtmfQueue + 5 {
			p.event(uint32(i*1000), e(1, true, 800))
		}
		if len(p.queue) != dtmfQueue || p.dropped != 5 {
			t.Fatalf("queued %d, dropped %d", len(p.queue), p.dropped)
		}
	})
}

// FuzzDTMFPlayer: any packet sequence, interleaved with frames, keeps the
// queue bounded and the player ends every tone.
func FuzzDTMFPlayer(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 5, 0x8a, 3, 0x20, 1})
	f.Add([]byte{0, 0, 0, 1, 5, 0x0a, 0, 0xa0, 0, 0, 0, 0, 2, 11, 0x8a, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := newDTMFPlayer()
		lin := make([]int16, voice.FrameSamples)
		for len(data) >= 9 {
			ev, err := rtp.ParseEvent(data[4:8])
			if err != nil {
				t.Fatal(err)
			}
			p.event(binary.BigEndian.Uint32(data), ev)
			for range data[8] % 4 {
				p.fill(lin)
			}
			if len(p.queue) > dtmfQueue {
				t.Fatalf("queue %d", len(p.queue))
			}
			data = data[9:]
		}
		// Every tone ends within its longest possible length and pause.
		limit := (len(p.queue)+1)*(65535+dtmfGrace+DTMFMinPause)/voice.FrameSamples + 2
		for i := 0; p.active(); i++ {
			if i > limit {
				t.Fatalf("still playing after %d frames", i)
			}
			p.fill(lin)
		}
	})
}

// TestOscillator: the recurrence stays on math.Sin over ten seconds.
func TestOscillator(t *testing.T) {
	for _, hz := range []float64{697, 941, 1209, 1633} {
		o := newOsc(hz, 12000)
		for n := 0; n < 10*voice.SampleRate; n++ {
			want := 12000 * math.Sin(2*math.Pi*hz*float64(n)/voice.SampleRate)
			if got := o.next(); math.Abs(got-want) > 0.5 {
				t.Fatalf("%v Hz sample %d: %v, want %v", hz, n, got, want)
			}
		}
	}
}

// BenchmarkDTMFFill is the cost of one 20 ms frame of tone.
func BenchmarkDTMFFill(b *testing.B) {
	p := newDTMFPlayer()
	lin := make([]int16, voice.FrameSamples)
	for i := 0; b.Loop(); i++ {
		if !p.active() {
			p.event(uint32(i), rtp.Event{Code: uint8(i % 16), End: true, Duration: 65535})
		}
		p.fill(lin)
	}
}
