package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/gateway/dialplan"
	"lifeline/hal/gateway/digest"
	"lifeline/hal/gateway/guard"
	"lifeline/hal/gateway/sipua"
	"lifeline/hal/sip"
	"lifeline/hal/voice"
	"lifeline/hal/voice/bridge"
	"lifeline/hal/voice/call"
	"lifeline/hal/voice/sdp"
)

// AuthRealm is the realm of the gateway's digest challenges.
const AuthRealm = "lifeline"

// DefaultPrefix is stripped from dialled numbers: the PSTN access code of
// FXO adapters such as the Grandstream HT503.
const DefaultPrefix = "*00"

// Errors.
var (
	ErrConfig  = errors.New("gateway: bad configuration")
	ErrRunning = errors.New("gateway: already running")
)

// Line is what the gateway needs of the line to place calls: any
// call.Line (an analog modem's (*modem.Line).Calls()) implements it.
type Line interface {
	VoiceCall(ctx context.Context, number string, opts call.Options, fn func(context.Context, *call.Call) error) error
}

var _ Line = call.Line(nil)

// Config is what New needs. Line, Conn and RTPAddr are required.
type Config struct {
	// Line carries the calls. One call at a time: a second INVITE while
	// the line is busy gets 486.
	Line Line
	// Conn is the SIP socket (UDP); the gateway owns it from Run on and
	// closes it when Run returns.
	Conn net.PacketConn
	// RTPAddr is the local address for the calls' RTP sockets and the SDP
	// c= line, and the host of the Contact header; it must be a concrete
	// address the phones (or Kamailio) reach.
	RTPAddr netip.Addr
	// Prefix is stripped from the called number when present; "" means
	// DefaultPrefix. Set it to "-" to strip nothing.
	Prefix string
	// JitterDepth and JitterPrefill go to the bridge (0: its defaults).
	JitterDepth, JitterPrefill int
	// ByeTimeout bounds the BYE the gateway sends (default 5 s).
	ByeTimeout time.Duration
	Clock      clock.Clock
	Logger     *slog.Logger
	// UserAgent is the User-Agent header (default "lifeline").
	UserAgent string
	// Incoming, when set, is the SIP URI (numeric host) that calls ringing
	// on the line are offered to, with the caller's number in From; Line
	// must then also be an IncomingLine. "" leaves rings alone.
	Incoming string
	// Emergency numbers (as dialled, prefix stripped) take the line from
	// a call that is not an emergency call: that call is ended (BYE to
	// its phone, the line hung up) and the emergency number dialled.
	Emergency []string
	// Numbering turns E.164 numbers ("+4930…") into what the line dials;
	// its Prefix is ignored (Prefix above is stripped).
	Numbering dialplan.Numbering
	// Allow and Block are the dial plan's patterns (dialplan.Plan): with
	// Emergency they decide which numbers may go out; a number they keep
	// in gets 403. nil Block blocks nothing.
	Allow, Block []string
	// Sources, when not nil, are who may send SIP to the gateway (the
	// proxy): anyone else gets one 403 at most (hal/gateway/guard). nil
	// lets anyone in.
	Sources []netip.Prefix
	// CallsPerMinute bounds the calls dialled in any 60 s (emergency calls
	// are neither counted nor refused); beyond it an INVITE gets 503 with
	// Retry-After. 0: no bound.
	CallsPerMinute int
	// MaxDuration ends a call that has lasted this long since the line
	// answered (BYE to the phone, the line hung up); 0: no bound.
	MaxDuration time.Duration
	// AuthUser and AuthPassword, when set, make every INVITE but one to
	// an Emergency number authenticate with SIP digest (RFC 3261 §22.4,
	// MD5, realm AuthRealm): 401 with a challenge without credentials or
	// with an expired nonce, 403 with wrong ones.
	AuthUser, AuthPassword string
	// MediaNetworks are the networks the phones' SDP may name for their
	// RTP besides the SIP request's source; none means the networks the
	// host is directly attached to (see checkMediaAddr).
	MediaNetworks []netip.Prefix
	// RTPTimeout ends a call when no RTP has come from the phone for this
	// long (a BYE to the phone, the line hung up), unless the call is on
	// hold; 0 means DefaultRTPTimeout, negative never.
	RTPTimeout time.Duration
	// OnCallsChanged, when set, is called after a call starts or ends
	// (Calls changed), from the call's goroutine; it must not block.
	OnCallsChanged func()
}

// Gateway answers INVITEs on Conn and bridges each call onto Line. Run
// serves; each INVITE is handled in a goroutine of the SIP user agent
// (hal/gateway/sipua), which waits for it, and ends with Run's context.
// All methods are safe for concurrent use.
type Gateway struct {
	cfg     Config
	log     *slog.Logger
	contact sip.URI

	incomingTarget sip.URI      // cfg.Incoming parsed
	incomingLine   IncomingLine // nil: no calls from the line

	numbering dialplan.Numbering
	plan      dialplan.Plan
	auth      *digest.Server // nil: no authentication

	mu      sync.Mutex // guards running, runCtx, active, users and dialled
	running bool
	runCtx  context.Context // Run's; its error says the gateway is stopping
	active  map[string]CallStatus
	users   map[*lineUser]struct{} // calls holding or setting up the line
	dialled []time.Time            // when the calls of the last minute were admitted, oldest first
}

// lineUser is a call holding the line, or setting it up; an emergency
// call pre-empts the others (preempt).
type lineUser struct {
	emergency bool
	cancel    context.CancelFunc // ends the call
	released  chan struct{}      // closed once its VoiceCall or VoiceAnswer returned
}

// useLine registers a call that is about to use the line; release, once
// its VoiceCall or VoiceAnswer has returned, unregisters it.
func (g *Gateway) useLine(emergency bool, cancel context.CancelFunc) (u *lineUser, release func()) {
	u = &lineUser{emergency: emergency, cancel: cancel, released: make(chan struct{})}
	g.mu.Lock()
	g.users[u] = struct{}{}
	g.mu.Unlock()
	return u, func() {
		g.mu.Lock()
		delete(g.users, u)
		g.mu.Unlock()
		close(u.released)
	}
}

// preempt ends every call on the line but emergency ones and self, and
// waits until they have released it or ctx ends. It reports whether it
// ended any.
func (g *Gateway) preempt(ctx context.Context, self *lineUser) bool {
	g.mu.Lock()
	var victims []*lineUser
	for u := range g.users {
		if u != self && !u.emergency {
			victims = append(victims, u)
		}
	}
	g.mu.Unlock()
	for _, u := range victims {
		u.cancel()
	}
	for _, u := range victims {
		select {
		case <-u.released:
		case <-ctx.Done():
			return false
		}
	}
	return len(victims) > 0
}

// emergency reports whether number is one of cfg.Emergency.
func (g *Gateway) emergency(number string) bool { return slices.Contains(g.cfg.Emergency, number) }

// CallStatus describes a call in progress, for `lifeline status`.
type CallStatus struct {
	CallID    string
	Direction string // "out": from SIP to the line; "in": from the line
	Number    string // as dialled on the line, prefix stripped; the caller's for "in"
	Codec     string // the RTP codec, "PCMA" or "PCMU"
	Format    voice.Format
	Started   time.Time // when the line answered
}

// Calls returns the calls in progress (answered, not yet ended), oldest
// first.
func (g *Gateway) Calls() []CallStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]CallStatus, 0, len(g.active))
	for _, c := range g.active {
		out = append(out, c)
	}
	// Oldest first. An insertion sort: a handful of calls, and
	// slices.SortFunc instantiated for CallStatus costs 12 KB on mipsle.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Started.Before(out[j-1].Started); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (g *Gateway) track(c CallStatus) func() {
	g.mu.Lock()
	g.active[c.CallID] = c
	g.mu.Unlock()
	g.changed()
	return func() {
		g.mu.Lock()
		delete(g.active, c.CallID)
		g.mu.Unlock()
		g.changed()
	}
}

func (g *Gateway) changed() {
	if g.cfg.OnCallsChanged != nil {
		g.cfg.OnCallsChanged()
	}
}

// New checks cfg and returns a Gateway; nothing runs until Run.
func New(cfg Config) (*Gateway, error) {
	if cfg.Line == nil || cfg.Conn == nil || !cfg.RTPAddr.IsValid() || cfg.RTPAddr.IsUnspecified() {
		return nil, fmt.Errorf("%w: Line, Conn and a concrete RTPAddr are required", ErrConfig)
	}
	port := 0
	if a, ok := cfg.Conn.LocalAddr().(*net.UDPAddr); ok {
		port = a.Port
	} else {
		return nil, fmt.Errorf("%w: Conn is %T, want a UDP socket", ErrConfig, cfg.Conn)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.ByeTimeout <= 0 {
		cfg.ByeTimeout = 5 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "lifeline"
	}
	if cfg.CallsPerMinute < 0 || cfg.MaxDuration < 0 {
		return nil, fmt.Errorf("%w: negative CallsPerMinute or MaxDuration", ErrConfig)
	}
	if cfg.Sources != nil {
		sources := slices.Clone(cfg.Sources)
		cfg.Conn = guard.New(cfg.Conn, guard.Config{Clock: cfg.Clock, Logger: cfg.Logger, Allowed: func(a netip.Addr) bool {
			return slices.ContainsFunc(sources, func(p netip.Prefix) bool { return p.Contains(a) })
		}})
	}
	g := &Gateway{cfg: cfg, log: cfg.Logger, active: map[string]CallStatus{}, users: map[*lineUser]struct{}{},
		contact:   sip.URI{Scheme: "sip", Host: cfg.RTPAddr.String(), Port: port},
		numbering: cfg.Numbering, plan: dialplan.Plan{Allow: cfg.Allow, Block: cfg.Block, Emergency: cfg.Emergency}}
	if cfg.AuthUser != "" || cfg.AuthPassword != "" {
		a, err := digest.New(AuthRealm, cfg.AuthUser, cfg.AuthPassword, 0, cfg.Clock)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		g.auth = a
	}
	g.numbering.Prefix = ""
	if cfg.Prefix != "-" {
		g.numbering.Prefix = cfg.Prefix
	}
	if cfg.Incoming != "" {
		u, err := parseIncoming(cfg.Incoming)
		if err != nil {
			return nil, err
		}
		il, ok := cfg.Line.(IncomingLine)
		if !ok {
			return nil, fmt.Errorf("%w: Line %T cannot answer calls (not an IncomingLine)", ErrConfig, cfg.Line)
		}
		g.incomingTarget, g.incomingLine = u, il
	}
	return g, nil
}

// Number returns the number to dial for a sip: Request-URI's user part
// (see dialplan.Numbering.Dial): escapes undone, parameters and visual
// separators dropped, the prefix stripped, E.164 turned into the line's
// form. A user part that is no dialable number is dialplan.ErrNumber.
func (g *Gateway) Number(user string) (string, error) { return g.numbering.Dial("sip", user) }

// Run serves SIP on Conn until ctx ends, then ends every call (BYE to the
// phone, the line hung up), closes Conn and returns nil once every
// goroutine has exited. Run may be called once.
func (g *Gateway) Run(ctx context.Context) error {
	g.mu.Lock()
	if g.running {
		g.mu.Unlock()
		return ErrRunning
	}
	g.running = true
	g.runCtx = ctx
	g.mu.Unlock()

	ua, err := sipua.New(sipua.Config{Conn: g.cfg.Conn, Contact: g.contact, UserAgent: g.cfg.UserAgent,
		Clock: g.cfg.Clock, Logger: g.log})
	if err != nil {
		g.cfg.Conn.Close()
		return fmt.Errorf("gateway: %w", err)
	}
	ua.Handle(sip.INVITE, g.invite)
	ua.Handle(sip.OPTIONS, func(tx *sipua.ServerTx) {
		tx.Respond(sip.StatusOK, "", nil, sip.Field{Name: "Allow", Value: ua.Allow()},
			sip.Field{Name: "Accept", Value: "application/sdp"}, sip.Field{Name: "Supported", Value: strings.Join(sipua.Supported, ", ")})
	})
	g.log.Info("gateway: serving SIP", "addr", g.cfg.Conn.LocalAddr(), "prefix", g.cfg.Prefix, "incoming", g.cfg.Incoming)
	var wg sync.WaitGroup
	if g.incomingLine != nil {
		wg.Add(1)
		go func() { // returns once Serve runs the watcher (or has ended)
			defer wg.Done()
			if err := ua.Go(func(ctx context.Context) { g.rings(ctx, ua, g.incomingLine) }); err != nil && ctx.Err() == nil {
				g.log.Error("gateway: cannot watch the line's rings", "err", err)
			}
		}()
	}
	// Serve ends the calls' contexts with ctx, waits for them (their BYEs
	// still go out), closes Conn and waits for its goroutines.
	err = ua.Serve(ctx)
	wg.Wait()
	return err
}

// Status maps the outcome of a failed dial to a SIP final response.
func Status(err error) (int, string) {
	switch {
	case errors.Is(err, call.ErrBusy), errors.Is(err, call.ErrLineInUse):
		return sip.StatusBusyHere, "Busy Here"
	case errors.Is(err, call.ErrNoAnswer), errors.Is(err, call.ErrNoCarrier):
		return sip.StatusTemporarilyUnavailable, "Temporarily Unavailable"
	case errors.Is(err, call.ErrBadNumber):
		return sip.StatusAddressIncomplete, "Address Incomplete"
	case errors.Is(err, context.Canceled):
		return sip.StatusRequestTerminated, "Request Terminated"
	}
	// NO DIALTONE, line absent or not ready, no voice mode, the modem
	// refusing a command or timing out: the line cannot carry calls now.
	return sip.StatusServiceUnavailable, "Service Unavailable"
}

// rtpPair is a call's RTP socket and its RTCP socket on the next port.
type rtpPair struct{ rtp, rtcp *bridge.Socket }

// Close closes both sockets.
func (p rtpPair) Close() error { return errors.Join(p.rtp.Close(), p.rtcp.Close()) }

// listenRTP opens a call's RTP socket, a UDP socket on an even port of
// RTPAddr, and its RTCP socket on the next (odd) port (RFC 3550 section
// 11: no a=rtcp needed), and describes them for SDP.
func (g *Gateway) listenRTP() (rtpPair, sdp.Local, error) {
	addr := g.cfg.RTPAddr
	for range 32 {
		c, err := bridge.ListenRTP(netip.AddrPortFrom(addr, 0))
		if err != nil {
			return rtpPair{}, sdp.Local{}, err
		}
		if p := int(c.AddrPort().Port()); p%2 == 0 && p >= 1024 && p < 65535 {
			if rc, err := bridge.ListenRTP(netip.AddrPortFrom(addr, uint16(p+1))); err == nil {
				return rtpPair{rtp: c, rtcp: rc}, sdp.Local{Addr: addr, Port: p, SessionID: uint64(g.cfg.Clock.Now().Unix()), Version: 1, Username: "lifeline"}, nil
			}
		}
		c.Close()
	}
	return rtpPair{}, sdp.Local{}, fmt.Errorf("gateway: no free pair of RTP and RTCP ports on %s", addr)
}
