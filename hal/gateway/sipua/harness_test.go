package sipua

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"go.uber.org/goleak"
	"lifeline/hal/sip"

	"lifeline/hal/clock"
)

func TestMain(m *testing.M) {
	gosip.SetDefaultLogger(slog.New(slog.DiscardHandler)) // sipgo's, global: the interop peers
	goleak.VerifyTestMain(m)
}

// safety is the real-clock net under waits for messages: the tests wait
// on datagrams and on the loop, never on time, but must not hang.
const safety = 10 * time.Second

const (
	uaAddr   = "10.0.0.1:5060"
	peerAddr = "10.0.0.2:5060"
)

// syncBuffer is a log sink the loop and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is a UA on a fake clock over a memNet, and a peer socket the
// test speaks raw SIP on.
type harness struct {
	t      testing.TB
	clk    *clock.Fake
	net    *memNet
	ua     *UA
	peer   *memConn
	logs   *syncBuffer
	parser *gosip.Parser
	stop   func()
}

func testLogger(buf *syncBuffer) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(ioMulti{os.Stderr, buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type ioMulti struct {
	a, b interface{ Write([]byte) (int, error) }
}

func (m ioMulti) Write(p []byte) (int, error) {
	m.a.Write(p)
	return m.b.Write(p)
}

// newHarness starts a UA with handlers; it stops with the test.
func newHarness(t testing.TB, handlers map[sip.Method]func(*ServerTx)) *harness {
	t.Helper()
	return newHarnessWith(t, handlers, nil)
}

// newHarnessWith is newHarness with tweak applied to the UA's Config.
func newHarnessWith(t testing.TB, handlers map[sip.Method]func(*ServerTx), tweak func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)), net: newMemNet(),
		logs: &syncBuffer{}, parser: gosip.NewParser()}
	conn := h.net.listen(uaAddr)
	h.peer = h.net.listen(peerAddr)
	cfg := Config{Conn: conn, Contact: sip.URI{Scheme: "sip", User: "ua", Host: "10.0.0.1", Port: 5060},
		UserAgent: "sipua-test", Clock: h.clk, Logger: testLogger(h.logs)}
	if tweak != nil {
		tweak(&cfg)
	}
	ua, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for m, f := range handlers {
		ua.Handle(m, f)
	}
	h.ua = ua
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ua.Serve(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(safety):
				t.Error("Serve did not return")
			}
			h.peer.Close()
		})
	}
	t.Cleanup(h.stop)
	return h
}

// send writes a raw message from the peer to the UA.
func (h *harness) send(msg string) {
	h.t.Helper()
	h.sendFrom(h.peer, msg)
}

func (h *harness) sendFrom(c *memConn, msg string) {
	h.t.Helper()
	if _, err := c.WriteTo([]byte(msg), net.UDPAddrFromAddrPort(netip.MustParseAddrPort(uaAddr))); err != nil {
		h.t.Fatal(err)
	}
}

// recv waits for the next message the peer receives.
func (h *harness) recv() gosip.Message {
	h.t.Helper()
	return h.recvOn(h.peer)
}

func (h *harness) recvOn(c *memConn) gosip.Message {
	h.t.Helper()
	select {
	case p := <-c.in:
		m, err := h.parser.ParseSIP(p.data)
		if err != nil {
			h.t.Fatalf("the UA sent an unparsable message: %v\n%s", err, p.data)
		}
		return m
	case <-time.After(safety):
		h.t.Fatal("no message from the UA")
		return nil
	}
}

func (h *harness) recvResponse(code int) *gosip.Response {
	h.t.Helper()
	m := h.recv()
	res, ok := m.(*gosip.Response)
	if !ok || res.StatusCode != code {
		h.t.Fatalf("got %s, want a %d response", short(m), code)
	}
	return res
}

func (h *harness) recvRequest(method sip.Method) *gosip.Request {
	h.t.Helper()
	m := h.recv()
	req, ok := m.(*gosip.Request)
	if !ok || string(req.Method) != string(method) {
		h.t.Fatalf("got %s, want a %s", short(m), method)
	}
	return req
}

func short(m gosip.Message) string {
	switch m := m.(type) {
	case *gosip.Request:
		return string(m.Method) + " " + m.Recipient.String()
	case *gosip.Response:
		return fmt.Sprintf("%d %s (%s)", m.StatusCode, m.Reason, m.CSeq().MethodName)
	}
	return "nothing"
}

// sync runs the UA's due timers on its loop and returns once they ran: the
// barrier after which the peer's queue holds all they sent.
func (h *harness) sync() {
	h.t.Helper()
	if err := h.ua.do(h.ua.settle); err != nil {
		h.t.Fatal(err)
	}
}

// advance moves the fake clock and waits for the timers it fired.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.clk.Advance(d)
	h.sync()
}

// drain returns the messages queued at the peer, without waiting.
func (h *harness) drain() []gosip.Message {
	h.t.Helper()
	var out []gosip.Message
	for {
		select {
		case p := <-h.peer.in:
			m, err := h.parser.ParseSIP(p.data)
			if err != nil {
				h.t.Fatalf("unparsable: %v", err)
			}
			out = append(out, m)
		default:
			return out
		}
	}
}

// count advances the clock in steps of step for total and counts what the
// peer received, by short form.
func (h *harness) count(step, total time.Duration) map[string]int {
	h.t.Helper()
	got := map[string]int{}
	for d := time.Duration(0); d < total; d += step {
		h.advance(step)
		for _, m := range h.drain() {
			got[short(m)]++
		}
	}
	return got
}

// msg is a raw SIP message: the start line, headers, a body.
func msg(start string, body string, hdrs ...string) string {
	var b strings.Builder
	b.WriteString(start + "\r\n")
	for _, hd := range hdrs {
		b.WriteString(hd + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

// dlgReq is a request from the peer in call cid.
type dlgReq struct {
	method  sip.Method
	branch  string
	cid     string
	fromTag string
	toTag   string
	cseq    int
	extra   []string
	body    string
	sentBy  string
}

func (r dlgReq) String() string {
	sentBy, viaParams := r.sentBy, ""
	if sentBy == "" {
		sentBy = peerAddr
	}
	if s, ok := strings.CutSuffix(sentBy, ";rport"); ok {
		sentBy, viaParams = s, ";rport"
	}
	to := "To: <sip:5551234@10.0.0.1>"
	if r.toTag != "" {
		to += ";tag=" + r.toTag
	}
	cseqMethod := r.method
	hdrs := append([]string{
		"Via: SIP/2.0/UDP " + sentBy + ";branch=" + r.branch + viaParams,
		"Max-Forwards: 70",
		"From: <sip:phone@10.0.0.2>;tag=" + r.fromTag,
		to,
		"Call-ID: " + r.cid,
		fmt.Sprintf("CSeq: %d %s", r.cseq, cseqMethod),
		"Contact: <sip:phone@10.0.0.2:5060>",
	}, r.extra...)
	return msg(string(r.method)+" sip:5551234@10.0.0.1:5060 SIP/2.0", r.body, hdrs...)
}

// reply is the peer's response to a request the UA sent.
func reply(req *gosip.Request, code int, reason, toTag string, hdrs ...gosip.Header) string {
	res := gosip.NewResponseFromRequest(req, code, reason, nil)
	if toTag != "" {
		res.To().Params.Add("tag", toTag)
	} else {
		res.To().Params.Remove("tag")
	}
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	return res.String()
}
