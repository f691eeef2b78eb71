package rtp

import (
	"fmt"
	"math/bits"
)

// PushResult says what the jitter buffer did with a packet.
type PushResult int

// Push results.
const (
	Accepted  PushResult = iota // stored for play-out
	Late                        // its turn has passed: dropped
	Duplicate                   // already buffered: dropped
)

func (r PushResult) String() string {
	switch r {
	case Accepted:
		return "accepted"
	case Late:
		return "late"
	case Duplicate:
		return "duplicate"
	}
	return fmt.Sprintf("PushResult(%d)", int(r))
}

// JitterStats counts what happened to frames. Played + Concealed is the
// number of Pops after play-out started.
type JitterStats struct {
	Accepted  uint64 // packets stored
	Late      uint64 // packets dropped because their turn had passed
	Duplicate uint64 // packets dropped as already buffered
	Overflow  uint64 // buffered frames dropped because a packet came too far ahead
	Played    uint64 // frames popped from a packet
	Concealed uint64 // frames popped as silence (lost or not yet arrived)
	Waiting   uint64 // pops answered with silence while priming
	Resyncs   uint64 // times play-out re-anchored after the stream paused
	Trimmed   uint64 // quiet frames skipped to bring the delay back (SetTrim)
}

type slot struct {
	seq  uint16
	full bool
	n    int // payload bytes stored
}

// Jitter reorders fixed-size frames by RTP sequence number within a
// bounded depth and plays them out at the pace of its consumer: the
// modem's clock calls Pop once per frame time, whatever the network does.
// Late and duplicate packets are dropped (but a packet newer than all
// before it moves play-out to itself: the sender paused); a missing frame
// is played as silence (the format's silence byte). Play-out starts once Prefill frames
// are buffered; after Depth consecutive missing frames with nothing
// buffered (the far end paused), the buffer re-primes on the next packet.
//
// Push and Pop do not allocate. Not safe for concurrent use: the bridge
// owns it from one goroutine or guards it with a mutex.
type Jitter struct {
	frameLen int
	silence  byte
	depth    int
	prefill  int
	mask     uint16
	slots    []slot
	data     []byte

	next     uint16 // sequence number of the next frame to play
	high     uint16 // highest sequence number stored
	started  bool   // a packet set next
	playing  bool   // prefill reached
	buffered int
	missing  int // consecutive concealed frames
	stats    JitterStats

	// Delay trimming (SetTrim).
	trimWindow int               // pops per observation window; 0: off
	quiet      func([]byte) bool // a frame that may be skipped unheard
	pops       int               // pops in the current window
	minFill    int               // fewest frames buffered after a pop in it
	trimDue    bool              // the last window held a frame too many
}

// NewJitter returns a buffer for frames of frameLen bytes holding up to
// depth frames (1-1024), starting play-out after prefill (1-depth) frames.
// silence fills missing frames. For 20 ms frames, depth 8 and prefill 2
// give up to 160 ms of reordering and 40 ms of added delay.
func NewJitter(frameLen, depth, prefill int, silence byte) (*Jitter, error) {
	if frameLen <= 0 || depth < 1 || depth > 1024 || prefill < 1 || prefill > depth {
		return nil, fmt.Errorf("rtp: jitter buffer frame %d depth %d prefill %d: want frame > 0, 1 <= prefill <= depth <= 1024", frameLen, depth, prefill)
	}
	size := 1 << bits.Len(uint(depth-1)) // power of two, so seq&mask survives wrap-around
	return &Jitter{
		frameLen: frameLen, silence: silence, depth: depth, prefill: prefill,
		mask: uint16(size - 1), slots: make([]slot, size), data: make([]byte, size*frameLen),
	}, nil
}

// SetTrim makes the buffer give back delay it has gained. A burst (the
// consumer stalled, packets bunched up at the start) leaves more frames
// buffered than prefill needs, and with one Push per Pop they stay there:
// every frame after it is played that much later. When, over window Pops,
// there was always at least one frame more buffered than prefill needs,
// the next frame quiet reports true for (silence between words) is
// skipped, one per window, so the delay comes back to prefill's without an
// audible gap. window 0 turns it off (the default).
func (j *Jitter) SetTrim(window int, quiet func(frame []byte) bool) {
	j.trimWindow, j.quiet, j.pops, j.minFill, j.trimDue = window, quiet, 0, j.depth, false
}

// trim runs after each Pop that played a frame; it may skip the next one.
func (j *Jitter) trim() {
	if j.trimWindow <= 0 || j.quiet == nil {
		return
	}
	j.minFill = min(j.minFill, j.buffered)
	j.pops++
	if j.pops >= j.trimWindow {
		// Steady state after a Pop is prefill-1 frames buffered.
		j.trimDue = j.minFill >= j.prefill
		j.pops, j.minFill = 0, j.depth
	}
	if !j.trimDue || j.buffered < j.prefill {
		return
	}
	sl := &j.slots[j.next&j.mask]
	if !sl.full || sl.seq != j.next {
		return
	}
	off := int(j.next&j.mask) * j.frameLen
	if !j.quiet(j.data[off : off+sl.n]) {
		return
	}
	sl.full = false
	j.buffered--
	j.next++
	j.stats.Trimmed++
	j.trimDue = false
	j.pops, j.minFill = 0, j.depth // a new window sees the result
}

// Push offers the payload of the packet with sequence number seq. The
// payload is copied (cut or padded with silence to the frame length).
func (j *Jitter) Push(seq uint16, payload []byte) PushResult {
	if !j.started {
		j.started, j.next, j.high = true, seq, seq
	}
	d := int(int16(seq - j.next))
	switch {
	case d < 0 && !j.playing && int(int16(j.high-seq)) < j.depth:
		// Reordered before play-out began: start earlier.
		j.next = seq
	case d < 0 && int16(seq-j.high) > 0:
		// Newer than anything received, yet its turn has passed: the
		// sender paused (silence suppression sends no packets, so the
		// sequence number does not advance) or stalled. Play-out moves
		// to it instead of dropping the start of the talkspurt.
		j.next = seq
		j.stats.Resyncs++
	case d < 0:
		j.stats.Late++
		return Late
	case d >= j.depth:
		// Too far ahead: move the window so that seq is its last frame,
		// dropping what falls out.
		newNext := seq - uint16(j.depth) + 1
		for i := range j.slots {
			if sl := &j.slots[i]; sl.full && int16(sl.seq-newNext) < 0 {
				sl.full = false
				j.buffered--
				j.stats.Overflow++
			}
		}
		j.next = newNext
	}
	sl := &j.slots[seq&j.mask]
	if sl.full && sl.seq == seq {
		j.stats.Duplicate++
		return Duplicate
	}
	if sl.full { // a stale frame outside the window (cannot happen with size >= depth)
		j.buffered--
	}
	off := int(seq&j.mask) * j.frameLen
	frame := j.data[off : off+j.frameLen]
	n := copy(frame, payload)
	sl.seq, sl.full, sl.n = seq, true, n
	j.buffered++
	if int(int16(seq-j.high)) > 0 {
		j.high = seq
	}
	j.stats.Accepted++
	return Accepted
}

// Pop writes the next frame into dst (len(dst) must be the frame length)
// and reports whether it came from a packet (false: silence).
func (j *Jitter) Pop(dst []byte) bool {
	dst = dst[:j.frameLen]
	if !j.playing {
		if !j.started || j.buffered < j.prefill {
			j.stats.Waiting++
			fill(dst, j.silence)
			return false
		}
		j.playing = true
	}
	seq := j.next
	j.next++
	sl := &j.slots[seq&j.mask]
	if sl.full && sl.seq == seq {
		off := int(seq&j.mask) * j.frameLen
		copy(dst, j.data[off:off+sl.n])
		fill(dst[sl.n:], j.silence)
		sl.full = false
		j.buffered--
		j.missing = 0
		j.stats.Played++
		j.trim()
		return true
	}
	fill(dst, j.silence)
	j.stats.Concealed++
	j.missing++
	if j.missing >= j.depth && j.buffered == 0 {
		j.started, j.playing, j.missing = false, false, 0
		j.stats.Resyncs++
	}
	return false
}

// Buffered returns the frames waiting for play-out.
func (j *Jitter) Buffered() int { return j.buffered }

// Stats returns the counters.
func (j *Jitter) Stats() JitterStats { return j.stats }

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}
