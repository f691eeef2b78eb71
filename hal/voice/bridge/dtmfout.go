package bridge

import (
	"lifeline/hal/voice"
	"lifeline/hal/voice/rtp"
)

// DTMF from the line to the phone. A voice modem reports each digit it
// hears on the line as <DLE><digit> in its stream (V.253 event 4, "DTMF
// received"), once, without its length; the bridge sends it as an RFC
// 4733 telephone-event on the negotiated payload type, in place of the
// audio frames it covers (so that the phone does not hear the tone and
// get the digit twice): an event of DTMFEventLen, updated every frame
// (marker on the first packet, every packet with the event's starting
// timestamp and the duration so far), then its final packet with the E
// bit sent three times (RFC 4733 section 2.5.1.4), one a frame.
const (
	// DTMFEventLen is the duration of a digit sent to the phone.
	DTMFEventLen = 100 * voice.SampleRate / 1000 // samples (100 ms)
	// DTMFEventVolume is the power level sent, in -dBm0 (RFC 4733 2.3.4).
	DTMFEventVolume = 10
	// dtmfEndRepeats is how often the end packet is sent.
	dtmfEndRepeats = 3
	// dtmfOutQueue bounds the digits waiting to be sent.
	dtmfOutQueue = 32
)

// dtmfSender turns digit reports into telephone-event packets, one a
// frame. The modem goroutine only.
type dtmfSender struct {
	queue []uint8 // event codes waiting
	on    bool    // an event is being sent
	code  uint8
	ts    uint32 // its timestamp
	dur   int    // samples sent so far
	ends  int    // end packets sent
}

// digit queues a reported digit; false when it is not one or the queue
// is full.
func (s *dtmfSender) digit(d byte) bool {
	code, ok := rtp.EventCode(d)
	if !ok || len(s.queue) >= dtmfOutQueue {
		return false
	}
	s.queue = append(s.queue, code)
	return true
}

// active reports whether the next frame belongs to an event.
func (s *dtmfSender) active() bool { return s.on || len(s.queue) > 0 }

// next returns the packet for this frame's place in the stream (the
// event starting now at timestamp ts when none runs) and whether it is
// the event's first.
func (s *dtmfSender) next(ts uint32) (e rtp.Event, start uint32, first bool) {
	if !s.on {
		s.on, s.code, s.ts, s.dur, s.ends = true, s.queue[0], ts, 0, 0
		s.queue = s.queue[1:]
		first = true
	}
	if s.dur < DTMFEventLen {
		s.dur = min(s.dur+voice.FrameSamples, DTMFEventLen)
		if s.dur < DTMFEventLen {
			return rtp.Event{Code: s.code, Volume: DTMFEventVolume, Duration: uint16(s.dur)}, s.ts, first
		}
	}
	s.ends++
	if s.ends >= dtmfEndRepeats {
		s.on = false
	}
	return rtp.Event{Code: s.code, End: true, Volume: DTMFEventVolume, Duration: uint16(s.dur)}, s.ts, first
}
