package siprig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/hal/kamailio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseCallees(t *testing.T) {
	cases := []struct {
		name string
		log  string
		want []string
		bad  bool
	}{
		{"empty", "", []string{}, false},
		{"in order", "1-42@127.0.0.1 provider\n2-42@127.0.0.1 pstn\n", []string{"provider", "pstn"}, false},
		{"answered out of order", "2-42@127.0.0.1 pstn\n1-42@127.0.0.1 provider\n3-42@127.0.0.1 pstn\n", []string{"provider", "pstn", "pstn"}, false},
		{"noise lines skipped", "\nsome banner line here\n1-42@h provider\n", []string{"provider"}, false},
		{"bad call id", "x-42@h provider\n", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCallees([]byte(tc.log))
			if tc.bad {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestRefusedCalls: the numbers of the calls the UAC's log says were
// refused, whatever the order; answered calls and noise are not.
func TestRefusedCalls(t *testing.T) {
	log := "1-42@h provider\n3-42@h refused-503\nbanner\n2-42@h refused-408\nx-42@h refused-408\n4-42@h pstn\n"
	if got := refusedCalls([]byte(log)); !slices.Equal(got, []int{3, 2}) {
		t.Fatalf("refusedCalls = %v, want [3 2]", got)
	}
}

func TestRuns(t *testing.T) {
	cases := []struct {
		name    string
		callees []string
		runs    []string
		pstn    int
	}{
		{"none", nil, nil, 0},
		{"one side", []string{"provider", "provider"}, []string{"provider"}, 0},
		{"switch and back", []string{"provider", "pstn", "pstn", "provider"}, []string{"provider", "pstn", "provider"}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runs, count := Runs(tc.callees)
			if !slices.Equal(runs, tc.runs) || count[CalleePSTN] != tc.pstn {
				t.Fatalf("Runs(%v) = %v %v", tc.callees, runs, count)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	lat := []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 100 * time.Millisecond}
	for _, tc := range []struct {
		p    float64
		want float64
	}{{0, 1}, {0.5, 2}, {0.99, 3}, {1, 100}} {
		if got := Percentile(lat, tc.p); got != tc.want {
			t.Errorf("Percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

// TestE2EKamailioRig: the rig's own contract. With an empty htable calls
// go to the provider; a next hop set over the rig's client sends the next
// call to the PSTN gateway; after Restart the table is empty again and the
// client still works.
func TestE2EKamailioRig(t *testing.T) {
	r := New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r.PlaceOne(t, ctx, CalleeProvider)
	c := r.Client(t, "test")
	if err := c.SetNextHop(ctx, "pstn", r.PSTNURI); err != nil {
		t.Fatal(err)
	}
	r.PlaceOne(t, ctx, CalleePSTN)
	select {
	case <-r.PSTN.Calls():
	case <-ctx.Done():
		t.Fatal("the PSTN UAS never announced its call")
	}
	r.Restart(t)
	r.PlaceOne(t, ctx, CalleeProvider)
	// A client from before the restart still gets its replies.
	if _, err := c.Get(ctx, "lifeline", "nexthop"); !errors.Is(err, kamailio.ErrNotFound) {
		t.Fatalf("after Restart: htable.get = %v, want ErrNotFound (empty table)", err)
	}
}

// TestE2EKamailioRigSilentProvider: nothing listens for a Silent provider;
// the config's failure route sends the call to the PSTN gateway.
func TestE2EKamailioRigSilentProvider(t *testing.T) {
	r := New(t, ProviderScenario(Silent), Define("FR_TIMER=500"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r.PlaceOne(t, ctx, CalleePSTN)
}

// lateRinging is a callee whose 180 follows its 200 and the ACK.
const lateRinging Scenario = "uas_late180.xml"

// TestE2EKamailioRigLateRinging: a provisional reply that arrives after
// the call is up (Kamailio's workers can reorder a 180 and the 200) must
// not hang the UAC: with optional="global" it jumped back and waited for
// a second 200 until the run's timeout. The UAC talks to the UAS directly
// here, since Kamailio cannot be made to reorder on demand.
func TestE2EKamailioRigLateRinging(t *testing.T) {
	Require(t)
	dir := t.TempDir()
	uas := startUAS(t, filepath.Join(dir, "late"), lateRinging, "late")
	r := &Rig{Dir: dir, SIPPort: uas.Port}
	if err := os.WriteFile(filepath.Join(dir, uacScenario), mustScenario(t, uacScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	callees, err := r.PlaceCalls(ctx, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(callees, []string{"late", "late", "late"}) {
		t.Fatalf("callees %v", callees)
	}
}
