package localtime

import (
	"encoding/binary"
	"time"
)

// Location returns a *time.Location for a POSIX TZ string: a TZif version 2
// file (RFC 8536) without transitions, whose one time type is the standard
// time and whose footer is the TZ string, read by time.LoadLocationFromTZData.
// Go applies a footer's rule to every instant after the last transition, so
// with none the rule holds for all time, summer time included.
func Location(tz string) (*time.Location, error) {
	r, err := ParsePOSIX(tz)
	if err != nil {
		return nil, err
	}
	return time.LoadLocationFromTZData(tz, tzif(r, tz))
}

// tzif builds the file: a version 1 header and empty data block (readers
// of version 2 skip them), the same in version 2, then the footer.
func tzif(r Rule, tz string) []byte {
	var out []byte
	block := func() {
		out = append(out, "TZif2"...)
		out = append(out, make([]byte, 15)...)
		// isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
		for _, n := range []int{0, 0, 0, 0, 1, len(r.Std) + 1} {
			out = binary.BigEndian.AppendUint32(out, uint32(n))
		}
		// One local time type: utoff, isdst, desigidx.
		out = binary.BigEndian.AppendUint32(out, uint32(int32(r.StdOffset)))
		out = append(out, 0, 0)
		out = append(append(out, r.Std...), 0)
	}
	block()
	block()
	return append(append(append(out, '\n'), tz...), '\n')
}
