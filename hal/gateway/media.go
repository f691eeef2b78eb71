package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"lifeline/hal/voice/bridge"
	"lifeline/hal/voice/sdp"
)

// DefaultRTPTimeout is how long a call may go without RTP from the phone
// before the gateway ends it (Config.RTPTimeout).
const DefaultRTPTimeout = 30 * time.Second

// ErrMediaAddr is wrapped by the error for an SDP media address the
// gateway will not send to.
var ErrMediaAddr = errors.New("gateway: media address not allowed")

// checkMediaAddr decides whether the gateway may send a call's RTP to
// addr, the c= address of the phone's SDP. signalling is the address the
// SIP message came from (the proxy, or the phone itself). The rule:
//
//   - addr must be a unicast address: never unspecified (0.0.0.0, ::),
//     multicast, the limited broadcast 255.255.255.255, or the network or
//     broadcast address of a local IPv4 network;
//   - and either the signalling source itself, or inside one of nets:
//     Config.MediaNetworks when set, else the networks the gateway's host
//     is directly attached to (its interface addresses with their
//     prefixes) — the phones' LAN, whose addresses a proxy on the router
//     passes on unchanged. Loopback counts only as the signalling source.
//
// So an INVITE cannot aim the line's audio at a third party on the
// internet, at a multicast group or broadcast, or at a local service on
// the router, and a phone behind the proxy still gets its audio.
func checkMediaAddr(addr, signalling netip.Addr, nets []netip.Prefix) error {
	addr, signalling = addr.Unmap(), signalling.Unmap()
	switch {
	case !addr.IsValid():
		return fmt.Errorf("%w: no address", ErrMediaAddr)
	case addr.IsUnspecified():
		return fmt.Errorf("%w: %v is unspecified", ErrMediaAddr, addr)
	case addr.IsMulticast():
		return fmt.Errorf("%w: %v is multicast", ErrMediaAddr, addr)
	case addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("%w: %v is broadcast", ErrMediaAddr, addr)
	}
	for _, n := range nets {
		if n.Addr().Is4() && n.Bits() <= 30 && n.Contains(addr) {
			if addr == n.Masked().Addr() || addr == lastAddr(n) {
				return fmt.Errorf("%w: %v is the network or broadcast address of %v", ErrMediaAddr, addr, n.Masked())
			}
		}
	}
	if addr == signalling {
		return nil
	}
	if addr.IsLoopback() {
		return fmt.Errorf("%w: %v is loopback and the request came from %v", ErrMediaAddr, addr, signalling)
	}
	for _, n := range nets {
		if n.Contains(addr) {
			return nil
		}
	}
	return fmt.Errorf("%w: %v is neither the request's source %v nor on a local or configured media network", ErrMediaAddr, addr, signalling)
}

// lastAddr is the highest address of an IPv4 prefix (its broadcast).
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// mediaNetworks returns Config.MediaNetworks, or the host's directly
// attached networks (read at each call: addresses come and go).
func (g *Gateway) mediaNetworks() []netip.Prefix {
	if len(g.cfg.MediaNetworks) > 0 {
		return g.cfg.MediaNetworks
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		g.log.Warn("gateway: local networks for the media address check", "err", err)
		return nil
	}
	var nets []netip.Prefix
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			ip, ok := netip.AddrFromSlice(ipn.IP)
			ones, _ := ipn.Mask.Size()
			if ok {
				if ip.Unmap().Is4() && ones > 32 {
					ones -= 96
				}
				if p, err := ip.Unmap().Prefix(ones); err == nil {
					nets = append(nets, p)
				}
			}
		}
	}
	return nets
}

// rtpTimeout is the configured inactivity timeout; 0 when off.
func (g *Gateway) rtpTimeout() time.Duration {
	switch {
	case g.cfg.RTPTimeout < 0:
		return 0
	case g.cfg.RTPTimeout == 0:
		return DefaultRTPTimeout
	}
	return g.cfg.RTPTimeout
}

// rtpWatch ends a call whose phone has sent no RTP for the timeout, unless
// the call is on hold (the phone's SDP direction is not sendrecv: a phone
// that holds a call with a=sendonly or a=inactive may fall silent). One
// timer per call, re-armed from the last packet's time: no work per frame.
type rtpWatch struct {
	g       *Gateway
	last    func() time.Time // the bridge's LastReceived
	timeout time.Duration
	hold    bool
	since   time.Time // the last resume: silence before it does not count
	timer   interface {
		C() <-chan time.Time
		Reset(time.Duration) bool
		Stop() bool
	}
}

// newRTPWatch starts watching b; C is nil (never ready) when the timeout is
// off or the call is on hold.
func (g *Gateway) newRTPWatch(b *bridge.Bridge, direction string) *rtpWatch {
	w := &rtpWatch{g: g, timeout: g.rtpTimeout(), hold: direction != "" && direction != "sendrecv"}
	if b != nil {
		w.last = b.LastReceived
	}
	if w.timeout > 0 && !w.hold {
		w.timer = g.cfg.Clock.NewTimer(w.timeout)
	}
	return w
}

// C fires when the timeout may have passed; call Expired then.
func (w *rtpWatch) C() <-chan time.Time {
	if w.timer == nil || w.hold {
		return nil
	}
	return w.timer.C()
}

// Expired reports whether the phone has been silent for the timeout;
// if not, it re-arms the timer for when it would be.
func (w *rtpWatch) Expired() (silent time.Duration, expired bool) {
	last := w.last()
	if w.since.After(last) {
		last = w.since
	}
	silent = w.g.cfg.Clock.Now().Sub(last)
	if silent >= w.timeout {
		return silent, true
	}
	w.timer.Reset(w.timeout - silent)
	return silent, false
}

// SetDirection follows the phone's session after a re-INVITE or UPDATE
// (the answer's direction): on hold the timer is off; on resuming the
// silence is counted from now.
func (w *rtpWatch) SetDirection(direction string) {
	hold := direction != "" && direction != "sendrecv"
	if hold == w.hold {
		return
	}
	w.hold = hold
	if hold || w.timeout <= 0 {
		if w.timer != nil {
			w.timer.Stop()
		}
		return
	}
	w.since = w.g.cfg.Clock.Now()
	if w.timer == nil {
		w.timer = w.g.cfg.Clock.NewTimer(w.timeout)
	} else {
		w.timer.Reset(w.timeout)
	}
}

// Stop releases the timer.
func (w *rtpWatch) Stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// rtcpRemote is where a call's RTCP goes: the phone's a=rtcp when its
// address is the RTP's (or passes the same media address check), else the
// RTP port + 1 (zero: the bridge's default).
func (g *Gateway) rtcpRemote(l leg) netip.AddrPort {
	r := l.choice.RTCP
	if !r.IsValid() || r.Addr() == l.choice.Remote.Addr() {
		return r
	}
	if err := checkMediaAddr(r.Addr(), l.choice.Remote.Addr(), g.mediaNetworks()); err != nil {
		l.log.Warn("gateway: the phone's RTCP address is not allowed, using the RTP port + 1", "err", err)
		return netip.AddrPort{}
	}
	return r
}

// follow applies a later offer of the phone's (hold, resume) to the call's
// media: no RTP towards a phone that holds the call (the line's audio goes
// on), none of the inactivity timeout while it does.
func (g *Gateway) follow(log *slog.Logger, b *bridge.Bridge, w *rtpWatch, body []byte) {
	offer, err := sdp.Parse(body)
	if err != nil {
		log.Info("gateway: the phone's new session does not parse; media unchanged", "err", err)
		return
	}
	dir, sends, ok := sdp.Held(offer)
	if !ok {
		log.Info("gateway: the phone's new session has no audio; media unchanged")
		return
	}
	log.Info("gateway: the phone changed the session", "direction", dir, "sending", sends)
	b.SetSendEnabled(sends)
	w.SetDirection(dir)
}
