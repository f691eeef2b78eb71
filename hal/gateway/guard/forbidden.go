package guard

import (
	"bytes"
)

// copied are the headers a response copies from its request (RFC 3261
// §8.2.6.2), long and compact forms, lower case.
var copied = map[string]bool{"via": true, "v": true, "from": true, "f": true, "to": true, "t": true,
	"call-id": true, "i": true, "cseq": true}

// Forbidden returns a 403 response to the SIP request req, or nil when req
// is no request (a response, junk), is an ACK, lacks a header the response
// needs, or the response would be larger than req. It reads only the
// start line and the header lines it copies; folded header lines are
// joined with a space (RFC 3261 §7.3.1).
func Forbidden(req []byte) []byte {
	head, _, _ := bytes.Cut(req, []byte("\r\n\r\n"))
	lines := bytes.Split(head, []byte("\r\n"))
	method, _, ok := bytes.Cut(lines[0], []byte(" "))
	if !ok || len(method) == 0 || bytes.HasPrefix(lines[0], []byte("SIP/")) || string(method) == "ACK" ||
		!bytes.HasSuffix(lines[0], []byte(" SIP/2.0")) || !token(method) {
		return nil
	}
	var hdrs [][]byte // "Name: value", folded lines joined
	for _, l := range lines[1:] {
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') {
			if len(hdrs) > 0 {
				hdrs[len(hdrs)-1] = append(append(hdrs[len(hdrs)-1], ' '), bytes.TrimSpace(l)...)
			}
			continue
		}
		hdrs = append(hdrs, bytes.Clone(l))
	}
	res := []byte("SIP/2.0 403 Forbidden\r\n")
	seen := map[string]bool{}
	for _, h := range hdrs {
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		n := string(bytes.ToLower(bytes.TrimSpace(name)))
		if !copied[n] || bytes.ContainsAny(value, "\r\n\x00") {
			continue
		}
		n = long(n)
		if n != "via" && seen[n] {
			continue // one From, To, Call-ID, CSeq
		}
		seen[n] = true
		value = bytes.TrimSpace(value)
		if n == "to" && !bytes.Contains(bytes.ToLower(value), []byte(";tag=")) {
			value = append(bytes.Clone(value), ";tag=lifeline-403"...)
		}
		res = append(res, canonical[n]...)
		res = append(res, ": "...)
		res = append(res, value...)
		res = append(res, "\r\n"...)
	}
	for _, n := range []string{"via", "from", "to", "call-id", "cseq"} {
		if !seen[n] {
			return nil
		}
	}
	res = append(res, "Content-Length: 0\r\n\r\n"...)
	if len(res) > len(req) {
		return nil
	}
	return res
}

var canonical = map[string]string{"via": "Via", "from": "From", "to": "To", "call-id": "Call-ID", "cseq": "CSeq"}

func long(n string) string {
	switch n {
	case "v":
		return "via"
	case "f":
		return "from"
	case "t":
		return "to"
	case "i":
		return "call-id"
	}
	return n
}

// token: a SIP method is an RFC 3261 token of letters here.
func token(b []byte) bool {
	for _, c := range b {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
