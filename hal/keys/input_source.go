package keys

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// InputSource reads a Linux input device (/dev/input/eventN) and reports
// EV_KEY presses and releases of the codes in its code map, named by the
// map. Autorepeat (value 2) and unmapped codes are ignored. After the
// kernel reports SYN_DROPPED, events up to the next SYN_REPORT are
// discarded, as the evdev protocol requires.
//
// One goroutine, owned by the source, reads the device; it stops when the
// context is done or Close is called, then closes Events. Close is
// idempotent and waits for it.
type InputSource struct {
	cfg      config
	name     string
	f        *os.File
	codes    map[uint16]string
	wordSize int
	order    binary.ByteOrder
	events   chan Event
	cancel   context.CancelFunc
	done     chan struct{}

	mu  sync.Mutex
	err error
}

var _ Source = (*InputSource)(nil)

// OpenInput opens the input device at path (from board data) and starts
// reading it. codes maps KEY_* codes to key names, e.g. 0x211 → "wps".
func OpenInput(ctx context.Context, path string, codes map[uint16]string, opts ...Option) (*InputSource, error) {
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("keys: open input device %s: %w", path, err)
	}
	return NewInput(ctx, f, codes, opts...), nil
}

// NewInput starts reading input_event records from f, which the source
// then owns and closes. f should be pollable (a character device, pipe or
// socket) so that Close interrupts a pending read.
func NewInput(ctx context.Context, f *os.File, codes map[uint16]string, opts ...Option) *InputSource {
	return newInput(ctx, f, codes, NativeWordSize, binary.NativeEndian, opts...)
}

func newInput(ctx context.Context, f *os.File, codes map[uint16]string, wordSize int, bo binary.ByteOrder, opts ...Option) *InputSource {
	cfg := newConfig(opts)
	s := &InputSource{
		cfg: cfg, name: f.Name(), f: f, codes: codes, wordSize: wordSize, order: bo,
		events: make(chan Event, cfg.buffer), done: make(chan struct{}),
	}
	ctx, s.cancel = context.WithCancel(ctx)
	stop := context.AfterFunc(ctx, func() { s.f.Close() })
	go func() {
		defer stop()
		s.run(ctx)
	}()
	return s
}

// Events returns the event channel.
func (s *InputSource) Events() <-chan Event { return s.events }

// Err returns the error that stopped the source, if any (nil after Close).
func (s *InputSource) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close stops the source and waits for its goroutine.
func (s *InputSource) Close() error {
	s.cancel()
	<-s.done
	return nil
}

func (s *InputSource) run(ctx context.Context) {
	defer close(s.done)
	defer close(s.events)
	defer s.f.Close()
	r := bufio.NewReaderSize(s.f, 64*InputEventSize(s.wordSize))
	rec := make([]byte, InputEventSize(s.wordSize))
	dropping := false
	for {
		if _, err := io.ReadFull(r, rec); err != nil {
			if ctx.Err() == nil && !errors.Is(err, os.ErrClosed) {
				err = fmt.Errorf("keys: read input device %s: %w", s.name, err)
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
				s.cfg.log.Error("input source stopped", "err", err)
			}
			return
		}
		e, _ := DecodeInputEvent(rec, s.wordSize, s.order) // rec has the right size
		switch {
		case e.Type == EvSyn && e.Code == SynDropped:
			dropping = true
			s.cfg.log.Warn("input device overrun; key events lost", "device", s.name)
			continue
		case e.Type == EvSyn && e.Code == SynReport:
			dropping = false
			continue
		case dropping || e.Type != EvKey || e.Value == 2:
			continue
		}
		name, ok := s.codes[e.Code]
		if !ok {
			continue
		}
		ev := Event{Key: name, Pressed: e.Value != 0, At: s.cfg.clk.Now()}
		select {
		case s.events <- ev:
		case <-ctx.Done():
			return
		}
	}
}
