package simboard

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
)

// Provider is the simulated board's SIP provider: a UDP socket on loopback
// that answers every OPTIONS with 200 OK while up and stays silent while
// down, so the real provider probe (hal/sipprobe) runs against it. It owns
// one goroutine, stopped by Close.
type Provider struct {
	conn *net.UDPConn
	up   atomic.Bool
	wg   sync.WaitGroup
	once sync.Once
}

// NewProvider listens on 127.0.0.1 at a free port; it starts up.
func NewProvider() (*Provider, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("sim provider: %w", err)
	}
	p := &Provider{conn: c}
	p.up.Store(true)
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Port is the UDP port to probe.
func (p *Provider) Port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// SetUp makes the provider answer (true) or fall silent (false).
func (p *Provider) SetUp(up bool) { p.up.Store(up) }

// Close stops the provider and waits for its goroutine; it is idempotent.
func (p *Provider) Close() error {
	p.once.Do(func() { p.conn.Close() })
	p.wg.Wait()
	return nil
}

func (p *Provider) serve() {
	defer p.wg.Done()
	buf := make([]byte, 8192)
	for {
		n, from, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !p.up.Load() {
			continue
		}
		if resp := answer(buf[:n]); resp != nil {
			p.conn.WriteToUDP(resp, from)
		}
	}
}

// answer builds the 200 OK for a SIP request: Via, From, To (tagged),
// Call-ID and CSeq copied as RFC 3261 section 8.2.6 asks. Anything that is
// not a request gets nothing.
func answer(req []byte) []byte {
	head, _, _ := bytes.Cut(req, []byte("\r\n\r\n"))
	lines := bytes.Split(head, []byte("\r\n"))
	if len(lines) < 2 || !bytes.HasSuffix(lines[0], []byte(" SIP/2.0")) {
		return nil
	}
	var out bytes.Buffer
	out.WriteString("SIP/2.0 200 OK\r\n")
	for _, l := range lines[1:] {
		name, _, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		switch string(bytes.ToLower(bytes.TrimSpace(name))) {
		case "via", "v", "from", "f", "call-id", "i", "cseq":
			out.Write(l)
			out.WriteString("\r\n")
		case "to", "t":
			out.Write(l)
			if !bytes.Contains(bytes.ToLower(l), []byte(";tag=")) {
				out.WriteString(";tag=sim")
			}
			out.WriteString("\r\n")
		}
	}
	out.WriteString("Server: lifeline-sim\r\nContent-Length: 0\r\n\r\n")
	return out.Bytes()
}
