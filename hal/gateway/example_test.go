package gateway_test

import (
	"context"
	"log"
	"net"
	"net/netip"

	"lifeline/hal/gateway"
	"lifeline/hal/modem"
)

// Example wires the gateway to a line: Kamailio relays the calls for the
// line to 192.0.2.1:5070, and "*005551234" goes out as 5551234.
func Example() {
	p, err := modem.LoadProfile("analog")
	if err != nil {
		log.Fatal(err)
	}
	line := modem.New("/dev/serial/by-id/usb-modem", p)
	conn, err := net.ListenPacket("udp", "192.0.2.1:5070")
	if err != nil {
		log.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Line: line.Calls(), Conn: conn, RTPAddr: netip.MustParseAddr("192.0.2.1")})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go line.Run(ctx)
	gw.Run(ctx) // until ctx ends: calls get BYE, the line hangs up
}
