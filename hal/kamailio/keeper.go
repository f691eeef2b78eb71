package kamailio

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"lifeline/hal/clock"
)

// DefaultCheckInterval is how often a Keeper verifies Kamailio's htable.
const DefaultCheckInterval = 2 * time.Second

// KeeperOption configures a Keeper.
type KeeperOption func(*Keeper)

// WithClock injects the clock that paces the checks (default clock.Real()).
func WithClock(c clock.Clock) KeeperOption { return func(k *Keeper) { k.clk = c } }

// WithLogger injects the logger (default: discard).
func WithLogger(l *slog.Logger) KeeperOption { return func(k *Keeper) { k.log = l } }

// WithLineNumbers makes every apply write n too (Client.SetLineNumbers),
// before the next hop, so that a next hop read back means the numbers are
// there as well.
func WithLineNumbers(n LineNumbers) KeeperOption {
	return func(k *Keeper) { k.numbers, k.hasNumbers = n, true }
}

// WithHops makes every apply write h too (Client.SetHops), before the
// next hop.
func WithHops(h Hops) KeeperOption { return func(k *Keeper) { k.hops = h } }

// WithInterval sets the check interval (default DefaultCheckInterval).
func WithInterval(d time.Duration) KeeperOption { return func(k *Keeper) { k.interval = d } }

// Keeper holds the desired next hop and keeps it applied: Set applies it at
// once, and a goroutine owned by the Keeper reads it back every interval
// (one cheap htable.get) and sets it again when Kamailio lost it — after a
// restart the htable is empty — or when it differs.
//
// Set, Desired, LastError and Close are safe for concurrent use. One mutex
// (applyMu) serialises every apply and check so a check never writes back a
// value older than one a concurrent Set applied.
type Keeper struct {
	c        *Client
	clk      clock.Clock
	log      *slog.Logger
	interval time.Duration

	numbers    LineNumbers
	hasNumbers bool
	hops       Hops

	applyMu sync.Mutex // serialises apply/check; guards desired, have
	desired struct{ route, uri string }
	have    bool

	errMu   sync.Mutex
	lastErr error

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// StartKeeper starts a Keeper on c. Its goroutine stops when ctx is done or
// Close is called; Close waits for it. The Keeper does not own c.
func StartKeeper(ctx context.Context, c *Client, opts ...KeeperOption) *Keeper {
	k := &Keeper{
		c:        c,
		clk:      clock.Real(),
		log:      slog.New(slog.DiscardHandler),
		interval: DefaultCheckInterval,
		done:     make(chan struct{}),
	}
	for _, o := range opts {
		o(k)
	}
	ctx, k.cancel = context.WithCancel(ctx)
	go k.run(ctx)
	return k
}

// Set records route/uri as desired and applies it now. The returned error
// is the apply error; the desired state is kept and retried by the checks.
func (k *Keeper) Set(ctx context.Context, route, uri string) error {
	k.applyMu.Lock()
	defer k.applyMu.Unlock()
	k.desired.route, k.desired.uri, k.have = route, uri, true
	err := k.apply(ctx)
	k.setErr(err)
	return err
}

// apply writes the hops and line numbers (if any) and the desired next
// hop; applyMu held.
func (k *Keeper) apply(ctx context.Context) error {
	if err := k.c.SetHops(ctx, k.hops); err != nil {
		return err
	}
	if k.hasNumbers {
		if err := k.c.SetLineNumbers(ctx, k.numbers); err != nil {
			return err
		}
	}
	return k.c.SetNextHop(ctx, k.desired.route, k.desired.uri)
}

// Desired returns the desired route and uri, and whether one was set.
func (k *Keeper) Desired() (route, uri string, ok bool) {
	k.applyMu.Lock()
	defer k.applyMu.Unlock()
	return k.desired.route, k.desired.uri, k.have
}

// LastError returns the error of the latest apply or check (nil when
// Kamailio holds the desired state).
func (k *Keeper) LastError() error {
	k.errMu.Lock()
	defer k.errMu.Unlock()
	return k.lastErr
}

func (k *Keeper) setErr(err error) {
	k.errMu.Lock()
	prev := k.lastErr
	k.lastErr = err
	k.errMu.Unlock()
	switch {
	case err != nil && prev == nil:
		k.log.Warn("kamailio next hop not applied", "err", err)
	case err == nil && prev != nil:
		k.log.Info("kamailio next hop applied again")
	}
}

// Close stops the checks and waits for the goroutine. Idempotent.
func (k *Keeper) Close() error {
	k.closeOnce.Do(k.cancel)
	<-k.done
	return nil
}

func (k *Keeper) run(ctx context.Context) {
	defer close(k.done)
	t := k.clk.NewTimer(k.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			k.check(ctx)
			t.Reset(k.interval)
		}
	}
}

// check reads the next hop back and re-applies the desired state if it is
// missing or different.
func (k *Keeper) check(ctx context.Context) {
	k.applyMu.Lock()
	defer k.applyMu.Unlock()
	if !k.have {
		return
	}
	got, err := k.c.Get(ctx, Table, KeyNextHop)
	switch {
	case err == nil && got == k.desired.uri:
		k.setErr(nil)
		return
	case err == nil:
		k.log.Info("kamailio next hop differs, re-applying", "have", got, "want", k.desired.uri)
	case errors.Is(err, ErrNotFound):
		k.log.Info("kamailio lost the next hop (restarted?), re-applying", "want", k.desired.uri)
	default:
		if ctx.Err() == nil {
			k.setErr(err)
		}
		return
	}
	k.setErr(k.apply(ctx))
}
