package guard

import (
	"bytes"
	"strings"
)

// Forbidden returns a 403 response to the SIP request req, or nil when req
// is no request (a response, junk), is an ACK, lacks a header the response
// needs, or the response would be larger than req. It reads only the
// start line and the header lines it copies (Via, From, To, Call-ID and
// CSeq, long or compact names, RFC 3261 §8.2.6.2); folded header lines
// are joined with a space (§7.3.1).
func Forbidden(req []byte) []byte {
	head, _, _ := bytes.Cut(req, []byte("\r\n\r\n"))
	lines := bytes.Split(head, []byte("\r\n"))
	method, _, ok := bytes.Cut(lines[0], []byte(" "))
	if !ok || len(method) == 0 || string(method) == "ACK" || !bytes.HasSuffix(lines[0], []byte(" SIP/2.0")) ||
		bytes.IndexFunc(method, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return nil
	}
	// Unfold: a line starting with a space or tab continues the last.
	var hdrs [][]byte
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
	var seen [5]bool // by the index in names
	for _, h := range hdrs {
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok || bytes.ContainsAny(value, "\r\n\x00") {
			continue
		}
		i := headerIndex(string(bytes.TrimSpace(name)))
		if i < 0 || i > 0 && seen[i] { // several Vias, one of the others
			continue
		}
		seen[i] = true
		value = bytes.TrimSpace(value)
		res = append(res, names[i]...)
		res = append(res, ": "...)
		res = append(res, value...)
		if i == 2 && !bytes.Contains(bytes.ToLower(value), []byte(";tag=")) {
			res = append(res, ";tag=lifeline-403"...)
		}
		res = append(res, "\r\n"...)
	}
	for _, ok := range seen {
		if !ok {
			return nil
		}
	}
	res = append(res, "Content-Length: 0\r\n\r\n"...)
	if len(res) > len(req) {
		return nil
	}
	return res
}

// names are the copied headers, in canonical form; headerIndex finds a
// header name (any case, compact forms) among them, or -1.
var names = [5]string{"Via", "From", "To", "Call-ID", "CSeq"}

func headerIndex(n string) int {
	for i, c := range [5]string{"v", "f", "t", "i", ""} {
		if strings.EqualFold(n, names[i]) || c != "" && strings.EqualFold(n, c) {
			return i
		}
	}
	return -1
}
