package sipua

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/sip"
)

// Errors.
var (
	// ErrConfig: New was given an unusable Config.
	ErrConfig = errors.New("sipua: bad configuration")
	// ErrClosed: Serve has returned (or is draining and refuses new work).
	ErrClosed = errors.New("sipua: user agent closed")
	// ErrTimeout: a client transaction got no final response (Timer B or F).
	ErrTimeout = errors.New("sipua: transaction timed out")
	// ErrNoRoute: the next hop of a request is not a numeric IP address.
	ErrNoRoute = errors.New("sipua: no route to next hop")
	// ErrFinal: the server transaction already sent its final response.
	ErrFinal = errors.New("sipua: final response already sent")
	// ErrDialogEnded: the dialog has ended (BYE sent or received).
	ErrDialogEnded = errors.New("sipua: dialog ended")
	// ErrRunning: Serve was called twice.
	ErrRunning = errors.New("sipua: already serving")
)

// Config is what New needs. Conn and Contact are required.
type Config struct {
	// Conn is the UDP socket. The UA owns it from Serve on and closes it
	// when Serve returns.
	Conn net.PacketConn
	// Contact is this UA's address: the Contact header of dialogs and the
	// sent-by of Via. Its host should be a numeric address the peers reach.
	Contact sip.URI
	// UserAgent goes into User-Agent (requests) and Server (responses);
	// "" leaves them out.
	UserAgent string
	// Clock runs the timers (default clock.Real()).
	Clock clock.Clock
	// Logger gets debug logs of dropped datagrams and transaction ends.
	Logger *slog.Logger
	// T1, T2, T4 are RFC 3261's timer bases (0: 500 ms, 4 s, 5 s).
	T1, T2, T4 time.Duration
	// MaxTransactions caps the server transactions alive at once (0:
	// 1024). A request outside a dialog that would start one more is
	// answered 503 without a transaction, and only if the answer is no
	// longer than the request; requests in a dialog still get theirs.
	MaxTransactions int
	// MaxDatagram is the largest datagram the UA reads (0: 8192 bytes);
	// larger ones are dropped.
	MaxDatagram int
	// Trusted tells the sources that may draw more bytes than they send
	// (the proxy, authenticated phones). To any other, a transaction sends
	// at most as many bytes as the source sent it (the request and its
	// retransmissions): provisional responses only in answer to a
	// retransmission, and no response that would exceed the bytes
	// received, so a spoofed request reflects at most 1:1. nil trusts
	// every source. It is called on the loop and must not block.
	Trusted func(src netip.AddrPort) bool
}

// UA is a SIP user agent on one UDP socket. Its methods are safe for
// concurrent use; see the package documentation for the model.
type UA struct {
	cfg Config
	log *slog.Logger

	handlers map[sip.Method]func(*ServerTx) // written before Serve only

	cmds chan command    // closures for the loop
	in   chan inbound    // parsed datagrams for the loop
	quit chan struct{}   // closed when the loop has ended
	mu   sync.Mutex      // guards serving
	wg   sync.WaitGroup  // handler goroutines
	hctx context.Context // handlers' context: Serve's

	serving bool

	// Loop-owned state.
	draining bool
	servers  map[string]*ServerTx
	clients  map[string]*clientTx
	dialogs  map[string]*Dialog
	timers   []*timer
	tm       clock.Timer
	armed    bool
	armedAt  time.Time
}

type command struct {
	fn   func()
	done chan struct{}
}

// inbound is a datagram parsed and checked by the reader: the message
// and the header values every transaction needs, parsed once.
type inbound struct {
	req  *sip.Request // or
	res  *sip.Response
	hdr  sip.Header
	via  sip.Via // the top one
	to   sip.Address
	from sip.Address
	cid  string
	cseq sip.CSeq
	src  netip.AddrPort
	size int // bytes of the datagram
}

// New checks cfg and returns a UA; nothing runs until Serve.
func New(cfg Config) (*UA, error) {
	if cfg.Conn == nil {
		return nil, fmt.Errorf("%w: Conn is required", ErrConfig)
	}
	if cfg.Contact.Host == "" {
		return nil, fmt.Errorf("%w: Contact needs a host", ErrConfig)
	}
	if cfg.Contact.Scheme == "" {
		cfg.Contact.Scheme = "sip"
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.T1 <= 0 {
		cfg.T1 = 500 * time.Millisecond
	}
	if cfg.T2 <= 0 {
		cfg.T2 = 4 * time.Second
	}
	if cfg.T4 <= 0 {
		cfg.T4 = 5 * time.Second
	}
	if cfg.MaxTransactions <= 0 {
		cfg.MaxTransactions = 1024
	}
	if cfg.MaxDatagram <= 0 {
		cfg.MaxDatagram = 8192
	}
	return &UA{
		cfg: cfg, log: cfg.Logger,
		handlers: map[sip.Method]func(*ServerTx){},
		cmds:     make(chan command),
		in:       make(chan inbound, 16),
		quit:     make(chan struct{}),
		servers:  map[string]*ServerTx{},
		clients:  map[string]*clientTx{},
		dialogs:  map[string]*Dialog{},
	}, nil
}

// Handle sets the handler for requests of method that start a server
// transaction (INVITE outside a dialog, OPTIONS, MESSAGE, ...). Call it
// before Serve. The handler runs in its own goroutine, owned by the UA;
// it must answer with ServerTx.Respond and return once its transaction
// context ends. ACK, CANCEL and BYE are handled by the UA.
func (ua *UA) Handle(method sip.Method, h func(*ServerTx)) {
	ua.mu.Lock()
	defer ua.mu.Unlock()
	ua.handlers[method] = h
}

// Go runs f in a goroutine owned by the UA, as a handler runs: its
// context is Serve's, and Serve, once that ends, waits for f to return
// while it still carries f's messages (a BYE on the way out gets its
// answer). Use it for calls the UA places (Invite) so that they end with
// Serve. It returns ErrClosed once Serve's context has ended.
func (ua *UA) Go(f func(ctx context.Context)) error {
	var err error
	if derr := ua.do(func() {
		if ua.draining {
			err = ErrClosed
			return
		}
		ua.wg.Add(1)
		go func() { // ends when f returns
			defer ua.wg.Done()
			f(ua.hctx)
		}()
	}); derr != nil {
		return derr
	}
	return err
}

// Contact returns the UA's Contact URI.
func (ua *UA) Contact() sip.URI { return ua.cfg.Contact }

// Serve runs the UA until ctx ends; then it answers new requests with 503,
// waits for the handlers to return, closes Conn and returns nil once every
// goroutine it started has exited. Serve may be called once.
func (ua *UA) Serve(ctx context.Context) error {
	ua.mu.Lock()
	if ua.serving {
		ua.mu.Unlock()
		return ErrRunning
	}
	ua.serving = true
	ua.hctx = ctx
	ua.mu.Unlock()

	ua.tm = ua.cfg.Clock.NewTimer(time.Hour)
	ua.tm.Stop()
	readerDone := make(chan struct{})
	go func() { // ends when Conn is closed below
		defer close(readerDone)
		ua.read()
	}()
	handlersDone := make(chan struct{})
	ctxDone := ctx.Done()
	for {
		ua.settle()
		select {
		case m := <-ua.in:
			ua.receive(m)
		case c := <-ua.cmds:
			c.fn()
			close(c.done)
		case <-ua.tm.C():
			ua.armed = false
		case <-ctxDone:
			ctxDone = nil
			ua.draining = true
			go func() { // ends when the last handler returns
				ua.wg.Wait()
				close(handlersDone)
			}()
			continue
		case <-handlersDone:
		}
		if ua.draining && isClosed(handlersDone) {
			break
		}
	}
	ua.tm.Stop()
	for _, d := range ua.dialogs {
		d.end()
	}
	for _, ct := range ua.clients {
		if !isClosed(ct.done) {
			ct.end(ErrClosed)
		}
	}
	close(ua.quit)
	ua.cfg.Conn.Close()
	<-readerDone
	return nil
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// do runs fn on the loop and waits for it.
func (ua *UA) do(fn func()) error {
	c := command{fn: fn, done: make(chan struct{})}
	select {
	case ua.cmds <- c:
	case <-ua.quit:
		return ErrClosed
	}
	<-c.done
	return nil
}

// read parses datagrams until Conn is closed.
func (ua *UA) read() {
	buf := make([]byte, ua.cfg.MaxDatagram+1) // one more: a full buffer is a datagram too big
	for {
		n, addr, err := ua.cfg.Conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-ua.quit:
				return
			default:
			}
			ua.log.Debug("sipua: read", "err", err)
			if n == 0 {
				continue
			}
		}
		if n > ua.cfg.MaxDatagram {
			ua.log.Debug("sipua: datagram too big dropped", "from", addr, "max", ua.cfg.MaxDatagram)
			continue
		}
		from, ok := addrPort(addr)
		if !ok {
			ua.log.Debug("sipua: datagram from a non-UDP address dropped", "from", addr)
			continue
		}
		in, err := parseDatagram(buf[:n], from)
		if err != nil {
			ua.log.Debug("sipua: bad datagram dropped", "from", from, "err", err)
			continue
		}
		if in == nil {
			continue // keep-alive
		}
		select {
		case ua.in <- *in:
		case <-ua.quit:
			return
		}
	}
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	switch a := a.(type) {
	case *net.UDPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	ap, err := netip.ParseAddrPort(a.String())
	return ap, err == nil
}

// parseDatagram parses one datagram from src; a keep-alive (blank) is
// (nil, nil). It rejects messages the transaction layer cannot match.
func parseDatagram(data []byte, src netip.AddrPort) (*inbound, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	m, err := sip.Parse(data)
	if err != nil {
		return nil, err
	}
	in := &inbound{hdr: m.Headers(), src: src, size: len(data)}
	if in.via, err = in.hdr.TopVia(); err != nil {
		return nil, err
	}
	if in.from, err = in.hdr.Address("From"); err != nil {
		return nil, err
	}
	if in.to, err = in.hdr.Address("To"); err != nil {
		return nil, err
	}
	if in.cseq, err = in.hdr.CSeq(); err != nil {
		return nil, err
	}
	if in.cid = in.hdr.CallID(); in.cid == "" {
		return nil, errors.New("no Call-ID")
	}
	switch m := m.(type) {
	case *sip.Request:
		if m.Method != in.cseq.Method && m.Method != sip.ACK {
			return nil, fmt.Errorf("CSeq method %s in a %s", in.cseq.Method, m.Method)
		}
		in.req = m
	case *sip.Response:
		in.res = m
	}
	return in, nil
}

// receive dispatches one message on the loop.
func (ua *UA) receive(in inbound) {
	if in.req != nil {
		ua.receiveRequest(&in)
	} else {
		ua.receiveResponse(&in)
	}
}

// send writes a message's bytes to dst.
func (ua *UA) send(b []byte, dst netip.AddrPort) {
	if _, err := ua.cfg.Conn.WriteTo(b, net.UDPAddrFromAddrPort(dst)); err != nil {
		ua.log.Debug("sipua: send", "to", dst, "err", err)
	}
}

// timer is one deadline on the loop; fn runs on the loop with the deadline.
type timer struct {
	at   time.Time
	fn   func(at time.Time)
	dead bool
}

func (t *timer) stop() {
	if t != nil {
		t.dead = true
	}
}

// at schedules fn at t and arms the clock if t is the earliest deadline,
// so the clock is armed before the caller sends anything.
func (ua *UA) at(t time.Time, fn func(time.Time)) *timer {
	tm := &timer{at: t, fn: fn}
	i := sort.Search(len(ua.timers), func(i int) bool { return ua.timers[i].at.After(t) })
	ua.timers = slices.Insert(ua.timers, i, tm) // sorted by deadline, FIFO among equals
	if !ua.armed || t.Before(ua.armedAt) {
		ua.arm(t, ua.cfg.Clock.Now())
	}
	return tm
}

func (ua *UA) after(d time.Duration, fn func(time.Time)) *timer {
	return ua.at(ua.cfg.Clock.Now().Add(d), fn)
}

func (ua *UA) arm(t, now time.Time) {
	ua.tm.Stop()
	ua.tm.Reset(t.Sub(now))
	ua.armed, ua.armedAt = true, t
}

// settle runs the due timers and arms the clock for the next one. If the
// clock moved while it armed (a fake clock advanced by a test), it runs
// the timers now due and re-arms, a few times at most: a real clock moves
// by nanoseconds, a fake one by the step of its Advance.
func (ua *UA) settle() {
	now := ua.cfg.Clock.Now()
	for range 4 {
		for {
			for len(ua.timers) > 0 && ua.timers[0].dead { // stopped ones leave at the front
				ua.timers[0] = nil
				ua.timers = ua.timers[1:]
			}
			if len(ua.timers) == 0 || ua.timers[0].at.After(now) {
				break
			}
			t := ua.timers[0]
			ua.timers[0] = nil
			ua.timers = ua.timers[1:]
			t.dead = true
			t.fn(t.at)
		}
		if len(ua.timers) == 0 {
			ua.tm.Stop()
			ua.armed = false
			return
		}
		ua.arm(ua.timers[0].at, now)
		now2 := ua.cfg.Clock.Now()
		if now2.Equal(now) {
			return
		}
		now = now2
	}
}

// responseDest is where a response goes per its top Via (RFC 3261
// §18.2.2, RFC 3581): received/rport when set, else the sent-by.
func responseDest(via sip.Via) (netip.AddrPort, error) {
	host := via.Host
	if r, ok := via.Params.Get("received"); ok && r != "" {
		host = r
	}
	port := via.Port
	if rp, ok := via.Params.Get("rport"); ok && rp != "" {
		if p, err := strconv.Atoi(rp); err == nil && p > 0 && p < 65536 {
			port = p
		}
	}
	return hostPort(host, port)
}

func hostPort(host string, port int) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: host %q is not an IP address", ErrNoRoute, host)
	}
	if port <= 0 {
		port = 5060
	}
	if port > 65535 {
		return netip.AddrPort{}, fmt.Errorf("%w: port %d", ErrNoRoute, port)
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(port)), nil
}

// nextHop applies RFC 3261 §8.1.2 / §12.2.1.1 to req: with a first Route
// without ;lr (strict), the Request-URI moves to the end of the Route set
// and the route becomes the Request-URI. It returns where to send req.
func nextHop(req *sip.Request) (netip.AddrPort, error) {
	routes, err := req.Header.Addresses("Route")
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: %v", ErrNoRoute, err)
	}
	if len(routes) == 0 {
		return hostPort(req.URI.Host, req.URI.Port)
	}
	first := routes[0]
	if !first.URI.Params.Has("lr") {
		target := req.URI
		req.URI = first.URI.Clone()
		req.Header.Del("Route")
		for _, r := range routes[1:] {
			req.Header.Add("Route", r.String())
		}
		req.Header.Add("Route", sip.Address{URI: target}.String())
		return hostPort(req.URI.Host, req.URI.Port)
	}
	return hostPort(first.URI.Host, first.URI.Port)
}

// via is the UA's Via for a new client transaction.
func (ua *UA) via(branch string) string {
	return sip.Via{Transport: "UDP", Host: ua.cfg.Contact.Host, Port: ua.cfg.Contact.Port,
		Params: sip.Params{{Name: "branch", Value: branch}, {Name: "rport"}}}.String()
}

// appendHeaders appends a caller's extra fields to h and, when there is a
// body and they name no Content-Type, Content-Type: application/sdp.
func appendHeaders(h *sip.Header, extra []sip.Field, body []byte) {
	hasCT := false
	for _, f := range extra {
		if f.Name == "" {
			continue
		}
		if sip.CanonicalName(f.Name) == "Content-Type" {
			hasCT = true
		}
		h.Add(f.Name, f.Value)
	}
	if len(body) > 0 && !hasCT {
		h.Add("Content-Type", "application/sdp")
	}
}

func (ua *UA) contactValue() string {
	return sip.Address{URI: ua.cfg.Contact}.String()
}
