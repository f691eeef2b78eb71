package notify

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"lifeline/hal/cellular/sms"
	"lifeline/hal/clock"
)

// Sender sends one SMS of any length to one number ("+" and digits, or
// digits), encoding it as it needs. It may take as long as the module
// does, and returns when ctx ends; an error (module busy, a call being
// set up, no module) means "not sent, try again later".
type Sender interface {
	SendSMS(ctx context.Context, to, text string) error
}

// Config is what a Notifier sends and to whom.
type Config struct {
	// Name starts every alert; "" is the system's host name.
	Name string
	// Numbers each get one SMS per event.
	Numbers []string
	// Kinds are the events sent (see Kinds); nil: DefaultKinds.
	Kinds []string
	// Burst alerts go out at once (default 5); then one per MinInterval
	// (0: no limit), which summarises the events that waited.
	Burst       int
	MinInterval time.Duration
	// QueueMax bounds the events waiting (default 32).
	QueueMax int
	// Retry is the first wait after a failed send (default 15 s); it
	// doubles up to MaxRetry (default 5 min). A line event saying the
	// line is usable retries at once.
	Retry, MaxRetry time.Duration
	// SendTimeout bounds one SendSMS (default 2 min).
	SendTimeout time.Duration
	// Location is the time zone of the alerts' time stamps; nil: Local.
	Location *time.Location
}

func (c *Config) defaults() {
	if c.Name == "" {
		c.Name, _ = os.Hostname()
		if c.Name == "" {
			c.Name = "lifeline"
		}
	}
	if c.Kinds == nil {
		c.Kinds = DefaultKinds
	}
	if c.Burst <= 0 {
		c.Burst = 5
	}
	if c.QueueMax <= 0 {
		c.QueueMax = 32
	}
	if c.Retry <= 0 {
		c.Retry = 15 * time.Second
	}
	if c.MaxRetry <= 0 {
		c.MaxRetry = 5 * time.Minute
	}
	c.MaxRetry = max(c.MaxRetry, c.Retry)
	if c.SendTimeout <= 0 {
		c.SendTimeout = 2 * time.Minute
	}
	if c.Location == nil {
		c.Location = time.Local
	}
}

// Notifier sends SMS alerts for events. Notify never blocks; one goroutine,
// started by New and stopped by Close, composes and sends. The queue is
// guarded by mu; the rate budget, the message being sent and the retry
// state belong to the goroutine.
type Notifier struct {
	s   Sender
	cfg Config
	clk clock.Clock
	log *slog.Logger

	mu         sync.Mutex
	q          []Event // waiting, oldest first
	dropped    int     // given up since the last alert was composed
	lineUsable bool    // as last reported
	ringing    bool    // the line rings: a call is being set up, hold the alerts
	closing    bool
	retryNow   bool // a usable line was reported: retry without waiting

	wake   chan struct{}      // buffer 1: something changed
	synced chan chan struct{} // tests: closed once the goroutine has acted on all it was told
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// New starts a Notifier sending through s on clk.
func New(s Sender, cfg Config, clk clock.Clock, log *slog.Logger) *Notifier {
	cfg.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	n := &Notifier{s: s, cfg: cfg, clk: clk, log: log, lineUsable: true,
		wake: make(chan struct{}, 1), synced: make(chan chan struct{}), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go n.run()
	return n
}

// Notify queues ev if its kind is configured (a line event only when the
// line is lost or back); it never blocks. Every event is worth passing:
// a line event saying the line is usable also retries a failed send, and
// while the last one says "ringing" (a call being set up) nothing is sent.
func (n *Notifier) Notify(ev Event) {
	if ev.At.IsZero() {
		ev.At = n.clk.Now()
	}
	n.mu.Lock()
	if n.closing {
		n.mu.Unlock()
		return
	}
	want := slices.Contains(n.cfg.Kinds, ev.Kind)
	if ev.Kind == "line" {
		usable := lineUsable(ev)
		n.ringing = lineState(ev) == "ringing"
		n.retryNow = n.retryNow || usable
		want = want && usable != n.lineUsable
		n.lineUsable = usable
	}
	if want {
		n.push(ev)
	}
	n.mu.Unlock()
	n.poke()
}

// push appends ev; a full queue first gives up its oldest lesser event,
// else its oldest. mu is held.
func (n *Notifier) push(ev Event) {
	if len(n.q) >= n.cfg.QueueMax {
		i := slices.IndexFunc(n.q, func(e Event) bool { return !mustKeep(e.Kind) })
		if i < 0 {
			i = 0
		}
		n.log.Warn("sms alert queue full, event given up", "event", n.q[i].Kind, "waiting", len(n.q))
		n.q = slices.Delete(n.q, i, i+1)
		n.dropped++
	}
	n.q = append(n.q, ev)
}

func (n *Notifier) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Waiting returns the number of events not yet composed into an SMS.
func (n *Notifier) Waiting() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.q)
}

// Close stops taking events and tries, until ctx ends, to send what is
// still waiting as one last SMS per number (no retry, no rate limit);
// then it stops the goroutine. Close is idempotent and returns after the
// goroutine has exited.
func (n *Notifier) Close(ctx context.Context) {
	n.mu.Lock()
	n.closing = true
	n.mu.Unlock()
	n.poke()
	select {
	case <-n.done:
	case <-ctx.Done():
		n.cancel()
		<-n.done
	}
	n.cancel()
}

// sync returns once the goroutine has acted on everything Notify, Close
// and the clock told it before the call (tests: no sleeping).
func (n *Notifier) sync() { syncWith(n.synced, n.done) }

// syncWith hands a goroutine a channel to close once it has caught up,
// and waits for it (or for the goroutine's end).
func syncWith(synced chan<- chan struct{}, done <-chan struct{}) {
	w := make(chan struct{})
	select {
	case synced <- w:
		<-w
	case <-done:
	}
}

// outgoing is one composed alert and the numbers it has still to reach.
type outgoing struct {
	text string
	to   []string
}

// run is the goroutine: take a message when the budget allows, deliver it
// to each number, wait for what comes next.
func (n *Notifier) run() {
	defer close(n.done)
	b := bucket{tokens: float64(n.cfg.Burst), last: n.clk.Now()}
	var cur *outgoing
	var retryAt time.Time
	backoff := n.cfg.Retry
	timer := n.clk.NewTimer(time.Hour)
	timer.Stop() // armed only while something is due
	defer timer.Stop()
	var waiters []chan struct{}
	defer func() {
		for _, w := range waiters {
			close(w)
		}
	}()
	for {
		now := n.clk.Now()
		n.mu.Lock()
		closing, held := n.closing, n.ringing
		if n.retryNow {
			n.retryNow, retryAt, backoff = false, time.Time{}, n.cfg.Retry
		}
		if cur == nil {
			cur = n.take(&b, now, closing)
		}
		n.mu.Unlock()
		if cur == nil && closing {
			return
		}
		var wait time.Duration = -1 // -1: until woken
		switch {
		case held && !closing:
			// The next line event wakes us.
		case cur != nil && (closing || !now.Before(retryAt)):
			if n.deliver(cur) {
				cur, retryAt, backoff = nil, time.Time{}, n.cfg.Retry
				continue
			}
			if closing || n.ctx.Err() != nil {
				if len(cur.to) > 0 {
					n.log.Warn("sms alert not sent before stopping", "text", cur.text, "numbers", cur.to)
				}
				return
			}
			retryAt = n.clk.Now().Add(backoff)
			wait, backoff = backoff, min(2*backoff, n.cfg.MaxRetry)
		case cur != nil:
			wait = retryAt.Sub(now)
		default:
			n.mu.Lock()
			if len(n.q) > 0 {
				wait = b.wait(n.cfg.MinInterval)
			}
			n.mu.Unlock()
		}
		if wait >= 0 {
			timer.Reset(wait)
		}
		for _, w := range waiters {
			close(w)
		}
		waiters = nil
		select {
		case <-n.ctx.Done():
			return
		case <-n.wake:
		case <-timer.C():
		case w := <-n.synced:
			waiters = append(waiters, w)
		}
		timer.Stop()
	}
}

// take composes the next alert when the budget allows one: the oldest
// event alone while the budget holds more than one alert or it is the
// only one waiting, else everything waiting in one summary. shutdown and
// a closing notifier do not wait for the budget. mu is held.
func (n *Notifier) take(b *bucket, now time.Time, closing bool) *outgoing {
	if len(n.q) == 0 {
		return nil
	}
	b.refill(now, float64(n.cfg.Burst), n.cfg.MinInterval)
	urgent := closing || slices.ContainsFunc(n.q, func(e Event) bool { return e.Kind == "shutdown" })
	if b.tokens < 1 && !urgent {
		return nil
	}
	b.tokens = max(b.tokens-1, 0)
	var evs []Event
	if len(n.q) == 1 || (b.tokens >= 1 && !urgent) || n.cfg.MinInterval <= 0 {
		evs, n.q = n.q[:1:1], n.q[1:]
	} else {
		evs, n.q = n.q, nil
	}
	text := n.compose(evs, n.dropped)
	n.dropped = 0
	return &outgoing{text: text, to: slices.Clone(n.cfg.Numbers)}
}

// compose writes one alert for evs (oldest first) and extra events given
// up: the event shown is shutdown if there is one, else the latest
// must-keep one, else the latest; the others are counted and named.
func (n *Notifier) compose(evs []Event, extra int) string {
	shown := len(evs) - 1
	if i := slices.IndexFunc(evs, func(e Event) bool { return e.Kind == "shutdown" }); i >= 0 {
		shown = i
	} else if i := lastIndex(evs, func(e Event) bool { return mustKeep(e.Kind) }); i >= 0 {
		shown = i
	}
	what := Describe(evs[shown])
	if more := len(evs) - 1 + extra; more > 0 {
		var names []string
		for i, e := range evs {
			if l := label(e); i != shown && !slices.Contains(names, l) {
				names = append(names, l)
			}
		}
		what += " (+" + strconv.Itoa(more) + " more"
		if len(names) > 0 {
			what += ": " + strings.Join(names, ", ")
		}
		what += ")"
	}
	return sms.Alert(n.cfg.Name, what, evs[shown].At.In(n.cfg.Location))
}

func lastIndex(evs []Event, f func(Event) bool) int {
	for i := len(evs) - 1; i >= 0; i-- {
		if f(evs[i]) {
			return i
		}
	}
	return -1
}

// deliver sends o to each number still in o.to, removing those that
// succeed; it reports whether all did.
func (n *Notifier) deliver(o *outgoing) bool {
	for len(o.to) > 0 {
		to := o.to[0]
		ctx, cancel := context.WithTimeout(n.ctx, n.cfg.SendTimeout)
		err := n.s.SendSMS(ctx, to, o.text)
		cancel()
		if err != nil {
			n.log.Warn("sms alert not sent, will retry", "to", to, "err", err)
			return false
		}
		n.log.Info("sms alert sent", "to", to, "text", o.text, "encoding", encoding(o.text))
		o.to = o.to[1:]
	}
	return true
}

// encoding names the alphabet sms.Submit picks for text.
func encoding(text string) string {
	if _, ok := sms.ToGSM7(text); ok {
		return "gsm7"
	}
	return "ucs2"
}

// bucket is the alert budget: up to burst tokens, one more per every.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) refill(now time.Time, burst float64, every time.Duration) {
	if every > 0 && now.After(b.last) {
		b.tokens = min(burst, b.tokens+float64(now.Sub(b.last))/float64(every))
	} else if every <= 0 {
		b.tokens = burst
	}
	b.last = now
}

// wait is how long until the bucket holds a whole token.
func (b *bucket) wait(every time.Duration) time.Duration {
	if b.tokens >= 1 || every <= 0 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(every))
}
