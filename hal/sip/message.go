package sip

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Errors.
var (
	// ErrMalformed: bytes that are not a well-formed SIP message (or URI,
	// address, Via, CSeq).
	ErrMalformed = errors.New("sip: malformed message")
)

// Limits that keep a hostile peer from making the parser allocate much.
const (
	// MaxMessage is the largest message Parse and ReadStream accept.
	MaxMessage = 64 << 10
	// MaxHeaders is the most header fields Parse accepts.
	MaxHeaders = 256
)

// Method is a request method, case-sensitive (RFC 3261 §7.1).
type Method string

// Methods.
const (
	INVITE    Method = "INVITE"
	ACK       Method = "ACK"
	BYE       Method = "BYE"
	CANCEL    Method = "CANCEL"
	OPTIONS   Method = "OPTIONS"
	REGISTER  Method = "REGISTER"
	PRACK     Method = "PRACK"
	UPDATE    Method = "UPDATE"
	REFER     Method = "REFER"
	NOTIFY    Method = "NOTIFY"
	SUBSCRIBE Method = "SUBSCRIBE"
	INFO      Method = "INFO"
	MESSAGE   Method = "MESSAGE"
)

// Message is a *Request or a *Response.
type Message interface {
	// Headers returns the message's header fields.
	Headers() Header
	// Append appends the message's wire form to b.
	Append(b []byte) []byte
	String() string
}

// Request is a SIP request.
type Request struct {
	Method Method
	URI    URI
	Header Header
	Body   []byte
}

// Response is a SIP response.
type Response struct {
	Status int // 100..699
	Reason string
	Header Header
	Body   []byte
}

var (
	_ Message = (*Request)(nil)
	_ Message = (*Response)(nil)
)

// Headers returns r.Header.
func (r *Request) Headers() Header { return r.Header }

// Headers returns r.Header.
func (r *Response) Headers() Header { return r.Header }

// Append appends r's wire form to b (Content-Length from Body).
func (r *Request) Append(b []byte) []byte {
	b = append(b, r.Method...)
	b = append(b, ' ')
	b = r.URI.Append(b)
	b = append(b, " SIP/2.0\r\n"...)
	return appendRest(b, r.Header, r.Body)
}

// Append appends r's wire form to b (Content-Length from Body).
func (r *Response) Append(b []byte) []byte {
	b = append(b, "SIP/2.0 "...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, ' ')
	b = append(b, r.Reason...)
	b = append(b, "\r\n"...)
	return appendRest(b, r.Header, r.Body)
}

func appendRest(b []byte, h Header, body []byte) []byte {
	for _, f := range h {
		if f.is("Content-Length") {
			continue
		}
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}

// String is r's wire form.
func (r *Request) String() string { return string(r.Append(nil)) }

// String is r's wire form.
func (r *Response) String() string { return string(r.Append(nil)) }

// Clone returns a deep copy of r.
func (r *Request) Clone() *Request {
	c := *r
	c.URI = r.URI.Clone()
	c.Header = r.Header.Clone()
	c.Body = bytes.Clone(r.Body)
	return &c
}

// Clone returns a deep copy of r.
func (r *Response) Clone() *Response {
	c := *r
	c.Header = r.Header.Clone()
	c.Body = bytes.Clone(r.Body)
	return &c
}

// CallID returns the Call-ID, or "".
func (r *Request) CallID() string { return r.Header.CallID() }

// CallID returns the Call-ID, or "".
func (r *Response) CallID() string { return r.Header.CallID() }

// NewResponse is the response to req (RFC 3261 §8.2.6.2): its Via fields,
// From, To, Call-ID and CSeq; Timestamp for a 100; Record-Route for the
// 101..299 that make a dialog (§12.1.1). reason "" is StatusText(code).
// The To tag is the caller's business.
func NewResponse(req *Request, code int, reason string) *Response {
	if reason == "" {
		reason = StatusText(code)
	}
	res := &Response{Status: code, Reason: reason, Header: make(Header, 0, 8)}
	for _, f := range req.Header {
		switch CanonicalName(f.Name) {
		case "Via", "From", "To", "Call-ID", "CSeq":
		case "Timestamp":
			if code != 100 {
				continue
			}
		case "Record-Route":
			if code <= 100 || code >= 300 {
				continue
			}
		default:
			continue
		}
		res.Header = append(res.Header, Field{Name: CanonicalName(f.Name), Value: f.Value})
	}
	return res
}

// Parse parses one message: a datagram, or what ReadStream returned.
// Errors wrap ErrMalformed.
func Parse(b []byte) (Message, error) {
	if len(b) > MaxMessage {
		return nil, malformed(strconv.Itoa(len(b)) + " bytes exceed " + strconv.Itoa(MaxMessage))
	}
	head, body, found := bytes.Cut(b, []byte("\r\n\r\n"))
	if !found {
		var lf bool
		if head, body, lf = bytes.Cut(b, []byte("\n\n")); !lf { // bare LF
			head, body = bytes.TrimRight(b, "\r\n"), nil
		}
	}
	text := string(head)
	if strings.IndexByte(text, '\r') >= 0 {
		text = strings.ReplaceAll(text, "\r\n", "\n")
	}
	start, rest, _ := strings.Cut(text, "\n")
	hdr, err := parseHeader(rest)
	if err != nil {
		return nil, err
	}
	if body, err = bodyOf(hdr, body); err != nil {
		return nil, err
	}
	if strings.HasPrefix(start, "SIP/") || strings.HasPrefix(start, "sip/") {
		r := &Response{Header: hdr, Body: body}
		if err := r.parseStatusLine(start); err != nil {
			return nil, err
		}
		return r, nil
	}
	r := &Request{Header: hdr, Body: body}
	if err := r.parseRequestLine(start); err != nil {
		return nil, err
	}
	return r, nil
}

// ParseRequest parses a message that must be a request.
func ParseRequest(b []byte) (*Request, error) {
	m, err := Parse(b)
	if err != nil {
		return nil, err
	}
	r, ok := m.(*Request)
	if !ok {
		return nil, malformed("a response where a request was expected")
	}
	return r, nil
}

// ParseResponse parses a message that must be a response.
func ParseResponse(b []byte) (*Response, error) {
	m, err := Parse(b)
	if err != nil {
		return nil, err
	}
	r, ok := m.(*Response)
	if !ok {
		return nil, malformed("a request where a response was expected")
	}
	return r, nil
}

// parseHeader parses the header lines (LF-separated, the start line
// removed): folding, compact forms, names spelled canonically.
func parseHeader(text string) (Header, error) {
	var h Header
	lineNo := 1
	for text != "" {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		lineNo++
		if line == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' { // folded continuation (LWS)
			if len(h) == 0 {
				return nil, malformed("line " + strconv.Itoa(lineNo) + ": continuation without a header")
			}
			if more := strings.TrimSpace(line); more != "" {
				last := &h[len(h)-1]
				if last.Value == "" {
					last.Value = more
				} else {
					last.Value += " " + more
				}
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		k = strings.TrimRight(k, " \t")
		if !ok || !isToken(k) {
			return nil, malformed("line " + strconv.Itoa(lineNo) + ": bad header " + q(line))
		}
		if len(h) == MaxHeaders {
			return nil, malformed("more than " + strconv.Itoa(MaxHeaders) + " headers")
		}
		if h == nil {
			h = make(Header, 0, min(16, strings.Count(text, "\n")+1))
		}
		h = append(h, Field{Name: CanonicalName(k), Value: strings.TrimSpace(v)})
	}
	return h, nil
}

// bodyOf cuts body to the Content-Length (RFC 3261 §18.3); no
// Content-Length: all of it (a datagram's rest).
func bodyOf(h Header, body []byte) ([]byte, error) {
	lines := h.Lines("Content-Length")
	if len(lines) > 0 {
		for _, cl := range lines[1:] {
			if cl != lines[0] {
				return nil, malformed("Content-Length " + q(lines[0]) + " and " + q(cl))
			}
		}
		l, err := strconv.Atoi(lines[0])
		if err != nil || l < 0 || lines[0][0] == '+' {
			return nil, malformed("bad Content-Length " + q(lines[0]))
		}
		if l > len(body) {
			return nil, malformed("body of " + strconv.Itoa(len(body)) + " bytes, Content-Length " + strconv.Itoa(l))
		}
		body = body[:l]
	}
	if len(body) == 0 {
		return nil, nil
	}
	return bytes.Clone(body), nil
}

func (r *Response) parseStatusLine(line string) error {
	proto, rest, ok := strings.Cut(line, " ")
	if !ok || !strings.EqualFold(proto, "SIP/2.0") {
		return malformed("status line " + q(line))
	}
	code, reason, _ := strings.Cut(rest, " ")
	st, err := strconv.Atoi(code)
	if len(code) != 3 || err != nil || st < 100 || st > 699 {
		return malformed("status code " + q(code))
	}
	r.Status, r.Reason = st, strings.TrimSpace(reason)
	return nil
}

func (r *Request) parseRequestLine(line string) error {
	parts := strings.Split(line, " ")
	if len(parts) != 3 || !isToken(parts[0]) || !strings.EqualFold(parts[2], "SIP/2.0") {
		return malformed("request line " + q(line))
	}
	u, err := ParseURI(parts[1])
	if err != nil {
		return within("request line", err)
	}
	r.Method, r.URI = Method(parts[0]), u
	return nil
}

// isToken reports whether s is a non-empty RFC 3261 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !isAlnum(c) && strings.IndexByte("-.!%*_+`'~", c) < 0 {
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

func errMissing(name string) error { return malformed("no " + name) }

// parseError is malformed input: what is wrong and where, outermost
// first. It wraps ErrMalformed. (Built by concatenation rather than
// fmt.Errorf: some 50 call sites, and fmt's boxing costs flash on MIPS.)
type parseError struct{ msg string }

func (e *parseError) Error() string { return ErrMalformed.Error() + ": " + e.msg }
func (e *parseError) Unwrap() error { return ErrMalformed }

func malformed(msg string) error { return &parseError{msg} }

// within puts the context ctx before err's message.
func within(ctx string, err error) error {
	if p, ok := err.(*parseError); ok {
		return &parseError{ctx + ": " + p.msg}
	}
	return err
}

// q quotes s for an error message, clipped.
func q(s string) string { return strconv.Quote(clip(s)) }

// ReadStream reads one message from a stream transport (TCP): the header
// up to the blank line, then Content-Length bytes of body (none without
// one, RFC 3261 §18.3). Keep-alive CRLFs between messages (RFC 5626) are
// skipped. The result goes to Parse.
func ReadStream(br *bufio.Reader) ([]byte, error) {
	var msg []byte
	length := 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil, malformed("header line too long")
			}
			return nil, err
		}
		if len(msg) == 0 && len(bytes.TrimSpace(line)) == 0 {
			continue // keep-alive
		}
		msg = append(msg, line...)
		if len(msg) > MaxMessage {
			return nil, malformed("header over " + strconv.Itoa(MaxMessage) + " bytes")
		}
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(trimmed, []byte(":")); ok && strings.EqualFold(fullName(string(bytes.TrimSpace(k))), "Content-Length") {
			l, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil || l < 0 || l > MaxMessage-len(msg) {
				return nil, malformed("bad Content-Length " + q(string(v)))
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
