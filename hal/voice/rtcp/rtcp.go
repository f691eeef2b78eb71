// Package rtcp reads and writes the RTP Control Protocol (RFC 3550
// section 6) for one call's audio: sender and receiver reports, SDES
// (CNAME) and BYE in compound packets, and the report interval of section
// 6.3 with its randomisation. It is pure: no sockets, no clock.
package rtcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Packet types (RFC 3550 section 12.1).
const (
	TypeSR   = 200
	TypeRR   = 201
	TypeSDES = 202
	TypeBYE  = 203
	TypeAPP  = 204
)

// sdesCNAME is the SDES item type of CNAME.
const sdesCNAME = 1

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("rtcp: malformed packet")

// SenderInfo is the sender information of an SR.
type SenderInfo struct {
	NTP     uint64 // NTP timestamp (seconds since 1900 in the high 32 bits)
	RTPTime uint32 // the same instant on the RTP clock
	Packets uint32 // RTP packets sent
	Octets  uint32 // RTP payload octets sent
}

// ReportBlock is one reception report (RFC 3550 section 6.4.1).
type ReportBlock struct {
	SSRC         uint32
	FractionLost uint8
	Lost         int32 // cumulative, 24 bits signed
	HighestSeq   uint32
	Jitter       uint32
	LSR          uint32 // middle 32 bits of the last SR's NTP time
	DLSR         uint32 // delay since that SR, in 1/65536 s
}

// Packet is one RTCP packet of a compound packet. Type says which
// fields are set: SR (SSRC, Sender, Reports), RR (SSRC, Reports), SDES
// (SSRC and CNAME of its first chunk), BYE (SSRCs, Reason); APP and
// unknown types only Type.
type Packet struct {
	Type    uint8
	SSRC    uint32
	Sender  SenderInfo
	Reports []ReportBlock
	CNAME   string
	SSRCs   []uint32
	Reason  string
}

// Parse reads a compound RTCP packet with the validity checks of RFC
// 3550 appendix A.2: version 2, an SR or RR first, padding only in the
// last packet, and the lengths adding up to the datagram's.
func Parse(b []byte) ([]Packet, error) {
	var out []Packet
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return nil, fmt.Errorf("%w: %d bytes left at offset %d, a header needs 4", ErrSyntax, len(b)-off, off)
		}
		h := b[off:]
		if h[0]>>6 != 2 {
			return nil, fmt.Errorf("%w: version %d at offset %d", ErrSyntax, h[0]>>6, off)
		}
		count, typ := int(h[0]&0x1f), h[1]
		n := (int(binary.BigEndian.Uint16(h[2:])) + 1) * 4
		if n > len(h) {
			return nil, fmt.Errorf("%w: packet at offset %d says %d bytes, %d left", ErrSyntax, off, n, len(h))
		}
		body := h[4:n]
		if h[0]&0x20 != 0 {
			if off+n != len(b) {
				return nil, fmt.Errorf("%w: padding in a packet that is not the last (offset %d)", ErrSyntax, off)
			}
			pad := int(h[n-1])
			if pad == 0 || pad > len(body) {
				return nil, fmt.Errorf("%w: padding of %d bytes at offset %d", ErrSyntax, pad, off)
			}
			body = body[:len(body)-pad]
		}
		if off == 0 && typ != TypeSR && typ != TypeRR {
			return nil, fmt.Errorf("%w: compound packet starts with type %d, not SR or RR", ErrSyntax, typ)
		}
		p, err := parseOne(typ, count, body)
		if err != nil {
			return nil, fmt.Errorf("%w at offset %d", err, off)
		}
		out = append(out, p)
		off += n
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrSyntax)
	}
	return out, nil
}

func parseOne(typ uint8, count int, body []byte) (Packet, error) {
	p := Packet{Type: typ}
	switch typ {
	case TypeSR, TypeRR:
		fixed := 4
		if typ == TypeSR {
			fixed = 24
		}
		if len(body) < fixed+24*count {
			return p, fmt.Errorf("%w: type %d with %d reports in %d bytes", ErrSyntax, typ, count, len(body))
		}
		p.SSRC = binary.BigEndian.Uint32(body)
		if typ == TypeSR {
			p.Sender = SenderInfo{NTP: binary.BigEndian.Uint64(body[4:]), RTPTime: binary.BigEndian.Uint32(body[12:]),
				Packets: binary.BigEndian.Uint32(body[16:]), Octets: binary.BigEndian.Uint32(body[20:])}
		}
		for r := body[fixed:]; count > 0; count, r = count-1, r[24:] {
			lost := int32(binary.BigEndian.Uint32(r[4:])<<8) >> 8 // 24 bits, sign-extended
			p.Reports = append(p.Reports, ReportBlock{SSRC: binary.BigEndian.Uint32(r), FractionLost: r[4], Lost: lost,
				HighestSeq: binary.BigEndian.Uint32(r[8:]), Jitter: binary.BigEndian.Uint32(r[12:]),
				LSR: binary.BigEndian.Uint32(r[16:]), DLSR: binary.BigEndian.Uint32(r[20:])})
		}
	case TypeSDES:
		if count == 0 {
			return p, nil
		}
		if len(body) < 4 {
			return p, fmt.Errorf("%w: SDES chunk of %d bytes", ErrSyntax, len(body))
		}
		p.SSRC = binary.BigEndian.Uint32(body)
		for it := body[4:]; len(it) > 0 && it[0] != 0; {
			if len(it) < 2 || len(it) < 2+int(it[1]) {
				return p, fmt.Errorf("%w: SDES item truncated", ErrSyntax)
			}
			if it[0] == sdesCNAME && p.CNAME == "" {
				p.CNAME = string(it[2 : 2+int(it[1])])
			}
			it = it[2+int(it[1]):]
		}
	case TypeBYE:
		if len(body) < 4*count {
			return p, fmt.Errorf("%w: BYE with %d sources in %d bytes", ErrSyntax, count, len(body))
		}
		for i := range count {
			p.SSRCs = append(p.SSRCs, binary.BigEndian.Uint32(body[4*i:]))
		}
		if r := body[4*count:]; len(r) > 0 {
			if len(r) < 1+int(r[0]) {
				return p, fmt.Errorf("%w: BYE reason truncated", ErrSyntax)
			}
			p.Reason = string(r[1 : 1+int(r[0])])
		}
	}
	return p, nil
}

// header appends a packet header; the length is set by finish.
func header(dst []byte, count int, typ uint8) ([]byte, int) {
	return append(dst, 0x80|byte(count), typ, 0, 0), len(dst)
}

// finish pads the packet begun at start to 32 bits and writes its length.
func finish(dst []byte, start int) []byte {
	for (len(dst)-start)%4 != 0 {
		dst = append(dst, 0)
	}
	binary.BigEndian.PutUint16(dst[start+2:], uint16((len(dst)-start)/4-1))
	return dst
}

// AppendSR appends a sender report (at most 31 report blocks).
func AppendSR(dst []byte, ssrc uint32, s SenderInfo, reports ...ReportBlock) []byte {
	reports = reports[:min(len(reports), 31)]
	dst, start := header(dst, len(reports), TypeSR)
	dst = binary.BigEndian.AppendUint32(dst, ssrc)
	dst = binary.BigEndian.AppendUint64(dst, s.NTP)
	dst = binary.BigEndian.AppendUint32(dst, s.RTPTime)
	dst = binary.BigEndian.AppendUint32(dst, s.Packets)
	dst = binary.BigEndian.AppendUint32(dst, s.Octets)
	return finish(appendReports(dst, reports), start)
}

// AppendRR appends a receiver report (at most 31 report blocks).
func AppendRR(dst []byte, ssrc uint32, reports ...ReportBlock) []byte {
	reports = reports[:min(len(reports), 31)]
	dst, start := header(dst, len(reports), TypeRR)
	dst = binary.BigEndian.AppendUint32(dst, ssrc)
	return finish(appendReports(dst, reports), start)
}

func appendReports(dst []byte, reports []ReportBlock) []byte {
	for _, r := range reports {
		dst = binary.BigEndian.AppendUint32(dst, r.SSRC)
		dst = binary.BigEndian.AppendUint32(dst, uint32(r.FractionLost)<<24|uint32(r.Lost)&0xffffff)
		dst = binary.BigEndian.AppendUint32(dst, r.HighestSeq)
		dst = binary.BigEndian.AppendUint32(dst, r.Jitter)
		dst = binary.BigEndian.AppendUint32(dst, r.LSR)
		dst = binary.BigEndian.AppendUint32(dst, r.DLSR)
	}
	return dst
}

// AppendSDES appends an SDES packet with one chunk: ssrc's CNAME (cut to
// 255 bytes).
func AppendSDES(dst []byte, ssrc uint32, cname string) []byte {
	cname = cname[:min(len(cname), 255)]
	dst, start := header(dst, 1, TypeSDES)
	dst = binary.BigEndian.AppendUint32(dst, ssrc)
	dst = append(dst, sdesCNAME, byte(len(cname)))
	dst = append(dst, cname...)
	dst = append(dst, 0) // end of the item list; finish pads the chunk
	return finish(dst, start)
}

// AppendBYE appends a BYE for ssrc with an optional reason (cut to 255
// bytes).
func AppendBYE(dst []byte, ssrc uint32, reason string) []byte {
	reason = reason[:min(len(reason), 255)]
	dst, start := header(dst, 1, TypeBYE)
	dst = binary.BigEndian.AppendUint32(dst, ssrc)
	if reason != "" {
		dst = append(dst, byte(len(reason)))
		dst = append(dst, reason...)
	}
	return finish(dst, start)
}

// ntpEpoch is the Unix time of the NTP epoch (1900-01-01).
const ntpEpoch = 2208988800

// NTP returns t as a 64-bit NTP timestamp.
func NTP(t time.Time) uint64 {
	sec := uint64(t.Unix() + ntpEpoch)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return sec<<32 | frac
}

// Middle returns the middle 32 bits of an NTP timestamp (LSR).
func Middle(ntp uint64) uint32 { return uint32(ntp >> 16) }

// MinInterval is RFC 3550's minimum report interval (section 6.2).
const MinInterval = 5 * time.Second

// Interval is the time to the next report, RFC 3550 section 6.3.1 for a
// session of members participants (senders of them sending), a session
// bandwidth of bw bytes/s (RTCP gets 5% of it), reports of avgSize bytes
// on average, weSent when this end sent RTP since the last report, and
// initial for the first report (half the minimum). r is a random number
// in [0, 1): the interval is spread over [0.5, 1.5] times the
// deterministic one and divided by e-3/2 (the timer reconsideration
// compensation).
func Interval(members, senders int, bw, avgSize float64, weSent, initial bool, r float64) time.Duration {
	tmin := MinInterval.Seconds()
	if initial {
		tmin /= 2
	}
	rtcpBW := bw * 0.05
	n := float64(max(members, 1))
	if senders > 0 && float64(senders) <= n*0.25 {
		if weSent {
			rtcpBW *= 0.25
			n = float64(senders)
		} else {
			rtcpBW *= 0.75
			n -= float64(senders)
		}
	}
	t := tmin
	if rtcpBW > 0 {
		t = math.Max(avgSize*n/rtcpBW, tmin)
	}
	t *= r + 0.5
	t /= math.E - 1.5
	return time.Duration(t * float64(time.Second))
}
