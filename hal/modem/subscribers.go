package modem

import "sync"

// subscribers is a set of buffered channels of T that one owner publishes
// to without ever blocking (Engine.Subscribe, Line.SubscribeRings). The
// zero value is open and empty; close ends it. Safe for concurrent use.
// The bookkeeping is subscriberSet's, shared by every T: each
// instantiation adds only the two closures that know the channel's type.
type subscribers[T any] struct{ set subscriberSet }

// add returns a new channel of buffer buf and the function that ends it
// (closes the channel once); after close the channel comes closed.
func (s *subscribers[T]) add(buf int) (<-chan T, func()) {
	ch := make(chan T, buf)
	send := func(v any) bool {
		select {
		case ch <- v.(T):
			return true
		default:
			return false
		}
	}
	return ch, s.set.add(subscriber{send: send, close: func() { close(ch) }})
}

// publish offers v to every channel; full returns how many were full
// (and dropped it).
func (s *subscribers[T]) publish(v T) (full int) { return s.set.publish(v) }

// close closes every channel; later adds get closed channels.
func (s *subscribers[T]) close() { s.set.closeAll() }

// subscriber is one channel, seen through closures.
type subscriber struct {
	send  func(v any) bool // false: the channel is full
	close func()
}

// subscriberSet is the bookkeeping of subscribers[T].
type subscriberSet struct {
	mu     sync.Mutex
	subs   map[int]subscriber
	next   int
	closed bool
}

// add registers sub and returns its cancel; after closeAll it closes sub
// at once.
func (s *subscriberSet) add(sub subscriber) func() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		sub.close()
		return func() {}
	}
	if s.subs == nil {
		s.subs = map[int]subscriber{}
	}
	id := s.next
	s.next++
	s.subs[id] = sub
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		if c, ok := s.subs[id]; ok {
			delete(s.subs, id)
			c.close()
		}
		s.mu.Unlock()
	}
}

func (s *subscriberSet) publish(v any) (full int) {
	s.mu.Lock()
	for _, c := range s.subs {
		if !c.send(v) {
			full++
		}
	}
	s.mu.Unlock()
	return full
}

func (s *subscriberSet) closeAll() {
	s.mu.Lock()
	for id, c := range s.subs {
		c.close()
		delete(s.subs, id)
	}
	s.closed = true
	s.mu.Unlock()
}
