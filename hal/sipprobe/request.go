package sipprobe

import (
	"net/netip"
	"strings"

	"lifeline/hal/sip"
)

// request is one OPTIONS transaction: its wire form and the identifiers a
// response must echo to match it.
type request struct {
	branch string // top Via branch, "z9hG4bK" + random
	callID string
	cseq   uint32
	wire   []byte
}

// newRequest builds an RFC 3261 OPTIONS request for ruriHost[:ruriPort]
// (port 0: none in the URI) sent from local over transport ("UDP"/"TCP").
func newRequest(ruriHost string, ruriPort int, transport string, local netip.AddrPort, cseq uint32) request {
	r := request{branch: sip.NewBranch(), callID: sip.NewCallID("lifeline"), cseq: cseq}
	tr := strings.ToUpper(transport)
	target := sip.URI{Scheme: "sip", Host: ruriHost, Port: ruriPort}
	host, port := local.Addr().String(), int(local.Port())
	req := sip.Request{Method: sip.OPTIONS, URI: target, Header: sip.Header{
		{Name: "Via", Value: sip.Via{Transport: tr, Host: host, Port: port,
			Params: sip.Params{{Name: "branch", Value: r.branch}, {Name: "rport"}}}.String()},
		{Name: "Max-Forwards", Value: "70"},
		{Name: "From", Value: sip.Address{URI: sip.URI{Scheme: "sip", User: "lifeline", Host: host},
			Params: sip.Params{{Name: "tag", Value: sip.NewTag()}}}.String()},
		{Name: "To", Value: sip.Address{URI: target}.String()},
		{Name: "Call-ID", Value: r.callID},
		{Name: "CSeq", Value: sip.CSeq{Seq: cseq, Method: sip.OPTIONS}.String()},
		{Name: "Contact", Value: sip.Address{URI: sip.URI{Scheme: "sip", User: "lifeline", Host: host, Port: port,
			Params: sip.Params{{Name: "transport", Value: strings.ToLower(tr)}}}}.String()},
		{Name: "Accept", Value: "application/sdp"},
		{Name: "User-Agent", Value: "Lifeline"},
	}}
	r.wire = req.Append(nil)
	return r
}

// matches reports whether resp answers r: same top Via branch, Call-ID and
// CSeq (number and method). Anything else is stale or foreign.
func (r request) matches(resp *sip.Response) bool {
	cs, err := resp.Header.CSeq()
	via, verr := resp.Header.TopVia()
	return err == nil && verr == nil && cs.Seq == r.cseq && cs.Method == sip.OPTIONS &&
		via.Branch() == r.branch && resp.CallID() == r.callID
}
