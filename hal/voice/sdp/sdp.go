// Package sdp is the gateway's minimal SDP (RFC 4566) offer/answer (RFC
// 3264): parse an offer, choose PCMA or PCMU at 8000 Hz with 20 ms
// packets, take telephone-event (RFC 4733) when offered, and write the
// answer; and write an offer of its own for calls from the line. It knows
// audio over RTP/AVP only: every other stream is rejected with port 0, as
// RFC 3264 section 6 requires.
//
// Functions are pure; a *Session is safe for concurrent reads.
package sdp

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// MaxSize bounds an SDP body; larger ones are refused.
const MaxSize = 64 << 10

// Errors, wrapped with the line or reason.
var (
	ErrSyntax  = errors.New("sdp: syntax")
	ErrNoAudio = errors.New("sdp: no usable audio stream")
	ErrNoCodec = errors.New("sdp: no common codec (PCMA or PCMU at 8000 Hz)")
)

// Attr is one a= line: "rtpmap:8 PCMA/8000" is Key "rtpmap", Value "8
// PCMA/8000"; a flag like "sendrecv" has an empty Value.
type Attr struct{ Key, Value string }

// Media is one m= section.
type Media struct {
	Type    string // audio, video, ...
	Port    int
	Proto   string   // RTP/AVP
	Formats []string // payload types as written
	Conn    netip.Addr
	Attrs   []Attr
}

// Session is a parsed SDP body.
type Session struct {
	Origin string // the o= value
	Name   string
	Conn   netip.Addr // session-level c=, if any
	Attrs  []Attr
	Media  []Media
}

// Parse reads an SDP body. Lines end in CRLF or LF; unknown lines are
// ignored; v=0 must come first.
func Parse(b []byte) (*Session, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrSyntax, len(b), MaxSize)
	}
	s := &Session{}
	var m *Media
	for n, line := range bytes.Split(b, []byte("\n")) {
		l := strings.TrimRight(string(line), "\r")
		if l == "" {
			continue
		}
		if len(l) < 2 || l[1] != '=' {
			return nil, fmt.Errorf("%w: line %d %q: want <type>=<value>", ErrSyntax, n+1, l)
		}
		typ, val := l[0], l[2:]
		if n == 0 && (typ != 'v' || val != "0") {
			return nil, fmt.Errorf("%w: line 1 %q: want v=0", ErrSyntax, l)
		}
		switch typ {
		case 'o':
			s.Origin = val
		case 's':
			s.Name = val
		case 'c':
			a, err := parseConn(val)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrSyntax, n+1, err)
			}
			if m != nil {
				m.Conn = a
			} else {
				s.Conn = a
			}
		case 'm':
			if len(s.Media) >= 64 {
				return nil, fmt.Errorf("%w: line %d: more than 64 media", ErrSyntax, n+1)
			}
			f := strings.Fields(val)
			if len(f) < 3 {
				return nil, fmt.Errorf("%w: line %d %q: want m=<media> <port> <proto> <fmt>...", ErrSyntax, n+1, l)
			}
			portStr, _, _ := strings.Cut(f[1], "/")
			port, err := strconv.Atoi(portStr)
			if err != nil || port < 0 || port > 65535 {
				return nil, fmt.Errorf("%w: line %d: bad port %q", ErrSyntax, n+1, f[1])
			}
			s.Media = append(s.Media, Media{Type: f[0], Port: port, Proto: f[2], Formats: f[3:]})
			m = &s.Media[len(s.Media)-1]
		case 'a':
			k, v, _ := strings.Cut(val, ":")
			a := Attr{Key: k, Value: v}
			if m != nil {
				m.Attrs = append(m.Attrs, a)
			} else {
				s.Attrs = append(s.Attrs, a)
			}
		}
	}
	if s.Origin == "" && len(s.Media) == 0 {
		return nil, fmt.Errorf("%w: empty session", ErrSyntax)
	}
	return s, nil
}

func parseConn(v string) (netip.Addr, error) {
	f := strings.Fields(v)
	if len(f) != 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
		return netip.Addr{}, fmt.Errorf("c=%q: want IN IP4|IP6 <address>", v)
	}
	host, _, _ := strings.Cut(f[2], "/") // multicast TTL
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("c=%q: %v", v, err)
	}
	return a, nil
}

// Attr returns the value of the first attribute named key and whether it
// exists.
func (m *Media) Attr(key string) (string, bool) {
	for _, a := range m.Attrs {
		if a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// Codec returns the encoding name (upper case) and clock rate of payload
// type pt: from a=rtpmap, else RFC 3551's static types 0 (PCMU) and 8
// (PCMA).
func (m *Media) Codec(pt string) (name string, rate int, ok bool) {
	for _, a := range m.Attrs {
		if a.Key != "rtpmap" {
			continue
		}
		num, enc, found := strings.Cut(a.Value, " ")
		if !found || num != pt {
			continue
		}
		f := strings.Split(strings.TrimSpace(enc), "/")
		if len(f) < 2 {
			return "", 0, false
		}
		r, err := strconv.Atoi(f[1])
		if err != nil {
			return "", 0, false
		}
		return strings.ToUpper(f[0]), r, true
	}
	switch pt {
	case "0":
		return "PCMU", 8000, true
	case "8":
		return "PCMA", 8000, true
	}
	return "", 0, false
}

// Direction returns the stream's direction attribute, media level first,
// then session level; "sendrecv" when absent.
func (s *Session) Direction(m *Media) string {
	for _, attrs := range [][]Attr{m.Attrs, s.Attrs} {
		for _, a := range attrs {
			switch a.Key {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				return a.Key
			}
		}
	}
	return "sendrecv"
}
