package siprig_test

import (
	"context"
	"testing"
	"time"

	"lifeline/hal/kamailio/siprig"
)

// A test in another package starts the rig, points the next hop at the
// PSTN gateway and checks where the next call lands. (Not run: it needs
// a *testing.T.)
func Example() {
	var t *testing.T   // the test's own
	r := siprig.New(t) // skips without kamailio/sipp
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r.PlaceOne(t, ctx, siprig.CalleeProvider) // empty htable: the provider

	c := r.Client(t, "lifeline")
	if err := c.SetNextHop(ctx, "pstn", r.PSTNURI); err != nil {
		t.Fatal(err)
	}
	callees, err := r.PlaceCalls(ctx, 10, 5) // ten calls, five per second
	if err != nil {
		t.Fatalf("a call was lost: %v", err)
	}
	runs, _ := siprig.Runs(callees)
	_ = runs // [pstn]
}
