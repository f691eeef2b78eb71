package main

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"lifeline/daemon"
	"lifeline/hal/cellular/module"
	"lifeline/hal/cellular/notify"
	"lifeline/hal/clock"
)

// notifyFeature is the notify section: SMS alerts of the daemon's events
// (hal/cellular/notify's Notifier, fed by the process-lifetime eventTap)
// and, with remote '1', route commands by SMS (its Handler, answering
// through smsOverrider), both through the cellular line's module
// (smsLine). Keyed on the section: a reload that leaves it unchanged keeps
// the running notifier (its rate budget and its queue), one that changes
// it restarts it, one that removes it stops it. Stopping flushes what
// waits, for at most notifyFlush (not at all while no module runs): on
// the daemon's stop, after the daemon is done, so its last events (stop,
// a shutdown) are in it.
var notifyFeature = featureDef{name: "notify", new: func(hw *hardware) feature { return newNotifyFeat(hw) }}

// notifyFlush bounds the last send of a stopping notifier.
const notifyFlush = 4 * time.Second

type notifyFeat struct {
	keyed
	parent context.Context // apply's: ends when the daemon stops, not on a reload
	flush  time.Duration   // notifyFlush; tests shorten it
}

func newNotifyFeat(hw *hardware) *notifyFeat {
	f := &notifyFeat{flush: notifyFlush}
	f.keyed = keyed{hw: hw, name: "notify", key: notifyKey, start: f.start,
		kept: func(cfg *daemon.Config) {
			hw.log.Info("notify section unchanged: SMS alerts kept across the reload")
			warnNoCellular(hw.log, cfg)
		}}
	return f
}

func (f *notifyFeat) apply(ctx context.Context, cfg *daemon.Config) error {
	f.parent = ctx
	err := f.keyed.apply(ctx, cfg)
	if cfg.Notify == nil || len(cfg.Notify.Numbers) == 0 {
		f.hw.events.off() // nobody to tell: events are not kept
	}
	return err
}

// start runs the notifier and the command handler of cfg's section until
// ctx ends.
func (f *notifyFeat) start(ctx context.Context, cfg *daemon.Config, goOwned func(func())) error {
	hw, nc, parent := f.hw, cfg.Notify, f.parent
	warnNoCellular(hw.log, cfg)
	hw.mu.Lock()
	d := hw.d
	hw.mu.Unlock()
	var n *notify.Notifier
	if len(nc.Numbers) > 0 {
		n = notify.New(&hw.sms, nc.NotifierConfig(), hw.clk, hw.log)
		hw.events.setSink(n.Notify) // with what came before
	}
	var h *notify.Handler
	if hc, ok := nc.HandlerConfig(); ok {
		h = notify.NewHandler(&smsOverrider{hw}, &hw.sms, hc, hw.clk, hw.log)
		hw.sms.setReceiver(h.Receive)
		hw.log.Info("route override by SMS enabled", "from", nc.RemoteFrom)
	}
	flush := f.flush
	goOwned(func() {
		<-ctx.Done()
		if parent.Err() != nil && d != nil {
			<-d.Done() // the daemon stops: its last events first
		}
		if n != nil {
			hw.events.setSink(nil) // a restart's next notifier takes what comes meanwhile
		}
		if h != nil {
			hw.sms.setReceiver(nil)
			h.Close()
		}
		if n != nil {
			wait := flush
			if !hw.sms.running() {
				wait = 0 // no module to take what waits (none configured, or it stopped)
			}
			fctx, cancel := context.WithTimeout(context.Background(), wait)
			n.Close(fctx)
			cancel()
		}
	})
	return nil
}

// notifyKey names the section the feature runs from ("": none), without
// its line number.
func notifyKey(cfg *daemon.Config) string {
	n := cfg.Notify
	if n == nil {
		return ""
	}
	var b strings.Builder
	for _, s := range []string{"notify", n.Name, n.RouterName, strings.Join(n.Numbers, ","), strings.Join(n.Events, ","),
		strconv.Itoa(n.Burst), strconv.FormatInt(int64(n.MinInterval), 10), strconv.FormatBool(n.Remote),
		strings.Join(n.RemoteFrom, ","), n.RemoteSecret} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.String()
}

// notifyWarning says why a notify section cannot send yet: no line section
// with a cellular profile ("": there is one, or no notify section).
func notifyWarning(cfg *daemon.Config) string {
	if cfg.Notify == nil || cfg.Line != nil && cfg.Line.Kind == daemon.LineKindCellular {
		return ""
	}
	return "notify '" + cfg.Notify.Name + "' (line " + strconv.Itoa(cfg.Notify.Line) +
		"): no cellular line is configured: SMS alerts and commands wait until a line section with a cellular profile is"
}

func warnNoCellular(log *slog.Logger, cfg *daemon.Config) {
	if w := notifyWarning(cfg); w != "" {
		log.Warn(w)
	}
}

// eventTap is a daemon observer for the process's lifetime (in
// daemon.Options, so it sees the start event too) that hands every event
// to the running notifier. Until the notify feature first starts it keeps
// the events (at most tapMax, the first ones: mains lost at boot, before
// the features run, is what matters); without a notify section it keeps
// nothing. Event is called from the daemon's goroutine and never blocks
// (Notifier.Notify does not).
type eventTap struct {
	clk clock.Clock

	mu      sync.Mutex
	sink    func(notify.Event) // the running notifier's Notify; nil: keep or drop
	buf     []notify.Event
	discard bool
}

const tapMax = 32

func newEventTap(clk clock.Clock) *eventTap { return &eventTap{clk: clk} }

// Observe: the tap wants only the events.
func (t *eventTap) Observe(daemon.Status) {}

// Event is daemon.EventObserver's.
func (t *eventTap) Event(ev daemon.HookEvent) {
	ne := notify.Event{Kind: ev.Event, Route: string(ev.Route), PrevRoute: string(ev.PrevRoute),
		Reason: ev.Reason, Power: ev.Power, Battery: ev.Battery, At: t.clk.Now()}
	t.mu.Lock()
	switch {
	case t.sink != nil:
		t.sink(ne)
	case !t.discard && len(t.buf) < tapMax:
		t.buf = append(t.buf, ne)
	}
	t.mu.Unlock()
}

// setSink hands the events kept so far, then every later one, to f; nil
// keeps them again (a notifier restarting). Nil-safe, as off.
func (t *eventTap) setSink(f func(notify.Event)) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.sink, t.discard = f, false
	if f != nil {
		for _, e := range t.buf {
			f(e)
		}
		t.buf = nil
	}
	t.mu.Unlock()
}

// off drops what was kept and keeps nothing more until setSink.
func (t *eventTap) off() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.sink, t.discard, t.buf = nil, true, nil
	t.mu.Unlock()
}

// smsLine is the cellular line's SMS side as the notify feature sees it,
// for the process's lifetime: the cellular line calls setModule with its
// module when that starts and setModule(nil) when it stops, and gives
// received (a module.WithSMSFunc) the messages the module receives. A
// message sent while no module runs waits for the next one (at most
// smsWaitMax senders wait; each until its ctx ends), and one the module
// could not send because it stopped is sent again on the next.
type smsLine struct {
	log *slog.Logger // nil: nothing logged

	mu      sync.Mutex
	mod     notify.Sender // the running module; nil: none
	changed chan struct{} // closed and replaced when mod changes
	waiting int
	recv    func(from, text string, at time.Time) // the SMS command handler; nil: remote off
}

const smsWaitMax = 8

// errNoModule: the message waited for a cellular module in vain.
var errNoModule = errors.New("no cellular module running")

// setModule makes m the module SMS go through; nil: none (it stopped).
func (l *smsLine) setModule(m *module.Module) {
	if m == nil {
		l.set(nil) // not a typed nil in the interface
		return
	}
	l.set(m)
}

func (l *smsLine) set(s notify.Sender) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mod = s
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}

// running reports whether a module runs.
func (l *smsLine) running() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mod != nil
}

// current returns the module and a channel closed when it changes; mu is
// held.
func (l *smsLine) current() (notify.Sender, chan struct{}) {
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return l.mod, l.changed
}

// SendSMS is notify.Sender's: through the running module, waiting for
// one while there is none.
func (l *smsLine) SendSMS(ctx context.Context, to, text string) error {
	for {
		l.mu.Lock()
		m, changed := l.current()
		if m == nil && l.waiting >= smsWaitMax {
			l.mu.Unlock()
			return errNoModule
		}
		if m == nil {
			l.waiting++
		}
		l.mu.Unlock()
		if m != nil {
			err := m.SendSMS(ctx, to, text)
			if !errors.Is(err, module.ErrStopped) || ctx.Err() != nil {
				return err
			}
			// The module stopped under the message: wait for the next.
			l.mu.Lock()
			l.waiting++
			l.mu.Unlock()
		}
		select {
		case <-changed:
		case <-ctx.Done():
		}
		l.mu.Lock()
		l.waiting--
		l.mu.Unlock()
		if ctx.Err() != nil {
			return errNoModule
		}
	}
}

// setReceiver makes f the handler of received messages; nil: none.
func (l *smsLine) setReceiver(f func(from, text string, at time.Time)) {
	l.mu.Lock()
	l.recv = f
	l.mu.Unlock()
}

// received takes a message the module received: the SMS command
// handler's while remote is on, else logged (not its text: it may hold a
// secret) and dropped.
func (l *smsLine) received(from, text string, at time.Time) {
	l.mu.Lock()
	f := l.recv
	l.mu.Unlock()
	if f != nil {
		f(from, text, at)
		return
	}
	if l.log != nil {
		l.log.Info("sms received and ignored: remote override is off", "from", from, "sent", at)
	}
}

// smsOverrider is the SMS command handler's way to the daemon's override
// (source "sms") and status.
type smsOverrider struct{ hw *hardware }

func (o *smsOverrider) daemon() (*daemon.Daemon, error) {
	o.hw.mu.Lock()
	d := o.hw.d
	o.hw.mu.Unlock()
	if d == nil {
		return nil, daemon.ErrStopped
	}
	return d, nil
}

func (o *smsOverrider) SetOverride(ctx context.Context, mode string, dur time.Duration, source string) (notify.Status, error) {
	m, err := daemon.ParseMode(mode)
	if err != nil {
		return notify.Status{}, err
	}
	d, err := o.daemon()
	if err != nil {
		return notify.Status{}, err
	}
	st, err := d.SetOverride(ctx, m, dur, source)
	return smsStatus(st), err
}

func (o *smsOverrider) Status(ctx context.Context) (notify.Status, error) {
	d, err := o.daemon()
	if err != nil {
		return notify.Status{}, err
	}
	st, err := d.Status(ctx)
	return smsStatus(st), err
}

func smsStatus(st daemon.Status) notify.Status {
	s := notify.Status{Route: string(st.Route), Reason: st.Reason, Override: string(st.Override.Mode)}
	if st.Override.Until != nil {
		s.Until = *st.Override.Until
	}
	return s
}
