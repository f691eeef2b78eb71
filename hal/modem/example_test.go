package modem_test

import (
	"context"
	"errors"
	"fmt"

	"lifeline/hal/modem"
	"lifeline/hal/modem/modemtest"
)

func ExampleEngine() {
	m := modemtest.New(map[string][]string{"ATI3": {"Lifeline test modem", "OK"}})
	m.SetEcho(true) // echo is recognised and skipped
	e := modem.NewEngine(m)
	defer e.Close()
	r, err := e.Command(context.Background(), "ATI3")
	fmt.Println(r.Info, r.Final.Result, err)
	// Output: [Lifeline test modem] OK <nil>
}

func ExampleParseLine() {
	for _, l := range []string{"RING;02416069820", "NMBR = 0301234", "+CME ERROR: 10", "6"} {
		r := modem.ParseLine(l, true)
		fmt.Printf("%-18q %-11v %-11v %q %d\n", l, r.Kind, r.Result, r.CID.Number, r.Code)
	}
	// Output:
	// "RING;02416069820" unsolicited RING        "02416069820" -1
	// "NMBR = 0301234"   unsolicited             "0301234" -1
	// "+CME ERROR: 10"   final       +CME ERROR  "" 10
	// "6"                final       NO DIALTONE "" -1
}

func ExampleLoadProfile() {
	p, err := modem.LoadProfile("analog")
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Health.Commands, p.Health.After, p.Dial.Command)
	// Output: [ATX4 ATDT;] [ATH0] ATDT%s;
}

// ExampleLine_VoiceAnswer is the incoming side of the gateway: wait for
// the caller ID (it arrives between the first and second RING on analog
// lines), take the call in voice mode, and carry its audio until either
// side ends it. Not run: it needs a voice modem or modemsim.VoiceSim.
func ExampleLine_VoiceAnswer() {
	p, _ := modem.LoadProfile("analog")
	line := modem.New("/dev/serial/by-id/usb-voice-modem", p)
	ctx := context.Background()
	go line.Run(ctx)

	rings, cancel := line.SubscribeRings(16)
	defer cancel()
	for r := range rings {
		if r.Ended {
			fmt.Println("caller gave up:", r.Reason) // CANCEL the INVITE
			continue
		}
		if r.Count < 2 && r.Caller.Number == "" {
			continue // the caller ID may still come
		}
		err := line.VoiceAnswer(ctx, modem.VoiceOptions{}, func(ctx context.Context, c *modem.Call) error {
			fmt.Println("call from", c.Number, "in", c.Format)
			// bridge.Start(bridge.Config{Modem: c.Stream, ModemFormat: c.Format, ...});
			// return when ctx ends or the bridge is done.
			<-ctx.Done()
			return nil
		})
		if errors.Is(err, modem.ErrNotRinging) || errors.Is(err, modem.ErrNoCarrier) {
			continue // the caller hung up first
		}
	}
}
