package rtp

import (
	"fmt"
	"strings"
	"testing"
)

// op is one step of a jitter scenario: "p<seq>" pushes a frame whose
// bytes are the low byte of seq, "o" pops. The pop results are written as
// the frame's first byte in hex, or "--" for silence.
func runJitter(t *testing.T, j *Jitter, ops string) (pushes, pops string) {
	t.Helper()
	var pu, po []string
	dst := make([]byte, 4)
	for _, op := range strings.Fields(ops) {
		switch op[0] {
		case 'p':
			var seq int
			fmt.Sscanf(op[1:], "%d", &seq)
			pu = append(pu, j.Push(uint16(seq), []byte{byte(seq), byte(seq), byte(seq), byte(seq)}).String()[:1])
		case 'o':
			if j.Pop(dst) {
				po = append(po, fmt.Sprintf("%02x", dst[0]))
			} else {
				if dst[0] != 0xd5 || dst[3] != 0xd5 {
					t.Fatalf("concealed frame %x is not silence", dst)
				}
				po = append(po, "--")
			}
		}
	}
	return strings.Join(pu, ""), strings.Join(po, " ")
}

func TestJitter(t *testing.T) {
	tests := []struct {
		name           string
		depth, prefill int
		ops            string
		pushes, pops   string
		stats          JitterStats
	}{
		{name: "in order", depth: 4, prefill: 2, ops: "o p1 o p2 o p3 o o o",
			pushes: "aaa", pops: "-- -- 01 02 03 --",
			stats: JitterStats{Accepted: 3, Played: 3, Concealed: 1, Waiting: 2}},
		{name: "reordered within depth", depth: 4, prefill: 2, ops: "p1 p3 p2 o o o",
			pushes: "aaa", pops: "01 02 03", stats: JitterStats{Accepted: 3, Played: 3}},
		{name: "reordered before play-out starts earlier", depth: 4, prefill: 2, ops: "p2 p1 o o",
			pushes: "aa", pops: "01 02", stats: JitterStats{Accepted: 2, Played: 2}},
		{name: "late packet dropped", depth: 4, prefill: 1, ops: "p1 o p3 o p2 o",
			pushes: "aal", pops: "01 -- 03", stats: JitterStats{Accepted: 2, Late: 1, Played: 2, Concealed: 1}},
		{name: "sender paused: the next talkspurt is played, not dropped", depth: 4, prefill: 1, ops: "p1 o o o p2 o p3 o",
			pushes: "aaa", pops: "01 -- -- 02 03", stats: JitterStats{Accepted: 3, Played: 3, Concealed: 2, Resyncs: 1}},
		{name: "duplicate dropped", depth: 4, prefill: 1, ops: "p1 p1 o",
			pushes: "ad", pops: "01", stats: JitterStats{Accepted: 1, Duplicate: 1, Played: 1}},
		{name: "gap filled with silence", depth: 4, prefill: 1, ops: "p1 p3 o o o",
			pushes: "aa", pops: "01 -- 03", stats: JitterStats{Accepted: 2, Played: 2, Concealed: 1}},
		{name: "too far ahead drops the oldest", depth: 4, prefill: 2, ops: "p1 p2 p3 p6 o o o o",
			pushes: "aaaa", pops: "03 -- -- 06", stats: JitterStats{Accepted: 4, Overflow: 2, Played: 2, Concealed: 2}},
		{name: "wrap-around of the sequence number", depth: 4, prefill: 2, ops: "p65534 p0 p65535 p1 o o o o",
			pushes: "aaaa", pops: "fe ff 00 01", stats: JitterStats{Accepted: 4, Played: 4}},
		{name: "pause then resync", depth: 2, prefill: 1, ops: "p1 o o o p500 o",
			pushes: "aa", pops: "01 -- -- f4", stats: JitterStats{Accepted: 2, Played: 2, Concealed: 2, Resyncs: 1}},
		{name: "huge jump forward", depth: 4, prefill: 1, ops: "p1 p2 p30000 o o o o",
			pushes: "aaa", pops: "-- -- -- 30", stats: JitterStats{Accepted: 3, Overflow: 2, Played: 1, Concealed: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := NewJitter(4, tc.depth, tc.prefill, 0xd5)
			if err != nil {
				t.Fatal(err)
			}
			pu, po := runJitter(t, j, tc.ops)
			if pu != tc.pushes || po != tc.pops {
				t.Fatalf("pushes %q pops %q, want %q %q", pu, po, tc.pushes, tc.pops)
			}
			if j.Stats() != tc.stats {
				t.Fatalf("stats %+v, want %+v", j.Stats(), tc.stats)
			}
		})
	}
}

func TestJitterShortAndLongPayload(t *testing.T) {
	j, _ := NewJitter(4, 2, 1, 0xff)
	j.Push(1, []byte{1, 2})
	j.Push(2, []byte{1, 2, 3, 4, 5, 6})
	dst := make([]byte, 4)
	j.Pop(dst)
	if string(dst) != "\x01\x02\xff\xff" {
		t.Fatalf("short payload: %x", dst)
	}
	j.Pop(dst)
	if string(dst) != "\x01\x02\x03\x04" {
		t.Fatalf("long payload: %x", dst)
	}
}

func TestNewJitterBounds(t *testing.T) {
	for _, c := range [][3]int{{0, 4, 1}, {160, 0, 1}, {160, 4, 5}, {160, 2000, 1}, {160, 4, 0}} {
		if _, err := NewJitter(c[0], c[1], c[2], 0); err == nil {
			t.Errorf("%v: no error", c)
		}
	}
}

// BenchmarkJitter is the per-frame cost: one push and one pop, with one
// packet in eight swapped with its neighbour.
func BenchmarkJitter(b *testing.B) {
	j, _ := NewJitter(160, 8, 2, 0xd5)
	frame := make([]byte, 160)
	dst := make([]byte, 160)
	seq := uint16(0)
	b.ReportAllocs()
	for b.Loop() {
		s := seq
		switch seq % 8 {
		case 3:
			s++
		case 4:
			s--
		}
		j.Push(s, frame)
		j.Pop(dst)
		seq++
	}
	if st := j.Stats(); st.Late > 0 || st.Concealed > 1 {
		b.Fatalf("stats %+v", st)
	}
}

func BenchmarkHeaderUnmarshal(b *testing.B) {
	p := NewPacketizer(PayloadPCMA, 1, 1, 1)
	pkt := append([]byte(nil), p.Packet(make([]byte, 160), 160)...)
	var h Header
	b.ReportAllocs()
	for b.Loop() {
		h.Unmarshal(pkt)
	}
}

// TestJitterTrim: a burst leaves one frame too many buffered; with
// trimming on, one quiet frame is skipped after a window and the delay is
// back to prefill's; loud frames and a buffer at the right delay are never
// trimmed.
func TestJitterTrim(t *testing.T) {
	even := func(f []byte) bool { return f[0]%2 == 0 } // the test's "quiet" frames
	never := func([]byte) bool { return false }
	tests := []struct {
		name        string
		burst       int // frames pushed before the first pop
		quiet       func([]byte) bool
		wantTrimmed uint64
	}{
		{"burst, quiet frames: one trimmed", 3, even, 1},
		{"burst, loud frames: kept", 3, never, 0},
		{"right delay: nothing trimmed", 2, even, 0},
	}
	const prefill, window, frames = 2, 4, 40
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := NewJitter(1, 8, prefill, 0xd5)
			if err != nil {
				t.Fatal(err)
			}
			j.SetTrim(window, tc.quiet)
			seq := 1
			push := func() { j.Push(uint16(seq), []byte{byte(seq)}); seq++ }
			for range tc.burst {
				push()
			}
			var played []int
			fills := make([]int, 0, frames)
			dst := make([]byte, 1)
			for range frames { // one Pop, then one Push: a steady stream
				if j.Pop(dst) {
					played = append(played, int(dst[0]))
				}
				fills = append(fills, j.Buffered())
				push()
			}
			if got := j.Stats().Trimmed; got != tc.wantTrimmed {
				t.Fatalf("trimmed %d, want %d (played %v)", got, tc.wantTrimmed, played)
			}
			// Every frame is played in order, but for the trimmed ones,
			// which must be quiet.
			skipped := 0
			for i, want := 0, 1; i < len(played); want++ {
				if played[i] == want {
					i++
					continue
				}
				if !tc.quiet([]byte{byte(want)}) {
					t.Fatalf("loud frame %d skipped: played %v", want, played)
				}
				skipped++
			}
			if uint64(skipped) != tc.wantTrimmed {
				t.Fatalf("%d frames missing from %v, want %d", skipped, played, tc.wantTrimmed)
			}
			wantEnd := tc.burst - 1 - int(tc.wantTrimmed) // frames left after a pop
			if end := fills[len(fills)-1]; end != wantEnd {
				t.Fatalf("buffered after a pop at the end %d, want %d (fills %v)", end, wantEnd, fills)
			}
		})
	}
}
