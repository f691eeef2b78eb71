package modemsim_test

import (
	"context"
	"fmt"
	"os"

	"lifeline/hal/modem"
	"lifeline/hal/modem/modemsim"
)

// The sim board: the real Line and serial backend on a simulated modem.
// "lifeline sim line down" maps to SetLine(false); the next health check
// reports no-line.
func Example() {
	dir, _ := os.MkdirTemp("", "lifeline-sim")
	defer os.RemoveAll(dir)
	p, _ := modem.LoadProfile("analog")
	sim, err := modemsim.New(dir, p)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sim.Close()

	states := make(chan modem.StateChange, 16)
	line := modem.New(sim.Path(), p, modem.WithStateFunc(func(c modem.StateChange) {
		select { // never block the line
		case states <- c:
		default:
		}
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- line.Run(ctx) }()

	for c := range states {
		if c.To == modem.StateIdle {
			break
		}
	}
	sim.SetLine(false) // lifeline sim line down
	cancel()
	<-done
}
