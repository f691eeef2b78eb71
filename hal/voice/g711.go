package voice

// ITU-T G.711 (11/88) companding, computed as in the reference
// implementation of ITU-T G.191 (STL, g711.c) and Sun's public g711.c:
// A-law with even-bit inversion (XOR 0x55), µ-law with bias 0x84 (132) and
// all bits inverted. Linear samples are 16-bit signed; A-law keeps the top
// 13 bits, µ-law the top 14. Decoding tables are built once at init.

var (
	alawToLinear [256]int16
	ulawToLinear [256]int16
	alawToUlaw   [256]byte
	ulawToAlaw   [256]byte
)

func init() {
	for i := 0; i < 256; i++ {
		alawToLinear[i] = decodeALaw(byte(i))
		ulawToLinear[i] = decodeULaw(byte(i))
	}
	for i := 0; i < 256; i++ {
		alawToUlaw[i] = LinearToULaw(alawToLinear[i])
		ulawToAlaw[i] = LinearToALaw(ulawToLinear[i])
	}
}

// ALawToLinear expands one A-law byte to a 16-bit linear sample.
func ALawToLinear(a byte) int16 { return alawToLinear[a] }

// ULawToLinear expands one µ-law byte to a 16-bit linear sample.
func ULawToLinear(u byte) int16 { return ulawToLinear[u] }

// ALawToULaw converts A-law to µ-law through linear PCM (G.711's own
// table 3/4 differs by at most one step for a few codes).
func ALawToULaw(a byte) byte { return alawToUlaw[a] }

// ULawToALaw converts µ-law to A-law through linear PCM.
func ULawToALaw(u byte) byte { return ulawToAlaw[u] }

func decodeALaw(a byte) int16 {
	a ^= 0x55
	t := int32(a&0x0f) << 4
	seg := int32(a&0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

func decodeULaw(u byte) int16 {
	u = ^u
	t := (int32(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

// segment returns the G.711 segment of a magnitude already shifted to the
// law's resolution: the number of bits above the 5 (A-law) or 6 (µ-law)
// lowest, capped at 8 (overflow, clipped by the caller).
func segment(v int32, ends *[8]int32) int {
	for i, e := range ends {
		if v <= e {
			return i
		}
	}
	return 8
}

var (
	aEnds = [8]int32{0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF}
	uEnds = [8]int32{0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF}
)

// LinearToALaw compresses a 16-bit linear sample to A-law.
func LinearToALaw(s int16) byte {
	v := int32(s) >> 3 // 13-bit
	var mask byte
	if v >= 0 {
		mask = 0xD5 // sign bit set, even bits inverted
	} else {
		mask = 0x55
		v = -v - 1
	}
	seg := segment(v, &aEnds)
	if seg >= 8 {
		return 0x7F ^ mask
	}
	a := byte(seg) << 4
	if seg < 2 {
		a |= byte(v>>1) & 0x0F
	} else {
		a |= byte(v>>seg) & 0x0F
	}
	return a ^ mask
}

// LinearToULaw compresses a 16-bit linear sample to µ-law.
func LinearToULaw(s int16) byte {
	const bias = 0x84 >> 2 // 33, on the 14-bit scale
	const clip = 8159
	v := int32(s) >> 2 // 14-bit
	var mask byte
	if v < 0 {
		v = -v
		mask = 0x7F
	} else {
		mask = 0xFF
	}
	if v > clip {
		v = clip
	}
	v += bias
	seg := segment(v, &uEnds)
	if seg >= 8 {
		return 0x7F ^ mask
	}
	u := byte(seg)<<4 | byte(v>>(seg+1))&0x0F
	return u ^ mask
}
