// Package sipua is a small SIP user agent for UDP: the transport, the
// RFC 3261 §17 transactions and the dialogs a SIP-to-line gateway needs,
// built on Lifeline's message layer (lifeline/hal/sip) and the standard
// library's net. It links no TLS, X.509, HTTP or WebSocket code: SIP over
// TLS or WebSocket is not offered.
//
// # Model
//
// A UA owns one net.PacketConn. Serve runs its event loop: one goroutine
// (Serve's caller) owns every transaction, dialog and timer; a reader
// goroutine parses datagrams and the header values a transaction matches
// on (top Via, From, To, Call-ID, CSeq; bad ones are dropped with a debug
// log naming the source) and hands them to the loop. Public methods send
// closures to the loop and wait for them, so every method is safe for
// concurrent use; methods called after Serve has returned fail with
// ErrClosed. Methods called before Serve starts block until it does.
//
// Timers run on the injected clock (lifeline/hal/clock): T1, T2 and T4
// default to 500 ms, 4 s and 5 s; Timer B, F, H, J and the 2xx
// retransmission limit are 64*T1, Timer D is 32 s (or 64*T1 if shorter),
// Timer I and K are T4.
//
// # Server side (UAS)
//
// Handle registers a handler per method. Each request that starts a
// server transaction runs its handler in a goroutine owned by the UA,
// with a *ServerTx. The UA itself answers:
//   - retransmitted requests (INVITE: the last response again, or 100
//     Trying if the handler has sent none; non-INVITE: the final from
//     cache, Timer J),
//   - CANCEL: 200 to the CANCEL and, if the INVITE has no final response
//     yet, 487 to it; ServerTx.Cancelled closes,
//   - ACK: for a non-2xx final it is absorbed by the transaction (Timer
//     G retransmits the final until then, Timer H gives up); for a 2xx it
//     stops the UAS core's 2xx retransmissions (T1 doubling to T2),
//   - BYE in a dialog: 200 and Dialog.Done closes; outside one: 481,
//   - a re-INVITE or UPDATE in a dialog (hold, resume, a session-timer
//     refresh): 200 with the session as it stands, its direction the
//     mirror of the offer's (RFC 3264), the o= version raised when it
//     changed; RFC 4028 Session-Expires echoed with refresher=uac to a
//     peer that supports timers (none to one that does not),
//   - RFC 4028 session timers (sessiontimer.go): a peer that supports
//     them and asked for an interval is the refresher; without a refresh
//     the UA sends BYE at SE − min(32 s, SE/3) and Dialog.SessionExpired
//     says so; such a peer asking for under MinSE (90 s) gets 422,
//   - REFER in a dialog: 202, then a NOTIFY ending the implicit
//     subscription without an outcome (the call cannot be handed over;
//     the transferor keeps it),
//   - a request requiring an option tag not in Supported: 420 with
//     Unsupported,
//   - methods without a handler: 405 with Allow (in a fixed order); a
//     handler that returns without a final response: 500.
//
// The handler's transaction context (ServerTx.Context) ends when Serve's
// context ends. Serve then answers new requests with 503 and waits for
// every handler to return, still carrying their messages (a BYE a handler
// sends on its way out gets its answer), before it closes the socket.
//
// A server transaction keeps the request only until its final response;
// from then on it keeps the bytes of that response for retransmissions,
// and a client transaction the bytes of its request.
//
// # Bounds
//
// Datagrams over Config.MaxDatagram (8 KiB) are dropped unread. At most
// Config.MaxTransactions (1024) server transactions live at once; beyond,
// a request outside a dialog gets a stateless 503 (and a BYE or CANCEL
// that matches nothing a stateless 481), sent only when it is no longer
// than the request, and leaves nothing behind. Requests in a dialog and
// CANCELs of a live INVITE are not refused: the dialogs and INVITEs bound
// them.
//
// To a source Config.Trusted does not trust, a transaction sends at most
// the bytes the source sent it (1:1 reflection): provisional responses
// only in answer to a retransmitted request, the final and its
// retransmissions only while they fit.
//
// # Client side (UAC)
//
// Invite sends an INVITE (Timer A retransmits until a provisional, Timer
// B gives up); ClientInvite.Responses delivers every provisional and the
// final. The layer ACKs a non-2xx final on the INVITE's branch and a 2xx
// as a new request in the dialog (and again for each 2xx retransmission).
// Cancel sends CANCEL once a provisional has arrived (or as soon as one
// does); if a 2xx crosses the CANCEL, the layer ACKs it and sends BYE.
//
// # Routing
//
// Responses go back per their top Via: to received/rport when the
// request asked for rport (RFC 3581), else to received or the sent-by
// host, port 5060 by default. Requests go to the first Route if it has
// ;lr (loose routing), otherwise per RFC 3261 §12.2.1.1 strict routing,
// else to the Request-URI's host and port. Hosts must be numeric IP
// addresses: the package does no DNS.
//
// # Dialogs
//
// A UAS dialog is made from the INVITE when the handler sends a 1xx with
// a tag or a 2xx: the local tag is the UA's, the route set is the
// INVITE's Record-Route in order, the remote target its Contact. A UAC
// dialog is made from a 2xx: the route set is the Record-Route reversed.
// Dialog.Bye sends BYE along the route set; a BYE received is answered
// 200. Either way, Dialog.Done closes.
package sipua
