package sip

import (
	"strconv"
	"strings"
)

// URI is a SIP or SIPS URI (RFC 3261 §19.1), or another scheme's (tel:)
// held as scheme, user part and parameters.
type URI struct {
	Scheme   string // "sip", "sips", "tel"; lower case
	User     string // unescaped; "" for none
	Password string // unescaped; "" for none
	Host     string // IPv6 without brackets
	Port     int    // 0: none given
	Params   Params // uri-parameters (;lr, ;transport=udp), as received
	Headers  string // the part after '?', as received, without the '?'
}

// ParseURI parses s, a URI as it appears in a Request-URI or inside <>.
func ParseURI(s string) (URI, error) {
	var u URI
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !isToken(scheme) {
		return u, malformed("URI " + q(s) + ": no scheme")
	}
	u.Scheme = strings.ToLower(scheme)
	if !uriChars(rest) {
		return u, malformed("URI " + q(s) + ": characters that must be escaped")
	}
	if rest, u.Headers, ok = strings.Cut(rest, "?"); ok && u.Headers == "" {
		return u, malformed("URI " + q(s) + ": empty headers")
	}
	if u.Scheme != "sip" && u.Scheme != "sips" {
		user, params, _ := strings.Cut(rest, ";")
		var err error
		if u.User, err = unescape(user); err != nil || user == "" {
			return u, malformed("URI " + q(s) + ": bad " + u.Scheme + " number")
		}
		if u.Params, err = parseParams(params, ';'); err != nil {
			return u, within("URI "+q(s), err)
		}
		return u, nil
	}
	if userinfo, hostpart, ok := strings.Cut(rest, "@"); ok {
		user, pass, hasPass := strings.Cut(userinfo, ":")
		var err error
		if u.User, err = unescape(user); err != nil || user == "" {
			return u, malformed("URI " + q(s) + ": bad user part")
		}
		if u.Password, err = unescape(pass); err != nil || hasPass && pass == "" {
			return u, malformed("URI " + q(s) + ": bad password")
		}
		rest = hostpart
	}
	hostport, params, _ := strings.Cut(rest, ";")
	var err error
	if u.Host, u.Port, err = parseHostPort(hostport); err != nil {
		return u, within("URI "+q(s), err)
	}
	if u.Params, err = parseParams(params, ';'); err != nil {
		return u, within("URI "+q(s), err)
	}
	return u, nil
}

// parseHostPort parses host[:port] with host a name, an IPv4 address or
// an IPv6 reference in brackets.
func parseHostPort(s string) (string, int, error) {
	var host, port string
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, malformed("host " + q(s) + ": unclosed [")
		}
		host = s[1:end]
		rest := s[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", 0, malformed("host " + q(s))
			}
			port = rest[1:]
			if port == "" {
				return "", 0, malformed("host " + q(s) + ": empty port")
			}
		}
		if host == "" || strings.Trim(host, "0123456789abcdefABCDEF:.") != "" {
			return "", 0, malformed("IPv6 reference " + q(s))
		}
	} else {
		var hasPort bool
		host, port, hasPort = strings.Cut(s, ":")
		if hasPort && port == "" {
			return "", 0, malformed("host " + q(s) + ": empty port")
		}
		if host == "" {
			return "", 0, malformed("empty host")
		}
		for _, c := range []byte(host) {
			if !(isAlnum(c) || c == '-' || c == '.') {
				return "", 0, malformed("host " + q(host))
			}
		}
	}
	if port == "" {
		return host, 0, nil
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 || port[0] == '+' {
		return "", 0, malformed("port " + q(port))
	}
	return host, p, nil
}

// HostPort is the host (IPv6 in brackets) and the port if there is one.
func (u URI) HostPort() string { return hostPort(u.Host, u.Port) }

func hostPort(host string, port int) string {
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	if port == 0 {
		return host
	}
	return host + ":" + strconv.Itoa(port)
}

// String formats u (user part escaped).
func (u URI) String() string { return string(u.Append(nil)) }

// Append appends u's text to b.
func (u URI) Append(b []byte) []byte {
	b = append(b, u.Scheme...)
	b = append(b, ':')
	if u.Scheme != "sip" && u.Scheme != "sips" {
		b = appendEscaped(b, u.User, userSafe)
		return u.appendTail(u.Params.Append(b))
	}
	if u.User != "" {
		b = appendEscaped(b, u.User, userSafe)
		if u.Password != "" {
			b = append(b, ':')
			b = appendEscaped(b, u.Password, passwordSafe)
		}
		b = append(b, '@')
	}
	b = append(b, u.HostPort()...)
	return u.appendTail(u.Params.Append(b))
}

func (u URI) appendTail(b []byte) []byte {
	if u.Headers != "" {
		b = append(b, '?')
		b = append(b, u.Headers...)
	}
	return b
}

// Clone returns a copy that shares nothing with u.
func (u URI) Clone() URI {
	u.Params = u.Params.Clone()
	return u
}

const (
	userSafe     = "-_.!~*'()&=+$,;?/"
	passwordSafe = "-_.!~*'()&=+$,"
)

// uriChars reports whether s holds only characters a URI may carry
// unescaped: no controls, blanks, non-ASCII, '<', '>', '"' or '\\'.
func uriChars(s string) bool {
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("<>\"\\`{}|^", c) >= 0 {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func appendEscaped(b []byte, s, safe string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || strings.IndexByte(safe, c) >= 0 {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return b
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unescape decodes %XX escapes; it refuses bad escapes and characters
// that must be escaped (controls, space, '@', ':', '<', '>', '"').
func unescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		for _, c := range []byte(s) {
			if c <= ' ' || c >= 0x7f || strings.IndexByte("@:<>\"", c) >= 0 {
				return "", ErrMalformed
			}
		}
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) {
				return "", ErrMalformed
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", ErrMalformed
			}
			b = append(b, hi<<4|lo)
			i += 2
		case c <= ' ' || c >= 0x7f || strings.IndexByte("@:<>\"", c) >= 0:
			return "", ErrMalformed
		default:
			b = append(b, c)
		}
	}
	return string(b), nil
}
