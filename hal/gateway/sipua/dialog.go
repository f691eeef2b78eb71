package sipua

import (
	"context"
	"fmt"
	"slices"

	"lifeline/hal/sip"
)

// Dialog is a SIP dialog (RFC 3261 §12), made by the UA from an INVITE it
// answered (UAS) or a 2xx it received (UAC). Its accessors return values
// fixed at creation; Done and Bye are safe for concurrent use.
type Dialog struct {
	ua           *UA
	id           string
	callID       string
	local        sip.Address // our From (UAC) or To (UAS), with our tag
	remote       sip.Address // the peer's, with its tag
	remoteTarget sip.URI     // the peer's Contact
	routes       []sip.Address
	uac          bool
	done         chan struct{}
	ackCh        chan struct{} // closed by ack, or at creation for a UAC dialog
	offers       chan []byte   // the peer's latest re-INVITE/UPDATE offer, answered (Offers)

	// Loop-owned.
	localSeq  uint32
	ended     bool
	acked     bool
	uasTx     *ServerTx
	refreshTx *ServerTx // the last re-INVITE answered 2xx, until its ACK
	localSDP  []byte    // the session description this side sent last

	sessionTimer *timer // RFC 4028: the BYE of an unrefreshed session (sessiontimer.go)
	expired      bool   // the session timer ended the dialog; written before done closes

	ackBody []byte // the first ACK's body (UAS), written before ackCh closes
}

func dialogKey(callID, localTag, remoteTag string) string {
	return callID + "|" + localTag + "|" + remoteTag
}

// Done is closed when the dialog ends: a BYE received or sent, a non-2xx
// final ending an early dialog, no ACK for the 2xx, or Serve ending.
func (d *Dialog) Done() <-chan struct{} { return d.done }

// Acked is closed once the 2xx that made a UAS dialog has been
// acknowledged (at once for a UAC dialog: the UA ACKs the 2xx itself).
// Until then no media should flow: the peer has not confirmed the call.
func (d *Dialog) Acked() <-chan struct{} { return d.ackCh }

// Offers delivers the session descriptions the peer offered in a
// re-INVITE or UPDATE (hold, resume), each after the UA has answered it:
// the owner of the call's media applies the new direction. Only the
// latest is kept while none is read.
func (d *Dialog) Offers() <-chan []byte { return d.offers }

// offered passes body to Offers, replacing an unread one (loop only: one
// writer).
func (d *Dialog) offered(body []byte) {
	for {
		select {
		case d.offers <- body:
			return
		default:
			select {
			case <-d.offers:
			default:
			}
		}
	}
}

// CallID returns the dialog's Call-ID.
func (d *Dialog) CallID() string { return d.callID }

// Remote returns the peer's address of record (From of the INVITE for a
// UAS dialog, To of the 2xx for a UAC dialog) with its tag.
func (d *Dialog) Remote() sip.Address { return d.remote.Clone() }

// Local returns this side's address of record with its tag.
func (d *Dialog) Local() sip.Address { return d.local.Clone() }

// RemoteTarget returns the peer's Contact: where in-dialog requests go
// (through the route set).
func (d *Dialog) RemoteTarget() sip.URI { return d.remoteTarget.Clone() }

// RouteSet returns the dialog's route set, first hop first.
func (d *Dialog) RouteSet() []sip.Address { return slices.Clone(d.routes) }

// Bye ends the dialog: Done closes and a BYE goes out along the route set.
// It waits for the BYE's final response until ctx ends; a final response
// other than 2xx is an error. ErrDialogEnded if the dialog had already
// ended, ErrTimeout after Timer F.
func (d *Dialog) Bye(ctx context.Context) error {
	var ct *clientTx
	var err error
	if derr := d.ua.do(func() {
		if d.ended {
			err = ErrDialogEnded
			return
		}
		ct, err = d.byeLoop()
	}); derr != nil {
		return derr
	}
	if err != nil {
		return err
	}
	res, err := ct.wait(ctx)
	if err != nil {
		return err
	}
	if res.Status >= 300 {
		return fmt.Errorf("sipua: BYE in call %s answered %d %s", d.callID, res.Status, res.Reason)
	}
	return nil
}

// byeLoop ends the dialog and sends BYE (loop).
func (d *Dialog) byeLoop() (*clientTx, error) {
	if d.ended {
		return nil, ErrDialogEnded
	}
	req := d.newRequest(sip.BYE)
	d.end()
	return d.ua.startClient(req, false)
}

// end marks the dialog ended (loop).
func (d *Dialog) end() {
	if d.ended {
		return
	}
	d.ended = true
	d.sessionTimer.stop()
	d.sessionTimer = nil
	close(d.done)
	if d.ua.dialogs[d.id] == d {
		delete(d.ua.dialogs, d.id)
	}
}

// AckBody waits for the ACK of the INVITE's 2xx in a UAS dialog and
// returns its body: the answer when the INVITE had no offer and the 2xx
// carried one (RFC 3261 §13.2.1, delayed offer). ErrDialogEnded when the
// dialog ends first; ctx's error when ctx does. A UAC dialog has nothing
// to wait for: nil, nil.
func (d *Dialog) AckBody(ctx context.Context) ([]byte, error) {
	if d.uac {
		return nil, nil
	}
	select {
	case <-d.ackCh:
		return d.ackBody, nil
	case <-d.done:
		select {
		case <-d.ackCh:
			return d.ackBody, nil
		default:
		}
		return nil, ErrDialogEnded
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ack records the ACK for the 2xx and its body (loop).
func (d *Dialog) ack(body []byte) {
	if !d.acked {
		d.ackBody = body
		close(d.ackCh)
	}
	d.acked = true
	if d.uasTx != nil {
		d.uasTx.stop2xx()
	}
	if d.refreshTx != nil {
		d.refreshTx.stop2xx()
		d.refreshTx = nil
	}
}

// newRequest is a request within the dialog, CSeq incremented (loop).
func (d *Dialog) newRequest(method sip.Method) *sip.Request {
	d.localSeq++
	return d.request(method, d.localSeq)
}

// request is a request within the dialog with CSeq seq, without Via
// (loop): Request-URI the remote target, From, To, Call-ID, CSeq, Route.
func (d *Dialog) request(method sip.Method, seq uint32) *sip.Request {
	req := &sip.Request{Method: method, URI: d.remoteTarget.Clone(), Header: make(sip.Header, 0, 8+len(d.routes))}
	req.Header.Add("From", d.local.String())
	req.Header.Add("To", d.remote.String())
	req.Header.Add("Call-ID", d.callID)
	req.Header.Add("CSeq", sip.CSeq{Seq: seq, Method: method}.String())
	for _, r := range d.routes {
		req.Header.Add("Route", r.String())
	}
	return req
}

// newUASDialog makes the dialog of the INVITE of tx from its first 1xx
// with a tag or its 2xx (loop).
func (ua *UA) newUASDialog(tx *ServerTx) *Dialog {
	in := tx.in
	local := in.to.Clone()
	local.Params.Set("tag", tx.toTag)
	d := &Dialog{ua: ua, callID: in.cid, local: local, remote: in.from.Clone(), uasTx: tx, done: make(chan struct{}), ackCh: make(chan struct{}), offers: make(chan []byte, 1)}
	if c, err := in.hdr.Address("Contact"); err == nil && !c.Star {
		d.remoteTarget = c.URI
	} else {
		d.remoteTarget = in.from.URI.Clone()
	}
	d.routes, _ = in.hdr.Addresses("Record-Route")
	d.id = dialogKey(d.callID, tx.toTag, in.from.Tag())
	ua.dialogs[d.id] = d
	return d
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// newUACDialog makes the dialog of an INVITE we sent from its 2xx (loop).
func (ua *UA) newUACDialog(invite *sip.Request, in *inbound) *Dialog {
	local, _ := invite.Header.Address("From")
	cseq, _ := invite.Header.CSeq()
	d := &Dialog{ua: ua, callID: in.cid, local: local, remote: in.to.Clone(), uac: true,
		localSeq: cseq.Seq, acked: true, localSDP: invite.Body, done: make(chan struct{}), ackCh: closedChan(), offers: make(chan []byte, 1)}
	if c, err := in.hdr.Address("Contact"); err == nil && !c.Star {
		d.remoteTarget = c.URI
	} else {
		d.remoteTarget = invite.URI.Clone()
	}
	rr, _ := in.hdr.Addresses("Record-Route")
	for i := len(rr) - 1; i >= 0; i-- {
		d.routes = append(d.routes, rr[i])
	}
	d.id = dialogKey(d.callID, local.Tag(), d.remote.Tag())
	ua.dialogs[d.id] = d
	if se, refresher, ok := sessionSeconds(in.hdr); ok && refresher == "uas" { // the peer refreshes
		d.armSessionTimer(se)
	}
	return d
}
