// Package bridge carries a call's audio between RTP and a voice modem's
// DLE-shielded data stream, without any SIP: the gateway negotiates the
// codec (hal/voice/sdp), dials (hal/modem), starts the modem's full-duplex
// state (AT+VTR through voice.Conn) and hands the resulting stream and a
// UDP socket to Start.
//
// The modem's clock paces everything: each 20 ms frame the modem sends is
// transcoded and sent as one RTP packet, and answered with one frame from
// the jitter buffer (RTP from the network, reordered, gaps filled with
// silence) written back to the modem. The network side only fills the
// jitter buffer, so network timing never drives the modem.
//
// RFC 4733 DTMF digits from the phone are played to the line as ITU-T
// Q.23 dual tones synthesised into the frames written to the modem (see
// DTMFFrequencies and Config.DisableDTMFTones): V.253's AT+VTS works only
// in voice command state, not in the AT+VTR data period the bridge holds.
package bridge

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"

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

// Config is what Start needs. Modem, Conn and Remote are required.
type Config struct {
	// Modem is the modem's data period (a *voice.DataStream): Read gives
	// the modem's shielded stream, Write goes to the modem. The bridge
	// owns it until Close, which closes it.
	Modem io.ReadWriteCloser
	// ModemFormat is the AT+VSM format the modem speaks.
	ModemFormat voice.Format
	// Codec is "PCMA" or "PCMU" with its negotiated PayloadType;
	// EventPT is the telephone-event payload type, -1 for none.
	Codec       string
	PayloadType uint8
	EventPT     int
	// Conn is the local RTP socket; the bridge owns it and closes it.
	Conn net.PacketConn
	// Remote is where RTP is sent. Packets are accepted from any source
	// (symmetric RTP behind NAT sends from elsewhere).
	Remote net.Addr
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
	// OnDigit gets each RFC 4733 DTMF digit once, from the network
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
	Digits          uint64 // RFC 4733 digits
	DTMFFrames      uint64 // frames to the modem that carried DTMF tones or their pauses instead of RTP audio
	DigitsDropped   uint64 // digits not played: more than 32 were waiting
	Jitter          rtp.JitterStats
}

// Bridge runs one call's audio. Two goroutines: the modem goroutine reads
// the modem, sends RTP and feeds the modem from the jitter buffer; the
// network goroutine reads RTP into the jitter buffer and DTMF events into
// the tone player. mu guards the jitter buffer, the tone player and the
// counters. Close stops both and waits; Stats, Done and
// Err are safe from any goroutine.
type Bridge struct {
	cfg       Config
	modemFmt  voice.Format
	codecFmt  voice.Format
	log       *slog.Logger
	mu        sync.Mutex
	jit       *rtp.Jitter
	dtmf      *dtmfPlayer // nil with DisableDTMFTones
	stats     Stats
	wmu       sync.Mutex    // orders frame writes to the modem against Close's abort
	stopping  bool          // under wmu: no more frames to the modem
	modemDone chan struct{} // the modem goroutine exited
	modemErr  error         // why; set before modemDone closes
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Start checks cfg and starts the bridge.
func Start(cfg Config) (*Bridge, error) {
	codecFmt, ok := voice.CodecFormat(cfg.Codec)
	if !ok {
		return nil, fmt.Errorf("%w: codec %q (want PCMA or PCMU)", ErrConfig, cfg.Codec)
	}
	if !cfg.ModemFormat.Valid() {
		return nil, fmt.Errorf("%w: modem format %v", ErrConfig, cfg.ModemFormat)
	}
	if cfg.Modem == nil || cfg.Conn == nil || cfg.Remote == nil {
		return nil, fmt.Errorf("%w: Modem, Conn and Remote are required", ErrConfig)
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
	b := &Bridge{cfg: cfg, modemFmt: cfg.ModemFormat, codecFmt: codecFmt, log: log, jit: jit, modemDone: make(chan struct{})}
	if !cfg.DisableDTMFTones {
		b.dtmf = newDTMFPlayer()
	}
	b.wg.Add(2)
	go b.modemLoop()
	go b.netLoop()
	return b, nil
}

// Done is closed when the modem side has ended: the modem sent
// <DLE><ETX>, its stream failed, or Close was called.
func (b *Bridge) Done() <-chan struct{} { return b.modemDone }

// Err says why the modem side ended: nil for the modem's <DLE><ETX>, the
// stream's error otherwise; nil while running.
func (b *Bridge) Err() error {
	select {
	case <-b.modemDone:
		return b.modemErr
	default:
		return nil
	}
}

// Stats returns a snapshot of the counters.
func (b *Bridge) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Jitter = b.jit.Stats()
	return s
}

// aborter is implemented by *voice.DataStream: Abort sends <DLE>! at
// most once per data period.
type aborter interface{ Abort() error }

// Close ends the call's audio: unless the modem already ended its stream,
// it sends <DLE>! (abort) to the modem (through Abort when Modem has it,
// so that the line that owns the call does not send a second one); then it closes the modem stream
// and the socket and waits for both goroutines. The modem's closing OK is
// left to the owner (voice.DataStream.Final). Idempotent.
func (b *Bridge) Close() error {
	b.closeOnce.Do(func() {
		// No frame may follow the abort: the modem would take it for
		// command text.
		b.wmu.Lock()
		b.stopping = true
		select {
		case <-b.modemDone:
		default:
			var err error
			if a, ok := b.cfg.Modem.(aborter); ok {
				err = a.Abort() // once per period, whoever else aborts it
			} else {
				_, err = b.cfg.Modem.Write([]byte{voice.DLE, voice.CmdAbort})
			}
			if err != nil {
				b.log.Debug("bridge: abort to modem", "err", err)
			}
		}
		b.wmu.Unlock()
		err1 := b.cfg.Modem.Close()
		err2 := b.cfg.Conn.Close()
		b.wg.Wait()
		b.closeErr = errors.Join(err1, err2)
	})
	return b.closeErr
}

func (b *Bridge) modemLoop() {
	defer b.wg.Done()
	var err error
	defer func() {
		if errors.Is(err, io.EOF) {
			err = nil
		}
		b.modemErr = err
		close(b.modemDone)
	}()
	dec := voice.NewDecoder(b.cfg.Modem)
	enc := voice.NewEncoder(b.cfg.Modem)
	pk := rtp.NewPacketizer(b.cfg.PayloadType, b.cfg.SSRC, b.cfg.Seq, b.cfg.Timestamp)
	frame := make([]byte, b.modemFmt.FrameBytes())
	payload := make([]byte, 0, voice.FrameSamples)
	fromNet := make([]byte, voice.FrameSamples)
	toModem := make([]byte, 0, b.modemFmt.FrameBytes())
	var tones [voice.FrameSamples]int16
	onEvent := func(e voice.Event) {
		if b.cfg.OnModemEvent != nil {
			b.cfg.OnModemEvent(e)
		}
	}
	for {
		var n int
		n, err = dec.ReadFrame(frame, onEvent)
		if n < len(frame) {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return
		}
		payload = voice.Transcode(payload[:0], b.codecFmt, frame, b.modemFmt)
		if _, werr := b.cfg.Conn.WriteTo(pk.Packet(payload, voice.FrameSamples), b.cfg.Remote); werr != nil {
			b.mu.Lock()
			b.stats.SendErrors++
			b.mu.Unlock()
			b.log.Debug("bridge: send RTP", "to", b.cfg.Remote, "err", werr)
		}
		b.mu.Lock()
		b.stats.FramesFromModem++
		b.jit.Pop(fromNet) // dropped while DTMF plays: the tone replaces it
		dtmf := b.dtmf != nil && b.dtmf.active()
		if dtmf {
			b.dtmf.fill(tones[:])
			b.stats.DTMFFrames++
		}
		b.mu.Unlock()
		if dtmf {
			toModem = b.modemFmt.Encode(toModem[:0], tones[:])
		} else {
			toModem = voice.Transcode(toModem[:0], b.modemFmt, fromNet, b.codecFmt)
		}
		b.wmu.Lock()
		if !b.stopping {
			_, err = enc.Write(toModem)
		}
		b.wmu.Unlock()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.stats.FramesToModem++
		b.mu.Unlock()
	}
}

func (b *Bridge) netLoop() {
	defer b.wg.Done()
	buf := make([]byte, 2048)
	var h rtp.Header
	var dd rtp.DigitDetector
	for {
		n, _, err := b.cfg.Conn.ReadFrom(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				b.log.Debug("bridge: RTP socket", "err", err)
			}
			return
		}
		payload, err := h.Unmarshal(buf[:n])
		switch {
		case err != nil:
			b.count(func(s *Stats) { s.PacketsIgnored++ })
		case b.cfg.EventPT >= 0 && int(h.PayloadType) == b.cfg.EventPT:
			ev, err := rtp.ParseEvent(payload)
			if err != nil {
				b.count(func(s *Stats) { s.PacketsIgnored++ })
				continue
			}
			if b.dtmf != nil {
				b.mu.Lock()
				if b.dtmf.event(h.Timestamp, ev) {
					b.log.Debug("bridge: DTMF to the line", "event", ev.Code, "duration", ev.Duration)
				}
				b.stats.DigitsDropped = uint64(b.dtmf.dropped)
				b.mu.Unlock()
			}
			if d, ok := dd.Packet(h.Timestamp, ev); ok {
				b.count(func(s *Stats) { s.Digits++ })
				if b.cfg.OnDigit != nil {
					b.cfg.OnDigit(d)
				}
			}
		case h.PayloadType == b.cfg.PayloadType:
			b.mu.Lock()
			b.stats.PacketsReceived++
			b.jit.Push(h.SequenceNumber, payload)
			b.mu.Unlock()
		default:
			b.count(func(s *Stats) { s.PacketsIgnored++ })
		}
	}
}

func (b *Bridge) count(f func(*Stats)) {
	b.mu.Lock()
	f(&b.stats)
	b.mu.Unlock()
}
