package sipprobe

import (
	"encoding/hex"
	"fmt"
	rand "math/rand/v2"
	"net/netip"
	"strings"
)

// request is one OPTIONS transaction: its wire form and the identifiers a
// response must echo to match it.
type request struct {
	branch string // top Via branch, "z9hG4bK" + random
	callID string
	cseq   uint32
	wire   []byte
}

// randHex returns n random bytes as hex. math/rand/v2's global generator is
// ChaCha8 seeded from the kernel's entropy, unpredictable enough for the
// branch, tag and Call-ID RFC 3261 asks to be random; crypto/rand would pull
// its FIPS module, math/big and about 140 KB into a router's flash.
func randHex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return hex.EncodeToString(b)
}

// uriHost formats a host for a SIP URI or Via (IPv6 in brackets).
func uriHost(host string) string {
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() && !a.Is4In6() {
		return "[" + host + "]"
	}
	return host
}

// newRequest builds an RFC 3261 OPTIONS request for ruriHost[:ruriPort]
// (port 0: none in the URI) sent from local over transport ("UDP"/"TCP").
func newRequest(ruriHost string, ruriPort int, transport string, local netip.AddrPort, cseq uint32) request {
	r := request{branch: "z9hG4bK" + randHex(12), callID: randHex(16) + "@lifeline", cseq: cseq}
	target := uriHost(ruriHost)
	if ruriPort != 0 {
		target = fmt.Sprintf("%s:%d", target, ruriPort)
	}
	tr := strings.ToUpper(transport)
	var b strings.Builder
	fmt.Fprintf(&b, "OPTIONS sip:%s SIP/2.0\r\n", target)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=%s;rport\r\n", tr, local, r.branch)
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:lifeline@%s>;tag=%s\r\n", uriHost(local.Addr().String()), randHex(8))
	fmt.Fprintf(&b, "To: <sip:%s>\r\n", target)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", r.callID)
	fmt.Fprintf(&b, "CSeq: %d OPTIONS\r\n", cseq)
	fmt.Fprintf(&b, "Contact: <sip:lifeline@%s;transport=%s>\r\n", local, strings.ToLower(tr))
	b.WriteString("Accept: application/sdp\r\n")
	b.WriteString("User-Agent: Lifeline\r\n")
	b.WriteString("Content-Length: 0\r\n\r\n")
	r.wire = []byte(b.String())
	return r
}

// matches reports whether resp answers r: same top Via branch, Call-ID and
// CSeq (number and method). Anything else is stale or foreign.
func (r request) matches(resp *Response) bool {
	n, m, ok := resp.CSeq()
	return ok && n == r.cseq && m == "OPTIONS" &&
		resp.TopViaBranch() == r.branch && resp.Header.Get("call-id") == r.callID
}
