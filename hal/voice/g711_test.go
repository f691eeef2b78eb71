package voice

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// Known G.711 values: the decoded value of the extreme and zero codes of
// each law (G.711 Tables 1 and 2: A-law decision/reconstruction values
// scaled to 16 bits, µ-law likewise), and the codes that silence encodes
// to (A-law 0xD5 after even-bit inversion, µ-law 0xFF).
func TestG711KnownValues(t *testing.T) {
	tests := []struct {
		name string
		got  int16
		want int16
	}{
		{"alaw 0xD5 smallest positive", ALawToLinear(0xD5), 8},
		{"alaw 0x55 smallest negative", ALawToLinear(0x55), -8},
		{"alaw 0xAA largest positive", ALawToLinear(0xAA), 32256},
		{"alaw 0x2A largest negative", ALawToLinear(0x2A), -32256},
		{"alaw 0xD4 second step", ALawToLinear(0xD4), 24},
		{"alaw 0xC5 segment 1 start", ALawToLinear(0xC5), 264},
		{"ulaw 0xFF zero", ULawToLinear(0xFF), 0},
		{"ulaw 0x7F negative zero", ULawToLinear(0x7F), 0},
		{"ulaw 0x80 largest positive", ULawToLinear(0x80), 32124},
		{"ulaw 0x00 largest negative", ULawToLinear(0x00), -32124},
		{"ulaw 0xFE smallest positive", ULawToLinear(0xFE), 8},
		{"ulaw 0xEF segment 1 start", ULawToLinear(0xEF), 132},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %d, want %d", tc.got, tc.want)
			}
		})
	}
	enc := []struct {
		name string
		got  byte
		want byte
	}{
		{"alaw of 0", LinearToALaw(0), 0xD5},
		{"alaw of -1", LinearToALaw(-1), 0x55},
		{"alaw of max", LinearToALaw(32767), 0xAA},
		{"alaw of min", LinearToALaw(-32768), 0x2A},
		{"ulaw of 0", LinearToULaw(0), 0xFF},
		{"ulaw of max", LinearToULaw(32767), 0x80},
		{"ulaw of min", LinearToULaw(-32768), 0x00},
		{"ulaw of 1000", LinearToULaw(1000), 0xCE},
		{"alaw of 1000", LinearToALaw(1000), 0xFA},
	}
	for _, tc := range enc {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %#02x, want %#02x", tc.got, tc.want)
			}
		})
	}
}

// Every code decodes to a value that encodes back to the same code (µ-law
// negative zero 0x7F excepted: it decodes to 0, which encodes as 0xFF).
func TestG711RoundTripCodes(t *testing.T) {
	for c := 0; c < 256; c++ {
		if got := LinearToALaw(ALawToLinear(byte(c))); got != byte(c) {
			t.Errorf("alaw %#02x -> %d -> %#02x", c, ALawToLinear(byte(c)), got)
		}
		if c == 0x7F {
			continue
		}
		if got := LinearToULaw(ULawToLinear(byte(c))); got != byte(c) {
			t.Errorf("ulaw %#02x -> %d -> %#02x", c, ULawToLinear(byte(c)), got)
		}
	}
}

// Companding is monotonic and its error is bounded by half a step of the
// segment (A-law: 2^(seg+3) for 16-bit input, µ-law similar).
func TestG711Monotonic(t *testing.T) {
	prevA, prevU := int16(math.MinInt16), int16(math.MinInt16)
	for s := math.MinInt16; s <= math.MaxInt16; s++ {
		a := ALawToLinear(LinearToALaw(int16(s)))
		u := ULawToLinear(LinearToULaw(int16(s)))
		if a < prevA || u < prevU {
			t.Fatalf("not monotonic at %d: alaw %d<%d or ulaw %d<%d", s, a, prevA, u, prevU)
		}
		prevA, prevU = a, u
		lim := max(abs(s)/16, 16)
		if d := abs(int(a) - s); d > lim {
			t.Fatalf("alaw error %d at %d", d, s)
		}
		if d := abs(int(u) - s); d > lim && abs(s) < 32124 {
			t.Fatalf("ulaw error %d at %d", d, s)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestTranscodeALawULaw(t *testing.T) {
	// A-law → µ-law → A-law keeps small and large values within one step.
	for c := 0; c < 256; c++ {
		back := ULawToALaw(ALawToULaw(byte(c)))
		d := abs(int(ALawToLinear(back)) - int(ALawToLinear(byte(c))))
		if d > abs(int(ALawToLinear(byte(c))))/8+16 {
			t.Errorf("alaw %#02x -> ulaw -> alaw %#02x: %d apart", c, back, d)
		}
	}
}

func TestFormat(t *testing.T) {
	samples := []int16{0, 1000, -1000, 32767, -32768, 256, -256}
	tests := []struct {
		name    string
		f       Format
		bytes   int
		silence byte
		tol     int // allowed error after encode+decode
	}{
		{"alaw", FormatALaw, 1, 0xD5, 1024},
		{"ulaw", FormatULaw, 1, 0xFF, 1024},
		{"linear8u", FormatLinear8U, 1, 0x80, 255},
		{"linear16le", FormatLinear16, 2, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFormat(tc.name)
			if err != nil || f != tc.f || f.String() != tc.name || !f.Valid() {
				t.Fatalf("ParseFormat(%q) = %v, %v", tc.name, f, err)
			}
			if f.BytesPerSample() != tc.bytes || f.FrameBytes() != 160*tc.bytes || f.SilenceByte() != tc.silence {
				t.Fatalf("sizes %d %d silence %#x", f.BytesPerSample(), f.FrameBytes(), f.SilenceByte())
			}
			enc := f.Encode(nil, samples)
			if len(enc) != len(samples)*tc.bytes {
				t.Fatalf("encoded %d bytes", len(enc))
			}
			dec := f.Decode(nil, enc)
			for i := range samples {
				if abs(int(dec[i])-int(samples[i])) > tc.tol {
					t.Errorf("sample %d: %d -> %d", i, samples[i], dec[i])
				}
			}
			if z := f.Decode(nil, bytes.Repeat([]byte{tc.silence}, tc.bytes)); z[0] != 0 && abs(int(z[0])) > 8 {
				t.Errorf("silence decodes to %d", z[0])
			}
		})
	}
	if _, err := ParseFormat("gsm"); !errors.Is(err, ErrFormat) {
		t.Fatalf("err = %v", err)
	}
}

func TestTranscode(t *testing.T) {
	lin := make([]int16, 400)
	for i := range lin {
		lin[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	formats := []Format{FormatALaw, FormatULaw, FormatLinear8U, FormatLinear16}
	for _, from := range formats {
		for _, to := range formats {
			t.Run(from.String()+"->"+to.String(), func(t *testing.T) {
				src := from.Encode(nil, lin)
				got := to.Decode(nil, Transcode(nil, to, src, from))
				if len(got) != len(lin) {
					t.Fatalf("%d samples, want %d", len(got), len(lin))
				}
				for i := range lin {
					if abs(int(got[i])-int(lin[i])) > 600 {
						t.Fatalf("sample %d: %d -> %d", i, lin[i], got[i])
					}
				}
			})
		}
	}
}

func TestCodecFormat(t *testing.T) {
	tests := []struct {
		name string
		want Format
		ok   bool
	}{{"PCMA", FormatALaw, true}, {"pcmu", FormatULaw, true}, {"G722", 0, false}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if f, ok := CodecFormat(tc.name); f != tc.want || ok != tc.ok {
				t.Fatalf("got %v %v", f, ok)
			}
		})
	}
}
