package sipua_test

import (
	"context"
	"log"
	"net"

	"lifeline/hal/gateway/sipua"
	"lifeline/hal/sip"
)

// Example answers INVITEs: 180, then 200 with an SDP answer, then waits
// for the caller's BYE (or hangs up itself when the UA stops).
func Example() {
	conn, err := net.ListenPacket("udp", "192.0.2.1:5070")
	if err != nil {
		log.Fatal(err)
	}
	ua, err := sipua.New(sipua.Config{Conn: conn, UserAgent: "lifeline",
		Contact: sip.URI{Scheme: "sip", Host: "192.0.2.1", Port: 5070}})
	if err != nil {
		log.Fatal(err)
	}
	ua.Handle(sip.INVITE, func(tx *sipua.ServerTx) {
		tx.Respond(180, "Ringing", nil)
		select {
		case <-tx.Cancelled(): // the UA has answered 487
			return
		case <-tx.Context().Done():
			tx.Respond(503, "Shutting Down", nil)
			return
		default:
		}
		answer := []byte("v=0\r\n...") // from hal/voice/sdp
		if err := tx.Respond(200, "OK", answer); err != nil {
			return // ErrFinal: a CANCEL won the race
		}
		select {
		case <-tx.Dialog().Done(): // the caller's BYE, answered 200
		case <-tx.Context().Done():
			tx.Dialog().Bye(context.WithoutCancel(tx.Context()))
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ua.Serve(ctx) // until ctx ends; waits for the handlers
}

// ExampleUA_Invite calls a phone through a record-routing proxy and hangs
// up once it answers. Serve must be running.
func ExampleUA_Invite() {
	var ua *sipua.UA // serving
	ctx := context.Background()
	phone := sip.URI{Scheme: "sip", User: "100", Host: "192.0.2.10", Port: 5060}
	caller := sip.Address{Display: "5551234", URI: sip.URI{Scheme: "sip", User: "5551234", Host: "192.0.2.1"}}
	proxy := sip.Field{Name: "Route", Value: "<sip:192.0.2.1:5060;lr>"}
	ci, err := ua.Invite(ctx, phone, caller, []byte("v=0\r\n..."), proxy)
	if err != nil {
		log.Fatal(err)
	}
	for res := range ci.Responses() { // 1xx..., then the final
		log.Println(res.Status, res.Reason)
	}
	if d := ci.Dialog(); d != nil { // 2xx: the UA has ACKed it
		d.Bye(ctx)
	} else if ci.Err() != nil {
		log.Println("no final response:", ci.Err())
	}
}
