package sipprobe

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"syscall"
)

// simNet is a simulated network with a SIP provider behind it, for fake-
// clock tests: every datagram written is answered, dropped or refused at
// once, and every write is reported on events so the test knows when the
// prober is waiting on its timers.
type simNet struct {
	mu       sync.Mutex
	rng      *rand.Rand
	loss     float64  // probability that a request, and separately its response, is lost
	dead     bool     // provider silent
	refused  bool     // port unreachable
	status   int      // response code (default 200)
	before   []string // extra datagrams sent before the real response (stale/foreign)
	writes   int
	dropNext int // the next dropNext requests are lost whatever loss says
	events   chan simEvent
}

type simEvent struct {
	answered bool // a response (or refusal) is on its way; no timer needed
}

func newSimNet(seed uint64) *simNet {
	return &simNet{rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), status: 200, events: make(chan simEvent, 1<<16)}
}

func (n *simNet) set(f func(*simNet)) {
	n.mu.Lock()
	f(n)
	n.mu.Unlock()
}

func (n *simNet) dial(_ context.Context, network, address string) (Conn, error) {
	return &simConn{n: n, in: make(chan []byte, 16), closed: make(chan struct{})}, nil
}

type simConn struct {
	n         *simNet
	in        chan []byte
	closeOnce sync.Once
	closed    chan struct{}
}

type simAddr struct{}

func (simAddr) Network() string { return "udp" }
func (simAddr) String() string  { return "192.0.2.2:40000" }

func (c *simConn) LocalAddr() net.Addr { return simAddr{} }

func (c *simConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

func (c *simConn) Read(b []byte) (int, error) {
	select {
	case m := <-c.in:
		if m == nil {
			return 0, &net.OpError{Op: "read", Net: "udp", Err: syscall.ECONNREFUSED}
		}
		return copy(b, m), nil
	case <-c.closed:
		return 0, net.ErrClosed
	}
}

func (c *simConn) Write(b []byte) (int, error) {
	n := c.n
	n.mu.Lock()
	n.writes++
	var out []string
	answered := false
	switch {
	case n.refused:
		out, answered = []string{"refused"}, true
	case n.dead:
	case n.dropNext > 0:
		n.dropNext--
	case n.rng.Float64() < n.loss: // request lost
	case n.rng.Float64() < n.loss: // response lost
	default:
		out = append(append(out, n.before...), answerTo(string(b), n.status))
		answered = true
	}
	n.mu.Unlock()
	for _, m := range out {
		if m == "refused" {
			c.in <- nil // Read turns it into ECONNREFUSED, as ICMP would
			continue
		}
		c.in <- []byte(m)
	}
	n.events <- simEvent{answered: answered}
	return len(b), nil
}

// answerTo builds the response a proxy would send: Via, From, To, Call-ID
// and CSeq copied from the request.
func answerTo(req string, status int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d Reason\r\n", status)
	for _, l := range strings.Split(req, "\r\n") {
		for _, h := range []string{"Via:", "From:", "To:", "Call-ID:", "CSeq:"} {
			if strings.HasPrefix(l, h) {
				b.WriteString(l)
				if h == "To:" {
					b.WriteString(";tag=sim")
				}
				b.WriteString("\r\n")
			}
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}
