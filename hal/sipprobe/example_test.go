package sipprobe_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"lifeline/hal/sipprobe"
)

// Probe the provider from the WAN interface and count losses in a row, as
// the route machine does with down_after.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	p := sipprobe.New(sipprobe.Target{Host: "sip.example.net", Transport: "udp", Interface: "wan"},
		sipprobe.WithInterval(time.Second), sipprobe.WithTimeout(300*time.Millisecond))
	losses := 0
	_ = p.Run(ctx, func(r sipprobe.Result) {
		if r.OK {
			losses = 0
			fmt.Printf("provider up: %d in %v\n", r.Status, r.RTT)
			return
		}
		if losses++; losses == 3 {
			fmt.Println("provider down:", r.Err)
		}
	})
}

// One probe: any SIP response, even 401 or 404, means the provider lives.
func ExampleProber_Probe() {
	p := sipprobe.New(sipprobe.Target{Host: "192.0.2.1", Port: 5060, Transport: "tcp"})
	r := p.Probe(context.Background())
	fmt.Println(r.OK, r.Status, r.RTT, r.Err)
}
