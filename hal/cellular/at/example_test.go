package at_test

import (
	"fmt"

	"lifeline/hal/cellular/at"
)

func ExampleParseRegistration() {
	for _, line := range []string{`+CEREG: 2,5,"D509","80D413D",7`, "+CREG: 3"} {
		r, _ := at.ParseRegistration(line)
		fmt.Println(r.Command, r.Stat, r.Stat.Registered(), r.Technology())
	}
	// Output:
	// CEREG roaming true 4G
	// CREG denied false
}

func ExampleSignal_DBm() {
	s, _ := at.ParseCSQ("+CSQ: 18,99")
	dbm, ok := s.DBm()
	fmt.Println(dbm, ok)
	// Output: -77 true
}

func ExampleParseCallEvent() {
	for _, line := range []string{"^CEND:1,12,104,17", "VOICE CALL: BEGIN", "+CSQ: 1,1"} {
		ev, ok, _ := at.ParseCallEvent(line)
		fmt.Println(ok, ev.Kind, ev.Cause)
	}
	// Output:
	// true ended 17
	// true connected -1
	// false event-0 -1
}
