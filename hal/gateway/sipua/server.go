package sipua

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
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
	req     *sip.Request // loop-owned; the handler gets a clone
	userReq *sip.Request
	from    netip.AddrPort
	invite  bool
	ctx     context.Context

	cancelled chan struct{} // closed on CANCEL (loop)
	dialog    atomic.Pointer[Dialog]

	// Loop-owned.
	state    txState
	last     *sip.Response
	lastDst  netip.AddrPort
	toTag    string
	dlg      *Dialog
	timers   []*timer
	retrans  *timer // the UAS core's 2xx retransmission
	hasTagIn bool   // the request came with a To tag (in a dialog)
}

// Request returns the request; the handler may read and modify its copy.
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

// Respond sends a response to the request. For an INVITE, every response
// but 100 carries the dialog's To tag and Contact; a 1xx/2xx makes the
// dialog, a 2xx is retransmitted by the UA until the ACK arrives (64*T1 at
// most, then the dialog ends with a BYE). body, if not nil, is sent with
// Content-Type application/sdp unless hdrs has a Content-Type. It returns
// ErrFinal once a final response has been sent (the UA's 487 after a
// CANCEL included) and ErrClosed after Serve has returned.
func (tx *ServerTx) Respond(code int, reason string, body []byte, hdrs ...sip.Header) error {
	var err error
	if derr := tx.ua.do(func() { err = tx.respond(code, reason, body, hdrs...) }); derr != nil {
		return derr
	}
	return err
}

// respond builds and sends a response; loop only.
func (tx *ServerTx) respond(code int, reason string, body []byte, hdrs ...sip.Header) error {
	ua := tx.ua
	if tx.state != stProceeding || code < 100 || code > 699 {
		return ErrFinal
	}
	res := sip.NewResponseFromRequest(tx.req, code, reason, body)
	if to := res.To(); to != nil && !tx.hasTagIn {
		if code > 100 || !tx.invite {
			to.Params.Add("tag", tx.toTag)
		} else {
			to.Params.Remove("tag")
		}
	}
	if tx.invite && code > 100 && code < 300 {
		res.AppendHeader(ua.contactHeader())
	}
	if tx.invite && code >= 200 && code < 300 {
		hdrs = append(hdrs, sessionTimer(tx.req)...)
	}
	if ua.cfg.UserAgent != "" {
		res.AppendHeader(sip.NewHeader("Server", ua.cfg.UserAgent))
	}
	appendHeaders(res, hdrs, body)
	dst, err := responseDest(res)
	if err != nil {
		return err
	}
	tx.last, tx.lastDst = res, dst
	t1, t2 := ua.cfg.T1, ua.cfg.T2
	switch {
	case !tx.invite && code >= 200:
		tx.state = stCompleted
		tx.timers = append(tx.timers, ua.after(64*t1, func(time.Time) { tx.terminate() })) // Timer J
	case tx.invite && code > 100 && code < 300:
		if tx.dlg == nil && !tx.hasTagIn {
			tx.dlg = ua.newUASDialog(tx, res)
			tx.dialog.Store(tx.dlg)
		}
		if tx.dlg != nil && code >= 200 && len(body) > 0 {
			tx.dlg.localSDP = body
		}
		if code >= 200 {
			tx.state = stAccepted
			interval := t1
			var again func(at time.Time)
			again = func(at time.Time) {
				ua.send(tx.last, tx.lastDst)
				interval = min(2*interval, t2)
				tx.retrans = ua.at(at.Add(interval), again)
			}
			tx.retrans = ua.after(interval, again)
			tx.timers = append(tx.timers, ua.after(64*t1, func(time.Time) { // Timer L and the 2xx give-up
				if tx.retrans != nil && tx.dlg != nil && !tx.dlg.acked {
					ua.log.Info("sipua: no ACK for the 2xx; ending the dialog", "call-id", tx.req.CallID().Value())
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
			ua.send(tx.last, tx.lastDst)
			interval = min(2*interval, t2)
			tx.timers = append(tx.timers, ua.at(at.Add(interval), again))
		}
		tx.timers = append(tx.timers, ua.after(interval, again))
		tx.timers = append(tx.timers, ua.after(64*t1, func(time.Time) { // Timer H
			ua.log.Debug("sipua: no ACK for a final response", "code", code, "call-id", tx.req.CallID().Value())
			tx.terminate()
		}))
		if tx.dlg != nil {
			tx.dlg.end()
		}
	}
	ua.send(res, dst)
	return nil
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
	if tx.ua.servers[tx.key] == tx {
		delete(tx.ua.servers, tx.key)
	}
}

// ackNon2xx: the ACK on the INVITE's branch (loop).
func (tx *ServerTx) ack(req *sip.Request) {
	switch tx.state {
	case stCompleted:
		tx.stopTimers()
		tx.state = stConfirmed
		tx.timers = append(tx.timers, tx.ua.after(tx.ua.cfg.T4, func(time.Time) { tx.terminate() })) // Timer I
	case stAccepted:
		if tx.dlg != nil {
			tx.dlg.ack(req.Body())
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
	tx.respond(sip.StatusRequestTerminated, "Request Terminated", nil)
}

// retransmitted answers a retransmitted request from the cache (loop).
func (tx *ServerTx) retransmitted() {
	switch tx.state {
	case stProceeding, stCompleted, stAccepted:
		if tx.last != nil {
			tx.ua.send(tx.last, tx.lastDst)
		} else if tx.invite { // §17.2.1: stop the INVITE's retransmissions
			tx.respond(sip.StatusTrying, "Trying", nil)
		}
	}
}

// txKey identifies a server transaction (RFC 3261 §17.2.3): branch,
// sent-by and method, ACK matching its INVITE.
func txKey(via *sip.ViaHeader, method sip.RequestMethod) string {
	if method == sip.ACK {
		method = sip.INVITE
	}
	b, _ := via.Params.Get("branch")
	return b + "|" + via.SentBy() + "|" + string(method)
}

// receiveRequest dispatches a request (loop).
func (ua *UA) receiveRequest(req *sip.Request, from netip.AddrPort) {
	via := req.Via()
	src := from.Addr().String()
	if via.Host != src {
		via.Params.Add("received", src)
	}
	if rp, ok := via.Params.Get("rport"); ok && rp == "" {
		via.Params.Add("received", src)
		via.Params.Add("rport", itoa(int(from.Port())))
	}
	key := txKey(via, req.Method)
	if tx := ua.servers[key]; tx != nil {
		if req.IsAck() {
			tx.ack(req)
		} else {
			tx.retransmitted()
		}
		return
	}
	fromTag, _ := req.From().Params.Get("tag")
	toTag, _ := req.To().Params.Get("tag")
	switch req.Method {
	case sip.ACK:
		if d := ua.dialogs[dialogKey(req.CallID().Value(), toTag, fromTag)]; d != nil {
			d.ack(req.Body())
		} else {
			ua.log.Debug("sipua: ACK matches nothing", "from", from, "call-id", req.CallID().Value())
		}
		return
	case sip.CANCEL:
		tx := ua.newServerTx(req, from, key)
		inv := ua.servers[txKey(via, sip.INVITE)]
		if inv == nil || inv.state == stTerminated {
			tx.respond(sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
			return
		}
		tx.respond(sip.StatusOK, "OK", nil)
		inv.cancel()
		return
	}
	if toTag != "" { // in a dialog
		d := ua.dialogs[dialogKey(req.CallID().Value(), toTag, fromTag)]
		tx := ua.newServerTx(req, from, key)
		tx.hasTagIn = true
		switch {
		case d == nil:
			tx.respond(sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
		case req.Method == sip.BYE:
			tx.respond(sip.StatusOK, "OK", nil)
			if d.uasTx != nil {
				if d.uasTx.state == stProceeding {
					d.uasTx.cancel() // BYE in an early dialog
				}
				d.uasTx.stop2xx() // the BYE implies the 2xx arrived
			}
			d.end()
		case ua.badExtension(tx):
		case req.Method == sip.INVITE || req.Method == sip.UPDATE:
			ua.refresh(tx, d)
		case req.Method == sip.REFER:
			ua.refer(tx, d)
		default:
			ua.dispatch(tx)
		}
		return
	}
	tx := ua.newServerTx(req, from, key)
	if req.Method == sip.BYE {
		tx.respond(sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
		return
	}
	if mf := req.MaxForwards(); mf != nil && *mf == 0 && req.Method != sip.OPTIONS {
		tx.respond(sip.StatusTooManyHops, "Too Many Hops", nil)
		return
	}
	if ua.badExtension(tx) {
		return
	}
	ua.dispatch(tx)
}

// badExtension answers 420 Bad Extension, with Unsupported listing them,
// when tx's request requires option tags the UA does not support, and
// reports whether it did (loop).
func (ua *UA) badExtension(tx *ServerTx) bool {
	tags := unsupported(tx.req)
	if len(tags) == 0 || tx.req.Method == sip.ACK || tx.req.Method == sip.CANCEL {
		return false
	}
	tx.respond(sip.StatusBadExtension, "Bad Extension", nil, sip.NewHeader("Unsupported", strings.Join(tags, ", ")))
	return true
}

// dispatch runs the handler of tx's method in a goroutine (loop).
func (ua *UA) dispatch(tx *ServerTx) {
	if ua.draining {
		tx.respond(sip.StatusServiceUnavailable, "Shutting Down", nil)
		return
	}
	h := ua.handlers[tx.req.Method]
	if h == nil {
		tx.respond(sip.StatusMethodNotAllowed, "Method Not Allowed", nil, ua.allowHeader())
		return
	}
	tx.userReq = tx.req.Clone()
	ua.wg.Add(1)
	go func() { // ends when the handler returns
		defer ua.wg.Done()
		h(tx)
		ua.do(func() {
			if tx.state == stProceeding {
				ua.log.Debug("sipua: handler returned without a final response", "method", tx.req.Method)
				tx.respond(sip.StatusInternalServerError, "Server Internal Error", nil)
			}
		})
	}()
}

func (ua *UA) newServerTx(req *sip.Request, from netip.AddrPort, key string) *ServerTx {
	tx := &ServerTx{ua: ua, key: key, req: req, from: from, invite: req.IsInvite(), ctx: ua.hctx,
		cancelled: make(chan struct{}), toTag: sip.GenerateTagN(16)}
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
