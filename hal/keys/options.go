package keys

import (
	"log/slog"

	"lifeline/hal/clock"
)

// Option configures a source.
type Option func(*config)

type config struct {
	clk        clock.Clock
	log        *slog.Logger
	names      map[string]string
	acceptUser bool // uevents from userspace senders (tests only)
	buffer     int
}

func newConfig(opts []Option) config {
	c := config{clk: clock.Real(), log: slog.New(slog.DiscardHandler), buffer: 16}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithClock injects the clock that stamps Event.At (default clock.Real()).
func WithClock(c clock.Clock) Option { return func(cf *config) { cf.clk = c } }

// WithLogger injects the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(cf *config) { cf.log = l } }

// WithNames renames keys: the kernel's button name (uevent BUTTON=) maps to
// the board's key name. Names absent from the map pass through unchanged.
// Input sources name keys through their code map instead.
func WithNames(m map[string]string) Option { return func(cf *config) { cf.names = m } }

// WithBuffer sets the capacity of the Events channel (default 16).
func WithBuffer(n int) Option { return func(cf *config) { cf.buffer = n } }

func (c config) rename(name string) string {
	if n, ok := c.names[name]; ok {
		return n
	}
	return name
}
