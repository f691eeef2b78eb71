package ifctl_test

import (
	"fmt"

	"lifeline/hal/ifctl"
)

// Down tells whether the interface was up, so only those are restored.
// On a router the Actuator is ifctl.New().
func Example() {
	var a ifctl.Actuator = ifctl.NewFake(map[string]bool{"wlan1": true, "lan4": false})
	for _, n := range []string{"wlan1", "lan4"} {
		was, err := a.Down(n)
		fmt.Println(n, "was up:", was, err)
	}
	// Output:
	// wlan1 was up: true <nil>
	// lan4 was up: false <nil>
}
