package main

import (
	"context"
	"sync"
)

// slot is the lifetime of one watcher (the provider probe, the WAN monitor,
// the power sensing, the keys, the proxy adapter): started from a key that
// names the configuration it depends on, and kept running across a reload
// that leaves that key unchanged, so a SIGHUP restarts only the sections
// that changed. Used from run's goroutine only (Start, Stop).
type slot struct {
	key     string
	running bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// run starts the watcher for key under parent, unless it already runs
// from the same key; start launches its goroutines through goOwned, which
// stop waits for. It reports whether the running watcher was kept.
func (s *slot) run(parent context.Context, key string, start func(ctx context.Context, goOwned func(func())) error) (bool, error) {
	if s.running && s.key == key {
		return true, nil
	}
	s.stop()
	ctx, cancel := context.WithCancel(parent)
	s.key, s.running, s.cancel = key, true, cancel
	if err := start(ctx, s.goOwned); err != nil {
		s.stop() // the next reload tries again
		return false, err
	}
	return false, nil
}

func (s *slot) goOwned(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// stop cancels the watcher and waits for its goroutines; idempotent.
func (s *slot) stop() {
	if !s.running {
		return
	}
	s.cancel()
	s.wg.Wait()
	s.running = false
}
