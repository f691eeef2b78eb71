// Package sip is Lifeline's SIP message layer (RFC 3261 §7, §19, §20,
// §25): the parser and writer of requests and responses, URIs, name-addr
// headers (From, To, Contact, Route, Record-Route, Refer-To), Via and
// CSeq, shared by the provider prober (hal/sipprobe) and the gateway's
// user agent (hal/gateway/sipua). It has no transport and needs nothing
// but the standard library (no fmt, no crypto: tags, branches and Call-IDs
// come from math/rand/v2's ChaCha8).
//
// # Model
//
// A message keeps its headers as an ordered list of name/value fields
// (Header), the values as received (folded lines joined by one space,
// surrounding whitespace trimmed). Names are matched case-insensitively
// and compact forms (v, f, t, i, m, l, c, k, ...) are expanded when
// parsing and when looking up, so Header.Get("v") and Header.Get("VIA")
// both find Via. Known names are stored in their RFC spelling (Call-ID,
// CSeq, WWW-Authenticate); unknown ones as received.
//
// List headers (Via, Route, Record-Route, Contact, Allow, Supported,
// Require, ...) may carry several comma-separated values in one field and
// may be repeated; Header.Values returns every value of every field in
// order, split at the commas outside quotes and angle brackets, so one
// header line or several make no difference. Header.Tokens does the same
// for token lists (Allow, Supported, Require) and Unsupported answers the
// RFC 3261 §8.2.2.3 question (what of a Require the UA does not support).
// Typed values are parsed on demand: ParseURI, ParseAddress, ParseVia,
// ParseCSeq, and the shortcuts Header.TopVia, Header.CSeq, Header.Address.
//
// A message is written with Append or String: the start line, the fields
// in order, Content-Length computed from Body (whatever Content-Length
// field the header holds is left out), the blank line and the body. A
// transaction keeps those bytes for its retransmissions and can drop the
// parsed message.
//
// # Limits and errors
//
// Parse refuses messages over MaxMessage bytes or with more than
// MaxHeaders fields, a Content-Length above the bytes that follow the
// header (RFC 3261 §18.3: a datagram cut short), several different
// Content-Length values, header lines without a name, and start lines
// that are neither a request nor a response of SIP/2.0. Errors wrap
// ErrMalformed and name what is wrong and on which line. Bytes after
// Content-Length are ignored. Bare LF line ends are accepted. Parse never
// panics; its result is a copy and does not alias the input.
//
// URIs: the user and password parts are unescaped (%XX) when parsed and
// escaped when written; parameter and header parts are kept as received.
// An IPv6 host is held without brackets and written with them.
//
// Values are not safe for concurrent modification; a parsed message read
// by several goroutines is safe.
package sip
