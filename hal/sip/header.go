package sip

import (
	"strings"
)

// Field is one header field: its name (RFC spelling for the names this
// package knows, as received otherwise) and its value.
type Field struct {
	Name  string
	Value string
}

// Header is a message's header fields in order. Lookups take any case and
// the compact forms.
type Header []Field

// compact maps RFC 3261 §7.3.3 (and later RFCs') compact header forms to
// the full names.
var compact = [26]string{
	'a' - 'a': "Accept-Contact", 'b' - 'a': "Referred-By", 'c' - 'a': "Content-Type",
	'd' - 'a': "Request-Disposition", 'e' - 'a': "Content-Encoding", 'f' - 'a': "From",
	'i' - 'a': "Call-ID", 'j' - 'a': "Reject-Contact", 'k' - 'a': "Supported", 'l' - 'a': "Content-Length",
	'm' - 'a': "Contact", 'n' - 'a': "Identity-Info", 'o' - 'a': "Event", 'r' - 'a': "Refer-To",
	's' - 'a': "Subject", 't' - 'a': "To", 'u' - 'a': "Allow-Events", 'v' - 'a': "Via",
	'x' - 'a': "Session-Expires", 'y' - 'a': "Identity",
}

// spelled is the RFC spelling of the header names this package knows
// beyond the compact ones, by lower-case name.
var spelled = func() map[string]string {
	m := map[string]string{}
	for _, n := range compact {
		if n != "" {
			m[strings.ToLower(n)] = n
		}
	}
	for _, n := range []string{"CSeq", "Max-Forwards", "Route", "Record-Route", "Require", "Proxy-Require",
		"Unsupported", "Allow", "Accept", "Accept-Encoding", "Accept-Language", "User-Agent", "Server",
		"Replaces", "Min-SE", "RSeq", "RAck", "WWW-Authenticate", "Authorization", "Proxy-Authenticate",
		"Proxy-Authorization", "Authentication-Info", "Expires", "Min-Expires", "Date", "Timestamp", "Reason",
		"P-Asserted-Identity", "P-Preferred-Identity", "Privacy", "Retry-After", "Warning", "Call-Info",
		"Alert-Info", "Error-Info", "Organization", "Priority", "In-Reply-To", "MIME-Version",
		"Content-Disposition", "Content-Language", "Reply-To", "Subscription-State", "Path", "Diversion"} {
		m[strings.ToLower(n)] = n
	}
	return m
}()

// fullName expands a compact form (one letter), else returns name.
func fullName(name string) string {
	if len(name) == 1 {
		c := name[0] | 0x20
		if c >= 'a' && c <= 'z' && compact[c-'a'] != "" {
			return compact[c-'a']
		}
	}
	return name
}

// CanonicalName is name's RFC spelling if this package knows it (compact
// forms expanded: "v" is "Via", "call-id" is "Call-ID"), else name.
func CanonicalName(name string) string {
	name = fullName(name)
	if s, ok := spelled[strings.ToLower(name)]; ok {
		return s
	}
	return name
}

func (f Field) is(full string) bool { return strings.EqualFold(f.Name, full) }

// Get returns the value of the first field named name, or "".
func (h Header) Get(name string) string {
	name = fullName(name)
	for _, f := range h {
		if f.is(name) {
			return f.Value
		}
	}
	return ""
}

// Has reports whether a field named name is present.
func (h Header) Has(name string) bool {
	name = fullName(name)
	for _, f := range h {
		if f.is(name) {
			return true
		}
	}
	return false
}

// Lines returns the values of every field named name, one per field, as
// received (commas not split).
func (h Header) Lines(name string) []string {
	name = fullName(name)
	var out []string
	for _, f := range h {
		if f.is(name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// Values returns every comma-separated value of every field named name in
// order: "Via: a, b" and two Via fields give the same. Use it for list
// headers only (not for Date or WWW-Authenticate, whose values hold
// commas).
func (h Header) Values(name string) []string {
	name = fullName(name)
	var out []string
	for _, f := range h {
		if f.is(name) {
			out = appendList(out, f.Value)
		}
	}
	return out
}

// Tokens returns the tokens of a token-list header (Allow, Supported,
// Require, Proxy-Require, Unsupported), every field, in order.
func (h Header) Tokens(name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// HasToken reports whether the token list name holds tok (case-insensitive,
// as option tags and methods are compared in practice).
func (h Header) HasToken(name, tok string) bool {
	for _, t := range h.Tokens(name) {
		if strings.EqualFold(t, tok) {
			return true
		}
	}
	return false
}

// Unsupported returns the option tags of the Require and Proxy-Require
// fields that are not in supported: what a 420 Bad Extension lists in its
// Unsupported header (RFC 3261 §8.2.2.3).
func (h Header) Unsupported(supported ...string) []string {
	var out []string
	for _, name := range []string{"Require", "Proxy-Require"} {
	next:
		for _, t := range h.Tokens(name) {
			for _, s := range supported {
				if strings.EqualFold(t, s) {
					continue next
				}
			}
			out = append(out, t)
		}
	}
	return out
}

// Add appends a field (name in its RFC spelling if known).
func (h *Header) Add(name, value string) {
	*h = append(*h, Field{Name: CanonicalName(name), Value: value})
}

// Set replaces the fields named name by one with value, in the place of
// the first (at the end if there was none).
func (h *Header) Set(name, value string) {
	full := fullName(name)
	for i, f := range *h {
		if f.is(full) {
			(*h)[i] = Field{Name: CanonicalName(name), Value: value}
			*h = append((*h)[:i+1], deleteNamed((*h)[i+1:], full)...)
			return
		}
	}
	h.Add(name, value)
}

// Del removes every field named name.
func (h *Header) Del(name string) {
	*h = deleteNamed(*h, fullName(name))
}

func deleteNamed(fs []Field, full string) []Field {
	out := fs[:0]
	for _, f := range fs {
		if !f.is(full) {
			out = append(out, f)
		}
	}
	clear(fs[len(out):])
	return out
}

// SetFirst replaces the first value of the list header name (the top Via,
// say) by value, splitting a field that carries several values so that
// the others keep their place.
func (h *Header) SetFirst(name, value string) {
	full := fullName(name)
	for i, f := range *h {
		if !f.is(full) {
			continue
		}
		vals := appendList(nil, f.Value)
		(*h)[i].Value = value
		if len(vals) > 1 {
			*h = append((*h)[:i+1], append([]Field{{Name: f.Name, Value: strings.Join(vals[1:], ", ")}}, (*h)[i+1:]...)...)
		}
		return
	}
	h.Add(name, value)
}

// Clone returns a copy that shares nothing with h.
func (h Header) Clone() Header {
	if h == nil {
		return nil
	}
	return append(Header(nil), h...)
}

// appendList appends the values of a list header's field: split at commas
// outside double quotes and angle brackets, each trimmed.
func appendList(out []string, v string) []string {
	start, quoted, angle := 0, false, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case c == ',' && !angle:
			out = append(out, strings.TrimSpace(v[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(v[start:]))
}

// TopVia parses the first Via value.
func (h Header) TopVia() (Via, error) {
	first, ok := h.first("Via")
	if !ok {
		return Via{}, errMissing("Via")
	}
	return ParseVia(first)
}

// first is the first list value of name.
func (h Header) first(name string) (string, bool) {
	v := h.Get(name)
	if v == "" && !h.Has(name) {
		return "", false
	}
	vals := appendList(nil, v)
	return vals[0], true
}

// Address parses the first value of a name-addr header (From, To,
// Contact, Route, Refer-To, P-Asserted-Identity).
func (h Header) Address(name string) (Address, error) {
	first, ok := h.first(name)
	if !ok {
		return Address{}, errMissing(CanonicalName(name))
	}
	return ParseAddress(first)
}

// Addresses parses every value of a name-addr list header (Route,
// Record-Route, Contact, Path) in order.
func (h Header) Addresses(name string) ([]Address, error) {
	var out []Address
	for _, v := range h.Values(name) {
		a, err := ParseAddress(v)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// CSeq parses the CSeq header.
func (h Header) CSeq() (CSeq, error) {
	if !h.Has("CSeq") {
		return CSeq{}, errMissing("CSeq")
	}
	return ParseCSeq(h.Get("CSeq"))
}

// CallID returns the Call-ID, or "".
func (h Header) CallID() string { return h.Get("Call-ID") }
