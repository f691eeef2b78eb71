package powerpolicy_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"lifeline/daemon/powerpolicy"
	"lifeline/hal/ifctl"
	"lifeline/hal/power"
)

// TestInvariants runs random power histories (readings, ticks at the
// deadline, daemon restarts from the persisted set) against the fake
// actuator and checks the rules that must hold whatever happens:
//
//   - an interface the admin had down is never brought up;
//   - on mains, outside FSD, every interface that was up is up again;
//   - FSD never ends, the shutdown command is issued once, at FSD + grace;
//   - Lifeline's set (State.Shed) holds only interfaces that were up.
func TestInvariants(t *testing.T) {
	c := powerpolicy.Config{OnBatteryDelay: 2 * time.Second, CriticalPercent: 10,
		ShedInterfaces: []string{"wlan1", "lan4", "guest0"}, ShutdownGrace: 30 * time.Second}
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		initial := map[string]bool{}
		for _, n := range c.ShedInterfaces {
			initial[n] = rng.IntN(3) > 0
		}
		links := map[string]bool{}
		for n, up := range initial {
			links[n] = up
		}
		act := ifctl.NewFake(links)
		var s powerpolicy.State
		now := t0
		pct := 100
		var fsdAt time.Time
		commands := 0
		for i := 0; i < 60; i++ {
			var ev powerpolicy.Event
			switch r := rng.IntN(10); {
			case r < 4:
				src := power.Mains
				if rng.IntN(2) == 0 {
					src = power.Battery
					pct = max(0, pct-rng.IntN(8))
				}
				ev = powerpolicy.ReadingEvent(power.State{Source: src, Percent: pct, Low: rng.IntN(40) == 0})
			case r < 8:
				if d, ok := s.NextDeadline(); ok && rng.IntN(2) == 0 {
					now = d
				}
				ev = powerpolicy.TickEvent()
			default:
				// Restart: only the persisted set survives.
				names, err := powerpolicy.DecodeShed("shed", powerpolicy.EncodeShed(s.Shed))
				if err != nil {
					t.Fatal(err)
				}
				fsd := s.FSD
				s = powerpolicy.Resume(names)
				if fsd {
					i = 60 // a real restart after FSD is a reboot: stop here
				}
				continue
			}
			now = now.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
			wasFSD := s.FSD
			var acts []string
			s, acts = run(c, s, ev, now, act)
			for _, a := range acts {
				if a == "shutdown command" {
					commands++
					if !now.Equal(fsdAt.Add(c.ShutdownGrace)) && now.Before(fsdAt.Add(c.ShutdownGrace)) {
						t.Fatalf("seed %d: shutdown command at %v, FSD at %v", seed, now, fsdAt)
					}
				}
			}
			if s.FSD && !wasFSD {
				fsdAt = now
			}
			if wasFSD && !s.FSD {
				t.Fatalf("seed %d: FSD cleared", seed)
			}
			for n, up := range initial {
				got, _ := act.State(n)
				if !up && got {
					t.Fatalf("seed %d step %d: admin-down %s brought up (%q)", seed, i, n, acts)
				}
			}
			for _, n := range s.Shed {
				if !initial[n] {
					t.Fatalf("seed %d: Shed holds %s, which was down", seed, n)
				}
			}
			if s.Power.Source == power.Mains && !s.FSD && len(s.Restoring) == 0 {
				for n, up := range initial {
					if got, _ := act.State(n); up && !got {
						t.Fatalf("seed %d step %d: on mains but %s still down (%q, shed %q)", seed, i, n, acts, s.Shed)
					}
				}
			}
		}
		if commands > 1 {
			t.Fatalf("seed %d: shutdown command issued %d times", seed, commands)
		}
	}
}
