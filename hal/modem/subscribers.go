package modem

import "sync"

// subscribers is a set of buffered channels that one owner publishes to
// without ever blocking (Engine.Subscribe, Line.SubscribeRings). The zero
// value is open and empty; close ends it. Safe for concurrent use.
type subscribers[T any] struct {
	mu     sync.Mutex
	chans  map[int]chan T
	next   int
	closed bool
}

// add returns a new channel of buffer buf and the function that ends it
// (closes the channel once); after close the channel comes closed.
func (s *subscribers[T]) add(buf int) (<-chan T, func()) {
	ch := make(chan T, buf)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		close(ch)
		return ch, func() {}
	}
	if s.chans == nil {
		s.chans = map[int]chan T{}
	}
	id := s.next
	s.next++
	s.chans[id] = ch
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if c, ok := s.chans[id]; ok {
			delete(s.chans, id)
			close(c)
		}
	}
}

// publish offers v to every channel; full returns how many were full
// (and dropped it).
func (s *subscribers[T]) publish(v T) (full int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.chans {
		select {
		case c <- v:
		default:
			full++
		}
	}
	return full
}

// close closes every channel; later adds get closed channels.
func (s *subscribers[T]) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range s.chans {
		close(c)
		delete(s.chans, id)
	}
	s.closed = true
}
