package modem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/modem/serialport"
	"lifeline/hal/voice/call"
)

// State is the line's state as the route machine sees it.
type State int

// Line states. String gives the lowercase words of the status contract.
const (
	StateAbsent       State = iota // no device, or it does not answer
	StateInitialising              // opened, init commands running
	StateIdle                      // usable, on hook
	StateRinging                   // incoming call ringing
	StateInCall                    // dialling or in a call
	StateNoLine                    // the modem answers but the line is dead
)

var stateNames = [...]string{"absent", "initialising", "idle", "ringing", "in-call", "no-line"}

// String returns "absent", "initialising", "idle", "ringing", "in-call" or
// "no-line".
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "State(" + strconv.Itoa(int(s)) + ")"
	}
	return stateNames[s]
}

// StateChange is one transition, delivered to the WithStateFunc callback.
type StateChange struct {
	From, To State
	Reason   string
	At       time.Time
}

// Ring reports an incoming call (see call.Ring). The last Ring of an
// incoming call has Ended set and Reason says why — "answered"
// (VoiceAnswer took it), "ringing stopped" (no RING for the profile's
// RingTimeout: the caller gave up), "caller hung up" (NO CARRIER), "hung
// up" (Hangup), or why the device session ended (device lost, Run
// stopped).
type Ring = call.Ring

// Line errors.
var (
	// ErrNotReady: the device is absent or still initialising.
	ErrNotReady = call.NewError("modem: line not ready", call.ErrLineDown)
	// ErrLineBusy: Dial while ringing or in a call.
	ErrLineBusy = call.NewError("modem: line busy", call.ErrLineInUse)
	// ErrBadNumber: the number has characters other than 0-9 * # + ,
	ErrBadNumber = call.NewError("modem: bad number", call.ErrBadNumber)
	// ErrRunning: Run was called twice.
	ErrRunning = errors.New("modem: line already running")
	// ErrStopped: Run has returned.
	ErrStopped = call.NewError("modem: line stopped", call.ErrStopped)
)

// The serial backend is a Port that can also Check its path.
var (
	_ Port    = (*serialport.Port)(nil)
	_ Checker = (*serialport.Port)(nil)
)

// Option configures a Line (New) or an Engine (NewEngine): WithClock and
// WithLogger both, the Engine… options an Engine, the others a Line; each
// ignores the options that are not its.
type Option func(*config)

// config is what the options set.
type config struct {
	clk clock.Clock
	log *slog.Logger

	// Line.
	opener         Opener
	mode           serialport.Mode
	backoffMin     time.Duration
	backoffMax     time.Duration
	onState        func(StateChange)
	healthInterval time.Duration
	maxTimeouts    int

	// Engine.
	timeout time.Duration
	numeric bool
	name    string
}

// Default reopen backoff: the first retry after a loss is immediate, then
// 100 ms doubling up to 1 s. Replug is noticed at most backoffMax after the
// device reappears.
const (
	DefaultBackoffMin = 100 * time.Millisecond
	DefaultBackoffMax = time.Second
)

// WithClock sets the clock for timers and command timeouts (default
// clock.Real).
func WithClock(c clock.Clock) Option { return func(l *config) { l.clk = c } }

// WithLogger sets the logger (default: discard).
func WithLogger(lg *slog.Logger) Option { return func(l *config) { l.log = lg } }

// WithOpener replaces the serial backend (tests, other transports).
func WithOpener(o Opener) Option { return func(l *config) { l.opener = o } }

// WithSerialMode sets baud, parity, stop bits and flow control for the
// default serial backend.
func WithSerialMode(m serialport.Mode) Option { return func(l *config) { l.mode = m } }

// WithBackoff bounds the reopen backoff: it starts at min and doubles up to
// max.
func WithBackoff(min, max time.Duration) Option {
	return func(l *config) {
		if min > 0 {
			l.backoffMin = min
		}
		if max >= l.backoffMin {
			l.backoffMax = max
		}
	}
}

// WithHealthInterval overrides the profile's health check interval.
func WithHealthInterval(d time.Duration) Option {
	return func(l *config) { l.healthInterval = d }
}

// WithStateFunc sets the state change callback. It is called from Run's
// goroutine, serially, in order; it must not block and must not call Dial
// or Hangup (they wait for that goroutine). Copy the value into a channel
// with a non-blocking send or a mutex-guarded field.
func WithStateFunc(f func(StateChange)) Option { return func(l *config) { l.onState = f } }

// Line owns one modem device through a reopenable backend and reports the
// line's state. Run drives it; Dial, VoiceCall, VoiceAnswer, Hangup,
// CheckNow, State and SubscribeRings are safe for concurrent use from any
// goroutine. All device I/O and all state
// transitions happen in Run's goroutine; the current state is published
// under mu.
type Line struct {
	path string
	prof *Profile
	cfg  config
	reqs chan lineReq

	mu     sync.Mutex // guards state, reason
	state  State
	reason string

	subs subscribers[Ring]

	running atomic.Bool
	done    chan struct{} // closed when Run returns
}

// lineReq is work for Run's goroutine: do runs there with the device
// session, Run's context and the caller's ctx, and its error is the
// reply. ends is set on a voice call's end request, the one request
// hangupOnStop still serves.
type lineReq struct {
	ctx   context.Context
	do    func(s *session, runCtx, ctx context.Context) error
	ends  *Call
	reply chan error
}

// New returns a Line for the device at path (a tty, or a stable
// /dev/serial/by-id link) speaking profile p. Nothing is opened until Run.
func New(path string, p *Profile, opts ...Option) *Line {
	cfg := config{clk: clock.Real(), backoffMin: DefaultBackoffMin, backoffMax: DefaultBackoffMax, maxTimeouts: 2}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	if cfg.opener == nil {
		mode := cfg.mode
		cfg.opener = OpenerFunc(func(_ context.Context, path string) (Port, error) {
			port, err := serialport.Open(path, mode)
			if errors.Is(err, serialport.ErrNotFound) {
				return nil, fmt.Errorf("%w: %w", ErrNotPresent, err)
			}
			if err != nil {
				return nil, err
			}
			return port, nil
		})
	}
	if cfg.healthInterval <= 0 {
		cfg.healthInterval = p.Health.Interval.D()
	}
	return &Line{path: path, prof: p, cfg: cfg, reqs: make(chan lineReq), done: make(chan struct{})}
}

// Path returns the device path.
func (l *Line) Path() string { return l.path }

// Profile returns the profile.
func (l *Line) Profile() *Profile { return l.prof }

// State returns the current state.
func (l *Line) State() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// Status returns the current state and the reason for the last change.
func (l *Line) Status() (State, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state, l.reason
}

// SubscribeRings returns a channel of incoming rings and a cancel function.
// Each incoming call gives Rings with growing Count and one last Ring with
// Ended set. A full channel drops the ring (never blocks the line); the
// channel is closed by cancel or when Run returns.
func (l *Line) SubscribeRings(buf int) (<-chan Ring, func()) { return l.subs.add(buf) }

// Dial places a voice call to number with the profile's dial command and
// returns when the call is up (nil), failed (ErrBusy, ErrNoAnswer,
// ErrNoDialtone, ErrNoCarrier, ErrCommand, ErrTimeout), or ctx ended (the
// attempt is then hung up). The state is in-call from the start of
// dialling. Dial waits for Run's goroutine; before Run it waits for ctx.
func (l *Line) Dial(ctx context.Context, number string) error {
	if !validNumber(number) {
		return fmt.Errorf("dial %q on %s: %w", number, l.path, ErrBadNumber)
	}
	return l.request(ctx, lineReq{do: func(s *session, runCtx, ctx context.Context) error { return s.dial(runCtx, ctx, number) }})
}

// Hangup ends a call (or stops ringing handling): DTR drop when the
// profile asks for it, then the hang-up command. The state becomes idle.
// During a VoiceCall it only ends the call's context and returns; the
// VoiceCall hangs up when its function returns.
func (l *Line) Hangup(ctx context.Context) error {
	return l.request(ctx, lineReq{do: func(s *session, runCtx, ctx context.Context) error { return s.hangupReq(runCtx, ctx) }})
}

// CheckNow runs the health check at once instead of waiting for the
// interval (the sim board calls it after "lifeline sim line down") and
// returns when the new state is set. It returns ErrLineBusy while ringing
// or in a call (the check never runs then) and ErrNotReady while absent.
func (l *Line) CheckNow(ctx context.Context) error {
	return l.request(ctx, lineReq{do: func(s *session, runCtx, _ context.Context) error { return s.checkReq(runCtx) }})
}

func (l *Line) request(ctx context.Context, r lineReq) error {
	r.ctx = ctx
	r.reply = make(chan error, 1)
	select {
	case l.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-l.done:
		return fmt.Errorf("line %s: %w", l.path, ErrStopped)
	}
	return <-r.reply // Run's goroutine answers every request it takes
}

func validNumber(n string) bool {
	if n == "" || len(n) > 40 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= '0' && c <= '9' || c == '*' || c == '#' || c == '+' || c == ',') {
			return false
		}
	}
	return true
}

// Run opens the device, initialises it, checks the line on the health
// interval, serves Dial and Hangup, and reopens the device with bounded
// exponential backoff whenever it is lost. It returns nil when ctx is
// cancelled, after the device is closed and every goroutine it started has
// exited; the state is then absent. Run may be called once.
func (l *Line) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return fmt.Errorf("line %s: %w", l.path, ErrRunning)
	}
	defer close(l.done)
	defer l.subs.close()
	defer l.setState(StateAbsent, "stopped")

	backoff := l.cfg.backoffMin
	for {
		port, err := l.cfg.opener.Open(ctx, l.path)
		if ctx.Err() != nil {
			if err == nil {
				port.Close()
			}
			return nil
		}
		if err != nil {
			l.setState(StateAbsent, "open: "+err.Error())
			if errors.Is(err, ErrNotPresent) {
				l.cfg.log.Debug("line: device not present", "device", l.path, "retry", backoff)
			} else {
				l.cfg.log.Warn("line: open failed", "device", l.path, "err", err, "retry", backoff)
			}
			if !l.wait(ctx, backoff) {
				return nil
			}
			backoff = min(2*backoff, l.cfg.backoffMax)
			continue
		}
		s := &session{l: l, port: port}
		healthy, reason := s.run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		l.setState(StateAbsent, reason)
		l.cfg.log.Warn("line: device lost", "device", l.path, "reason", reason)
		if healthy {
			backoff = l.cfg.backoffMin
			continue
		}
		if !l.wait(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, l.cfg.backoffMax)
	}
}

// wait sleeps d on the clock while answering requests with ErrNotReady.
func (l *Line) wait(ctx context.Context, d time.Duration) bool {
	t := l.cfg.clk.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C():
			return true
		case <-ctx.Done():
			return false
		case r := <-l.reqs:
			r.reply <- fmt.Errorf("line %s: %w", l.path, ErrNotReady)
		}
	}
}

func (l *Line) setState(s State, reason string) {
	l.mu.Lock()
	from := l.state
	l.state, l.reason = s, reason
	l.mu.Unlock()
	if from == s {
		return
	}
	l.cfg.log.Info("line state", "device", l.path, "from", from.String(), "to", s.String(), "reason", reason)
	if l.cfg.onState != nil {
		l.cfg.onState(StateChange{From: from, To: s, Reason: reason, At: l.cfg.clk.Now()})
	}
}

func (l *Line) publish(r Ring) {
	for range l.subs.publish(r) {
		l.cfg.log.Warn("line: ring subscriber full, dropped", "device", l.path)
	}
}
