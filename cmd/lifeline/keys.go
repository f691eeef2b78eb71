package main

import (
	"context"
	"fmt"
	"sync"

	"lifeline/boards"
	"lifeline/daemon"
	"lifeline/hal/clock"
	"lifeline/hal/gpio"
	"lifeline/hal/keys"
)

// keysFeature opens the board's key sources — free GPIO lines, OpenWrt's
// button uevents, Linux input devices — merges them into one stream and
// posts every event to the daemon, whose matcher makes combinations of
// them (the hotkeys are the daemon's). It depends on the board only:
// started once. On the sim board `lifeline sim key` stands in for it.
var keysFeature = featureDef{name: "keys", new: func(hw *hardware) feature {
	return &keyed{hw: hw, name: "keys",
		key: func(*daemon.Config) string {
			if hw.sim != nil {
				return ""
			}
			return "board"
		},
		start: func(ctx context.Context, _ *daemon.Config, goOwned func(func())) error {
			return hw.runKeys(ctx, goOwned)
		},
	}
}}

func (hw *hardware) runKeys(ctx context.Context, goOwned func(func())) error {
	var srcs []keys.Source
	closeAll := func() {
		for _, s := range srcs {
			s.Close()
		}
	}
	buttons := buttonKeys(hw.board)
	inputs := map[string]map[uint16]string{}
	for _, k := range hw.board.Keys {
		switch k.Source {
		case "gpio":
			src, err := newGPIOKey(hw.gpio, k, hw.clk)
			if err != nil {
				closeAll()
				return fmt.Errorf("key %q: %w", k.Name, err)
			}
			srcs = append(srcs, src)
		case "input":
			if inputs[k.Device] == nil {
				inputs[k.Device] = map[uint16]string{}
			}
			inputs[k.Device][uint16(k.Code)] = k.Name
		}
	}
	if len(buttons) > 0 {
		u, err := keys.ListenUevents(ctx, keys.WithNames(buttons), keys.WithClock(hw.clk), keys.WithLogger(hw.log))
		if err != nil {
			closeAll()
			return fmt.Errorf("button uevents: %w", err)
		}
		srcs = append(srcs, filterKeys(u, buttons))
	}
	for dev, codes := range inputs {
		in, err := keys.OpenInput(ctx, dev, codes, keys.WithClock(hw.clk), keys.WithLogger(hw.log))
		if err != nil {
			closeAll()
			return fmt.Errorf("keys on %s: %w", dev, err)
		}
		srcs = append(srcs, in)
	}
	if len(srcs) == 0 {
		return nil
	}
	m := keys.Merge(srcs...)
	goOwned(func() {
		defer m.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-m.Events():
				if !ok {
					return
				}
				hw.post(daemon.KeyInput{Key: ev.Key, Pressed: ev.Pressed})
			}
		}
	})
	return nil
}

// buttonKeys maps the uevent BUTTON= names of the board's button keys to
// the keys' names.
func buttonKeys(b *boards.Board) map[string]string {
	m := map[string]string{}
	for _, k := range b.Keys {
		if k.Source == "button" {
			m[k.Button] = k.Name
		}
	}
	return m
}

// filterKeys passes only the board's buttons: OpenWrt broadcasts every
// button (reset, rfkill, ...) to every listener.
func filterKeys(src keys.Source, names map[string]string) keys.Source {
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	f := &filtered{Source: src, ch: make(chan keys.Event, 16), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		defer close(f.ch)
		for ev := range src.Events() {
			if known[ev.Key] {
				f.ch <- ev
			}
		}
	}()
	return f
}

// filtered is a Source narrowed to some keys; its goroutine ends when the
// inner source closes its channel, which Close brings about.
type filtered struct {
	keys.Source
	ch   chan keys.Event
	done chan struct{}
}

func (f *filtered) Events() <-chan keys.Event { return f.ch }

func (f *filtered) Close() error {
	err := f.Source.Close()
	for range f.ch { // drain so the goroutine can finish
	}
	<-f.done
	return err
}

// gpioKey is a key on a free GPIO line: each (debounced) edge is an event.
// The gpio handler never blocks: an event that finds the buffer full is
// dropped, which only a stuck consumer could cause.
type gpioKey struct {
	in   gpio.Input
	ch   chan keys.Event
	once sync.Once
}

func newGPIOKey(op gpio.Opener, k boards.Key, clk clock.Clock) (*gpioKey, error) {
	g := &gpioKey{ch: make(chan keys.Event, 16)}
	in, err := op.OpenInput(gpioSpec(*k.GPIO, k.Name), func(e gpio.Edge) {
		select {
		case g.ch <- keys.Event{Key: k.Name, Pressed: e.Active, At: clk.Now()}:
		default:
		}
	})
	if err != nil {
		return nil, err
	}
	g.in = in
	return g, nil
}

func (g *gpioKey) Events() <-chan keys.Event { return g.ch }

// Close releases the line (no handler call after it returns) and ends the
// event stream; it is idempotent.
func (g *gpioKey) Close() error {
	var err error
	g.once.Do(func() {
		err = g.in.Close()
		close(g.ch)
	})
	return err
}
