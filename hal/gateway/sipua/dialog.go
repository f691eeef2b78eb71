package sipua

import (
	"context"
	"fmt"
	"slices"

	"github.com/emiago/sipgo/sip"
)

// Dialog is a SIP dialog (RFC 3261 §12), made by the UA from an INVITE it
// answered (UAS) or a 2xx it received (UAC). Its accessors return values
// fixed at creation; Done and Bye are safe for concurrent use.
type Dialog struct {
	ua           *UA
	id           string
	callID       string
	localTag     string
	remoteTag    string
	local        sip.Uri // our From (UAC) or To (UAS) address
	remote       sip.Uri // the peer's
	remoteTarget sip.Uri // the peer's Contact
	routes       []sip.Uri
	uac          bool
	done         chan struct{}

	// Loop-owned.
	localSeq  uint32
	ended     bool
	acked     bool
	uasTx     *ServerTx
	refreshTx *ServerTx // the last re-INVITE answered 2xx, until its ACK
	localSDP  []byte    // the session description this side sent last

	acks    chan struct{} // closed by the first ACK of a UAS dialog
	ackBody []byte        // its body, written before acks closes
}

func dialogKey(callID, localTag, remoteTag string) string {
	return callID + "|" + localTag + "|" + remoteTag
}

// Done is closed when the dialog ends: a BYE received or sent, a non-2xx
// final ending an early dialog, no ACK for the 2xx, or Serve ending.
func (d *Dialog) Done() <-chan struct{} { return d.done }

// CallID returns the dialog's Call-ID.
func (d *Dialog) CallID() string { return d.callID }

// Remote returns the peer's address of record (From of the INVITE for a
// UAS dialog, To for a UAC dialog), for logs.
func (d *Dialog) Remote() sip.Uri { return d.remote }

// Local returns this side's address of record.
func (d *Dialog) Local() sip.Uri { return d.local }

// RemoteTarget returns the peer's Contact: where in-dialog requests go
// (through the route set).
func (d *Dialog) RemoteTarget() sip.Uri { return d.remoteTarget }

// RouteSet returns the dialog's route set, first hop first.
func (d *Dialog) RouteSet() []sip.Uri { return slices.Clone(d.routes) }

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
	if res.StatusCode >= 300 {
		return fmt.Errorf("sipua: BYE in call %s answered %d %s", d.callID, res.StatusCode, res.Reason)
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
	if d.acks == nil {
		return nil, nil
	}
	select {
	case <-d.acks:
		return d.ackBody, nil
	case <-d.done:
		select {
		case <-d.acks:
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
	if !d.acked && d.acks != nil {
		d.ackBody = body
		close(d.acks)
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
func (d *Dialog) newRequest(method sip.RequestMethod) *sip.Request {
	d.localSeq++
	return d.request(method, d.localSeq)
}

func (d *Dialog) request(method sip.RequestMethod, seq uint32) *sip.Request {
	req := sip.NewRequest(method, *d.remoteTarget.Clone())
	req.AppendHeader(&sip.FromHeader{Address: *d.local.Clone(), Params: sip.HeaderParams{{K: "tag", V: d.localTag}}})
	to := &sip.ToHeader{Address: *d.remote.Clone()}
	if d.remoteTag != "" {
		to.Params = sip.HeaderParams{{K: "tag", V: d.remoteTag}}
	}
	req.AppendHeader(to)
	cid := sip.CallIDHeader(d.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	for _, r := range d.routes {
		req.AppendHeader(&sip.RouteHeader{Address: *r.Clone()})
	}
	return req
}

// newUASDialog makes the dialog of an INVITE from its response (loop).
func (ua *UA) newUASDialog(tx *ServerTx, res *sip.Response) *Dialog {
	req := tx.req
	remoteTag, _ := req.From().Params.Get("tag")
	d := &Dialog{ua: ua, callID: req.CallID().Value(), localTag: tx.toTag, remoteTag: remoteTag,
		local: *req.To().Address.Clone(), remote: *req.From().Address.Clone(), uasTx: tx, done: make(chan struct{}),
		acks: make(chan struct{})}
	if c := req.Contact(); c != nil {
		d.remoteTarget = *c.Address.Clone()
	} else {
		d.remoteTarget = *req.From().Address.Clone()
	}
	for _, h := range req.GetHeaders("Record-Route") {
		if rr, ok := h.(*sip.RecordRouteHeader); ok {
			d.routes = append(d.routes, *rr.Address.Clone())
		}
	}
	d.id = dialogKey(d.callID, d.localTag, d.remoteTag)
	ua.dialogs[d.id] = d
	return d
}

// newUACDialog makes the dialog of an INVITE we sent from its 2xx (loop).
func (ua *UA) newUACDialog(invite *sip.Request, res *sip.Response) *Dialog {
	localTag, _ := invite.From().Params.Get("tag")
	remoteTag, _ := res.To().Params.Get("tag")
	d := &Dialog{ua: ua, callID: invite.CallID().Value(), localTag: localTag, remoteTag: remoteTag, uac: true,
		local: *invite.From().Address.Clone(), remote: *invite.To().Address.Clone(),
		localSeq: invite.CSeq().SeqNo, acked: true, localSDP: invite.Body(), done: make(chan struct{})}
	if c := res.Contact(); c != nil {
		d.remoteTarget = *c.Address.Clone()
	} else {
		d.remoteTarget = *invite.Recipient.Clone()
	}
	rr := res.GetHeaders("Record-Route")
	for i := len(rr) - 1; i >= 0; i-- {
		if r, ok := rr[i].(*sip.RecordRouteHeader); ok {
			d.routes = append(d.routes, *r.Address.Clone())
		}
	}
	d.id = dialogKey(d.callID, d.localTag, d.remoteTag)
	ua.dialogs[d.id] = d
	return d
}
