package sipprobe

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"lifeline/hal/clock"
)

// dnsServer is a tiny authoritative DNS server on loopback UDP for the
// resolver seam: it answers SRV and A queries from its tables (every
// other name or type: NXDOMAIN) and records the questions. Only what
// Go's resolver asks is implemented: one question, no compression in
// the query, answers with a pointer to the question's name.
type dnsServer struct {
	conn  net.PacketConn
	srv   map[string][]net.SRV    // "_sip._udp.example.net." → records
	a     map[string][]netip.Addr // "edge.example.net." → IPv4 addresses
	mu    sync.Mutex
	asked []string // "SRV name" / "A name", in order
	done  chan struct{}
}

func newDNSServer(t *testing.T, srv map[string][]net.SRV, a map[string][]netip.Addr) *dnsServer {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("needs loopback UDP: %v", err)
	}
	s := &dnsServer{conn: c, srv: srv, a: a, done: make(chan struct{})}
	go s.serve() // ends when the cleanup closes conn
	t.Cleanup(func() { c.Close(); <-s.done })
	return s
}

// resolver is a net.Resolver (the Go one) that asks only this server.
func (s *dnsServer) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", s.conn.LocalAddr().String())
	}}
}

func (s *dnsServer) questions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.asked...)
}

func (s *dnsServer) serve() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if res := s.answer(buf[:n]); res != nil {
			s.conn.WriteTo(res, from)
		}
	}
}

const (
	typeA    = 1
	typeAAAA = 28
	typeSRV  = 33
)

func (s *dnsServer) answer(q []byte) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	// The question: labels up to the root, then type and class.
	i := 12
	var labels []string
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if l > 63 || i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	name := strings.ToLower(strings.Join(labels, ".")) + "."
	qtype := binary.BigEndian.Uint16(q[i+1:])
	qend := i + 5
	var answers [][]byte // RDATA of each answer, of qtype
	switch qtype {
	case typeSRV:
		s.record("SRV " + name)
		for _, r := range s.srv[name] {
			rd := binary.BigEndian.AppendUint16(nil, r.Priority)
			rd = binary.BigEndian.AppendUint16(rd, r.Weight)
			rd = binary.BigEndian.AppendUint16(rd, r.Port)
			answers = append(answers, append(rd, encodeName(r.Target)...))
		}
	case typeA:
		s.record("A " + name)
		for _, a := range s.a[name] {
			answers = append(answers, a.AsSlice())
		}
	}
	known := s.srv[name] != nil || s.a[name] != nil
	res := append([]byte(nil), q[:2]...) // ID
	rcode := byte(0)
	if !known {
		rcode = 3 // NXDOMAIN
	}
	res = append(res, 0x84|q[2]&0x01, rcode) // QR, AA, RD copied; RA 0
	res = binary.BigEndian.AppendUint16(res, 1)
	res = binary.BigEndian.AppendUint16(res, uint16(len(answers)))
	res = append(res, 0, 0, 0, 0) // no authority, no additional
	res = append(res, q[12:qend]...)
	for _, rd := range answers {
		res = append(res, 0xc0, 12) // the question's name
		res = binary.BigEndian.AppendUint16(res, qtype)
		res = binary.BigEndian.AppendUint16(res, 1) // IN
		res = binary.BigEndian.AppendUint32(res, 60)
		res = binary.BigEndian.AppendUint16(res, uint16(len(rd)))
		res = append(res, rd...)
	}
	return res
}

func (s *dnsServer) record(q string) {
	s.mu.Lock()
	s.asked = append(s.asked, q)
	s.mu.Unlock()
}

func encodeName(n string) []byte {
	var b []byte
	for _, l := range strings.Split(strings.TrimSuffix(n, "."), ".") {
		if l == "" {
			continue
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// TestResolveSRVThroughDNS (issue 14 item 9): without a port the probe
// target comes from _sip._udp / _sip._tcp SRV records served by a DNS
// server on loopback to Go's own resolver: the lowest priority first, a
// target without an address skipped for the next, no SRV records means
// the host's address on 5060, and an explicit port asks no SRV at all.
func TestResolveSRVThroughDNS(t *testing.T) {
	v4 := netip.MustParseAddr
	dns := newDNSServer(t, map[string][]net.SRV{
		"_sip._udp.example.net.": {
			{Target: "backup.example.net.", Port: 5090, Priority: 20, Weight: 10},
			{Target: "edge.example.net.", Port: 5070, Priority: 10, Weight: 10},
		},
		"_sip._tcp.example.net.": {
			{Target: "gone.example.net.", Port: 5061, Priority: 10},
			{Target: "backup.example.net.", Port: 5091, Priority: 20},
		},
		"_sip._udp.nosip.example.net.": {{Target: ".", Port: 0}},
	}, map[string][]netip.Addr{
		"example.net.":        {v4("127.0.0.10")},
		"edge.example.net.":   {v4("127.0.0.7")},
		"backup.example.net.": {v4("127.0.0.8")},
		"plain.example.net.":  {v4("127.0.0.9")},
		"nosip.example.net.":  {v4("127.0.0.11")},
	})
	for _, tc := range []struct {
		name   string
		target Target
		want   string
		asked  []string // questions that must have been asked, in order (AAAA ones aside)
	}{
		{"lowest priority first", Target{Host: "example.net"}, "127.0.0.7:5070",
			[]string{"SRV _sip._udp.example.net.", "A edge.example.net."}},
		{"tcp, dead target skipped", Target{Host: "example.net", Transport: "tcp"}, "127.0.0.8:5091",
			[]string{"SRV _sip._tcp.example.net.", "A gone.example.net.", "A backup.example.net."}},
		{"no SRV: A on 5060", Target{Host: "plain.example.net"}, "127.0.0.9:5060",
			[]string{"SRV _sip._udp.plain.example.net.", "A plain.example.net."}},
		{"explicit port: no SRV", Target{Host: "example.net", Port: 5062}, "127.0.0.10:5062",
			[]string{"A example.net."}},
		{"SRV says no SIP here", Target{Host: "nosip.example.net"}, "", []string{"SRV _sip._udp.nosip.example.net."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(dns.questions())
			p := New(tc.target, WithResolver(dns.resolver()), WithClock(clock.NewFake(t0)))
			got, err := p.resolve(context.Background())
			if tc.want == "" {
				if !errors.Is(err, ErrResolve) {
					t.Fatalf("resolved %v, %v; want ErrResolve", got, err)
				}
			} else if err != nil || got.String() != tc.want {
				t.Fatalf("resolved %v, %v; want %s", got, err, tc.want)
			}
			var asked []string
			for _, q := range dns.questions()[before:] {
				if !slices.Contains(asked, q) {
					asked = append(asked, q)
				}
			}
			if strings.Join(asked, ",") != strings.Join(tc.asked, ",") {
				t.Fatalf("questions %q, want %q", asked, tc.asked)
			}
		})
	}
}
