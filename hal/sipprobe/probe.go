// Package sipprobe tells whether the SIP provider is alive by sending it
// SIP OPTIONS requests over UDP or TCP, from the WAN interface, and
// reports one Result per probe.
//
// Any SIP response counts as alive — 401, 403, 404, 405, 407 and 501
// included — because it proves the provider's SIP stack received and
// answered the request. Responses are matched to the request by top Via
// branch, Call-ID and CSeq; stale and foreign responses are ignored.
// Messages are built and parsed by lifeline/hal/sip, the layer the
// gateway's user agent shares.
//
// Run probes on an adaptive schedule: a slow steady interval while the
// provider answers, fast re-probes once a probe is lost, so a dead provider
// is confirmed within about two seconds while a healthy one sees one
// request per interval. A consumer that needs N losses in a row counts
// consecutive Results with OK false.
package sipprobe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netns"

	"lifeline/hal/clock"
	"lifeline/hal/sip"
)

// Sentinel errors carried (wrapped) in Result.Err.
var (
	// ErrTimeout: no matching response within the probe timeout.
	ErrTimeout = errors.New("sipprobe: no response")
	// ErrRefused: the provider's host refused (ICMP port unreachable / RST).
	ErrRefused = errors.New("sipprobe: connection refused")
	// ErrResolve: the provider's name did not resolve.
	ErrResolve = errors.New("sipprobe: cannot resolve provider")
	// ErrBindDevice: the socket could not be bound to the WAN interface
	// (missing interface, or not permitted).
	ErrBindDevice = errors.New("sipprobe: cannot bind to interface")
	// ErrTransport: sending or receiving failed for another reason.
	ErrTransport = errors.New("sipprobe: transport error")
	// ErrTarget: the Target is unusable (no host, unknown transport).
	ErrTarget = errors.New("sipprobe: bad target")
	// ErrRunning is returned by Run when the Prober is already running.
	ErrRunning = errors.New("sipprobe: prober already running")
)

// Defaults.
const (
	DefaultPort         = 5060
	DefaultInterval     = time.Second            // steady probe rate while healthy
	DefaultFastInterval = 200 * time.Millisecond // start-to-start after a loss
	DefaultTimeout      = 300 * time.Millisecond // per probe, DNS and connect included
	DefaultFastProbes   = 4                      // fast re-probes after the first loss
	DefaultTransmits    = 3                      // UDP sends per probe (retransmissions)
)

// Target names the provider and the WAN interface the probe must leave by.
type Target struct {
	Host      string // name or IP literal (registrar or outbound proxy)
	Port      int    // 0: SRV (_sip._udp / _sip._tcp) if present, else 5060
	Transport string // "udp" (default) or "tcp"
	Interface string // WAN interface for SO_BINDTODEVICE; "" = routing decides
}

func (t Target) String() string {
	tr := t.Transport
	if tr == "" {
		tr = "udp"
	}
	if t.Port == 0 && !isIPLiteral(t.Host) {
		return fmt.Sprintf("%s (SRV)/%s", t.Host, tr)
	}
	return fmt.Sprintf("%s:%d/%s", t.Host, t.Port, tr)
}

// Result is the outcome of one probe (one OPTIONS transaction).
type Result struct {
	At     time.Time      // when the probe started (injected clock)
	OK     bool           // a matching SIP response arrived
	Status int            // its status code (0 when !OK)
	RTT    time.Duration  // first send to response (0 when !OK)
	Remote netip.AddrPort // address probed (zero if resolution failed)
	Err    error          // why !OK; wraps one of the sentinels
}

// Conn is the part of a connected socket a probe uses; net.Conn
// implements it. Read returns one datagram (UDP) or stream bytes (TCP);
// Close must unblock a pending Read.
type Conn interface {
	Read(b []byte) (int, error)
	Write(b []byte) (int, error)
	Close() error
	LocalAddr() net.Addr
}

// DialFunc opens a Conn to address over network ("udp" or "tcp").
type DialFunc func(ctx context.Context, network, address string) (Conn, error)

// Option configures a Prober.
type Option func(*Prober)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(p *Prober) { p.log = l } }

// WithClock sets the clock for timeouts, RTT and the schedule (default real).
func WithClock(c clock.Clock) Option { return func(p *Prober) { p.clk = c } }

// WithResolver sets the DNS resolver (default net.DefaultResolver).
func WithResolver(r Resolver) Option { return func(p *Prober) { p.res = r } }

// WithNetns creates the probe sockets inside network namespace ns (the
// handle must stay open while probing). Tests use it; the daemon normally
// runs in the WAN's namespace already.
func WithNetns(ns netns.NsHandle) Option { return func(p *Prober) { p.ns = ns } }

// WithDialer replaces the socket layer, e.g. with a simulated network.
// Target.Interface and WithNetns are then the dialer's business.
func WithDialer(d DialFunc) Option { return func(p *Prober) { p.dial = d } }

// WithInterval sets the steady interval between probe starts.
func WithInterval(d time.Duration) Option { return positive(d, func(p *Prober) { p.interval = d }) }

// WithFastInterval sets the start-to-start interval of re-probes after a
// loss (a re-probe never starts before the lost probe has ended).
func WithFastInterval(d time.Duration) Option {
	return func(p *Prober) {
		if d >= 0 {
			p.fastInterval = d
		}
	}
}

// WithTimeout sets how long one probe waits for its response.
func WithTimeout(d time.Duration) Option { return positive(d, func(p *Prober) { p.timeout = d }) }

// WithFastProbes sets how many fast re-probes follow a first loss before
// the schedule falls back to the steady interval (it stays there while the
// provider stays dead, and speeds up again after the next success).
func WithFastProbes(n int) Option {
	return func(p *Prober) {
		if n >= 0 {
			p.fastProbes = n
		}
	}
}

// WithTransmits sets how many times a UDP probe sends its request within
// the timeout (RFC 3261 retransmission of the same transaction), so that a
// single lost datagram does not lose the probe. TCP always sends once.
func WithTransmits(n int) Option {
	return positive(time.Duration(n), func(p *Prober) { p.transmits = n })
}

func positive(d time.Duration, f Option) Option {
	return func(p *Prober) {
		if d > 0 {
			f(p)
		}
	}
}

// Prober probes one Target. Probe is safe for concurrent use; Run runs
// at most once at a time. mu guards cache and running.
type Prober struct {
	target Target
	log    *slog.Logger
	clk    clock.Clock
	res    Resolver
	ns     netns.NsHandle
	dial   DialFunc

	interval, fastInterval, timeout time.Duration
	fastProbes, transmits           int

	cseq atomic.Uint32

	mu      sync.Mutex
	cache   resolved
	running bool
}

// New returns a Prober for t. It opens nothing until Probe or Run.
func New(t Target, opts ...Option) *Prober {
	t.Transport = strings.ToLower(t.Transport)
	if t.Transport == "" {
		t.Transport = "udp"
	}
	p := &Prober{
		target: t, log: slog.New(slog.DiscardHandler), clk: clock.Real(), res: net.DefaultResolver,
		ns: netns.None(), interval: DefaultInterval, fastInterval: DefaultFastInterval,
		timeout: DefaultTimeout, fastProbes: DefaultFastProbes, transmits: DefaultTransmits,
	}
	for _, o := range opts {
		o(p)
	}
	if p.dial == nil {
		p.dial = func(ctx context.Context, network, address string) (Conn, error) {
			return dialNet(ctx, t.Interface, p.ns, network, address)
		}
	}
	p.log = p.log.With("provider", t.String())
	return p
}

func (p *Prober) network() string {
	if p.target.Transport == "tcp" {
		return "tcp"
	}
	return "udp"
}

// Probe sends one OPTIONS request and waits for its response, at most the
// timeout (on the injected clock; DNS and TCP connect included). It
// returns when done or when ctx is cancelled, after every goroutine it
// started has exited.
func (p *Prober) Probe(ctx context.Context) Result {
	start := p.clk.Now()
	res := Result{At: start}
	pctx, stop := withClockTimeout(ctx, p.clk, p.timeout)
	defer stop()
	fail := func(err error) Result {
		if errors.Is(context.Cause(pctx), ErrTimeout) {
			err = fmt.Errorf("%w from %s within %v", ErrTimeout, p.target, p.timeout)
		}
		res.Err = err
		return res
	}

	if p.target.Host == "" || (p.target.Transport != "udp" && p.target.Transport != "tcp") {
		res.Err = fmt.Errorf("%w: %s (host required, transport udp or tcp)", ErrTarget, p.target)
		return res
	}
	addr, err := p.resolve(pctx)
	if err != nil {
		return fail(err)
	}
	res.Remote = addr
	c, err := p.dial(pctx, p.network(), addr.String())
	if err != nil {
		return fail(classify("dial "+addr.String(), err))
	}
	defer c.Close()
	unblock := context.AfterFunc(pctx, func() { c.Close() })
	defer unblock()

	local, _ := netip.ParseAddrPort(c.LocalAddr().String())
	ruriPort := p.target.Port
	req := newRequest(strings.Trim(p.target.Host, "[]"), ruriPort, p.network(), local, p.cseq.Add(1))

	type reply struct {
		resp *sip.Response
		at   time.Time
		err  error
	}
	replies := make(chan reply, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // reader: owned by this Probe, stopped by closing c
		defer wg.Done()
		r := reply{}
		r.resp, r.err = p.readMatching(c, req)
		r.at = p.clk.Now()
		replies <- r
	}()
	defer wg.Wait()
	defer c.Close() // runs before wg.Wait

	// Timers are armed before the write they follow, so a simulated
	// network that reacts to the write sees every timer already pending.
	var (
		rt   clock.Timer
		rtC  <-chan time.Time
		left int
	)
	every := p.timeout / time.Duration(max(p.transmits, 1))
	if p.network() == "udp" && p.transmits > 1 {
		rt = p.clk.NewTimer(every)
		defer rt.Stop()
		rtC, left = rt.C(), p.transmits-1
	}
	sent := p.clk.Now()
	if _, err := c.Write(req.wire); err != nil {
		return fail(classify("send to "+addr.String(), err))
	}
	for {
		select {
		case r := <-replies:
			return p.finish(res, r.resp, r.at.Sub(sent), r.err, pctx, fail)
		case <-rtC:
			if left--; left > 0 {
				rt.Reset(every)
			} else {
				rtC = nil
			}
			if _, err := c.Write(req.wire); err != nil {
				p.log.Debug("retransmit failed", "err", err)
			}
		case <-pctx.Done():
			return fail(pctx.Err())
		}
	}
}

func (p *Prober) finish(res Result, resp *sip.Response, rtt time.Duration, err error, pctx context.Context, fail func(error) Result) Result {
	if err != nil {
		if pctx.Err() != nil {
			return fail(pctx.Err())
		}
		return fail(classify("receive from "+res.Remote.String(), err))
	}
	res.OK, res.Status, res.RTT = true, resp.Status, rtt
	return res
}

// readMatching reads messages until one answers req. Unparseable,
// stale and foreign messages are logged and skipped.
func (p *Prober) readMatching(c Conn, req request) (*sip.Response, error) {
	var next func() ([]byte, error)
	if p.network() == "tcp" {
		br := bufio.NewReaderSize(c, 4096)
		next = func() ([]byte, error) { return sip.ReadStream(br) }
	} else {
		buf := make([]byte, sip.MaxMessage)
		next = func() ([]byte, error) {
			n, err := c.Read(buf)
			return buf[:n], err
		}
	}
	for {
		b, err := next()
		if err != nil {
			return nil, err
		}
		m, err := sip.Parse(b)
		if err != nil {
			p.log.Debug("ignored message", "err", err)
			if p.network() == "tcp" {
				return nil, err // framing is lost on a stream
			}
			continue
		}
		resp, ok := m.(*sip.Response)
		if !ok {
			p.log.Debug("ignored a request", "method", m.(*sip.Request).Method)
			continue
		}
		if !req.matches(resp) {
			p.log.Debug("ignored stale or foreign response", "status", resp.Status, "call-id", resp.CallID())
			continue
		}
		if resp.Status < 200 {
			// A provisional response (100 Trying) already proves life.
			p.log.Debug("provisional response", "status", resp.Status)
		}
		return resp, nil
	}
}

// classify wraps a socket error in the matching sentinel.
func classify(what string, err error) error {
	switch {
	case errors.Is(err, ErrBindDevice):
		return err
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("%w: %s: %w", ErrRefused, what, err)
	default:
		return fmt.Errorf("%w: %s: %w", ErrTransport, what, err)
	}
}

// withClockTimeout returns a context cancelled with cause ErrTimeout when
// clk reaches now+d. stop releases the timer and waits for its goroutine.
func withClockTimeout(parent context.Context, clk clock.Clock, d time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	t := clk.NewTimer(d)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-t.C():
			cancel(ErrTimeout)
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		t.Stop()
		cancel(context.Canceled)
		<-done
	}
}
