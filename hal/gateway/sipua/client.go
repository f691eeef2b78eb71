package sipua

import (
	"context"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// clientTx is one client transaction (loop-owned but for done, res, err,
// which are written before done closes).
type clientTx struct {
	ua     *UA
	key    string
	req    *sip.Request
	dst    netip.AddrPort
	invite bool
	state  txState
	timers []*timer
	// retrans is Timer A or E, timeout Timer B or F.
	retrans, timeout *timer
	provisional      bool // a 1xx arrived
	// onResponse sees every response the transaction passes up (loop).
	onResponse func(*sip.Response)
	// onEnd learns that the transaction ended without a final response.
	onEnd func(error)

	done chan struct{}
	res  *sip.Response
	err  error
}

// startClient sends req as a new client transaction (loop). With newVia a
// Via with a fresh branch goes on top; without, req keeps its Via (CANCEL).
func (ua *UA) startClient(req *sip.Request, keepVia bool) (*clientTx, error) {
	if !keepVia {
		req.PrependHeader(ua.via(newBranch()))
	}
	if req.MaxForwards() == nil {
		mf := sip.MaxForwardsHeader(70)
		req.AppendHeader(&mf)
	}
	if ua.cfg.UserAgent != "" && req.GetHeader("User-Agent") == nil {
		req.AppendHeader(sip.NewHeader("User-Agent", ua.cfg.UserAgent))
	}
	if req.ContentLength() == nil {
		req.SetBody(req.Body())
	}
	dst, err := nextHop(req)
	if err != nil {
		return nil, err
	}
	branch, _ := req.Via().Params.Get("branch")
	ct := &clientTx{ua: ua, key: branch + "|" + string(req.Method), req: req, dst: dst,
		invite: req.IsInvite(), done: make(chan struct{})}
	ua.clients[ct.key] = ct
	t1, t2 := ua.cfg.T1, ua.cfg.T2
	interval := t1
	var again func(at time.Time)
	again = func(at time.Time) { // Timer A (INVITE) or E
		ua.send(ct.req, ct.dst)
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
	ct.timeout = ua.after(64*t1, func(time.Time) { // Timer B or F
		ua.log.Debug("sipua: no final response", "method", req.Method, "to", dst, "call-id", req.CallID().Value())
		ct.end(ErrTimeout)
	})
	ua.send(req, dst)
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
func (ua *UA) receiveResponse(res *sip.Response) {
	branch, _ := res.Via().Params.Get("branch")
	ct := ua.clients[branch+"|"+string(res.CSeq().MethodName)]
	if ct == nil {
		ua.log.Debug("sipua: response matches no transaction", "code", res.StatusCode, "source", res.Source(),
			"call-id", res.CallID().Value())
		return
	}
	ct.receive(res)
}

func (ct *clientTx) receive(res *sip.Response) {
	ua := ct.ua
	code := res.StatusCode
	switch ct.state {
	case stProceeding:
		if code < 200 {
			ct.provisional = true // Timer E now repeats at T2
			if ct.invite {
				ct.retrans.stop() // Timer A stops; Timer B runs on
			}
			if ct.onResponse != nil {
				ct.onResponse(res)
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
			ct.sendAckNon2xx(res)
			ct.timers = append(ct.timers, ua.after(min(32*time.Second, 64*ua.cfg.T1), func(time.Time) { ct.terminate() })) // Timer D
		default:
			ct.state = stAccepted
			ct.timers = append(ct.timers, ua.after(64*ua.cfg.T1, func(time.Time) { ct.terminate() })) // Timer M
		}
		ct.finish(res, nil)
		if ct.onResponse != nil {
			ct.onResponse(res)
		}
	case stCompleted:
		if ct.invite && code >= 300 {
			ct.sendAckNon2xx(res) // the final again: our ACK was lost
		}
	case stAccepted:
		if code >= 200 && code < 300 && ct.onResponse != nil {
			ct.onResponse(res) // 2xx again: the TU ACKs it again
		}
	}
}

// sendAckNon2xx ACKs a non-2xx final on the INVITE's branch (§17.1.1.3).
func (ct *clientTx) sendAckNon2xx(res *sip.Response) {
	ct.ua.send(sameBranch(ct.req, sip.ACK, res.To()), ct.dst)
}

// sameBranch is a request on inv's branch, as the ACK of a non-2xx final
// (§17.1.1.3) and CANCEL (§9.1) are: inv's Request-URI, Via, Route set,
// From, Call-ID and CSeq number, with method and the To header to.
func sameBranch(inv *sip.Request, method sip.RequestMethod, to *sip.ToHeader) *sip.Request {
	r := sip.NewRequest(method, *inv.Recipient.Clone())
	r.AppendHeader(inv.Via().Clone())
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	for _, h := range inv.GetHeaders("Route") {
		r.AppendHeader(sip.HeaderClone(h))
	}
	r.AppendHeader(sip.HeaderClone(inv.From()))
	r.AppendHeader(sip.HeaderClone(to))
	r.AppendHeader(sip.HeaderClone(inv.CallID()))
	r.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: method})
	r.SetBody(nil)
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
	ack          *sip.Request
	ackDst       netip.AddrPort
}

const responseBuffer = 32

// Invite sends an INVITE to target (Request-URI and To) from from (From,
// with a new tag), with body as application/sdp unless hdrs sets a
// Content-Type. hdrs are added to the request: Route headers send it to
// the first route (an outbound proxy such as Kamailio, with ;lr); a
// *sip.FromHeader replaces the From made of from (to give a display name
// with the caller's number). If ctx ends before the final response, the
// INVITE is cancelled as by Cancel. Run the call in UA.Go so that Serve
// waits for it.
func (ua *UA) Invite(ctx context.Context, target, from sip.Uri, body []byte, hdrs ...sip.Header) (*ClientInvite, error) {
	ci := &ClientInvite{ua: ua, responses: make(chan *sip.Response, responseBuffer)}
	var err error
	derr := ua.do(func() {
		if ua.draining {
			err = ErrClosed
			return
		}
		req := sip.NewRequest(sip.INVITE, *target.Clone())
		fromH := &sip.FromHeader{Address: *from.Clone()}
		for _, h := range hdrs {
			if f, ok := h.(*sip.FromHeader); ok { // a display name, say
				fromH = &sip.FromHeader{DisplayName: f.DisplayName, Address: *f.Address.Clone(), Params: f.Params.Clone()}
			}
		}
		if !fromH.Params.Has("tag") {
			fromH.Params.Add("tag", sip.GenerateTagN(16))
		}
		req.AppendHeader(fromH)
		req.AppendHeader(&sip.ToHeader{Address: *target.Clone()})
		cid := sip.CallIDHeader(sip.GenerateTagN(24) + "@" + ua.cfg.Contact.Host)
		req.AppendHeader(&cid)
		req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
		req.AppendHeader(ua.contactHeader())
		appendHeaders(req, slices.DeleteFunc(slices.Clone(hdrs), func(h sip.Header) bool {
			_, from := h.(*sip.FromHeader) // made into fromH above
			return from
		}), body)
		req.SetBody(body)
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
	if _, err := ci.ua.startClient(sameBranch(inv, sip.CANCEL, inv.To()), true); err != nil {
		ci.ua.log.Debug("sipua: CANCEL", "err", err)
	}
}

// onResponse handles the INVITE's responses (loop).
func (ci *ClientInvite) onResponse(res *sip.Response) {
	ua := ci.ua
	code := res.StatusCode
	switch {
	case code < 200:
		if ci.cancelWanted {
			ci.sendCancel()
		}
		if len(ci.responses) < responseBuffer-1 {
			ci.responses <- res.Clone()
		}
	case code < 300:
		if ci.dlg == nil {
			ci.dlg = ua.newUACDialog(ci.ct.req, res)
			ci.ack = ci.dlg.request(sip.ACK, ci.ct.req.CSeq().SeqNo)
			ci.ack.PrependHeader(ua.via(newBranch()))
			mf := sip.MaxForwardsHeader(70)
			ci.ack.AppendHeader(&mf)
			if ua.cfg.UserAgent != "" {
				ci.ack.AppendHeader(sip.NewHeader("User-Agent", ua.cfg.UserAgent))
			}
			ci.ack.SetBody(nil)
			dst, err := nextHop(ci.ack)
			if err != nil {
				ua.log.Warn("sipua: cannot ACK the 2xx", "err", err)
			}
			ci.ackDst = dst
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
