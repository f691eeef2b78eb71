package power

import "os"

// FakeHints is a hint source for tests: each Send is one uevent message.
type FakeHints struct {
	msgs   chan []byte
	closed chan struct{}
}

// WithFakeHints makes New use hints instead of the kernel's uevent socket.
func WithFakeHints(h *FakeHints) Option {
	return func(m *Monitor) { m.openHints = func() (hintSource, error) { return h, nil } }
}

func NewFakeHints() *FakeHints {
	return &FakeHints{msgs: make(chan []byte), closed: make(chan struct{})}
}

// Send hands msg to the Monitor's uevent goroutine (blocks until taken).
func (h *FakeHints) Send(msg []byte) { h.msgs <- msg }

func (h *FakeHints) Receive(buf []byte) (int, error) {
	select {
	case m := <-h.msgs:
		return copy(buf, m), nil
	case <-h.closed:
		return 0, os.ErrClosed
	}
}

func (h *FakeHints) Close() error { close(h.closed); return nil }

// OpenUevents exposes the real socket to tests.
func OpenUevents() (interface {
	Receive([]byte) (int, error)
	Close() error
}, error) {
	return openUevents()
}
