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
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"lifeline/hal/clock"
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
	Contact sip.Uri
	// UserAgent goes into User-Agent (requests) and Server (responses);
	// "" leaves them out.
	UserAgent string
	// Clock runs the timers (default clock.Real()).
	Clock clock.Clock
	// Logger gets debug logs of dropped datagrams and transaction ends.
	Logger *slog.Logger
	// T1, T2, T4 are RFC 3261's timer bases (0: 500 ms, 4 s, 5 s).
	T1, T2, T4 time.Duration
}

// UA is a SIP user agent on one UDP socket. Its methods are safe for
// concurrent use; see the package documentation for the model.
type UA struct {
	cfg Config
	log *slog.Logger

	handlers map[sip.RequestMethod]func(*ServerTx) // written before Serve only

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

type inbound struct {
	msg  sip.Message
	from netip.AddrPort
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
	return &UA{
		cfg: cfg, log: cfg.Logger,
		handlers: map[sip.RequestMethod]func(*ServerTx){},
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
func (ua *UA) Handle(method sip.RequestMethod, h func(*ServerTx)) {
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
func (ua *UA) Contact() sip.Uri { return ua.cfg.Contact }

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
	parser := sip.NewParser()
	buf := make([]byte, 65535)
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
		from, ok := addrPort(addr)
		if !ok {
			ua.log.Debug("sipua: datagram from a non-UDP address dropped", "from", addr)
			continue
		}
		msg, err := parseDatagram(parser, buf[:n], from)
		if err != nil {
			ua.log.Debug("sipua: bad datagram dropped", "from", from, "err", err)
			continue
		}
		if msg == nil {
			continue // keep-alive
		}
		select {
		case ua.in <- inbound{msg: msg, from: from}:
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

// parseDatagram parses one datagram from from; a keep-alive (blank) is
// (nil, nil).
func parseDatagram(parser *sip.Parser, data []byte, from netip.AddrPort) (sip.Message, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	msg, err := parser.ParseSIP(bytes.Clone(data))
	if err != nil {
		return nil, err
	}
	if err := checkMessage(msg); err != nil {
		return nil, err
	}
	msg.SetSource(from.String())
	msg.SetTransport("UDP")
	return msg, nil
}

// checkMessage rejects messages the transaction layer cannot match.
func checkMessage(m sip.Message) error {
	via := m.Via()
	if via == nil {
		return errors.New("no Via")
	}
	if m.CallID() == nil || m.From() == nil || m.To() == nil || m.CSeq() == nil {
		return errors.New("missing Call-ID, From, To or CSeq")
	}
	if r, ok := m.(*sip.Request); ok && string(r.Method) != string(r.CSeq().MethodName) && !r.IsAck() {
		return fmt.Errorf("CSeq method %s in a %s", r.CSeq().MethodName, r.Method)
	}
	return nil
}

// receive dispatches one message on the loop.
func (ua *UA) receive(in inbound) {
	switch m := in.msg.(type) {
	case *sip.Request:
		ua.receiveRequest(m, in.from)
	case *sip.Response:
		ua.receiveResponse(m)
	}
}

// send writes msg to dst.
func (ua *UA) send(msg sip.Message, dst netip.AddrPort) {
	if _, err := ua.cfg.Conn.WriteTo([]byte(msg.String()), net.UDPAddrFromAddrPort(dst)); err != nil {
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

// destination of a response per its top Via (RFC 3261 §18.2.2, RFC 3581).
func responseDest(res *sip.Response) (netip.AddrPort, error) {
	via := res.Via()
	if via == nil {
		return netip.AddrPort{}, fmt.Errorf("%w: response without Via", ErrNoRoute)
	}
	host := via.Host
	if r, ok := via.Params.Get("received"); ok && r != "" {
		host = r
	}
	port := via.Port
	if rp, ok := via.Params.Get("rport"); ok && rp != "" {
		var p int
		if _, err := fmt.Sscanf(rp, "%d", &p); err == nil && p > 0 && p < 65536 {
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
	routes := req.GetHeaders("Route")
	if len(routes) == 0 {
		return hostPort(req.Recipient.Host, req.Recipient.Port)
	}
	first, ok := routes[0].(*sip.RouteHeader)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%w: unparsed Route %q", ErrNoRoute, routes[0].Value())
	}
	if !first.Address.UriParams.Has("lr") {
		target := req.Recipient
		req.Recipient = *first.Address.Clone()
		req.RemoveHeader("Route")
		for _, r := range routes[1:] {
			req.AppendHeader(r)
		}
		req.AppendHeader(&sip.RouteHeader{Address: target})
		return hostPort(req.Recipient.Host, req.Recipient.Port)
	}
	return hostPort(first.Address.Host, first.Address.Port)
}

// newBranch is an RFC 3261 branch: the magic cookie and 16 random
// characters.
func newBranch() string { return sip.RFC3261BranchMagicCookie + "." + sip.GenerateTagN(16) }

// via is the UA's Via for a new client transaction.
func (ua *UA) via(branch string) *sip.ViaHeader {
	return &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP",
		Host: ua.cfg.Contact.Host, Port: ua.cfg.Contact.Port,
		Params: sip.HeaderParams{{K: "branch", V: branch}, {K: "rport", V: ""}}}
}

// appendHeaders appends a caller's extra headers to m (nil ones skipped)
// and, when there is a body and they name no Content-Type, Content-Type:
// application/sdp.
func appendHeaders(m sip.Message, hdrs []sip.Header, body []byte) {
	hasCT := false
	for _, h := range hdrs {
		if h == nil {
			continue
		}
		if strings.EqualFold(h.Name(), "Content-Type") {
			hasCT = true
		}
		m.AppendHeader(h)
	}
	if len(body) > 0 && !hasCT {
		m.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
}

func (ua *UA) contactHeader() *sip.ContactHeader {
	return &sip.ContactHeader{Address: *ua.cfg.Contact.Clone()}
}
