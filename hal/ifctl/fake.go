package ifctl

import (
	"fmt"
	"sync"
)

// Fake is an Actuator over a map, for tests. Set Links (and Fail) before
// use, or through Set; its methods are safe for concurrent use, one mutex
// guards every field.
type Fake struct {
	// Links maps interface names to their administrative state (true =
	// up). A name not in the map does not exist.
	Links map[string]bool
	// Fail makes the next operation on a name return this error (and
	// change nothing); the entry is consumed.
	Fail map[string]error
	// Calls records the operations, e.g. "down wlan1", "up wlan1".
	Calls []string

	mu sync.Mutex
}

var _ Actuator = (*Fake)(nil)

// NewFake returns a Fake with the given interfaces and states.
func NewFake(links map[string]bool) *Fake {
	return &Fake{Links: links, Fail: map[string]error{}}
}

func (f *Fake) op(op, name string) (bool, error) {
	f.Calls = append(f.Calls, op+" "+name)
	if !ValidName(name) {
		return false, fmt.Errorf("ifctl: %s %q: %w", op, name, ErrInvalidName)
	}
	if err, ok := f.Fail[name]; ok {
		delete(f.Fail, name)
		return false, fmt.Errorf("ifctl: %s %q: %w", op, name, err)
	}
	up, ok := f.Links[name]
	if !ok {
		return false, fmt.Errorf("ifctl: %s %q: %w", op, name, ErrNoSuchInterface)
	}
	return up, nil
}

// Down implements Actuator.
func (f *Fake) Down(name string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	up, err := f.op("down", name)
	if err != nil {
		return false, err
	}
	f.Links[name] = false
	return up, nil
}

// Up implements Actuator.
func (f *Fake) Up(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.op("up", name); err != nil {
		return err
	}
	f.Links[name] = true
	return nil
}

// IsUp implements Actuator.
func (f *Fake) IsUp(name string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.op("query", name)
}

// Set sets an interface's state (creating it), as an admin would.
func (f *Fake) Set(name string, up bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Links[name] = up
}

// State returns an interface's state and whether it exists.
func (f *Fake) State(name string) (up, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	up, ok = f.Links[name]
	return
}
