package call_test

import (
	"errors"
	"fmt"
	"testing"

	"lifeline/hal/voice/call"
)

// TestNewError: a line kind's sentinel keeps its own text and identity and
// is of its kind through wrapping, which is how the gateway maps any
// kind's failures to SIP codes; it is of no other kind.
func TestNewError(t *testing.T) {
	busy := call.NewError("modem: busy", call.ErrBusy)
	err := fmt.Errorf("voice call 5551234 on /dev/ttyACM0: %w", busy)
	if busy.Error() != "modem: busy" || !errors.Is(err, busy) || !errors.Is(err, call.ErrBusy) {
		t.Fatalf("%v: is busy %t, is call.ErrBusy %t", err, errors.Is(err, busy), errors.Is(err, call.ErrBusy))
	}
	for _, other := range []error{call.ErrNoAnswer, call.ErrNoCarrier, call.ErrLineInUse, call.ErrBadNumber, call.ErrLineDown, call.ErrStopped} {
		if errors.Is(err, other) {
			t.Errorf("%v is %v too", err, other)
		}
	}
}

// TestCallerIDMerge: later caller ID fills what is missing and never
// erases what came before.
func TestCallerIDMerge(t *testing.T) {
	c := call.CallerID{Number: "5551234"}
	c.Merge(call.CallerID{Name: "ALICE", Number: ""})
	if c != (call.CallerID{Number: "5551234", Name: "ALICE"}) || c.IsZero() || !(call.CallerID{}).IsZero() {
		t.Fatalf("merged %+v", c)
	}
}
