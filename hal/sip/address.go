package sip

import (
	"strconv"
	"strings"
)

// Param is one ;name=value parameter; Value "" is a flag (;lr, ;rport).
type Param struct {
	Name, Value string
}

// Params are a URI's or a header value's parameters in order. Names
// compare case-insensitively; values are kept as received (quotes and
// escapes included).
type Params []Param

// Get returns the value of the parameter name and whether it is present.
func (p Params) Get(name string) (string, bool) {
	for _, x := range p {
		if strings.EqualFold(x.Name, name) {
			return x.Value, true
		}
	}
	return "", false
}

// Has reports whether the parameter name is present.
func (p Params) Has(name string) bool {
	_, ok := p.Get(name)
	return ok
}

// Set sets the parameter name to value, in place if present, else at the
// end.
func (p *Params) Set(name, value string) {
	for i, x := range *p {
		if strings.EqualFold(x.Name, name) {
			(*p)[i].Value = value
			return
		}
	}
	*p = append(*p, Param{Name: name, Value: value})
}

// Del removes the parameter name.
func (p *Params) Del(name string) {
	out := (*p)[:0]
	for _, x := range *p {
		if !strings.EqualFold(x.Name, name) {
			out = append(out, x)
		}
	}
	*p = out
}

// Clone returns a copy that shares nothing with p.
func (p Params) Clone() Params {
	if p == nil {
		return nil
	}
	return append(Params(nil), p...)
}

// Append appends ";name=value" for each parameter.
func (p Params) Append(b []byte) []byte {
	for _, x := range p {
		b = append(b, ';')
		b = append(b, x.Name...)
		if x.Value != "" {
			b = append(b, '=')
			b = append(b, x.Value...)
		}
	}
	return b
}

// parseParams parses "a=1;b;c=\"x;y\"" (what follows the first ';').
func parseParams(s string, sep byte) (Params, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out Params
	for len(s) > 0 {
		end, quoted := 0, false
		for ; end < len(s); end++ {
			c := s[end]
			if quoted && c == '\\' {
				end++
				continue
			}
			if c == '"' {
				quoted = !quoted
			}
			if c == sep && !quoted {
				break
			}
		}
		if quoted {
			return nil, malformed("unclosed quote in parameters " + q(s))
		}
		item := s[:min(end, len(s))]
		if end < len(s) {
			s = s[end+1:]
		} else {
			s = ""
		}
		name, value, _ := strings.Cut(item, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !isToken(name) {
			return nil, malformed("parameter " + q(item))
		}
		out = append(out, Param{Name: name, Value: value})
	}
	return out, nil
}

// Address is a name-addr or addr-spec with its header parameters: the
// value of From, To, Contact, Route, Record-Route, Refer-To. A Contact of
// "*" is the Address with Star set.
type Address struct {
	Display string // unquoted display name; "" for none
	URI     URI
	Params  Params // header parameters (;tag=, ;expires=, ;lr outside <> )
	Star    bool   // Contact: *
}

// Tag is the tag parameter, or "".
func (a Address) Tag() string {
	t, _ := a.Params.Get("tag")
	return t
}

// ParseAddress parses one name-addr or addr-spec value with parameters.
func ParseAddress(s string) (Address, error) {
	var a Address
	s = strings.TrimSpace(s)
	if s == "*" {
		a.Star = true
		return a, nil
	}
	var uri, params, rest string
	switch lt := strings.IndexByte(s, '<'); {
	case strings.HasPrefix(s, "\""):
		d, after, err := unquote(s)
		if err != nil {
			return a, within("address "+q(s), err)
		}
		a.Display, rest = d, strings.TrimLeft(after, " \t")
		if !strings.HasPrefix(rest, "<") {
			return a, malformed("address " + q(s) + ": display name without <URI>")
		}
	case lt >= 0:
		a.Display, rest = strings.TrimSpace(s[:lt]), s[lt:]
		for _, w := range strings.Fields(a.Display) {
			if !isToken(w) {
				return a, malformed("address " + q(s) + ": display name " + q(a.Display))
			}
		}
	default: // addr-spec: parameters after the URI are the header's
		uri, params, _ = strings.Cut(s, ";")
		uri = strings.TrimSpace(uri)
		if params != "" {
			params = ";" + params
		}
	}
	if rest != "" {
		gt := strings.IndexByte(rest, '>')
		if gt < 0 {
			return a, malformed("address " + q(s) + ": unclosed <")
		}
		uri, params = rest[1:gt], strings.TrimSpace(rest[gt+1:])
		if params != "" && params[0] != ';' {
			return a, malformed("address " + q(s) + ": " + q(params) + " after the URI")
		}
	}
	var err error
	if a.URI, err = ParseURI(uri); err != nil {
		return a, err
	}
	if params != "" {
		if a.Params, err = parseParams(params[1:], ';'); err != nil {
			return a, within("address "+q(s), err)
		}
	}
	return a, nil
}

// unquote reads a quoted-string at the start of s and returns its content
// and what follows it.
func unquote(s string) (string, string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) {
				return "", "", malformed("quoted string ends in \\")
			}
			i++
			b.WriteByte(s[i])
		case '"':
			return b.String(), s[i+1:], nil
		case '\r', '\n':
			return "", "", malformed("line end in a quoted string")
		default:
			b.WriteByte(c)
		}
	}
	return "", "", malformed("unclosed quoted string")
}

// String formats a as name-addr: "Display" <uri>;params.
func (a Address) String() string { return string(a.Append(nil)) }

// Append appends a's text to b. The display name is quoted with '"' and
// '\' escaped and control characters dropped, so a caller's name cannot
// end the header or add one.
func (a Address) Append(b []byte) []byte {
	if a.Star {
		return append(b, '*')
	}
	if a.Display != "" {
		b = append(b, '"')
		for i := 0; i < len(a.Display); i++ {
			c := a.Display[i]
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < ' ' || c == 0x7f:
			default:
				b = append(b, c)
			}
		}
		b = append(b, '"', ' ')
	}
	b = append(b, '<')
	b = a.URI.Append(b)
	b = append(b, '>')
	return a.Params.Append(b)
}

// Clone returns a copy that shares nothing with a.
func (a Address) Clone() Address {
	a.URI = a.URI.Clone()
	a.Params = a.Params.Clone()
	return a
}

// Via is one Via value (RFC 3261 §20.42).
type Via struct {
	Transport string // "UDP", "TCP", upper case
	Host      string // IPv6 without brackets
	Port      int    // 0: none given
	Params    Params
}

// ParseVia parses one Via value ("SIP/2.0/UDP host:port;branch=...").
func ParseVia(s string) (Via, error) {
	var v Via
	s = strings.TrimSpace(s)
	proto, rest, ok := cutSpace(s)
	if !ok {
		return v, malformed("Via " + q(s) + ": no sent-by")
	}
	// LWS is allowed around the slashes: "SIP / 2.0 / UDP".
	for strings.Count(proto, "/") < 2 || strings.HasSuffix(proto, "/") {
		more, after, ok := cutSpace(rest)
		if !ok {
			return v, malformed("Via " + q(s) + ": protocol")
		}
		proto, rest = proto+more, after
	}
	parts := strings.Split(proto, "/")
	if len(parts) != 3 || !strings.EqualFold(parts[0], "SIP") || parts[1] != "2.0" || !isToken(parts[2]) {
		return v, malformed("Via " + q(s) + ": protocol " + q(proto))
	}
	v.Transport = strings.ToUpper(parts[2])
	sentBy, params, _ := strings.Cut(rest, ";")
	var err error
	sentBy = strings.ReplaceAll(strings.TrimSpace(sentBy), " ", "")
	if v.Host, v.Port, err = parseHostPort(sentBy); err != nil {
		return v, within("Via "+q(s), err)
	}
	if v.Params, err = parseParams(params, ';'); err != nil {
		return v, within("Via "+q(s), err)
	}
	return v, nil
}

// cutSpace cuts s at its first run of blanks.
func cutSpace(s string) (string, string, bool) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, "", false
	}
	return s[:i], strings.TrimLeft(s[i:], " \t"), true
}

// Branch is the branch parameter, or "".
func (v Via) Branch() string {
	b, _ := v.Params.Get("branch")
	return b
}

// SentBy is host[:port] as the Via names it.
func (v Via) SentBy() string { return hostPort(v.Host, v.Port) }

// String formats v.
func (v Via) String() string {
	b := append([]byte("SIP/2.0/"), v.Transport...)
	b = append(b, ' ')
	b = append(b, v.SentBy()...)
	return string(v.Params.Append(b))
}

// CSeq is the CSeq header: sequence number and method.
type CSeq struct {
	Seq    uint32
	Method Method
}

// ParseCSeq parses "1 INVITE".
func ParseCSeq(s string) (CSeq, error) {
	num, method, ok := cutSpace(strings.TrimSpace(s))
	n, err := strconv.ParseUint(num, 10, 32)
	if !ok || err != nil || !isToken(method) {
		return CSeq{}, malformed("CSeq " + q(s))
	}
	return CSeq{Seq: uint32(n), Method: Method(method)}, nil
}

// String formats c.
func (c CSeq) String() string { return strconv.FormatUint(uint64(c.Seq), 10) + " " + string(c.Method) }
