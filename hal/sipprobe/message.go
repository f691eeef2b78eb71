package sipprobe

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Parser errors.
var (
	// ErrMalformed means bytes that are not a well-formed SIP response.
	ErrMalformed = errors.New("sipprobe: malformed SIP message")
	// ErrNotResponse means a well-formed SIP request where a response was
	// expected (the peer sent us a request).
	ErrNotResponse = errors.New("sipprobe: SIP request, not a response")
)

// Limits that keep a hostile peer from making the parser allocate much.
const (
	maxMessage = 64 << 10
	maxHeaders = 256
)

// compact maps RFC 3261 §7.3.3 (and later RFCs') compact header forms to
// the lower-case full names used as Header keys.
var compact = map[string]string{
	"a": "accept-contact", "b": "referred-by", "c": "content-type", "d": "request-disposition",
	"e": "content-encoding", "f": "from", "i": "call-id", "j": "reject-contact", "k": "supported",
	"l": "content-length", "m": "contact", "n": "identity-info", "o": "event", "r": "refer-to",
	"s": "subject", "t": "to", "u": "allow-events", "v": "via", "x": "session-expires", "y": "identity",
}

// canonicalName lower-cases a header name and expands a compact form.
func canonicalName(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	if full, ok := compact[n]; ok {
		return full
	}
	return n
}

// Header holds header values by lower-case full name, in message order.
// A header line carrying several comma-separated values (Via: a, b) is
// kept as one value.
type Header map[string][]string

// Get returns the first value of the header name (any case, compact form
// accepted), or "".
func (h Header) Get(name string) string {
	if v := h[canonicalName(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Response is a parsed SIP response.
type Response struct {
	Proto  string // "SIP/2.0"
	Status int    // 100..699
	Reason string
	Header Header
	Body   []byte
}

// ParseResponse parses one SIP response (status line, headers with
// folding and compact forms, and a body bounded by Content-Length). It
// never panics; errors wrap ErrMalformed or ErrNotResponse.
func ParseResponse(b []byte) (*Response, error) {
	if len(b) > maxMessage {
		return nil, fmt.Errorf("%w: %d bytes exceed %d", ErrMalformed, len(b), maxMessage)
	}
	head, body, found := bytes.Cut(b, []byte("\r\n\r\n"))
	if !found {
		head, body, _ = bytes.Cut(b, []byte("\n\n")) // tolerate bare LF
	}
	lines := strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n")
	r := &Response{Header: Header{}}
	if err := r.parseStatusLine(lines[0]); err != nil {
		return nil, err
	}
	var name, value string
	n := 0
	flush := func() error {
		if name == "" {
			return nil
		}
		n++
		if n > maxHeaders {
			return fmt.Errorf("%w: more than %d headers", ErrMalformed, maxHeaders)
		}
		r.Header[name] = append(r.Header[name], strings.TrimSpace(value))
		name, value = "", ""
		return nil
	}
	for i, line := range lines[1:] {
		if line == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' { // folded continuation (LWS)
			if name == "" {
				return nil, fmt.Errorf("%w: line %d: continuation without a header", ErrMalformed, i+2)
			}
			value += " " + strings.TrimSpace(line)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		k, v, ok := strings.Cut(line, ":")
		k = strings.TrimRight(k, " \t")
		if !ok || !isToken(k) {
			return nil, fmt.Errorf("%w: line %d: bad header %q", ErrMalformed, i+2, clip(line))
		}
		name, value = canonicalName(k), v
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if cl := r.Header.Get("content-length"); cl != "" {
		l, err := strconv.Atoi(cl)
		if err != nil || l < 0 {
			return nil, fmt.Errorf("%w: bad Content-Length %q", ErrMalformed, clip(cl))
		}
		if l > len(body) {
			return nil, fmt.Errorf("%w: body of %d bytes, Content-Length %d", ErrMalformed, len(body), l)
		}
		body = body[:l]
	}
	if len(body) > 0 {
		r.Body = append([]byte(nil), body...)
	}
	return r, nil
}

func (r *Response) parseStatusLine(line string) error {
	proto, rest, ok := strings.Cut(line, " ")
	if !ok {
		return fmt.Errorf("%w: status line %q", ErrMalformed, clip(line))
	}
	if !strings.HasPrefix(strings.ToUpper(proto), "SIP/") {
		// "OPTIONS sip:x SIP/2.0" is a request.
		if strings.HasSuffix(strings.ToUpper(strings.TrimSpace(line)), " SIP/2.0") && isToken(proto) {
			return fmt.Errorf("%w: %s", ErrNotResponse, proto)
		}
		return fmt.Errorf("%w: status line %q", ErrMalformed, clip(line))
	}
	code, reason, _ := strings.Cut(rest, " ")
	if len(code) != 3 {
		return fmt.Errorf("%w: status code %q", ErrMalformed, clip(code))
	}
	st, err := strconv.Atoi(code)
	if err != nil || st < 100 || st > 699 {
		return fmt.Errorf("%w: status code %q", ErrMalformed, clip(code))
	}
	r.Proto, r.Status, r.Reason = proto, st, strings.TrimSpace(reason)
	return nil
}

// isToken reports whether s is a non-empty RFC 3261 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-.!%*_+`'~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// CSeq returns the sequence number and method of the CSeq header.
func (r *Response) CSeq() (uint32, string, bool) {
	num, method, ok := strings.Cut(strings.TrimSpace(r.Header.Get("cseq")), " ")
	if !ok {
		return 0, "", false
	}
	n, err := strconv.ParseUint(num, 10, 32)
	if err != nil {
		return 0, "", false
	}
	return uint32(n), strings.TrimSpace(method), true
}

// TopViaBranch returns the branch parameter of the topmost Via.
func (r *Response) TopViaBranch() string {
	via := r.Header.Get("via")
	if i := strings.IndexByte(via, ','); i >= 0 { // several values on one line
		via = via[:i]
	}
	parts := strings.Split(via, ";")
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "branch") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// readStreamMessage reads one SIP message from a stream transport (TCP):
// headers up to the blank line, then Content-Length bytes of body.
// Keep-alive CRLFs between messages (RFC 5626) are skipped.
func readStreamMessage(br *bufio.Reader) ([]byte, error) {
	var msg []byte
	length := 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil, fmt.Errorf("%w: header line too long", ErrMalformed)
			}
			return nil, err
		}
		if len(msg) == 0 && len(bytes.TrimSpace(line)) == 0 {
			continue // keep-alive
		}
		msg = append(msg, line...)
		if len(msg) > maxMessage {
			return nil, fmt.Errorf("%w: header over %d bytes", ErrMalformed, maxMessage)
		}
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(trimmed, []byte(":")); ok && canonicalName(string(k)) == "content-length" {
			l, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil || l < 0 || l > maxMessage {
				return nil, fmt.Errorf("%w: bad Content-Length %q", ErrMalformed, clip(string(v)))
			}
			length = l
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, err
	}
	return append(msg, body...), nil
}
