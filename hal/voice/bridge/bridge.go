// Package bridge carries a call's audio between RTP and a line's audio
// stream (voice.Audio), without any SIP: the gateway negotiates the codec
// (hal/voice/sdp), places the call on the line (hal/voice/call) and hands
// the call's Audio and a UDP socket to Start. The Audio is an analog
// modem's DLE-shielded data period (voice.DLEAudio) or raw PCM on a port
// of its own (voice.PCMAudio); the bridge does not know which.
//
// The line's clock paces everything: each 20 ms frame the line sends is
// transcoded and sent as one RTP packet, then the RTP waiting on the
// socket is read into the jitter buffer, and the frame is answered with
// one frame from the jitter buffer (reordered, gaps filled with silence)
// written back to the line. All of it runs in the goroutine that delivers
// the line's frames (for a modem the voice.Conn's reader, through
// DataStream.Deliver), once per frame: network timing never drives the
// line, and a call costs one wake-up of the process per frame.
//
// RFC 4733 DTMF digits from the phone are played to the line as ITU-T
// Q.23 dual tones synthesised into the frames written to the modem (see
// DTMFFrequencies and Config.DisableDTMFTones): V.253's AT+VTS works only
// in voice command state, not in the AT+VTR data period the bridge holds.
// Digits heard on the line (the modem's <DLE> digit reports) go to the
// phone as RFC 4733 events (see DTMFEventLen).
package bridge

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/voice"
	"lifeline/hal/voice/rtp"
)

// Errors.
var (
	ErrConfig = errors.New("bridge: bad configuration")
	ErrClosed = errors.New("bridge: closed")
)

// TrimWindow is how many frames (1 s) the jitter buffer must hold a frame
// more than its prefill needs before it skips a quiet one (rtp.SetTrim).
const TrimWindow = 50

// QuietPeak is the loudest sample of a frame that may be skipped unheard:
// about -40 dBm0, below speech and above the idle noise of a line.
const QuietPeak = 328

// Quiet reports whether no sample of frame reaches QuietPeak.
func Quiet(frame []int16) bool {
	for _, v := range frame {
		if v >= QuietPeak || v <= -QuietPeak {
			return false
		}
	}
	return true
}

// Config is what Start needs. Audio, Conn and Remote are required.
type Config struct {
	// Audio is the line's side of the call (call.Call.Audio): frames of
	// its Format from the line and to it. The bridge owns it until Close,
	// which closes it.
	Audio voice.Audio
	// Codec is "PCMA" or "PCMU" with its negotiated PayloadType;
	// EventPT is the telephone-event payload type, -1 for none.
	Codec       string
	PayloadType uint8
	EventPT     int
	// Conn is the local RTP socket (a *Socket from ListenRTP); the
	// bridge owns it and closes it. It is read once per modem frame.
	Conn Conn
	// Remote is where RTP is sent (a *net.UDPAddr). RTP is accepted only
	// from Remote's IP address, and from the first port seen sending from
	// it (most phones send from the port they receive on; some do not):
	// packets from anywhere else, DTMF included, are dropped and counted
	// (Stats.PacketsForeign), so that no host that did not negotiate the
	// call can inject audio or digits.
	Remote net.Addr
	// HoldSend starts the bridge without sending RTP until StartSending:
	// the gateway answers a call's INVITE and sends no media before the
	// phone's ACK, so that an offer aimed at a third party draws no
	// traffic from a call that is never confirmed. RTP from the call's
	// source ends the hold too (the phone is there: its ACK may come
	// later through a proxy than its media). The modem's frames are
	// still read (and dropped) meanwhile, and the RTP timestamp runs on.
	HoldSend bool
	// RTCP is the call's RTCP socket (RFC 3550 section 6), usually on the
	// RTP port + 1; nil for none. The bridge owns it and closes it, after
	// a last report with a BYE. Its reports go out when the owner calls
	// Report (on a timer set to RTCPInterval): no work per frame.
	RTCP Conn
	// RTCPRemote is where RTCP goes: the phone's a=rtcp (RFC 3605) or,
	// when zero, Remote's port + 1.
	RTCPRemote netip.AddrPort
	// CNAME is the SDES CNAME of the reports (RFC 3550 section 6.5.1;
	// default "lifeline").
	CNAME string
	// Clock stamps the RTP received (LastReceived); default the real one.
	Clock clock.Clock
	// SSRC, Seq and Timestamp start the outgoing stream; zero values are
	// replaced by random ones (RFC 3550 section 5.1).
	SSRC      uint32
	Seq       uint16
	Timestamp uint32
	// JitterDepth and JitterPrefill in frames (default 8 and 2: up to 160
	// ms of reordering, 40 ms of added delay).
	JitterDepth, JitterPrefill int
	// OnModemEvent gets the modem's in-band events (busy, DTMF heard on
	// the line, end of stream), from the modem goroutine, in order. It
	// must not block and must not call Close.
	OnModemEvent func(voice.Event)
	// OnDigit gets each RFC 4733 DTMF digit once, from the modem
	// goroutine. It must not block and must not call Close.
	OnDigit func(digit byte)
	// DisableDTMFTones stops the bridge from playing RFC 4733 digits to
	// the line as Q.23 dual tones (see DTMFFrequencies): by default each
	// digit replaces the RTP audio for its duration (at least DTMFMinTone)
	// and a DTMFMinPause of silence, in the audio written to the modem.
	// Set it when the digits reach the line another way.
	DisableDTMFTones bool
	Logger           *slog.Logger
}

// Stats counts the bridge's work.
type Stats struct {
	FramesFromModem uint64 // frames read from the modem and sent as RTP
	FramesToModem   uint64 // frames written to the modem
	SendErrors      uint64 // RTP packets the socket refused
	PacketsReceived uint64 // RTP audio packets offered to the jitter buffer
	PacketsIgnored  uint64 // not RTP, or another payload type
	PacketsForeign  uint64 // from a source other than the call's (dropped unread)
	FramesHeld      uint64 // frames from the modem not sent while HoldSend held them
	Digits          uint64 // RFC 4733 digits
	DigitsSent      uint64 // digits heard on the line and sent to the phone as RFC 4733 events
	DTMFFrames      uint64 // frames to the modem that carried DTMF tones or their pauses instead of RTP audio
	DigitsDropped   uint64 // digits not played: more than 32 were waiting
	RTCPSent        uint64 // compound RTCP packets sent
	RTCPReceived    uint64 // RTCP packets from the phone, parsed
	RTCPIgnored     uint64 // RTCP from the phone that did not parse
	RTCPByes        uint64 // RTCP BYEs from the phone
	RTCPForeign     uint64 // RTCP from a source other than the call's (dropped)
	FramesMuted     uint64 // frames from the modem not sent while the phone holds the call (SetSendEnabled)
	Jitter          rtp.JitterStats
}

// Start checks cfg and starts the bridge.
func Start(cfg Config) (*Bridge, error) {
	codecFmt, ok := voice.CodecFormat(cfg.Codec)
	if !ok {
		return nil, fmt.Errorf("%w: codec %q (want PCMA or PCMU)", ErrConfig, cfg.Codec)
	}
	if cfg.Audio == nil || cfg.Conn == nil || cfg.Remote == nil {
		return nil, fmt.Errorf("%w: Audio, Conn and Remote are required", ErrConfig)
	}
	modemFmt := cfg.Audio.Format()
	if !modemFmt.Valid() {
		return nil, fmt.Errorf("%w: line audio format %v", ErrConfig, modemFmt)
	}
	remote, err := remoteAddr(cfg.Remote)
	if err != nil {
		return nil, err
	}
	if cfg.JitterDepth == 0 {
		cfg.JitterDepth = 8
	}
	if cfg.JitterPrefill == 0 {
		cfg.JitterPrefill = 2
	}
	jit, err := rtp.NewJitter(voice.FrameSamples, cfg.JitterDepth, cfg.JitterPrefill, codecFmt.SilenceByte())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	// Delay gained in a burst is given back in the pauses between words
	// (the jitter buffer is used under b.mu, so one scratch buffer does).
	scratch := make([]int16, 0, voice.FrameSamples)
	jit.SetTrim(TrimWindow, func(frame []byte) bool {
		scratch = codecFmt.Decode(scratch[:0], frame)
		return Quiet(scratch)
	})
	if cfg.SSRC == 0 {
		cfg.SSRC = rand.Uint32()
	}
	if cfg.Seq == 0 {
		cfg.Seq = uint16(rand.Uint32())
	}
	if cfg.Timestamp == 0 {
		cfg.Timestamp = rand.Uint32()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.CNAME == "" {
		cfg.CNAME = "lifeline"
	}
	now := cfg.Clock.Now()
	b := &Bridge{cfg: cfg, remote: remote, modemFmt: modemFmt, codecFmt: codecFmt, log: log, jit: jit, modemDone: make(chan struct{}),
		lastRTP: now, started: now, rtcpRemote: cfg.RTCPRemote}
	if !b.rtcpRemote.IsValid() {
		b.rtcpRemote = netip.AddrPortFrom(remote.Addr(), remote.Port()+1)
	}
	b.sending.Store(!cfg.HoldSend)
	if !cfg.DisableDTMFTones {
		b.dtmf = newDTMFPlayer()
	}
	b.start()
	return b, nil
}

// Bridge runs one call's audio. Its work runs in one goroutine at a time,
// the one that delivers the line's frames (voice.Audio.Deliver: for a
// modem the voice.Conn's reader goroutine). mu guards the counters and
// the jitter buffer for Stats. Close stops the line side and waits;
// Stats, Done and Err are safe from any goroutine.
type Bridge struct {
	cfg       Config
	remote    netip.AddrPort
	modemFmt  voice.Format
	codecFmt  voice.Format
	log       *slog.Logger
	mu        sync.Mutex
	jit       *rtp.Jitter
	dtmf      *dtmfPlayer // nil with DisableDTMFTones
	stats     Stats
	wmu       sync.Mutex    // orders frame writes to the modem against Close's abort
	stopping  bool          // under wmu: no more frames to the modem
	modemDone chan struct{} // the modem side ended
	modemErr  error         // why; set before modemDone closes
	endOnce   sync.Once
	closeOnce sync.Once
	closeErr  error
	sending   atomic.Bool // RTP goes out (HoldSend, StartSending)
	lastRTP   time.Time   // under mu: when the call's RTP last arrived (or Start)
	srcPort   uint16      // under mu: the port latched for Remote's address
	latched   bool        // under mu: srcPort is set
	muted     atomic.Bool // the phone holds the call: no RTP goes out (SetSendEnabled)
	started   time.Time   // Start's time, the origin of the arrival times of the RTP received

	// RTCP (rtcp.go). Under mu but rtcp.buf and rtcp.rbuf (Report's).
	rtcpRemote  netip.AddrPort
	recv        reception
	rtcp        rtcpState
	sentPackets uint64 // RTP packets sent (audio and events)
	sentOctets  uint64 // their payload octets

	// The modem side's state: only the goroutine that delivers the
	// modem's bytes touches it.
	m modemSide
}

// modemSide is the frame loop's state.
type modemSide struct {
	pk      *rtp.Packetizer
	payload []byte
	fromNet []byte
	toModem []byte
	tones   [voice.FrameSamples]int16
	rbuf    []byte // a datagram read from Conn
	h       rtp.Header
	dd      rtp.DigitDetector
	dtmf    dtmfSender // digits heard on the line, to the phone
}

// remoteAddr turns Config.Remote into an address.
func remoteAddr(a net.Addr) (netip.AddrPort, error) {
	if u, ok := a.(*net.UDPAddr); ok {
		if ap := u.AddrPort(); ap.IsValid() {
			return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
		}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: Remote %v: %v", ErrConfig, a, err)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

func (b *Bridge) start() {
	m := &b.m
	m.pk = rtp.NewPacketizer(b.cfg.PayloadType, b.cfg.SSRC, b.cfg.Seq, b.cfg.Timestamp)
	m.payload = make([]byte, 0, voice.FrameSamples)
	m.fromNet = make([]byte, voice.FrameSamples)
	m.toModem = make([]byte, 0, b.modemFmt.FrameBytes())
	m.rbuf = make([]byte, 2048)
	b.cfg.Audio.Deliver(voice.Sink{Frame: b.frame, Event: b.event, End: b.end})
}

// Done is closed when the line side has ended: the line ended its stream
// (a modem's <DLE><ETX>), the stream failed, or Close was called.
func (b *Bridge) Done() <-chan struct{} { return b.modemDone }

// Err says why the line side ended: nil for the line's end of stream
// (a modem's <DLE><ETX>), ErrClosed after Close, the stream's error
// otherwise; nil while running.
func (b *Bridge) Err() error {
	select {
	case <-b.modemDone:
		return b.modemErr
	default:
		return nil
	}
}

// end ends the modem side once.
func (b *Bridge) end(err error) {
	b.endOnce.Do(func() {
		if errors.Is(err, io.EOF) {
			err = nil
		}
		b.modemErr = err
		close(b.modemDone)
	})
}

// StartSending ends HoldSend: the next frame from the modem goes out as
// RTP (with the marker bit). Safe from any goroutine.
func (b *Bridge) StartSending() { b.sending.Store(true) }

// SetSendEnabled starts (true) or stops (false) the RTP towards the
// phone, for the phone's hold: while its session is a=sendonly,
// a=inactive or c=0.0.0.0 the gateway sends it no RTP, and resumes when
// it is sendrecv again (the next packet with the marker bit). The line
// side goes on meanwhile: the modem's frames are read and answered (with
// the phone's audio, or silence when it sends none), and the RTP
// timestamp runs on. Unlike HoldSend, RTP from the phone does not end it.
// Safe from any goroutine.
func (b *Bridge) SetSendEnabled(on bool) { b.muted.Store(!on) }

// LastReceived returns when RTP from the call's source last arrived (its
// audio or its events), or when the bridge started if none has. The
// gateway ends a call whose phone has gone silent for too long.
func (b *Bridge) LastReceived() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastRTP
}

// Stats returns a snapshot of the counters.
func (b *Bridge) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Jitter = b.jit.Stats()
	return s
}

// Close ends the call's audio: it closes the Audio, which tells the line
// to stop its stream unless it has ended (a modem's <DLE>!, sent once
// per data period whoever else sends it) and stops its delivery, then
// the socket. The modem's closing OK is left to the line
// (voice.DataStream.Final). Idempotent.
func (b *Bridge) Close() error {
	b.closeOnce.Do(func() {
		// No frame may follow the abort: the modem would take it for
		// command text.
		b.wmu.Lock()
		b.stopping = true
		b.wmu.Unlock()
		err1 := b.cfg.Audio.Close() // a running delivery ends first
		b.end(ErrClosed)
		err2 := b.cfg.Conn.Close()
		var err3 error
		if b.cfg.RTCP != nil {
			if err := b.sendRTCP("call ended"); err != nil {
				b.log.Debug("bridge: RTCP BYE", "err", err)
			}
			err3 = b.cfg.RTCP.Close()
		}
		b.closeErr = errors.Join(err1, err2, err3)
	})
	return b.closeErr
}

// event takes one of the line's in-band events (Sink.Event): a digit
// heard on the line goes to the phone, every event to OnModemEvent.
func (b *Bridge) event(e voice.Event) {
	if b.cfg.EventPT >= 0 && voice.IsDTMF(e.Code) && !b.m.dtmf.digit(e.Code) {
		b.log.Warn("bridge: DTMF from the line dropped", "digit", string(rune(e.Code)))
	}
	if b.cfg.OnModemEvent != nil {
		b.cfg.OnModemEvent(e)
	}
}

// frame handles one whole frame from the line (Sink.Frame): RTP out, RTP
// in, a frame back to the line. It returns the line's write error.
func (b *Bridge) frame(frame []byte) error {
	m := &b.m
	var sendErr error
	held := !b.sending.Load()
	muted := !held && b.muted.Load()
	sent := 0 // payload bytes of the RTP packet sent
	switch {
	case held || muted:
		m.pk.Skip(voice.FrameSamples)
	case m.dtmf.active():
		_, ts := m.pk.Next()
		e, start, first := m.dtmf.next(ts)
		sendErr = b.cfg.Conn.Send(m.pk.EventPacket(uint8(b.cfg.EventPT), start, first, e), b.remote)
		sent = rtp.EventLen
		m.pk.Skip(voice.FrameSamples) // the event replaces the frame's audio
		b.mu.Lock()
		b.stats.DigitsSent += uint64(boolInt(e.End && !m.dtmf.on))
		b.mu.Unlock()
	default:
		m.payload = voice.Transcode(m.payload[:0], b.codecFmt, frame, b.modemFmt)
		sendErr = b.cfg.Conn.Send(m.pk.Packet(m.payload, voice.FrameSamples), b.remote)
		sent = len(m.payload)
		if sendErr != nil {
			b.log.Debug("bridge: send RTP", "to", b.remote, "err", sendErr)
		}
	}
	b.mu.Lock()
	if sendErr != nil {
		b.stats.SendErrors++
	}
	switch {
	case held:
		b.stats.FramesHeld++
	case muted:
		b.stats.FramesMuted++
	case sendErr == nil:
		b.sentPackets++
		b.sentOctets += uint64(sent)
	}
	b.stats.FramesFromModem++
	b.receive()
	b.jit.Pop(m.fromNet) // dropped while DTMF plays: the tone replaces it
	dtmf := b.dtmf != nil && b.dtmf.active()
	if dtmf {
		b.dtmf.fill(m.tones[:])
		b.stats.DTMFFrames++
	}
	b.mu.Unlock()
	if dtmf {
		m.toModem = b.modemFmt.Encode(m.toModem[:0], m.tones[:])
	} else {
		m.toModem = voice.Transcode(m.toModem[:0], b.modemFmt, m.fromNet, b.codecFmt)
	}
	var err error
	b.wmu.Lock()
	if !b.stopping {
		err = b.cfg.Audio.WriteFrame(m.toModem)
	}
	b.wmu.Unlock()
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.stats.FramesToModem++
	b.mu.Unlock()
	return nil
}

// maxPerFrame bounds the datagrams read per frame: a flood waits in the
// socket (and overflows there) instead of holding the modem's frame.
const maxPerFrame = 64

// receive reads the RTP waiting on the socket into the jitter buffer and
// the DTMF player. Caller holds b.mu.
func (b *Bridge) receive() {
	m := &b.m
	for range maxPerFrame {
		n, from, ok, err := b.cfg.Conn.Recv(m.rbuf)
		if err != nil {
			if !errors.Is(err, ErrSocketClosed) {
				b.log.Debug("bridge: RTP socket", "err", err)
			}
			return
		}
		if !ok {
			return
		}
		if !b.fromCall(from) {
			b.stats.PacketsForeign++
			continue
		}
		now := b.cfg.Clock.Now()
		b.lastRTP = now
		// RTP from the negotiated address shows that the phone is there
		// and wants the call's media: no reason to hold ours back.
		b.sending.Store(true)
		b.packet(m.rbuf[:n], now)
	}
}

// fromCall reports whether a datagram from from belongs to the call:
// from Remote's address and the first port seen sending from it. Caller
// holds b.mu.
func (b *Bridge) fromCall(from netip.AddrPort) bool {
	if from.Addr().Unmap() != b.remote.Addr() {
		return false
	}
	if !b.latched {
		b.latched, b.srcPort = true, from.Port()
		if from.Port() != b.remote.Port() {
			b.log.Info("bridge: RTP comes from another port than the SDP's", "sdp", b.remote, "from", from)
		}
	}
	return from.Port() == b.srcPort
}

// packet takes one datagram. Caller holds b.mu.
func (b *Bridge) packet(pkt []byte, now time.Time) {
	m := &b.m
	payload, err := m.h.Unmarshal(pkt)
	switch {
	case err != nil:
		b.stats.PacketsIgnored++
	case b.cfg.EventPT >= 0 && int(m.h.PayloadType) == b.cfg.EventPT:
		ev, err := rtp.ParseEvent(payload)
		if err != nil {
			b.stats.PacketsIgnored++
			return
		}
		if b.dtmf != nil {
			if b.dtmf.event(m.h.Timestamp, ev) {
				b.log.Debug("bridge: DTMF to the line", "event", ev.Code, "duration", ev.Duration)
			}
			b.stats.DigitsDropped = uint64(b.dtmf.dropped)
		}
		if d, ok := m.dd.Packet(m.h.Timestamp, ev); ok {
			b.stats.Digits++
			if b.cfg.OnDigit != nil {
				b.cfg.OnDigit(d)
			}
		}
	case m.h.PayloadType == b.cfg.PayloadType:
		b.stats.PacketsReceived++
		b.track(m.h.SequenceNumber, m.h.Timestamp, m.h.SSRC, now)
		b.jit.Push(m.h.SequenceNumber, payload)
	default:
		b.stats.PacketsIgnored++
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
