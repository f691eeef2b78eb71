package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/voice/call"
)

// Engine errors. Command wraps them with the command and device name.
var (
	// ErrTimeout: no final result code within the command's timeout.
	ErrTimeout = errors.New("modem: command timed out")
	// ErrClosed: the engine was closed or the device failed (read error,
	// unplug); the engine is dead and must be replaced.
	ErrClosed = errors.New("modem: engine closed")
)

// DefaultTimeout is the per-command timeout when none is given.
const DefaultTimeout = 5 * time.Second

// maxInfoLines bounds the information text kept for one command.
const maxInfoLines = 256

// Reply is the outcome of a command: the information text lines received
// before the final result code, and that code.
type Reply struct {
	Info  []string
	Final Response
}

// Err maps a final result code other than OK, CONNECT and VCON to a
// sentinel error (ErrError, ErrBusy, ...); nil for OK, CONNECT and VCON.
func (r Reply) Err() error {
	switch r.Final.Result {
	case ResultOK, ResultConnect, ResultVCON:
		return nil
	case ResultBusy:
		return ErrBusy
	case ResultNoAnswer:
		return ErrNoAnswer
	case ResultNoDialtone:
		return ErrNoDialtone
	case ResultNoCarrier:
		return ErrNoCarrier
	}
	if r.Final.Line != "" {
		return fmt.Errorf("%w: %s", ErrCommand, r.Final.Line)
	}
	return ErrCommand
}

// Result errors, returned by Reply.Err and by Line.Dial. Those that say
// how a call failed are also of a hal/voice/call kind (errors.Is).
var (
	ErrCommand    = errors.New("modem: command failed")
	ErrBusy       = call.NewError("modem: busy", call.ErrBusy)
	ErrNoAnswer   = call.NewError("modem: no answer", call.ErrNoAnswer)
	ErrNoDialtone = call.NewError("modem: no dial tone", call.ErrLineDown)
	ErrNoCarrier  = call.NewError("modem: no carrier", call.ErrNoCarrier)
)

// EngineTimeout sets an Engine's default per-command timeout.
func EngineTimeout(d time.Duration) Option {
	return func(e *config) {
		if d > 0 {
			e.timeout = d
		}
	}
}

// EngineNumeric starts the engine in ATV0 (numeric result code) mode. The
// engine also follows V0/V1 in the commands it sends.
func EngineNumeric(on bool) Option { return func(e *config) { e.numeric = on } }

// EngineName names an Engine's device in errors and logs.
func EngineName(n string) Option { return func(e *config) { e.name = n } }

// CommandOption configures one command.
type CommandOption func(*request)

// WithTimeout sets this command's timeout.
func WithTimeout(d time.Duration) CommandOption {
	return func(r *request) {
		if d > 0 {
			r.timeout = d
		}
	}
}

type request struct {
	ctx     context.Context
	cmd     string
	timeout time.Duration
	reply   chan result
}

type result struct {
	r   Reply
	err error
}

// Engine runs AT commands on a device. One goroutine (the loop) owns the
// device's write side and all parsing state; a second goroutine reads; a
// third writes, so that a write blocked by flow control cannot stall the
// loop's timeouts. Command and Subscribe are safe for concurrent use;
// commands run one at a time in arrival order.
//
// The engine stops when Close is called or when reading the device fails
// (unplug); Done is closed then, and every pending and later Command
// returns ErrClosed.
type Engine struct {
	rw   io.ReadWriter
	cfg  config
	reqs chan *request

	lines    chan string
	readErr  error // written by reader before readDone is closed
	readDone chan struct{}
	writes   chan []byte
	written  chan error

	stop      chan struct{}
	stopOnce  sync.Once
	done      chan struct{} // closed when loop and writer exited
	err       error         // why the engine stopped; set before done closes
	wg        sync.WaitGroup
	subs      subscribers[Response]
	closeErr  error
	closeOnce sync.Once
}

// NewEngine starts an engine on rw. If rw is an io.Closer, Close closes it,
// which is what makes the reader goroutine return; otherwise the caller must
// make Read return (with an error) after Close, and the reader goroutine
// lives until then.
func NewEngine(rw io.ReadWriter, opts ...Option) *Engine {
	cfg := config{clk: clock.Real(), timeout: DefaultTimeout, name: "modem"}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		rw:       rw,
		cfg:      cfg,
		reqs:     make(chan *request),
		lines:    make(chan string, 64),
		readDone: make(chan struct{}),
		writes:   make(chan []byte),
		written:  make(chan error, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	_, isCloser := rw.(io.Closer)
	if isCloser {
		e.wg.Add(1)
	}
	go e.reader(isCloser)
	e.wg.Add(2)
	go e.writer()
	go e.loop()
	return e
}

// Command sends cmd (without the trailing CR) and waits for its final
// result code, the timeout, ctx, or the engine's end. Lines equal to cmd are
// taken for echo and skipped. A final result such as ERROR or BUSY is not an
// error here: inspect Reply.Final or call Reply.Err.
func (e *Engine) Command(ctx context.Context, cmd string, opts ...CommandOption) (Reply, error) {
	req := &request{ctx: ctx, cmd: cmd, timeout: e.cfg.timeout, reply: make(chan result, 1)}
	for _, o := range opts {
		o(req)
	}
	select {
	case e.reqs <- req:
	case <-ctx.Done():
		return Reply{}, fmt.Errorf("%s %q: %w", e.cfg.name, cmd, ctx.Err())
	case <-e.done:
		return Reply{}, fmt.Errorf("%s %q: %w", e.cfg.name, cmd, e.err)
	}
	res := <-req.reply // the loop always answers a request it took
	return res.r, res.err
}

// Subscribe returns a channel of unsolicited responses (RING, caller ID,
// and final result codes that arrive while no command is pending, such as
// NO CARRIER when the remote side hangs up) and a function that ends the
// subscription. The engine never blocks on a subscriber: when the buffer of
// size buf is full, the response is dropped and logged. The channel is
// closed when the engine stops or cancel is called.
func (e *Engine) Subscribe(buf int) (<-chan Response, func()) { return e.subs.add(buf) }

// Done is closed when the engine has stopped (Close, or a device error).
func (e *Engine) Done() <-chan struct{} { return e.done }

// Err reports why the engine stopped (wrapping ErrClosed); nil while it runs.
func (e *Engine) Err() error {
	select {
	case <-e.done:
		return e.err
	default:
		return nil
	}
}

// Close stops the engine, closes the device if it is an io.Closer, and waits
// for the engine's goroutines. It is idempotent and safe for concurrent use.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.stopOnce.Do(func() { close(e.stop) })
		if c, ok := e.rw.(io.Closer); ok {
			e.closeErr = c.Close()
		}
		e.wg.Wait()
	})
	return e.closeErr
}

func (e *Engine) reader(counted bool) {
	if counted {
		defer e.wg.Done()
	}
	defer close(e.readDone)
	var sp splitter
	buf := make([]byte, 512)
	for {
		n, err := e.rw.Read(buf)
		if n > 0 {
			stopped := false
			sp.feed(buf[:n], func(l string) {
				if stopped {
					return
				}
				select {
				case e.lines <- l:
				case <-e.stop:
					stopped = true
				}
			})
			if stopped {
				e.readErr = ErrClosed
				return
			}
		}
		if err != nil {
			e.readErr = err
			return
		}
	}
}

func (e *Engine) writer() {
	defer e.wg.Done()
	for {
		select {
		case <-e.stop:
			return
		case b := <-e.writes:
			_, err := e.rw.Write(b)
			e.written <- err // buffered 1; the loop sends one write at a time
		}
	}
}

func (e *Engine) loop() {
	defer e.wg.Done()
	numeric := e.cfg.numeric
	writing := false // a write is with the writer goroutine
	defer func() {
		e.subs.close()
		close(e.done)
	}()
	for {
		select {
		case <-e.stop:
			e.err = fmt.Errorf("%s: %w", e.cfg.name, ErrClosed)
			return
		case <-e.readDone:
			e.drainLines(numeric)
			e.err = fmt.Errorf("%s: read: %v: %w", e.cfg.name, e.readErr, ErrClosed)
			e.cfg.log.Debug("modem read ended", "device", e.cfg.name, "err", e.readErr)
			return
		case l := <-e.lines:
			e.unsolicited(ParseLine(l, numeric))
		case err := <-e.written:
			writing = false
			_ = err // a late write result of a command that already ended
		case req := <-e.reqs:
			// A modem answers V0/V1 in the new format already, so the
			// reply is parsed in it; the mode sticks if the command passed.
			mode := numeric
			n, setsV := verboseSetting(req.cmd)
			if setsV {
				mode = n
			}
			var res result
			res, writing = e.run(req, mode, writing)
			if setsV && res.err == nil && res.r.Final.Result == ResultOK {
				numeric = n
			}
			req.reply <- res
			if errors.Is(res.err, ErrClosed) {
				if e.err == nil {
					e.err = res.err
				}
				e.drainLines(numeric)
				return
			}
		}
	}
}

func (e *Engine) drainLines(numeric bool) {
	for {
		select {
		case l := <-e.lines:
			e.unsolicited(ParseLine(l, numeric))
		default:
			return
		}
	}
}

// run executes one command. It returns the result and whether a write is
// still outstanding with the writer goroutine.
func (e *Engine) run(req *request, numeric, writing bool) (result, bool) {
	fail := func(err error) result {
		return result{err: fmt.Errorf("%s %q: %w", e.cfg.name, req.cmd, err)}
	}
	if err := req.ctx.Err(); err != nil {
		return fail(err), writing
	}
	timer := e.cfg.clk.NewTimer(req.timeout)
	defer timer.Stop()
	data := []byte(req.cmd + "\r")
	sent := false
	var writes chan []byte
	if !writing {
		writes = e.writes
	}
	var reply Reply
	echo := strings.TrimSpace(req.cmd)
	for {
		select {
		case writes <- data:
			writes, writing, sent = nil, true, true
		case err := <-e.written:
			writing = false
			if !sent {
				writes = e.writes // an earlier command's write finished; send ours
				continue
			}
			if err != nil {
				return fail(fmt.Errorf("write: %v: %w", err, ErrClosed)), writing
			}
		case l := <-e.lines:
			r := ParseLine(l, numeric)
			if r.Line == "" {
				continue
			}
			if !sent {
				// Not written yet (an earlier write is stuck): this line
				// cannot be our reply; a late reply to a timed-out
				// command or an unsolicited code.
				e.unsolicited(r)
				continue
			}
			if len(reply.Info) == 0 && strings.EqualFold(r.Line, echo) {
				continue // echo
			}
			switch r.Kind {
			case KindFinal:
				reply.Final = r
				return result{r: reply}, writing
			case KindUnsolicited:
				e.unsolicited(r)
			default:
				if len(reply.Info) < maxInfoLines {
					reply.Info = append(reply.Info, r.Line)
				}
			}
		case <-timer.C():
			return fail(ErrTimeout), writing
		case <-req.ctx.Done():
			return fail(req.ctx.Err()), writing
		case <-e.readDone:
			return fail(fmt.Errorf("read: %v: %w", e.readErr, ErrClosed)), writing
		case <-e.stop:
			return fail(ErrClosed), writing
		}
	}
}

// unsolicited delivers r to every subscriber without blocking.
func (e *Engine) unsolicited(r Response) {
	if r.Line == "" {
		return
	}
	if r.Kind == KindInfo {
		e.cfg.log.Debug("modem: ignored line", "device", e.cfg.name, "line", r.Line)
		return
	}
	for range e.subs.publish(r) {
		e.cfg.log.Warn("modem: subscriber full, dropped", "device", e.cfg.name, "line", r.Line)
	}
}
