package sipua

import (
	"context"
	"net/netip"
	"sync/atomic"
	"time"

	"lifeline/hal/sip"
)

// clientTx is one client transaction (loop-owned but for done, res, err,
// which are written before done closes).
type clientTx struct {
	ua     *UA
	key    string
	req    *sip.Request
	wire   []byte // req as sent, for the retransmissions
	dst    netip.AddrPort
	invite bool
	state  txState
	timers []*timer
	// retrans is Timer A or E, timeout Timer B or F.
	retrans, timeout *timer
	provisional      bool // a 1xx arrived
	// onResponse sees every response the transaction passes up (loop).
	onResponse func(*inbound)
	// onEnd learns that the transaction ended without a final response.
	onEnd func(error)

	done chan struct{}
	res  *sip.Response
	err  error
}

// startClient sends req as a new client transaction (loop). Unless
// keepVia, a Via with a fresh branch goes on top; with it, req keeps its
// Via (CANCEL).
func (ua *UA) startClient(req *sip.Request, keepVia bool) (*clientTx, error) {
	if !keepVia {
		req.Header = append(sip.Header{{Name: "Via", Value: ua.via(sip.NewBranch())}}, req.Header...)
	}
	if !req.Header.Has("Max-Forwards") {
		req.Header.Add("Max-Forwards", "70")
	}
	if ua.cfg.UserAgent != "" && !req.Header.Has("User-Agent") {
		req.Header.Add("User-Agent", ua.cfg.UserAgent)
	}
	dst, err := nextHop(req)
	if err != nil {
		return nil, err
	}
	via, err := req.Header.TopVia()
	if err != nil {
		return nil, err
	}
	ct := &clientTx{ua: ua, key: via.Branch() + "|" + string(req.Method), req: req, wire: req.Append(nil), dst: dst,
		invite: req.Method == sip.INVITE, done: make(chan struct{})}
	ua.clients[ct.key] = ct
	t1, t2 := ua.cfg.T1, ua.cfg.T2
	interval := t1
	var again func(at time.Time)
	again = func(at time.Time) { // Timer A (INVITE) or E
		ua.send(ct.wire, ct.dst)
		switch {
		case ct.invite:
			interval *= 2
		case ct.provisional:
			interval = t2
		default:
			interval = min(2*interval, t2)
		}
		ct.retrans = ua.at(at.Add(interval), again)
	}
	ct.retrans = ua.after(interval, again)
	callID := req.CallID()
	ct.timeout = ua.after(64*t1, func(time.Time) { // Timer B or F
		ua.log.Debug("sipua: no final response", "method", req.Method, "to", dst, "call-id", callID)
		ct.end(ErrTimeout)
	})
	ua.send(ct.wire, dst)
	return ct, nil
}

func (ct *clientTx) stopTimers() {
	for _, t := range ct.timers {
		t.stop()
	}
	ct.timers = nil
	ct.retrans.stop()
	ct.timeout.stop()
}

// end finishes the transaction without a final response (loop).
func (ct *clientTx) end(err error) {
	ct.finish(nil, err)
	ct.terminate()
	if ct.onEnd != nil {
		ct.onEnd(err)
	}
}

func (ct *clientTx) terminate() {
	ct.stopTimers()
	ct.state = stTerminated
	ct.wire = nil
	if ct.ua.clients[ct.key] == ct {
		delete(ct.ua.clients, ct.key)
	}
}

func (ct *clientTx) finish(res *sip.Response, err error) {
	select {
	case <-ct.done:
		return
	default:
	}
	ct.res, ct.err = res, err
	close(ct.done)
}

// wait returns the final response.
func (ct *clientTx) wait(ctx context.Context) (*sip.Response, error) {
	select {
	case <-ct.done:
		return ct.res, ct.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-ct.ua.quit:
		return nil, ErrClosed
	}
}

// receiveResponse matches a response to its client transaction (loop).
func (ua *UA) receiveResponse(in *inbound) {
	ct := ua.clients[in.via.Branch()+"|"+string(in.cseq.Method)]
	if ct == nil {
		ua.log.Debug("sipua: response matches no transaction", "code", in.res.Status, "source", in.src, "call-id", in.cid)
		return
	}
	ct.receive(in)
}

func (ct *clientTx) receive(in *inbound) {
	ua := ct.ua
	res := in.res
	code := res.Status
	switch ct.state {
	case stProceeding:
		if code < 200 {
			ct.provisional = true // Timer E now repeats at T2
			if ct.invite {
				ct.retrans.stop() // Timer A stops; Timer B runs on
			}
			if ct.onResponse != nil {
				ct.onResponse(in)
			}
			return
		}
		ct.stopTimers()
		switch {
		case !ct.invite:
			ct.state = stCompleted
			ct.timers = append(ct.timers, ua.after(ua.cfg.T4, func(time.Time) { ct.terminate() })) // Timer K
		case code >= 300:
			ct.state = stCompleted
			ct.sendAckNon2xx(in)
			ct.timers = append(ct.timers, ua.after(min(32*time.Second, 64*ua.cfg.T1), func(time.Time) { ct.terminate() })) // Timer D
		default:
			ct.state = stAccepted
			ct.timers = append(ct.timers, ua.after(64*ua.cfg.T1, func(time.Time) { ct.terminate() })) // Timer M
		}
		ct.finish(res, nil)
		if ct.onResponse != nil {
			ct.onResponse(in)
		}
	case stCompleted:
		if ct.invite && code >= 300 {
			ct.sendAckNon2xx(in) // the final again: our ACK was lost
		}
	case stAccepted:
		if code >= 200 && code < 300 && ct.onResponse != nil {
			ct.onResponse(in) // 2xx again: the TU ACKs it again
		}
	}
}

// sendAckNon2xx ACKs a non-2xx final on the INVITE's branch (§17.1.1.3).
func (ct *clientTx) sendAckNon2xx(in *inbound) {
	ct.ua.send(sameBranch(ct.req, sip.ACK, in.hdr.Get("To")).Append(nil), ct.dst)
}

// sameBranch is a request on inv's branch, as the ACK of a non-2xx final
// (§17.1.1.3) and CANCEL (§9.1) are: inv's Request-URI, top Via, Route
// set, From, Call-ID and CSeq number, with method and the To value to.
func sameBranch(inv *sip.Request, method sip.Method, to string) *sip.Request {
	r := &sip.Request{Method: method, URI: inv.URI.Clone(), Header: make(sip.Header, 0, 8)}
	via, _ := inv.Header.TopVia()
	r.Header.Add("Via", via.String())
	r.Header.Add("Max-Forwards", "70")
	for _, v := range inv.Header.Lines("Route") {
		r.Header.Add("Route", v)
	}
	r.Header.Add("From", inv.Header.Get("From"))
	r.Header.Add("To", to)
	r.Header.Add("Call-ID", inv.CallID())
	cseq, _ := inv.Header.CSeq()
	r.Header.Add("CSeq", sip.CSeq{Seq: cseq.Seq, Method: method}.String())
	return r
}

// ClientInvite is an INVITE this UA sent. Its methods are safe for
// concurrent use.
type ClientInvite struct {
	ua        *UA
	ct        *clientTx
	responses chan *sip.Response
	dialog    atomic.Pointer[Dialog]
	err       error // written before responses closes
	stopCtx   func() bool

	// Loop-owned.
	cancelWanted bool
	cancelSent   bool
	final        bool
	dlg          *Dialog
	ack          []byte // the ACK of the 2xx, sent again for each 2xx
	ackDst       netip.AddrPort
}

const responseBuffer = 32

// Invite sends an INVITE to target (Request-URI and To) from from (From,
// with a new tag unless it has one; its display name is what phones show),
// with body as application/sdp unless hdrs sets a Content-Type. hdrs are
// added to the request: Route fields send it to the first route (an
// outbound proxy such as Kamailio, with ;lr). If ctx ends before the final
// response, the INVITE is cancelled as by Cancel. Run the call in UA.Go so
// that Serve waits for it.
func (ua *UA) Invite(ctx context.Context, target sip.URI, from sip.Address, body []byte, hdrs ...sip.Field) (*ClientInvite, error) {
	ci := &ClientInvite{ua: ua, responses: make(chan *sip.Response, responseBuffer)}
	var err error
	derr := ua.do(func() {
		if ua.draining {
			err = ErrClosed
			return
		}
		req := &sip.Request{Method: sip.INVITE, URI: target.Clone(), Body: body, Header: make(sip.Header, 0, 12)}
		from = from.Clone()
		if !from.Params.Has("tag") {
			from.Params.Set("tag", sip.NewTag())
		}
		req.Header.Add("From", from.String())
		req.Header.Add("To", sip.Address{URI: target}.String())
		req.Header.Add("Call-ID", sip.NewCallID(ua.cfg.Contact.Host))
		req.Header.Add("CSeq", sip.CSeq{Seq: 1, Method: sip.INVITE}.String())
		req.Header.Add("Contact", ua.contactValue())
		appendHeaders(&req.Header, hdrs, body)
		ci.ct, err = ua.startClient(req, false)
		if err != nil {
			return
		}
		ci.ct.onResponse = ci.onResponse
		ci.ct.onEnd = func(err error) { ci.deliverFinal(nil, err) }
		ci.stopCtx = context.AfterFunc(ctx, ci.Cancel)
	})
	if derr != nil {
		return nil, derr
	}
	if err != nil {
		return nil, err
	}
	return ci, nil
}

// Responses delivers every provisional response (at most 31 of them) and
// the final one, then closes. It also closes, without a final, on Timer B
// (Err is then ErrTimeout) or when Serve ends (ErrClosed).
func (ci *ClientInvite) Responses() <-chan *sip.Response { return ci.responses }

// Err is why Responses closed without a final response; valid once it
// has closed.
func (ci *ClientInvite) Err() error { return ci.err }

// Request returns the INVITE as sent; do not modify it.
func (ci *ClientInvite) Request() *sip.Request { return ci.ct.req }

// Dialog returns the dialog once a 2xx has arrived (the UA has ACKed it),
// else nil.
func (ci *ClientInvite) Dialog() *Dialog { return ci.dialog.Load() }

// Cancel cancels the INVITE: a CANCEL goes out now if a provisional
// response has arrived, else as soon as one does. It does nothing after a
// final response; if a 2xx crosses the CANCEL, the UA ACKs it and sends
// BYE.
func (ci *ClientInvite) Cancel() {
	ci.ua.do(func() {
		if ci.final || ci.cancelWanted {
			return
		}
		ci.cancelWanted = true
		if ci.ct.provisional {
			ci.sendCancel()
		}
	})
}

// sendCancel sends CANCEL on the INVITE's branch (§9.1) (loop).
func (ci *ClientInvite) sendCancel() {
	if ci.cancelSent {
		return
	}
	ci.cancelSent = true
	inv := ci.ct.req
	if _, err := ci.ua.startClient(sameBranch(inv, sip.CANCEL, inv.Header.Get("To")), true); err != nil {
		ci.ua.log.Debug("sipua: CANCEL", "err", err)
	}
}

// onResponse handles the INVITE's responses (loop).
func (ci *ClientInvite) onResponse(in *inbound) {
	ua := ci.ua
	res := in.res
	switch code := res.Status; {
	case code < 200:
		if ci.cancelWanted {
			ci.sendCancel()
		}
		if len(ci.responses) < responseBuffer-1 {
			ci.responses <- res.Clone()
		}
	case code < 300:
		if ci.dlg == nil {
			ci.dlg = ua.newUACDialog(ci.ct.req, in)
			ack := ci.dlg.request(sip.ACK, ci.dlg.localSeq)
			ack.Header = append(sip.Header{{Name: "Via", Value: ua.via(sip.NewBranch())}}, ack.Header...)
			ack.Header.Add("Max-Forwards", "70")
			if ua.cfg.UserAgent != "" {
				ack.Header.Add("User-Agent", ua.cfg.UserAgent)
			}
			dst, err := nextHop(ack)
			if err != nil {
				ua.log.Warn("sipua: cannot ACK the 2xx", "err", err)
			}
			ci.ack, ci.ackDst = ack.Append(nil), dst
			ci.dialog.Store(ci.dlg)
		}
		if ci.ackDst.IsValid() {
			ua.send(ci.ack, ci.ackDst)
		}
		if !ci.final {
			ci.deliverFinal(res, nil)
			if ci.cancelWanted {
				if _, err := ci.dlg.byeLoop(); err != nil {
					ua.log.Debug("sipua: BYE after a 2xx crossed our CANCEL", "err", err)
				}
			}
		}
	default:
		if !ci.final {
			ci.deliverFinal(res, nil)
		}
	}
}

// deliverFinal sends the final response (or none, with err) and closes
// Responses (loop).
func (ci *ClientInvite) deliverFinal(res *sip.Response, err error) {
	if ci.final {
		return
	}
	ci.final = true
	if res != nil {
		ci.responses <- res.Clone()
	}
	ci.err = err
	close(ci.responses)
	if ci.stopCtx != nil {
		ci.stopCtx()
	}
}
