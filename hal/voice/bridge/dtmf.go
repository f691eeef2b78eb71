package bridge

import (
	"math"

	"lifeline/hal/voice"
	"lifeline/hal/voice/rtp"
)

// DTMF towards the line. V.253's AT+VTS plays tones only in voice command
// state, not during the AT+VTR data period the bridge holds, so the bridge
// synthesises the dual tones itself into the audio it writes to the modem
// (the modem just plays samples), replacing the RTP audio for that time.
//
// Frequencies: ITU-T Q.23 (low group 697, 770, 852, 941 Hz; high group
// 1209, 1336, 1477, 1633 Hz). Levels and timing follow Q.24 practice as
// the national tables cite it: low group -7 dBm0, high group -5 dBm0 (a
// 2 dB pre-emphasis, "twist", of the high group), each tone at least
// DTMFMinTone long and followed by at least DTMFMinPause of silence.
const (
	// DTMFMinTone is the shortest tone played: shorter RFC 4733 events are
	// lengthened to it.
	DTMFMinTone = 65 * voice.SampleRate / 1000 // samples (65 ms)
	// DTMFMinPause is the silence after each tone.
	DTMFMinPause = 65 * voice.SampleRate / 1000 // samples (65 ms)
	// DTMFLowLevel and DTMFHighLevel are the levels of the two tones in
	// dBm0.
	DTMFLowLevel  = -7.0
	DTMFHighLevel = -5.0
	// dtmfGrace: a tone whose end packet never came stops this long after
	// the duration its last update announced (RFC 4733 section 2.5.2.2
	// leaves the limit to the receiver; senders update every 50 ms or
	// less).
	dtmfGrace = 200 * voice.SampleRate / 1000
	// dtmfQueue bounds the digits waiting to be played.
	dtmfQueue = 32
)

// fullScaleDBm0 is the level of a full-scale sine in G.711 (A-law +3.14
// dBm0, µ-law +3.17): 0 dBm0 is this far below it.
const fullScaleDBm0 = 3.14

// DTMFFrequencies returns the Q.23 low- and high-group frequencies of a
// DTMF character (0-9, *, #, A-D, case-insensitive).
func DTMFFrequencies(digit byte) (low, high float64, ok bool) {
	const keys = "123A456B789C*0#D"
	lows := [4]float64{697, 770, 852, 941}
	highs := [4]float64{1209, 1336, 1477, 1633}
	if digit >= 'a' && digit <= 'd' {
		digit -= 'a' - 'A'
	}
	for i := 0; i < len(keys); i++ {
		if keys[i] == digit {
			return lows[i/4], highs[i%4], true
		}
	}
	return 0, 0, false
}

// amplitude is the peak of a sine at level dBm0 in 16-bit linear PCM.
func amplitude(dbm0 float64) float64 {
	return 32767 * math.Pow(10, (dbm0-fullScaleDBm0)/20)
}

// tone is one digit to play.
type tone struct {
	ts        uint32  // RTP timestamp of the event
	dur       int     // samples the sender has announced so far
	ended     bool    // the end packet came: dur is final
	low, high float64 // Hz
}

// osc is a sine oscillator by recurrence, y[n+1] = 2cos(w)·y[n] − y[n−1]:
// two multiplications a sample instead of a math.Sin (soft float on many
// MIPS routers).
type osc struct{ c, y1, y0 float64 }

// newOsc starts a sine of amplitude a at hz: the next value is sample 0.
func newOsc(hz, a float64) osc {
	w := 2 * math.Pi * hz / voice.SampleRate
	return osc{c: 2 * math.Cos(w), y1: 0, y0: -a * math.Sin(w)} // y[0] = 0, y[-1] = −a·sin(w)
}

// next returns the current sample and advances.
func (o *osc) next() float64 {
	y := o.y1
	o.y1, o.y0 = o.c*o.y1-o.y0, o.y1
	return y
}

// dtmfPlayer turns RFC 4733 events into tone samples on the modem's
// clock. Not safe for concurrent use: the bridge guards it with mu.
type dtmfPlayer struct {
	queue   []tone // queue[0] plays when playing is set
	playing bool
	lo, hi  osc // queue[0]'s tones while playing
	pos     int // samples of queue[0] played
	pause   int // silence samples still due
	lastTS  uint32
	seen    bool // lastTS is valid
	dropped int  // digits dropped because the queue was full
	lowAmp  float64
	highAmp float64
}

func newDTMFPlayer() *dtmfPlayer {
	return &dtmfPlayer{lowAmp: amplitude(DTMFLowLevel), highAmp: amplitude(DTMFHighLevel)}
}

// event takes one telephone-event packet. A new RTP timestamp starts a
// digit (queued behind those still playing); packets with the digit's
// timestamp update its duration and end; packets of a digit already
// played are ignored. It reports whether a digit was queued.
func (p *dtmfPlayer) event(ts uint32, e rtp.Event) bool {
	if p.seen && ts == p.lastTS {
		if n := len(p.queue); n > 0 && p.queue[n-1].ts == ts {
			t := &p.queue[n-1]
			t.dur = max(t.dur, int(e.Duration))
			t.ended = t.ended || e.End
		}
		return false
	}
	d, ok := e.Digit()
	if !ok {
		return false
	}
	p.seen, p.lastTS = true, ts
	if len(p.queue) >= dtmfQueue {
		p.dropped++
		return false
	}
	low, high, _ := DTMFFrequencies(d)
	p.queue = append(p.queue, tone{ts: ts, dur: int(e.Duration), ended: e.End, low: low, high: high})
	return true
}

// active reports whether the player owns the next frame.
func (p *dtmfPlayer) active() bool { return p.playing || p.pause > 0 || len(p.queue) > 0 }

// fill writes one frame of tones and silence to lin. The player owns whole
// frames: a pause that ends inside a frame is lengthened to its end, so
// the RTP audio resumes on a frame boundary.
func (p *dtmfPlayer) fill(lin []int16) {
	for i := range lin {
		if !p.playing && p.pause == 0 && len(p.queue) > 0 {
			p.playing, p.pos = true, 0
			p.lo, p.hi = newOsc(p.queue[0].low, p.lowAmp), newOsc(p.queue[0].high, p.highAmp)
		}
		if !p.playing {
			lin[i] = 0
			if p.pause > 0 {
				p.pause--
			}
			continue
		}
		t := &p.queue[0]
		lin[i] = int16(math.Round(p.lo.next() + p.hi.next()))
		p.pos++
		if p.pos >= DTMFMinTone && (t.ended && p.pos >= t.dur || !t.ended && p.pos >= t.dur+dtmfGrace) {
			p.playing, p.pause = false, DTMFMinPause
			p.queue = p.queue[1:]
		}
	}
}
