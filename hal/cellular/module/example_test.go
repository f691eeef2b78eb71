package module_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"lifeline/hal/cellular/module"
	"lifeline/hal/cellular/profiles"
)

// The daemon's view: a Module on a Quectel EC25, its status and its SMS.
func Example() {
	prof, err := profiles.Load("quectel-ec25")
	if err != nil {
		log.Fatal(err)
	}
	m, err := module.New("/dev/serial/by-id/usb-Quectel_EC25-if02-port0",
		"/dev/serial/by-id/usb-Quectel_EC25-if01-port0", prof,
		module.WithPIN("1234"),
		module.WithStatusFunc(func(st module.Status) {
			fmt.Println("line", st.State, st.Reason, st.Operator, st.SignalDBm)
		}),
		module.WithSMSFunc(func(from, text string, at time.Time) {
			fmt.Println("SMS from", from, ":", text)
		}))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	// SendSMS waits for an idle line; bound it.
	sctx, scancel := context.WithTimeout(ctx, time.Minute)
	defer scancel()
	_ = m.SendSMS(sctx, "+491701234567", "gw1: mains lost 18:05")
}
