package sipua

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"lifeline/hal/sip"
)

type txState int

const (
	stProceeding txState = iota // INVITE: proceeding; non-INVITE: trying/proceeding
	stCompleted                 // a final (non-2xx for INVITE) was sent/received
	stConfirmed                 // INVITE server: the ACK arrived
	stAccepted                  // INVITE: a 2xx was sent/received (RFC 6026)
	stTerminated
)

// ServerTx is one server transaction, handed to a handler. Its methods are
// safe for concurrent use.
type ServerTx struct {
	ua      *UA
	key     string
	userReq *sip.Request // the handler's copy
	from    netip.AddrPort
	invite  bool
	ctx     context.Context

	cancelled chan struct{} // closed on CANCEL (loop)
	dialog    atomic.Pointer[Dialog]

	// Loop-owned. req and in are what responses are made of; once the
	// final response is sent they are dropped, and the transaction keeps
	// only the bytes it retransmits (last) and where they go.
	req      *sip.Request
	in       *inbound
	callID   string
	state    txState
	last     []byte
	lastDst  netip.AddrPort
	toTag    string
	dlg      *Dialog
	timers   []*timer
	retrans  *timer // the UAS core's 2xx retransmission
	hasTagIn bool   // the request came with a To tag (in a dialog)
	budget   int    // bytes it may still send to an untrusted source; -1: no limit
}

// Request returns the request while the handler runs (nil after it has
// returned); the handler may read and modify its copy.
func (tx *ServerTx) Request() *sip.Request { return tx.userReq }

// Source is the address the request came from.
func (tx *ServerTx) Source() netip.AddrPort { return tx.from }

// Context ends when Serve's context ends; handlers return soon after.
func (tx *ServerTx) Context() context.Context { return tx.ctx }

// Cancelled is closed when a CANCEL for this INVITE arrived before its
// final response; the UA has then answered 200 to the CANCEL and 487 to
// the INVITE, and Respond returns ErrFinal.
func (tx *ServerTx) Cancelled() <-chan struct{} { return tx.cancelled }

// Dialog returns the INVITE's dialog once Respond has sent a 1xx (other
// than 100) or a 2xx, else nil.
func (tx *ServerTx) Dialog() *Dialog { return tx.dialog.Load() }

// Respond sends a response to the request (reason "": the RFC's phrase).
// For an INVITE, every response but 100 carries the dialog's To tag and
// Contact; a 1xx/2xx makes the dialog, a 2xx is retransmitted by the UA
// until the ACK arrives (64*T1 at most, then the dialog ends with a BYE).
// body, if not nil, is sent with Content-Type application/sdp unless hdrs
// has a Content-Type. It returns ErrFinal once a final response has been
// sent (the UA's 487 after a CANCEL included) and ErrClosed after Serve
// has returned.
func (tx *ServerTx) Respond(code int, reason string, body []byte, hdrs ...sip.Field) error {
	var err error
	if derr := tx.ua.do(func() { err = tx.respond(code, reason, body, hdrs...) }); derr != nil {
		return derr
	}
	return err
}

// respond builds and sends a response; loop only.
func (tx *ServerTx) respond(code int, reason string, body []byte, hdrs ...sip.Field) error {
	ua := tx.ua
	if tx.state != stProceeding || code < 100 || code > 699 {
		return ErrFinal
	}
	res := sip.NewResponse(tx.req, code, reason)
	if !tx.hasTagIn && (code > 100 || !tx.invite) {
		res.Header.Set("To", tx.req.Header.Get("To")+";tag="+tx.toTag)
	}
	if tx.invite && code > 100 && code < 300 {
		res.Header.Add("Contact", ua.contactValue())
	}
	if tx.invite && code >= 200 && code < 300 {
		hdrs = append(hdrs, sessionTimer(tx.req)...)
	}
	if ua.cfg.UserAgent != "" {
		res.Header.Add("Server", ua.cfg.UserAgent)
	}
	appendHeaders(&res.Header, hdrs, body)
	res.Body = body
	dst, err := responseDest(tx.in.via)
	if err != nil {
		return err
	}
	tx.last, tx.lastDst = res.Append(nil), dst
	t1, t2 := ua.cfg.T1, ua.cfg.T2
	switch {
	case !tx.invite && code >= 200:
		tx.state = stCompleted
		tx.timers = append(tx.timers, ua.after(64*t1, func(time.Time) { tx.terminate() })) // Timer J
	case tx.invite && code > 100 && code < 300:
		if tx.dlg == nil && !tx.hasTagIn {
			tx.dlg = ua.newUASDialog(tx)
			tx.dialog.Store(tx.dlg)
		}
		if tx.dlg != nil && code >= 200 && len(body) > 0 {
			tx.dlg.localSDP = body
		}
		if tx.dlg != nil && code >= 200 {
			tx.dlg.armSessionTimer(refreshedInterval(tx.req)) // RFC 4028: from the 2xx
		}
		if code >= 200 {
			tx.state = stAccepted
			interval := t1
			var again func(at time.Time)
			again = func(at time.Time) {
				tx.send()
				interval = min(2*interval, t2)
				tx.retrans = ua.at(at.Add(interval), again)
			}
			tx.retrans = ua.after(interval, again)
			tx.timers = append(tx.timers, ua.after(64*t1, func(time.Time) { // Timer L and the 2xx give-up
				if tx.retrans != nil && tx.dlg != nil && !tx.dlg.acked {
					ua.log.Info("sipua: no ACK for the 2xx; ending the dialog", "call-id", tx.callID)
					tx.dlg.byeLoop()
				}
				tx.terminate()
			}))
		}
	case tx.invite && code >= 300:
		tx.state = stCompleted
		interval := t1
		var again func(at time.Time)
		again = func(at time.Time) { // Timer G
			tx.send()
			interval = min(2*interval, t2)
			tx.timers = append(tx.timers, ua.at(at.Add(interval), again))
		}
		tx.timers = append(tx.timers, ua.after(interval, again))
		tx.timers = append(tx.timers, ua.after(64*t1, func(time.Time) { // Timer H
			ua.log.Debug("sipua: no ACK for a final response", "code", code, "call-id", tx.callID)
			tx.terminate()
		}))
		if tx.dlg != nil {
			tx.dlg.end()
		}
	}
	if code >= 200 { // from now on only the bytes of the final matter
		tx.req, tx.in = nil, nil
	}
	if code < 200 && tx.budget >= 0 {
		// An untrusted source gets its bytes' worth: the final. A
		// provisional goes out only as the answer to a retransmission.
		return nil
	}
	tx.send()
	return nil
}

// send sends the last response, within the reflection budget of an
// untrusted source (loop).
func (tx *ServerTx) send() {
	if tx.budget >= 0 {
		if len(tx.last) > tx.budget {
			tx.ua.log.Debug("sipua: response not sent: more bytes than the untrusted source sent", "to", tx.lastDst,
				"bytes", len(tx.last), "left", tx.budget)
			return
		}
		tx.budget -= len(tx.last)
	}
	tx.ua.send(tx.last, tx.lastDst)
}

// stopTimers stops the transaction's timers but the 2xx retransmission.
func (tx *ServerTx) stopTimers() {
	for _, t := range tx.timers {
		t.stop()
	}
	tx.timers = nil
}

func (tx *ServerTx) terminate() {
	tx.stopTimers()
	tx.retrans.stop()
	tx.retrans = nil
	tx.state = stTerminated
	tx.last = nil
	if tx.ua.servers[tx.key] == tx {
		delete(tx.ua.servers, tx.key)
	}
}

// ack: the ACK on the INVITE's branch, with its body (loop).
func (tx *ServerTx) ack(body []byte) {
	switch tx.state {
	case stCompleted:
		tx.stopTimers()
		tx.state = stConfirmed
		tx.last = nil
		tx.timers = append(tx.timers, tx.ua.after(tx.ua.cfg.T4, func(time.Time) { tx.terminate() })) // Timer I
	case stAccepted:
		if tx.dlg != nil {
			tx.dlg.ack(body)
		}
	}
}

// stop2xx ends the 2xx retransmissions (loop).
func (tx *ServerTx) stop2xx() {
	tx.retrans.stop()
	tx.retrans = nil
}

// cancel handles a CANCEL of this INVITE (loop).
func (tx *ServerTx) cancel() {
	if !tx.invite || tx.state != stProceeding {
		return
	}
	close(tx.cancelled)
	tx.respond(sip.StatusRequestTerminated, "", nil)
}

// retransmitted answers a retransmitted request of size bytes from the
// cache (loop).
func (tx *ServerTx) retransmitted(size int) {
	if tx.budget >= 0 {
		tx.budget += size
	}
	switch tx.state {
	case stProceeding, stCompleted, stAccepted:
		if tx.last != nil {
			tx.send()
		} else if tx.invite { // §17.2.1: stop the INVITE's retransmissions
			tx.respond(sip.StatusTrying, "", nil)
		}
	}
}

// txKey identifies a server transaction (RFC 3261 §17.2.3): branch,
// sent-by and method, ACK matching its INVITE.
func txKey(via sip.Via, method sip.Method) string {
	if method == sip.ACK {
		method = sip.INVITE
	}
	return via.Branch() + "|" + via.SentBy() + "|" + string(method)
}

// receiveRequest dispatches a request (loop).
func (ua *UA) receiveRequest(in *inbound) {
	req, from := in.req, in.src
	src := from.Addr().String()
	changed := false
	if in.via.Host != src {
		in.via.Params.Set("received", src)
		changed = true
	}
	if rp, ok := in.via.Params.Get("rport"); ok && rp == "" {
		in.via.Params.Set("received", src)
		in.via.Params.Set("rport", itoa(int(from.Port())))
		changed = true
	}
	if changed {
		req.Header.SetFirst("Via", in.via.String())
	}
	key := txKey(in.via, req.Method)
	if tx := ua.servers[key]; tx != nil {
		if req.Method == sip.ACK {
			tx.ack(req.Body)
		} else {
			tx.retransmitted(in.size)
		}
		return
	}
	fromTag, toTag := in.from.Tag(), in.to.Tag()
	switch req.Method {
	case sip.ACK:
		if d := ua.dialogs[dialogKey(in.cid, toTag, fromTag)]; d != nil {
			d.ack(req.Body)
		} else {
			ua.log.Debug("sipua: ACK matches nothing", "from", from, "call-id", in.cid)
		}
		return
	case sip.CANCEL:
		inv := ua.servers[txKey(in.via, sip.INVITE)]
		if inv == nil || inv.state == stTerminated {
			ua.refuse(in, key, sip.StatusCallDoesNotExist)
			return
		}
		tx := ua.newServerTx(in, key) // bounded by the INVITEs
		tx.respond(sip.StatusOK, "", nil)
		inv.cancel()
		return
	}
	if toTag != "" { // in a dialog
		d := ua.dialogs[dialogKey(in.cid, toTag, fromTag)]
		if d == nil {
			ua.refuse(in, key, sip.StatusCallDoesNotExist)
			return
		}
		tx := ua.newServerTx(in, key) // bounded by the dialogs
		tx.hasTagIn = true
		switch {
		case req.Method == sip.BYE:
			tx.respond(sip.StatusOK, "", nil)
			if d.uasTx != nil {
				if d.uasTx.state == stProceeding {
					d.uasTx.cancel() // BYE in an early dialog
				}
				d.uasTx.stop2xx() // the BYE implies the 2xx arrived
			}
			d.end()
		case ua.badExtension(tx), ua.sessionTooShort(tx):
		case req.Method == sip.INVITE || req.Method == sip.UPDATE:
			ua.refresh(tx, d)
		case req.Method == sip.REFER:
			ua.refer(tx, d)
		default:
			ua.dispatch(tx)
		}
		return
	}
	if req.Method == sip.BYE {
		ua.refuse(in, key, sip.StatusCallDoesNotExist)
		return
	}
	if len(ua.servers) >= ua.cfg.MaxTransactions {
		ua.log.Debug("sipua: too many transactions, refused", "from", from, "method", req.Method, "max", ua.cfg.MaxTransactions)
		ua.stateless(in, sip.StatusServiceUnavailable)
		return
	}
	tx := ua.newServerTx(in, key)
	if mf := strings.TrimSpace(req.Header.Get("Max-Forwards")); mf == "0" && req.Method != sip.OPTIONS {
		tx.respond(sip.StatusTooManyHops, "", nil)
		return
	}
	if ua.badExtension(tx) || ua.sessionTooShort(tx) {
		return
	}
	ua.dispatch(tx)
}

// dispatch runs the handler of tx's method in a goroutine (loop).
func (ua *UA) dispatch(tx *ServerTx) {
	if ua.draining {
		tx.respond(sip.StatusServiceUnavailable, "Shutting Down", nil)
		return
	}
	h := ua.handlers[tx.req.Method]
	if h == nil {
		tx.respond(sip.StatusMethodNotAllowed, "", nil, ua.allowField())
		return
	}
	tx.userReq = tx.req.Clone()
	method := tx.req.Method
	ua.wg.Add(1)
	go func() { // ends when the handler returns
		defer ua.wg.Done()
		h(tx)
		ua.do(func() {
			tx.userReq = nil // the handler is done with it
			if tx.state == stProceeding {
				ua.log.Debug("sipua: handler returned without a final response", "method", method)
				tx.respond(sip.StatusServerInternalError, "", nil)
			}
		})
	}()
}

// refuse answers a request that starts no work with code: in a
// transaction of its own while there is room, else statelessly (loop).
func (ua *UA) refuse(in *inbound, key string, code int) {
	if len(ua.servers) >= ua.cfg.MaxTransactions {
		ua.stateless(in, code)
		return
	}
	tx := ua.newServerTx(in, key)
	tx.hasTagIn = in.to.Tag() != ""
	tx.respond(code, "", nil)
}

// stateless answers in's request with code and keeps nothing; the
// answer goes out only if it is no longer than the request, so that a
// spoofed source gets no more bytes than were sent in its name (loop).
func (ua *UA) stateless(in *inbound, code int) {
	res := sip.NewResponse(in.req, code, "")
	if in.to.Tag() == "" {
		res.Header.Set("To", in.req.Header.Get("To")+";tag="+sip.NewTag())
	}
	dst, err := responseDest(in.via)
	if err != nil {
		return
	}
	if b := res.Append(nil); len(b) <= in.size {
		ua.send(b, dst)
	}
}

func (ua *UA) newServerTx(in *inbound, key string) *ServerTx {
	tx := &ServerTx{ua: ua, key: key, req: in.req, in: in, callID: strings.Clone(in.cid), from: in.src,
		invite: in.req.Method == sip.INVITE, ctx: ua.hctx, cancelled: make(chan struct{}), toTag: sip.NewTag(), budget: -1}
	if ua.cfg.Trusted != nil && !ua.cfg.Trusted(in.src) {
		tx.budget = in.size
	}
	ua.servers[key] = tx
	return tx
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
