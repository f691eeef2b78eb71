package keys

import "sync"

// Merged fans several sources into one. It owns them: Close closes every
// source, waits for its forwarding goroutines (one per source) and then
// closes Events. Events also closes when every source has ended on its own.
type Merged struct {
	srcs   []Source
	out    chan Event
	done   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
	closed chan struct{}
}

var _ Source = (*Merged)(nil)

// Merge starts forwarding the events of srcs.
func Merge(srcs ...Source) *Merged {
	m := &Merged{srcs: srcs, out: make(chan Event, 16), done: make(chan struct{}), closed: make(chan struct{})}
	for _, s := range srcs {
		m.wg.Add(1)
		go m.forward(s)
	}
	go func() {
		m.wg.Wait()
		close(m.out)
		close(m.closed)
	}()
	return m
}

func (m *Merged) forward(s Source) {
	defer m.wg.Done()
	for ev := range s.Events() {
		select {
		case m.out <- ev:
		case <-m.done:
			return
		}
	}
}

// Events returns the merged channel.
func (m *Merged) Events() <-chan Event { return m.out }

// Close closes every source and waits. Idempotent. It returns the first
// error a source's Close returned.
func (m *Merged) Close() error {
	var first error
	m.once.Do(func() {
		close(m.done)
		for _, s := range m.srcs {
			if err := s.Close(); err != nil && first == nil {
				first = err
			}
		}
	})
	<-m.closed
	return first
}
