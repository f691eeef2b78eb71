package sdp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Ptime is the packet time the gateway sends and asks for, in ms.
const Ptime = 20

// Local describes the gateway's end of the audio stream.
type Local struct {
	Addr      netip.Addr // where the gateway receives RTP
	Port      int        // even, 1024-65534
	SessionID uint64     // o= session id and version (RFC 4566 5.2: NTP time is suggested)
	Version   uint64
	Username  string // o= user; "-" when empty
	// EventPT is the payload type offered for telephone-event in Offer
	// (default 101). Answer uses the offer's number.
	EventPT uint8
}

// Choice is the outcome of the negotiation.
type Choice struct {
	Codec       string // "PCMA" or "PCMU"
	PayloadType uint8
	// EventPT is the telephone-event payload type; -1 when not offered.
	EventPT int
	// Remote is where to send RTP (c= and m= port of the accepted stream).
	Remote netip.AddrPort
	// RTCP is where to send RTCP: the stream's a=rtcp (RFC 3605) when
	// given, else Remote's port + 1 (RFC 3550 section 11).
	RTCP netip.AddrPort
	// Direction is the answer's direction attribute. An offer whose
	// connection address is 0.0.0.0 (RFC 2543 hold, RFC 3264 section 8.4)
	// counts as sendonly when it says sendrecv, inactive when recvonly.
	Direction string
	// Index is the accepted m= line's position.
	Index int
}

var answerDir = map[string]string{
	"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive",
}

// oldHold is the direction of a stream offered with c=0.0.0.0: the
// offerer wants no media (RFC 3264 section 8.4).
var oldHold = map[string]string{"sendrecv": "sendonly", "sendonly": "sendonly", "recvonly": "inactive", "inactive": "inactive"}

// Sends reports whether the gateway sends RTP on the stream: the answer
// is sendrecv or sendonly, and the phone named an address to send to.
func (c Choice) Sends() bool {
	return (c.Direction == "sendrecv" || c.Direction == "sendonly") && !c.Remote.Addr().IsUnspecified()
}

// Held reads a later offer of the call (a re-INVITE or UPDATE: hold,
// resume) for its first audio stream: the answer's direction (with the
// c=0.0.0.0 rule of Answer) and whether the gateway sends RTP (Sends).
// ok is false when the offer has no audio stream in use.
func Held(offer *Session) (direction string, sends, ok bool) {
	for i := range offer.Media {
		m := &offer.Media[i]
		if m.Type != "audio" || m.Port == 0 {
			continue
		}
		conn := m.Conn
		if !conn.IsValid() {
			conn = offer.Conn
		}
		dir := offer.Direction(m)
		if conn.IsUnspecified() {
			dir = oldHold[dir]
		}
		ch := Choice{Direction: answerDir[dir], Remote: netip.AddrPortFrom(conn, uint16(m.Port))}
		return ch.Direction, conn.IsValid() && ch.Sends(), true
	}
	return "", false, false
}

// rtcpAddr is the RTCP address of stream m at conn: its a=rtcp (RFC 3605:
// "port" or "port IN IP4 addr"), else the RTP port + 1. A malformed
// a=rtcp is ignored.
func rtcpAddr(m *Media, conn netip.Addr) netip.AddrPort {
	def := netip.AddrPortFrom(conn, uint16(m.Port+1))
	v, ok := m.Attr("rtcp")
	if !ok {
		return def
	}
	f := strings.Fields(v)
	if len(f) == 0 {
		return def
	}
	port, err := strconv.Atoi(f[0])
	if err != nil || port < 1 || port > 65535 {
		return def
	}
	addr := conn
	if len(f) == 4 {
		if a, err := parseConn(strings.Join(f[1:], " ")); err == nil {
			addr = a
		}
	}
	return netip.AddrPortFrom(addr, uint16(port))
}

// Answer chooses the first audio stream of the offer that carries PCMA or
// PCMU at 8000 Hz (in the offer's order of preference, RFC 3264 section
// 6.1) and returns the answer body: that stream accepted with the one
// codec, telephone-event when offered (with the offer's payload type and
// its fmtp), ptime 20 and the mirrored direction; every other stream
// rejected with port 0.
func Answer(offer *Session, l Local) ([]byte, Choice, error) {
	if err := l.check(); err != nil {
		return nil, Choice{}, err
	}
	ch := Choice{Index: -1, EventPT: -1}
	var fmtp string
	usable := false // an RTP/AVP audio stream with an address was offered
	for i := range offer.Media {
		m := &offer.Media[i]
		if m.Type != "audio" || m.Port == 0 || m.Proto != "RTP/AVP" {
			continue
		}
		conn := m.Conn
		if !conn.IsValid() {
			conn = offer.Conn
		}
		if !conn.IsValid() {
			continue
		}
		usable = true
		codec, pt := "", -1
		for _, f := range m.Formats {
			name, rate, ok := m.Codec(f)
			if !ok || rate != 8000 || (name != "PCMA" && name != "PCMU") {
				continue
			}
			n, err := strconv.Atoi(f)
			if err != nil || n < 0 || n > 127 {
				continue
			}
			codec, pt = name, n
			break
		}
		if pt < 0 {
			continue
		}
		dir := offer.Direction(m)
		if conn.IsUnspecified() {
			dir = oldHold[dir]
		}
		ch = Choice{Codec: codec, PayloadType: uint8(pt), EventPT: -1, Remote: netip.AddrPortFrom(conn, uint16(m.Port)),
			RTCP: rtcpAddr(m, conn), Direction: answerDir[dir], Index: i}
		for _, f := range m.Formats {
			if name, rate, ok := m.Codec(f); ok && name == "TELEPHONE-EVENT" && rate == 8000 {
				if n, err := strconv.Atoi(f); err == nil && n >= 0 && n <= 127 {
					ch.EventPT = n
					fmtp = fmtpOf(m, f)
					break
				}
			}
		}
		break
	}
	if ch.Index < 0 {
		if usable {
			return nil, Choice{}, ErrNoCodec
		}
		return nil, Choice{}, ErrNoAudio
	}
	var b strings.Builder
	l.header(&b)
	for i := range offer.Media {
		m := &offer.Media[i]
		if i != ch.Index {
			// Rejected: same media and proto, port 0, the offer's first format.
			f := "0"
			if len(m.Formats) > 0 {
				f = m.Formats[0]
			}
			fmt.Fprintf(&b, "m=%s 0 %s %s\r\n", sanitize(m.Type), sanitize(m.Proto), sanitize(f))
			continue
		}
		fmt.Fprintf(&b, "m=audio %d RTP/AVP %d", l.Port, ch.PayloadType)
		if ch.EventPT >= 0 {
			fmt.Fprintf(&b, " %d", ch.EventPT)
		}
		b.WriteString("\r\n")
		fmt.Fprintf(&b, "a=rtpmap:%d %s/8000\r\n", ch.PayloadType, ch.Codec)
		if ch.EventPT >= 0 {
			fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\n", ch.EventPT)
			if fmtp == "" {
				fmtp = "0-15"
			}
			fmt.Fprintf(&b, "a=fmtp:%d %s\r\n", ch.EventPT, sanitize(fmtp))
		}
		fmt.Fprintf(&b, "a=ptime:%d\r\n", Ptime)
		fmt.Fprintf(&b, "a=%s\r\n", ch.Direction)
	}
	return []byte(b.String()), ch, nil
}

// Offer returns an offer for one audio stream with PCMA and PCMU (in the
// order given, both when prefer is empty) and telephone-event.
func Offer(l Local, prefer ...string) ([]byte, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	if len(prefer) == 0 {
		prefer = []string{"PCMA", "PCMU"}
	}
	ev := l.EventPT
	if ev == 0 {
		ev = 101
	}
	var b strings.Builder
	l.header(&b)
	fmt.Fprintf(&b, "m=audio %d RTP/AVP", l.Port)
	var maps []string
	for _, c := range prefer {
		switch strings.ToUpper(c) {
		case "PCMA":
			b.WriteString(" 8")
			maps = append(maps, "a=rtpmap:8 PCMA/8000\r\n")
		case "PCMU":
			b.WriteString(" 0")
			maps = append(maps, "a=rtpmap:0 PCMU/8000\r\n")
		default:
			return nil, fmt.Errorf("sdp: offer: codec %q: want PCMA or PCMU", c)
		}
	}
	fmt.Fprintf(&b, " %d\r\n", ev)
	for _, m := range maps {
		b.WriteString(m)
	}
	fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-15\r\na=ptime:%d\r\na=sendrecv\r\n", ev, ev, Ptime)
	return []byte(b.String()), nil
}

func (l Local) check() error {
	if !l.Addr.IsValid() {
		return fmt.Errorf("sdp: local address not set")
	}
	if l.Port < 1024 || l.Port > 65534 || l.Port%2 != 0 {
		return fmt.Errorf("sdp: local RTP port %d: want an even port in 1024-65534", l.Port)
	}
	return nil
}

func (l Local) header(b *strings.Builder) {
	user := l.Username
	if user == "" || strings.ContainsAny(user, " \r\n") {
		user = "-"
	}
	ipv := "IP4"
	if l.Addr.Is6() && !l.Addr.Is4In6() {
		ipv = "IP6"
	}
	addr := l.Addr.Unmap().String()
	fmt.Fprintf(b, "v=0\r\no=%s %d %d IN %s %s\r\ns=lifeline\r\nc=IN %s %s\r\nt=0 0\r\n",
		user, l.SessionID, l.Version, ipv, addr, ipv, addr)
}

func fmtpOf(m *Media, pt string) string {
	for _, a := range m.Attrs {
		if a.Key != "fmtp" {
			continue
		}
		if num, v, ok := strings.Cut(a.Value, " "); ok && num == pt {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// sanitize keeps a token copied from the offer on one line.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
