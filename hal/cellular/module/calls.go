package module

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"lifeline/hal/voice"
	"lifeline/hal/voice/call"
)

// Calls returns the module as hal/voice/call sees it, for the gateway:
// VoiceCall dials (Options.Dialing once the module accepted ATD),
// VoiceAnswer takes the ringing call, and each call's audio is the audio
// port's raw PCM as a voice.PCMAudio, opened for the call (raw mode, stale
// input flushed) and closed after it. The call's function runs until it
// returns, the far end hangs up or the module is lost; the call is then
// hung up if it is still up. Rings come from +CLIP and RING (a withheld
// number is "P", as analog caller ID says it). DTMF from the phone can
// go out as AT+VTS through the Audio's SendDigit (see Audio).
func (m *Module) Calls() call.Line { return calls{m} }

type calls struct{ m *Module }

var _ call.Line = calls{}

func (c calls) VoiceCall(ctx context.Context, number string, opts call.Options, fn func(context.Context, *call.Call) error) error {
	m := c.m
	if !validNumber(number) {
		return callErr(fmt.Errorf("dial %q on %s: %w", number, m.atPath, ErrBadNumber))
	}
	var once sync.Once
	r := request{kind: reqDial, ctx: ctx, arg: number, reply: make(chan reply, 1)}
	if opts.Dialing != nil {
		r.onDialing = func() { once.Do(opts.Dialing) }
	}
	mc, err := m.doReq(r)
	if err != nil {
		return callErr(err)
	}
	return c.run(ctx, mc, fn)
}

func (c calls) VoiceAnswer(ctx context.Context, _ call.Options, fn func(context.Context, *call.Call) error) error {
	mc, err := c.m.Answer(ctx)
	if err != nil {
		return callErr(err)
	}
	return c.run(ctx, mc, fn)
}

func (c calls) SubscribeRings(buf int) (<-chan call.Ring, func()) { return c.m.rings.subscribe(buf) }

// run hands the connected call mc to fn with its audio, and hangs up
// after.
func (c calls) run(ctx context.Context, mc *Call, fn func(context.Context, *call.Call) error) error {
	m := c.m
	defer func() {
		select {
		case <-mc.Done():
		default:
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*m.prof.CommandTimeout.D())
			if err := m.Hangup(hctx); err != nil {
				m.cfg.log.Warn("cellular: hang-up after the call", "device", m.atPath, "err", err)
			}
			cancel()
		}
	}()
	if m.prof.Audio.Rate != 8000 {
		return callErr(fmt.Errorf("call on %s: audio %d Hz: %w", m.atPath, m.prof.Audio.Rate, ErrNoCarrier))
	}
	port, err := m.cfg.audioOpener(mc.AudioPath)
	if err != nil {
		return callErr(fmt.Errorf("call on %s: audio port: %w: %v", m.atPath, ErrNoCarrier, err))
	}
	a := &Audio{PCMAudio: voice.NewPCMAudio(port), m: m}
	defer a.Close()
	cctx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	defer func() { cancel(); <-watched }()
	go func() { // ends with the call or with fn (cancel)
		defer close(watched)
		select {
		case <-mc.Done():
			cancel()
		case <-cctx.Done():
		}
	}()
	return fn(cctx, &call.Call{Number: mc.Number, Incoming: mc.Incoming, Caller: call.CallerID{Number: mc.Number},
		Audio: a, Started: m.cfg.clk.Now()})
}

// Audio is a cellular call's audio: the audio port's PCM (voice.PCMAudio)
// and the module's DTMF command.
type Audio struct {
	*voice.PCMAudio
	m *Module
}

// SendDigit sends one DTMF digit (0-9 * # A-D) to the far end with the
// profile's command (AT+VTS, Huawei's AT^DTMF) instead of in-band tones.
// It waits for the module's answer: call it off the audio path.
func (a *Audio) SendDigit(ctx context.Context, digit byte) error {
	return a.m.SendDTMF(ctx, string(rune(digit)))
}

// callErr gives a module error the call package's kind, for the gateway.
func callErr(err error) error {
	kinds := []struct{ mod, kind error }{
		{ErrBusy, call.ErrBusy}, {ErrNoAnswer, call.ErrNoAnswer}, {ErrTimeout, call.ErrNoAnswer},
		{ErrNoCarrier, call.ErrNoCarrier}, {ErrEnded, call.ErrNoCarrier}, {ErrLineBusy, call.ErrLineInUse},
		{ErrBadNumber, call.ErrBadNumber}, {ErrNoLine, call.ErrLineDown}, {ErrNotReady, call.ErrLineDown},
		{ErrStopped, call.ErrStopped},
	}
	for _, k := range kinds {
		if errors.Is(err, k.mod) {
			return call.NewError(err.Error(), k.kind)
		}
	}
	return err
}

// openAudioPort opens a module's audio tty for one call: raw 8-bit, no
// echo, and what it held from before the call dropped.
func openAudioPort(path string) (io.ReadWriteCloser, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	var terr error
	err = rc.Control(func(fd uintptr) { terr = rawFlush(int(fd)) })
	if err == nil {
		err = terr
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// rawFlush sets fd raw (cfmakeraw) and flushes its input.
func rawFlush(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8 | unix.CLOCAL | unix.CREAD
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return err
	}
	return unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIFLUSH)
}

// ringSubs fans the incoming call's rings out to SubscribeRings' channels.
type ringSubs struct {
	mu   sync.Mutex
	subs map[chan call.Ring]struct{} // nil once Run has returned
}

func (r *ringSubs) init() { r.subs = map[chan call.Ring]struct{}{} }

// subscribe returns a channel of rings (a full channel drops them) and
// its cancel; the channel is closed by cancel or when Run returns.
func (r *ringSubs) subscribe(buf int) (<-chan call.Ring, func()) {
	ch := make(chan call.Ring, buf)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.subs == nil {
		close(ch)
		return ch, func() {}
	}
	r.subs[ch] = struct{}{}
	return ch, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if _, ok := r.subs[ch]; ok {
			delete(r.subs, ch)
			close(ch)
		}
	}
}

// stop closes every channel: Run has returned.
func (r *ringSubs) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ch := range r.subs {
		close(ch)
	}
	r.subs = nil
}

// changed publishes the ring an update means: the incoming call rings
// (again, or its caller ID came), or it stopped ringing and why. Called
// from Run's goroutine, in order.
func (r *ringSubs) changed(old, st Status, now time.Time) {
	was, is := old.Call.Phase == PhaseRinging, st.Call.Phase == PhaseRinging
	var ring call.Ring
	switch {
	case is && (!was || st.Call != old.Call):
		ring = call.Ring{Caller: callerOf(st.Call), Count: max(1, st.Call.Rings), At: now}
	case was && !is:
		ring = call.Ring{Caller: callerOf(old.Call), Count: max(1, old.Call.Rings), At: now, Ended: true}
		switch {
		case st.Call.Phase == PhaseConnected:
			ring.Reason = "answered"
		case st.State == StateAbsent:
			ring.Reason = st.Reason
		default:
			ring.Reason = "caller hung up"
		}
	default:
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for ch := range r.subs {
		select {
		case ch <- ring:
		default:
		}
	}
}

func callerOf(c CallInfo) call.CallerID {
	if c.Withheld {
		return call.CallerID{Number: "P"}
	}
	return call.CallerID{Number: c.Number}
}
