package remote_test

import (
	"errors"
	"fmt"

	"lifeline/hal/cellular/remote"
)

func ExamplePolicy_Parse() {
	p := remote.Policy{Secret: "s3cret", Allowed: []string{"+49 170 1234567"}}
	c, err := p.Parse("+491701234567", "s3cret pstn 2h")
	fmt.Println(c.Action, c.For, err)
	_, err = p.Parse("+491701234567", "guess pstn")
	fmt.Println(errors.Is(err, remote.ErrSecret))
	// Output:
	// pstn 2h0m0s <nil>
	// true
}
