package notify

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"lifeline/hal/cellular/remote"
	"lifeline/hal/cellular/sms"
	"lifeline/hal/clock"
)

// Status is what a command's reply reports.
type Status struct {
	Route, Reason string
	// Override is auto, sip or pstn; Until its expiry (zero: none).
	Override string
	Until    time.Time
}

// Overrider is the daemon's override path. Both methods may block
// briefly (the daemon's loop); neither is called from Receive.
type Overrider interface {
	// SetOverride sets mode (auto, sip, pstn) for d (0: until changed) on
	// behalf of source, and returns the status after it. An error with a
	// non-empty Status.Route means the override is in effect but
	// something about it failed (e.g. it could not be saved).
	SetOverride(ctx context.Context, mode string, d time.Duration, source string) (Status, error)
	// Status returns the current status.
	Status(ctx context.Context) (Status, error)
}

// HandlerConfig is who may command the route by SMS.
type HandlerConfig struct {
	// Name starts every reply; "" is the system's host name.
	Name string
	// Secret and Allowed are the remote.Policy.
	Secret  string
	Allowed []string
	// WrongBurst wrong secrets (default 3) lock a sender out until one
	// WrongEvery (default 10 min) has passed, right secret or not.
	WrongBurst int
	WrongEvery time.Duration
	// Timeout bounds one command and its reply (default 2 min).
	Timeout time.Duration
	// Location is the time zone of the replies' time stamps; nil: Local.
	Location *time.Location
}

// Source is the override source the Handler gives the Overrider.
const Source = "sms"

// Handler carries out SMS commands. Receive never blocks: it checks the
// sender and the secret at once and queues only authorised commands (at
// most inboxMax), which one goroutine, started by NewHandler and stopped
// by Close, applies and answers in order.
type Handler struct {
	o      Overrider
	s      Sender
	cfg    HandlerConfig
	policy remote.Policy
	clk    clock.Clock
	log    *slog.Logger
	wrong  *remote.Limiter // wrong secrets per sender
	noise  *remote.Limiter // log lines about strangers, one budget for all

	inbox  chan remote.Command
	synced chan chan struct{} // tests: closed once the inbox is empty
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

const inboxMax = 8

// NewHandler starts a Handler applying commands through o and replying
// through s.
func NewHandler(o Overrider, s Sender, cfg HandlerConfig, clk clock.Clock, log *slog.Logger) *Handler {
	nc := Config{Name: cfg.Name, Location: cfg.Location}
	nc.defaults()
	cfg.Name, cfg.Location = nc.Name, nc.Location
	if cfg.WrongBurst <= 0 {
		cfg.WrongBurst = 3
	}
	if cfg.WrongEvery <= 0 {
		cfg.WrongEvery = 10 * time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = nc.SendTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Handler{o: o, s: s, cfg: cfg, clk: clk, log: log,
		policy: remote.Policy{Secret: cfg.Secret, Allowed: cfg.Allowed},
		wrong:  remote.NewLimiter(clk, cfg.WrongBurst, cfg.WrongEvery),
		noise:  remote.NewLimiter(clk, 10, time.Minute),
		inbox:  make(chan remote.Command, inboxMax), synced: make(chan chan struct{}), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go h.run()
	return h
}

// Receive takes a received SMS (its sender, text and the service
// centre's time stamp). It never blocks; safe for concurrent use.
func (h *Handler) Receive(from, text string, at time.Time) {
	cmd, err := h.policy.Parse(from, text)
	if errors.Is(err, remote.ErrNotAllowed) {
		if h.noise.Allow("") {
			h.log.Info("sms ignored: sender not allowed to command", "from", from, "sent", at)
		}
		return
	}
	sender := remote.Normalize(from)
	if !h.wrong.Ready(sender) {
		h.log.Warn("sms command ignored: sender locked out after wrong secrets", "from", sender)
		return
	}
	switch {
	case errors.Is(err, remote.ErrSecret):
		h.wrong.Allow(sender)
		h.log.Warn("sms command with a wrong secret ignored", "from", sender, "sent", at)
		return
	case err != nil: // the right secret, a command not understood: say so
		cmd = remote.Command{From: sender}
		h.log.Warn("sms command not understood", "from", sender, "err", err)
	}
	select {
	case h.inbox <- cmd:
	default:
		h.log.Warn("sms command dropped: too many waiting", "from", sender, "action", cmd.Action)
	}
}

// Close stops the goroutine, abandoning the commands still waiting; it is
// idempotent and returns after the goroutine has exited.
func (h *Handler) Close() {
	h.cancel()
	<-h.done
}

func (h *Handler) run() {
	defer close(h.done)
	for {
		select {
		case <-h.ctx.Done():
			return
		case cmd := <-h.inbox:
			h.carry(cmd)
		case w := <-h.synced:
			for len(h.inbox) > 0 {
				h.carry(<-h.inbox)
			}
			close(w)
		}
	}
}

// sync returns once every command received before the call has been
// carried out (tests: no sleeping).
func (h *Handler) sync() { syncWith(h.synced, h.done) }

// carry applies cmd and replies to its sender.
func (h *Handler) carry(cmd remote.Command) {
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.Timeout)
	defer cancel()
	var st Status
	var err error
	var what string
	switch cmd.Action {
	case remote.ActionPSTN, remote.ActionSIP, remote.ActionAuto:
		st, err = h.o.SetOverride(ctx, string(cmd.Action), cmd.For, Source)
		h.log.Info("override set by sms", "from", cmd.From, "mode", cmd.Action, "for", cmd.For, "err", err)
	case remote.ActionStatus:
		st, err = h.o.Status(ctx)
	default:
		what = "not understood; send: SECRET pstn|sip [30m|2h|1d], SECRET auto or SECRET status"
	}
	if what == "" {
		what = describeStatus(st, h.cfg.Location)
		switch {
		case err != nil && st.Route == "":
			what = "failed: " + err.Error()
		case err != nil:
			what += " (" + err.Error() + ")"
		}
	}
	text := sms.Alert(h.cfg.Name, what, h.clk.Now().In(h.cfg.Location))
	if err := h.s.SendSMS(ctx, cmd.From, text); err != nil {
		h.log.Warn("sms reply not sent", "to", cmd.From, "err", err)
		return
	}
	h.log.Info("sms reply sent", "to", cmd.From, "text", text)
}

// describeStatus: "route pstn (override pstn until 19:05): override pstn".
func describeStatus(st Status, loc *time.Location) string {
	s := "route " + st.Route
	if st.Override != "" && st.Override != "auto" {
		s += " (override " + st.Override
		if !st.Until.IsZero() {
			s += " until " + st.Until.In(loc).Format("Jan 2 15:04")
		}
		s += ")"
	}
	if st.Reason != "" {
		s += ": " + st.Reason
	}
	return s
}
