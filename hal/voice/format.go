package voice

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// SampleRate is the only rate the gateway uses: 8000 samples a second, as
// G.711 and V.253's telephone-line voice modes.
const SampleRate = 8000

// FrameSamples is the samples in one 20 ms frame (RTP ptime 20 at 8 kHz).
const FrameSamples = SampleRate / 50

// Format is a voice sample format as a modem's AT+VSM selects it. The
// zero value is invalid.
type Format int

// Formats. The +VSM compression method number that selects each is
// manufacturer specific and belongs to the modem profile.
const (
	FormatALaw     Format = iota + 1 // 8-bit ITU-T G.711 A-law (RTP PCMA)
	FormatULaw                       // 8-bit ITU-T G.711 µ-law (RTP PCMU)
	FormatLinear8U                   // 8-bit linear unsigned, 0x80 = zero ("UNSIGNED PCM")
	FormatLinear16                   // 16-bit linear signed, little endian ("SIGNED PCM")
)

// ErrFormat is wrapped by ParseFormat for an unknown name.
var ErrFormat = errors.New("voice: unknown sample format")

var formatNames = map[Format]string{
	FormatALaw: "alaw", FormatULaw: "ulaw", FormatLinear8U: "linear8u", FormatLinear16: "linear16le",
}

// ParseFormat returns the format named name: "alaw", "ulaw", "linear8u"
// or "linear16le" (case-insensitive; "pcma", "pcmu", "u8", "s16le" are
// accepted too), as a profile writes it.
func ParseFormat(name string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "alaw", "a-law", "pcma":
		return FormatALaw, nil
	case "ulaw", "mulaw", "µ-law", "u-law", "pcmu":
		return FormatULaw, nil
	case "linear8u", "u8", "unsigned8":
		return FormatLinear8U, nil
	case "linear16le", "s16le", "signed16":
		return FormatLinear16, nil
	}
	return 0, fmt.Errorf("%w: %q (want alaw, ulaw, linear8u or linear16le)", ErrFormat, name)
}

// String returns the canonical name.
func (f Format) String() string {
	if n, ok := formatNames[f]; ok {
		return n
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Valid reports whether f is one of the formats above.
func (f Format) Valid() bool { _, ok := formatNames[f]; return ok }

// BytesPerSample is 2 for FormatLinear16, 1 otherwise.
func (f Format) BytesPerSample() int {
	if f == FormatLinear16 {
		return 2
	}
	return 1
}

// FrameBytes is the size of one 20 ms frame in this format.
func (f Format) FrameBytes() int { return FrameSamples * f.BytesPerSample() }

// SilenceByte is the byte that encodes zero in an 8-bit format (0xD5
// A-law, 0xFF µ-law, 0x80 unsigned linear) and 0 for linear16.
func (f Format) SilenceByte() byte {
	switch f {
	case FormatALaw:
		return 0xD5
	case FormatULaw:
		return 0xFF
	case FormatLinear8U:
		return 0x80
	}
	return 0
}

// Decode appends the linear samples of src to dst. A trailing odd byte of
// a 16-bit stream is ignored: callers keep frames whole.
func (f Format) Decode(dst []int16, src []byte) []int16 {
	switch f {
	case FormatALaw:
		for _, b := range src {
			dst = append(dst, alawToLinear[b])
		}
	case FormatULaw:
		for _, b := range src {
			dst = append(dst, ulawToLinear[b])
		}
	case FormatLinear8U:
		for _, b := range src {
			dst = append(dst, int16(int8(b^0x80))<<8) // (b-128)<<8
		}
	case FormatLinear16:
		for i := 0; i+1 < len(src); i += 2 {
			dst = append(dst, int16(binary.LittleEndian.Uint16(src[i:])))
		}
	}
	return dst
}

// Encode appends src, encoded in f, to dst.
func (f Format) Encode(dst []byte, src []int16) []byte {
	switch f {
	case FormatALaw:
		for _, s := range src {
			dst = append(dst, LinearToALaw(s))
		}
	case FormatULaw:
		for _, s := range src {
			dst = append(dst, LinearToULaw(s))
		}
	case FormatLinear8U:
		for _, s := range src {
			dst = append(dst, byte(s>>8)^0x80)
		}
	case FormatLinear16:
		for _, s := range src {
			dst = binary.LittleEndian.AppendUint16(dst, uint16(s))
		}
	}
	return dst
}

// Transcode appends src, in format from, to dst in format to. A-law ↔
// µ-law goes through 256-entry tables; the rest through linear PCM.
func Transcode(dst []byte, to Format, src []byte, from Format) []byte {
	switch {
	case from == to:
		return append(dst, src...)
	case from == FormatALaw && to == FormatULaw:
		for _, b := range src {
			dst = append(dst, alawToUlaw[b])
		}
		return dst
	case from == FormatULaw && to == FormatALaw:
		for _, b := range src {
			dst = append(dst, ulawToAlaw[b])
		}
		return dst
	}
	var tmp [FrameSamples]int16
	bps := from.BytesPerSample()
	for len(src) >= bps {
		n := min(len(src)/bps, len(tmp))
		lin := from.Decode(tmp[:0], src[:n*bps])
		dst = to.Encode(dst, lin)
		src = src[n*bps:]
	}
	return dst
}

// CodecFormat returns the format of an RTP encoding name ("PCMA", "PCMU",
// case-insensitive), as sdp.Choice.Codec names it.
func CodecFormat(name string) (Format, bool) {
	switch strings.ToUpper(name) {
	case "PCMA":
		return FormatALaw, true
	case "PCMU":
		return FormatULaw, true
	}
	return 0, false
}
