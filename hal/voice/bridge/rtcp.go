package bridge

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"time"

	"lifeline/hal/voice"
	"lifeline/hal/voice/rtcp"
)

// sessionBW is the session bandwidth RTCP's share is taken from (RFC 3550
// section 6.2): G.711 at 20 ms, 64 kbit/s of audio, in bytes per second.
const sessionBW = 64000 / 8

// reception is what the bridge knows of the phone's RTP stream for its
// reception report (RFC 3550 appendix A.1 and A.8). Under b.mu.
type reception struct {
	ssrc     uint32
	started  bool
	baseSeq  uint16
	maxSeq   uint16
	cycles   uint32
	received uint32
	transit  int32
	jitter   uint32 // times 16 (A.8)
	// At the last report, for its fraction lost.
	expectedPrior, receivedPrior uint32
}

// rtcpState is the RTCP side. Under b.mu but for buf, which only
// Report and Close use (never at the same time: Close waits).
type rtcpState struct {
	remote  netip.AddrPort // where reports go
	srcPort uint16         // the port latched for Remote's address
	latched bool
	reports int     // reports sent
	avgSize float64 // of the compound packets, both ways (6.3.3)
	buf     []byte
	rbuf    []byte
}

// track takes the header of an audio packet from the phone into the
// reception statistics: a few integer operations per packet. now is its
// arrival. Caller holds b.mu.
func (b *Bridge) track(seq uint16, ts uint32, ssrc uint32, now time.Time) {
	r := &b.recv
	if !r.started || ssrc != r.ssrc {
		*r = reception{ssrc: ssrc, started: true, baseSeq: seq, maxSeq: seq}
	} else if d := seq - r.maxSeq; d != 0 && d < 0x8000 {
		if seq < r.maxSeq {
			r.cycles += 1 << 16
		}
		r.maxSeq = seq
	}
	arrival := int32(now.Sub(b.started).Nanoseconds() / (int64(time.Second) / voice.SampleRate))
	transit := arrival - int32(ts)
	if r.received > 0 {
		d := transit - r.transit
		if d < 0 {
			d = -d
		}
		r.jitter += uint32(d) - (r.jitter+8)>>4
	}
	r.transit = transit
	r.received++
}

// block is the reception report for the phone's stream. Caller holds b.mu.
func (b *Bridge) block() (rtcp.ReportBlock, bool) {
	r := &b.recv
	if !r.started {
		return rtcp.ReportBlock{}, false
	}
	ext := r.cycles + uint32(r.maxSeq)
	expected := ext - uint32(r.baseSeq) + 1
	lost := int64(expected) - int64(r.received)
	lost = max(min(lost, 0x7fffff), -0x800000)
	expInt, recvInt := expected-r.expectedPrior, r.received-r.receivedPrior
	r.expectedPrior, r.receivedPrior = expected, r.received
	var fraction uint8
	if int64(expInt)-int64(recvInt) > 0 && expInt > 0 {
		fraction = uint8((uint64(expInt-recvInt) << 8) / uint64(expInt))
	}
	// LSR and DLSR stay zero ("no SR received"): the phone's RTCP is read
	// at report time, not on arrival (no work per frame), so the delay
	// since its SR is not known, and a wrong one would mislead the phone's
	// round-trip estimate.
	return rtcp.ReportBlock{SSRC: r.ssrc, FractionLost: fraction, Lost: int32(lost), HighestSeq: ext, Jitter: r.jitter >> 4}, true
}

// RTCPInterval returns the time to the next report (RFC 3550 section
// 6.3.1 for the two members of a call, both sending, randomised): about
// 5 s, the first one about 2.5 s. The owner's timer calls Report then.
func (b *Bridge) RTCPInterval() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return rtcp.Interval(2, 2, sessionBW, b.rtcp.avgSize, true, b.rtcp.reports == 0, rand.Float64())
}

// maxRTCPPerReport bounds the datagrams Report reads: a flood waits in the
// socket (and overflows there).
const maxRTCPPerReport = 16

// Report reads the RTCP that the phone sent since the last report (only
// from Remote's address, and from the first port seen sending RTCP from
// it), then sends a compound SR + SDES (CNAME) with a reception report of
// the phone's stream. It does nothing without Config.RTCP. Call it from one
// goroutine at a time (the call's), on the timer RTCPInterval sets.
func (b *Bridge) Report() error {
	if b.cfg.RTCP == nil {
		return nil
	}
	b.readRTCP()
	return b.sendRTCP("")
}

// readRTCP drains the RTCP socket.
func (b *Bridge) readRTCP() {
	s := &b.rtcp
	if s.rbuf == nil {
		s.rbuf = make([]byte, 1500)
	}
	for range maxRTCPPerReport {
		n, from, ok, err := b.cfg.RTCP.Recv(s.rbuf)
		if err != nil || !ok {
			if err != nil && !errors.Is(err, ErrSocketClosed) {
				b.log.Debug("bridge: RTCP socket", "err", err)
			}
			return
		}
		b.mu.Lock()
		if from.Addr().Unmap() != b.remote.Addr() || (s.latched && from.Port() != s.srcPort) {
			b.stats.RTCPForeign++
			b.mu.Unlock()
			continue
		}
		s.latched, s.srcPort = true, from.Port()
		ps, err := rtcp.Parse(s.rbuf[:n])
		if err != nil {
			b.stats.RTCPIgnored++
			b.mu.Unlock()
			b.log.Debug("bridge: RTCP from the phone", "err", err)
			continue
		}
		b.stats.RTCPReceived++
		s.avgSize = s.avgSize*15/16 + float64(n+28)/16
		for _, p := range ps {
			if p.Type == rtcp.TypeBYE {
				b.stats.RTCPByes++
			}
		}
		b.mu.Unlock()
	}
}

// sendRTCP sends SR + SDES, and BYE with bye when it is not empty.
func (b *Bridge) sendRTCP(bye string) error {
	s := &b.rtcp
	now := b.cfg.Clock.Now()
	b.mu.Lock()
	// The RTP clock of the frame last sent (or skipped): every frame from
	// the modem moves it by one frame's samples.
	si := rtcp.SenderInfo{NTP: rtcp.NTP(now), RTPTime: b.cfg.Timestamp + uint32(b.stats.FramesFromModem)*voice.FrameSamples,
		Packets: uint32(b.sentPackets), Octets: uint32(b.sentOctets)}
	rb, ok := b.block()
	b.mu.Unlock()
	buf := s.buf[:0]
	if ok {
		buf = rtcp.AppendSR(buf, b.cfg.SSRC, si, rb)
	} else {
		buf = rtcp.AppendSR(buf, b.cfg.SSRC, si)
	}
	buf = rtcp.AppendSDES(buf, b.cfg.SSRC, b.cfg.CNAME)
	if bye != "" {
		buf = rtcp.AppendBYE(buf, b.cfg.SSRC, bye)
	}
	s.buf = buf
	err := b.cfg.RTCP.Send(buf, b.rtcpRemote)
	b.mu.Lock()
	s.reports++
	s.avgSize = s.avgSize*15/16 + float64(len(buf)+28)/16
	if err != nil {
		b.stats.SendErrors++
	} else {
		b.stats.RTCPSent++
	}
	b.mu.Unlock()
	return err
}
