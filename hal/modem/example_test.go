package modem_test

import (
	"context"
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
