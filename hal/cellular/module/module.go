// Package module supervises a cellular module (Huawei, Quectel, SIMCom …)
// on its AT port: the control side of a cellular line. It is named for the
// hardware unit it owns, as hal/modem is for the analog modem: one Module
// per USB or mini-PCIe module, speaking one hal/cellular/profiles dialect
// through hal/modem's AT Engine.
//
// Health is registration, not dial tone: the SIM is ready (+CPIN), the
// module is registered home or roaming (+CREG/+CEREG/+C5GREG), with its
// signal (+CSQ, in dBm), operator (+COPS) and technology; a configured SIM
// PIN is entered once, and a PIN the SIM refused is never sent again (a
// SIM locks after three). A module that answers but is not registered,
// has no SIM or wants a PIN or PUK is no-line with that reason. VoLTE is
// checked where the profile says how. State words are those of
// hal/modem's Line (absent, initialising, idle, ringing, in-call,
// no-line), so the daemon can treat both kinds of line alike.
//
// Calls: Dial (emergency numbers go out without a usable SIM, as networks
// allow), Answer with caller ID (+CLIP), Hangup, DTMF, the dialect's call
// state codes, and the profile's commands that start and stop PCM on the
// audio port. The audio itself is not read here: a Call names the audio
// port's path for the transport that carries it.
//
// SMS: SendSMS queues a message (GSM 7-bit or UCS-2 as the text needs,
// PDU or text mode as the profile sets), sent only while the line is idle
// (never during a call or its set-up, never while absent); received
// messages (+CMTI read with +CMGR and deleted, or +CMT) go to the
// WithSMSFunc callback.
//
// Unplug and replug: when the AT port fails the module is absent ("module
// absent: …") and Run reopens it with bounded backoff, re-initialising it.
//
// Concurrency: Run's goroutine owns the device, the engine and all state;
// the other methods hand it requests and are safe for concurrent use.
// Callbacks (WithStatusFunc, WithSMSFunc) are called serially from one
// dispatcher goroutine that Run owns, never from Run's loop, so they may
// call the Module's methods; they should not block for long, as later
// notifications wait behind them. Run returns after every goroutine it
// started has exited.
package module

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"lifeline/hal/cellular/at"
	"lifeline/hal/cellular/profiles"
	"lifeline/hal/clock"
	"lifeline/hal/modem"
	"lifeline/hal/modem/serialport"
)

// State is the line state: hal/modem's State itself, so that the daemon
// treats an analog and a cellular line alike (same words in status).
type State = modem.State

// States, as modem's.
const (
	StateAbsent       = modem.StateAbsent       // no module, or it does not answer
	StateInitialising = modem.StateInitialising // opened, init commands running
	StateIdle         = modem.StateIdle         // registered, usable
	StateRinging      = modem.StateRinging      // an incoming call rings
	StateInCall       = modem.StateInCall       // dialling or in a call
	StateNoLine       = modem.StateNoLine       // the module answers but cannot place calls
)

// VoLTE states in Status.VoLTE.
const (
	VoLTEUnknown = ""    // the profile has no check, or it has not run
	VoLTEOn      = "on"  // the module says voice over LTE is ready
	VoLTEOff     = "off" // IMS is off or not registered: no voice on LTE-only networks
)

// Status is a snapshot of the line. It is a comparable value.
type Status struct {
	State  State
	Reason string
	// SIM is the last +CPIN state ("" before the first check).
	SIM at.SIMState
	// Registration is at.RegStat's word ("home", "roaming", "searching",
	// "denied" …), "" before the first check.
	Registration string
	Operator     string
	// Technology is "2G", "3G", "4G" or "5G", "" when unknown.
	Technology string
	// SignalDBm is the +CSQ signal; SignalKnown is false for rssi 99.
	SignalDBm   int
	SignalKnown bool
	VoLTE       string
	// Call is the call in progress (ringing, dialling or up); zero when
	// none.
	Call CallInfo
	// Since is when State last changed.
	Since time.Time
}

// Call directions and phases in CallInfo.
const (
	PhaseNone      = ""
	PhaseRinging   = "ringing"   // incoming, not answered
	PhaseDialing   = "dialing"   // outgoing, set-up
	PhaseAlerting  = "alerting"  // outgoing, the far end rings
	PhaseConnected = "connected" // up, either direction
)

// CallInfo describes the call in progress.
type CallInfo struct {
	Phase    string
	Incoming bool
	// Number is the dialled number or the caller's (+CLIP); "" when
	// withheld or not yet known.
	Number string
	// Withheld: caller ID came without a number (withheld or not
	// available).
	Withheld bool
	// Rings counts the RINGs of an incoming call.
	Rings int
}

// Errors. Methods wrap them with the device path.
var (
	// ErrNotReady: the module is absent or initialising.
	ErrNotReady = errors.New("cellular: module not ready")
	// ErrNoLine: not registered, no SIM, PIN wanted (see Status.Reason).
	ErrNoLine = errors.New("cellular: no line")
	// ErrLineBusy: a call is ringing, being set up or up.
	ErrLineBusy = errors.New("cellular: line busy")
	// ErrNoCall: Answer without a ringing call, DTMF without a call.
	ErrNoCall = errors.New("cellular: no call")
	// ErrBadNumber: the number is not "+" and 0-9 * #.
	ErrBadNumber = errors.New("cellular: bad number")
	// ErrBusy, ErrNoAnswer, ErrNoCarrier: the call failed so.
	ErrBusy      = errors.New("cellular: busy")
	ErrNoAnswer  = errors.New("cellular: no answer")
	ErrNoCarrier = errors.New("cellular: call failed")
	// ErrTimeout: the far end did not answer within the profile's dial
	// timeout.
	ErrTimeout = errors.New("cellular: dial timed out")
	// ErrEnded: the call ended (Call.Err says how).
	ErrEnded = errors.New("cellular: call ended")
	// ErrQueueFull: too many SMS wait to be sent.
	ErrQueueFull = errors.New("cellular: SMS queue full")
	// ErrSMS: the module refused the message (+CMS ERROR) on every try.
	ErrSMS = errors.New("cellular: SMS not sent")
	// ErrRunning: Run was called twice. ErrStopped: Run has returned.
	ErrRunning = errors.New("cellular: module already running")
	ErrStopped = errors.New("cellular: module stopped")
)

// Defaults.
const (
	DefaultHealthInterval = 30 * time.Second
	// DefaultRingTimeout: an incoming call whose RINGs stop for this long
	// without a hang-up code has been given up by the caller.
	DefaultRingTimeout = 15 * time.Second
	DefaultBackoffMin  = 100 * time.Millisecond
	DefaultBackoffMax  = time.Second
	// SMSQueueSize bounds the messages waiting to be sent.
	SMSQueueSize = 32
	// SMSTries is how often one message is offered to the module.
	SMSTries = 3
	// SMSTimeout bounds AT+CMGS: the network may take its time.
	SMSTimeout = 60 * time.Second
	// endGrace is how long an outgoing call that ended before it was
	// answered waits for the final code (BUSY, NO ANSWER) that says why.
	endGrace = 2 * time.Second
)

// Option configures a Module.
type Option func(*config)

type config struct {
	clk            clock.Clock
	log            *slog.Logger
	opener         modem.Opener
	mode           serialport.Mode
	pin            string
	health         time.Duration
	ringTimeout    time.Duration
	backoffMin     time.Duration
	backoffMax     time.Duration
	onStatus       func(Status)
	onSMS          func(from, text string, at time.Time)
	emergencyExtra []string
	audioOpener    func(path string) (io.ReadWriteCloser, error)
}

// WithClock sets the clock for every timer (default clock.Real).
func WithClock(c clock.Clock) Option { return func(o *config) { o.clk = c } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *config) { o.log = l } }

// WithOpener replaces the serial backend that opens the AT port.
func WithOpener(op modem.Opener) Option { return func(o *config) { o.opener = op } }

// WithAudioOpener replaces how a call opens the audio port (default: the
// tty, raw, its stale input flushed).
func WithAudioOpener(f func(path string) (io.ReadWriteCloser, error)) Option {
	return func(o *config) { o.audioOpener = f }
}

// WithSerialMode sets the AT port's serial settings.
func WithSerialMode(m serialport.Mode) Option { return func(o *config) { o.mode = m } }

// WithPIN sets the SIM PIN (4 to 8 digits) entered when the SIM asks for
// it. A PIN the SIM refuses is not sent again for the Module's lifetime.
func WithPIN(pin string) Option { return func(o *config) { o.pin = pin } }

// WithHealthInterval sets how often registration is re-read while idle or
// no-line (default DefaultHealthInterval).
func WithHealthInterval(d time.Duration) Option { return func(o *config) { o.health = d } }

// WithRingTimeout sets DefaultRingTimeout's value.
func WithRingTimeout(d time.Duration) Option { return func(o *config) { o.ringTimeout = d } }

// WithBackoff bounds the reopen backoff after the module is lost.
func WithBackoff(min, max time.Duration) Option {
	return func(o *config) { o.backoffMin, o.backoffMax = min, max }
}

// WithStatusFunc is called with the new Status after every change (see
// the package doc for the calling goroutine).
func WithStatusFunc(f func(Status)) Option { return func(o *config) { o.onStatus = f } }

// WithSMSFunc is called with each received message: sender ("+" and
// digits, or an alphanumeric name), text, and the service centre's time.
func WithSMSFunc(f func(from, text string, at time.Time)) Option {
	return func(o *config) { o.onSMS = f }
}

// WithEmergencyNumbers adds local emergency numbers to the ones placed
// even without a usable SIM (112, 911 and the others of 3GPP TS 22.101).
func WithEmergencyNumbers(n ...string) Option {
	return func(o *config) { o.emergencyExtra = append(o.emergencyExtra, n...) }
}

// Module supervises one cellular module. See the package doc.
type Module struct {
	atPath, audioPath string
	prof              *profiles.Profile
	cfg               config

	running atomic.Bool
	reqs    chan request
	done    chan struct{} // closed when Run returns

	mu  sync.Mutex // guards st
	st  Status
	pub *dispatcher // set while Run runs; guarded by mu

	sms   smsQueue
	rings ringSubs

	// pinRejected is set when the SIM refused the configured PIN; owned
	// by Run's goroutine.
	pinRejected bool
}

// New returns a Module for the AT port at atPath and the audio port at
// audioPath (ttys or /dev/serial/by-id links) speaking prof. Nothing is
// opened until Run. A bad PIN is an error.
func New(atPath, audioPath string, prof *profiles.Profile, opts ...Option) (*Module, error) {
	cfg := config{clk: clock.Real(), health: DefaultHealthInterval, ringTimeout: DefaultRingTimeout,
		backoffMin: DefaultBackoffMin, backoffMax: DefaultBackoffMax}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	if cfg.audioOpener == nil {
		cfg.audioOpener = openAudioPort
	}
	if cfg.pin != "" {
		if _, err := profiles.Expand(prof.PIN, map[string]string{"pin": cfg.pin}); err != nil {
			return nil, fmt.Errorf("cellular module %s: SIM PIN: want 4 to 8 digits", atPath)
		}
	}
	for _, n := range cfg.emergencyExtra {
		if !validNumber(n) {
			return nil, fmt.Errorf("cellular module %s: emergency number %q: %w", atPath, n, ErrBadNumber)
		}
	}
	if cfg.opener == nil {
		mode := cfg.mode
		cfg.opener = modem.OpenerFunc(func(_ context.Context, path string) (modem.Port, error) {
			p, err := serialport.Open(path, mode)
			if errors.Is(err, serialport.ErrNotFound) {
				return nil, fmt.Errorf("%w: %w", modem.ErrNotPresent, err)
			}
			if err != nil {
				return nil, err
			}
			return p, nil
		})
	}
	m := &Module{atPath: atPath, audioPath: audioPath, prof: prof, cfg: cfg,
		reqs: make(chan request), done: make(chan struct{})}
	m.st = Status{State: StateAbsent, Reason: "not started", Since: cfg.clk.Now()}
	m.sms.init()
	m.rings.init()
	return m, nil
}

// ATPath returns the AT port's path, AudioPath the audio port's: the raw
// PCM of a connected call (Profile().Audio says its format).
func (m *Module) ATPath() string    { return m.atPath }
func (m *Module) AudioPath() string { return m.audioPath }

// Profile returns the dialect.
func (m *Module) Profile() *profiles.Profile { return m.prof }

// Status returns the current snapshot.
func (m *Module) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st
}

// update changes the snapshot under mu and publishes it when it changed.
// Called from Run's goroutine only.
func (m *Module) update(f func(*Status)) {
	m.mu.Lock()
	old := m.st
	f(&m.st)
	if m.st.State != old.State {
		m.st.Since = m.cfg.clk.Now()
	}
	st, pub := m.st, m.pub
	m.mu.Unlock()
	if st == old {
		return
	}
	m.rings.changed(old, st, m.cfg.clk.Now())
	if st.State != old.State || st.Reason != old.Reason {
		m.cfg.log.Info("cellular line state", "device", m.atPath, "from", old.State.String(),
			"to", st.State.String(), "reason", st.Reason)
	}
	if pub != nil && m.cfg.onStatus != nil {
		f := m.cfg.onStatus
		pub.post(func() { f(st) })
	}
}

// setState sets state and reason.
func (m *Module) setState(s State, reason string) {
	m.update(func(st *Status) { st.State, st.Reason = s, reason })
}

type reqKind int

const (
	reqDial reqKind = iota + 1
	reqAnswer
	reqHangup
	reqDTMF
	reqCheck
)

type request struct {
	kind  reqKind
	ctx   context.Context
	arg   string
	reply chan reply // buffered 1
	// onDialing, for a dial, is called once the module accepted it.
	onDialing func()
}

type reply struct {
	call *Call
	err  error
	// pendingReply: the request stays with Run's goroutine, which answers
	// it later (a Dial, when the far end answers or the call fails).
	pendingReply bool
}

// do hands r to Run's goroutine and waits for its answer.
func (m *Module) do(ctx context.Context, kind reqKind, arg string) (*Call, error) {
	return m.doReq(request{kind: kind, ctx: ctx, arg: arg, reply: make(chan reply, 1)})
}

func (m *Module) doReq(r request) (*Call, error) {
	ctx := r.ctx
	select {
	case m.reqs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-m.done:
		return nil, fmt.Errorf("cellular module %s: %w", m.atPath, ErrStopped)
	}
	select {
	case rep := <-r.reply:
		return rep.call, rep.err
	case <-ctx.Done():
		// Run's goroutine answers every request it took (a dial is then
		// hung up because its ctx ended); do not wait for it here.
		return nil, ctx.Err()
	}
}

// Dial places a voice call to number and returns once the far end has
// answered and the audio is started, or the call failed (ErrBusy,
// ErrNoAnswer, ErrNoCarrier, ErrTimeout, ErrNoLine, ErrNotReady,
// ErrLineBusy) or ctx ended (the attempt is then hung up). Emergency
// numbers are dialled in the no-line state too.
func (m *Module) Dial(ctx context.Context, number string) (*Call, error) {
	if !validNumber(number) {
		return nil, fmt.Errorf("dial %q on %s: %w", number, m.atPath, ErrBadNumber)
	}
	return m.do(ctx, reqDial, number)
}

// Answer takes the ringing call and returns once it is up with its audio
// started; ErrNoCall when nothing rings.
func (m *Module) Answer(ctx context.Context) (*Call, error) { return m.do(ctx, reqAnswer, "") }

// Hangup ends the call in progress (ringing, dialling or up); nil when
// there is none.
func (m *Module) Hangup(ctx context.Context) error {
	_, err := m.do(ctx, reqHangup, "")
	return err
}

// SendDTMF sends digits (0-9 * # A-D) one by one during a connected call.
func (m *Module) SendDTMF(ctx context.Context, digits string) error {
	for i := range len(digits) {
		if _, err := m.do(ctx, reqDTMF, digits[i:i+1]); err != nil {
			return err
		}
	}
	return nil
}

// CheckNow re-reads the module's health at once and returns when the new
// Status is set; ErrLineBusy during a call, ErrNotReady while absent.
func (m *Module) CheckNow(ctx context.Context) error {
	_, err := m.do(ctx, reqCheck, "")
	return err
}

// Call is a call placed by Dial or taken by Answer. Its methods are safe
// for concurrent use.
type Call struct {
	// Number is the dialled number or the caller's ("" withheld).
	Number   string
	Incoming bool
	// AudioPath is the module's audio port, carrying the call's PCM in
	// the profile's format until Done is closed.
	AudioPath string

	done chan struct{}
	err  error // set before done closes
}

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.done }

// Err says how the call ended, wrapping ErrEnded; nil while it is up.
func (c *Call) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// validNumber: "+" first or not at all, then 1 to 32 of 0-9 * #.
func validNumber(n string) bool {
	_, err := profiles.Expand("{number}", map[string]string{"number": n})
	return err == nil
}

// emergency numbers a handset dials without a SIM (3GPP TS 22.101
// section 10.1.1).
var emergencyNumbers = []string{"112", "911", "000", "08", "110", "118", "119", "999"}

func (m *Module) emergency(n string) bool {
	for _, e := range emergencyNumbers {
		if n == e {
			return true
		}
	}
	for _, e := range m.cfg.emergencyExtra {
		if n == e {
			return true
		}
	}
	return false
}
