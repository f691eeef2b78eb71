package module

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"lifeline/hal/cellular/at"
	"lifeline/hal/cellular/sms"
	"lifeline/hal/modem"
)

// smsRetryAfter is the wait after the module refused a message before it
// is offered again.
const smsRetryAfter = 30 * time.Second

// outSMS is one queued message.
type outSMS struct {
	to, text string
	tries    int
	done     chan error // buffered 1: the outcome
}

// smsQueue holds the messages waiting for an idle line. Its mutex guards
// q and stopped; wake (buffered 1) tells Run's loop that a message came.
type smsQueue struct {
	mu      sync.Mutex
	q       []*outSMS
	stopped error
	wake    chan struct{}
	changed chan struct{} // closed and replaced when q changes (tests wait on it)
}

func (q *smsQueue) init() { q.wake, q.changed = make(chan struct{}, 1), make(chan struct{}) }

// touch marks a change of q; mu is held.
func (q *smsQueue) touch() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// fail ends every queued message with err and refuses later ones.
func (q *smsQueue) fail(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, o := range q.q {
		o.done <- err
	}
	q.q, q.stopped = nil, err
	q.touch()
}

// pokeIfWaiting wakes Run's loop again while messages wait: each wake
// sends one, and those queued while the line was away or busy woke it
// only once between them. The loop goes back through its select, so a
// URC or a request is served between two messages.
func (q *smsQueue) pokeIfWaiting() {
	q.mu.Lock()
	n := len(q.q)
	q.mu.Unlock()
	if n > 0 {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

func (q *smsQueue) pop() *outSMS {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.q) == 0 {
		return nil
	}
	o := q.q[0]
	q.q = q.q[1:]
	q.touch()
	return o
}

// requeue puts o back at the front (a retry keeps its turn).
func (q *smsQueue) requeue(o *outSMS) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped != nil {
		o.done <- q.stopped
		return
	}
	q.q = append([]*outSMS{o}, q.q...)
	q.touch()
}

func (q *smsQueue) remove(o *outSMS) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, x := range q.q {
		if x == o {
			q.q = append(q.q[:i], q.q[i+1:]...)
			q.touch()
			return
		}
	}
}

// SendSMS queues text for to ("+" and digits, or national digits) and
// returns when the module has sent it (nil), refused it SMSTries times
// (ErrSMS), Run stopped (ErrStopped), or ctx ended: a message not yet
// handed to the module is then taken out of the queue; one being sent
// goes on. Messages go out one at a time in order, only while the line
// is idle: never during a call or its set-up, never while absent or
// unregistered. The text is GSM 7-bit when it fits the GSM alphabet,
// else UCS-2, split into concatenated parts when long (text mode:
// one part of safe characters only). ErrQueueFull when SMSQueueSize
// messages wait already. Safe for concurrent use, from callbacks too.
func (m *Module) SendSMS(ctx context.Context, to, text string) error {
	if !validNumber(to) || strings.ContainsAny(to, "*#") {
		return fmt.Errorf("SMS to %q on %s: %w", to, m.atPath, ErrBadNumber)
	}
	if m.textMode() {
		if err := sms.TextModeBody(text); err != nil {
			return fmt.Errorf("SMS to %s on %s: %w", to, m.atPath, err)
		}
	} else if _, err := sms.Submit(to, text, 0); err != nil {
		return fmt.Errorf("SMS to %s on %s: %w", to, m.atPath, err)
	}
	o := &outSMS{to: to, text: text, done: make(chan error, 1)}
	q := &m.sms
	q.mu.Lock()
	switch {
	case q.stopped != nil:
		q.mu.Unlock()
		return q.stopped
	case len(q.q) >= SMSQueueSize:
		q.mu.Unlock()
		return fmt.Errorf("SMS to %s on %s: %w", to, m.atPath, ErrQueueFull)
	}
	q.q = append(q.q, o)
	q.touch()
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		q.remove(o)
		return ctx.Err()
	}
}

// textMode: the profile selects SMS text mode (AT+CMGF=1) at init.
func (m *Module) textMode() bool {
	for _, c := range m.prof.Init {
		if strings.EqualFold(c, "AT+CMGF=1") {
			return true
		}
	}
	return false
}

// trySMS sends the next queued message when the line is idle.
func (s *session) trySMS(ctx context.Context) {
	m := s.m
	if s.call != nil || s.smsRetrying || m.Status().State != StateIdle || s.eng.Err() != nil {
		return
	}
	o := m.sms.pop()
	if o == nil {
		return
	}
	err := s.sendSMS(ctx, o)
	switch {
	case err == nil:
		m.cfg.log.Info("cellular: SMS sent", "device", m.atPath, "to", o.to)
		o.done <- nil
		m.sms.pokeIfWaiting()
		return
	case lost(err) || ctx.Err() != nil:
		m.sms.requeue(o) // the module went away or Run stops: try again later
		return
	}
	o.tries++
	m.cfg.log.Warn("cellular: SMS refused", "device", m.atPath, "to", o.to, "try", o.tries, "err", err)
	if o.tries >= SMSTries {
		o.done <- fmt.Errorf("SMS to %s on %s: %w: %v", o.to, m.atPath, ErrSMS, err)
		return
	}
	s.smsRetrying = true
	s.timer.smsRetry.Reset(smsRetryAfter)
	m.sms.requeue(o) // after the timer is armed: tests wait for the requeue
}

// sendSMS writes one message: AT+CMGS, the "> " prompt answered by the
// tap with the body and Ctrl-Z, then +CMGS: <mr> and OK.
func (s *session) sendSMS(ctx context.Context, o *outSMS) error {
	if s.m.textMode() {
		return s.cmgs(ctx, `AT+CMGS="`+o.to+`"`, o.text)
	}
	s.ref++
	parts, err := sms.Submit(o.to, o.text, s.ref)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if err := s.cmgs(ctx, "AT+CMGS="+strconv.Itoa(p.TPDULen), p.Hex); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) cmgs(ctx context.Context, cmd, body string) error {
	s.tap.arm(append([]byte(body), 0x1A))
	defer s.tap.arm(nil)
	_, err := s.cmd(ctx, cmd, modem.WithTimeout(SMSTimeout))
	return err
}

// readStored reads, delivers and deletes the message a +CMTI announced.
func (s *session) readStored(ctx context.Context, line string) {
	m := s.m
	nm, err := at.ParseCMTI(line)
	if err != nil {
		m.cfg.log.Info("cellular: bad +CMTI", "device", m.atPath, "err", err)
		return
	}
	rep, err := s.cmd(ctx, "AT+CMGR="+strconv.Itoa(nm.Index))
	if err != nil {
		m.cfg.log.Warn("cellular: reading SMS failed", "device", m.atPath, "index", nm.Index, "err", err)
		return
	}
	for i, l := range rep.Info {
		if !strings.HasPrefix(l, "+CMGR:") || i+1 >= len(rep.Info) {
			continue
		}
		h, err := at.ParseCMGR(l)
		if err != nil {
			m.cfg.log.Info("cellular: bad +CMGR", "device", m.atPath, "err", err)
			break
		}
		s.deliver(h, rep.Info[i+1])
		break
	}
	if err := s.ok(ctx, "AT+CMGD="+strconv.Itoa(nm.Index)); err != nil && !lost(err) {
		m.cfg.log.Warn("cellular: deleting SMS failed", "device", m.atPath, "index", nm.Index, "err", err)
	}
}

// readUnread delivers and deletes the messages that arrived unannounced
// while nobody listened (Lifeline stopped, the module unplugged): AT+CMGL
// of the unread only, so that an old command already handled is never
// taken again.
func (s *session) readUnread(ctx context.Context) {
	m := s.m
	list := "AT+CMGL=0"
	if m.textMode() {
		list = `AT+CMGL="REC UNREAD"`
	}
	rep, err := s.cmd(ctx, list)
	if err != nil {
		if !lost(err) {
			m.cfg.log.Info("cellular: listing unread SMS failed", "device", m.atPath, "err", err)
		}
		return
	}
	var done []int
	for i, l := range rep.Info {
		if !strings.HasPrefix(l, "+CMGL:") || i+1 >= len(rep.Info) {
			continue
		}
		idx, h, err := at.ParseCMGL(l)
		if err != nil {
			m.cfg.log.Info("cellular: bad +CMGL", "device", m.atPath, "err", err)
			continue
		}
		s.deliver(h, rep.Info[i+1])
		done = append(done, idx)
	}
	for _, idx := range done {
		if err := s.ok(ctx, "AT+CMGD="+strconv.Itoa(idx)); err != nil {
			m.cfg.log.Warn("cellular: deleting SMS failed", "device", m.atPath, "index", idx, "err", err)
			if lost(err) {
				return
			}
		}
	}
}

// routed delivers a +CMT.
func (s *session) routed(u urc) {
	h, err := at.ParseCMT(u.line)
	if err != nil {
		s.m.cfg.log.Info("cellular: bad +CMT", "device", s.m.atPath, "err", err)
		return
	}
	s.deliver(h, u.body)
}

// deliver decodes a message and hands it to the callback; the parts of a
// concatenated message are joined first.
func (s *session) deliver(h at.MessageHeader, body string) {
	m := s.m
	msg, err := decode(h, body)
	if err != nil {
		m.cfg.log.Info("cellular: SMS not understood", "device", m.atPath, "err", err)
		return
	}
	if msg.Concat != nil {
		var whole bool
		if msg.Text, whole = s.parts.add(msg); !whole {
			return
		}
	}
	m.cfg.log.Info("cellular: SMS received", "device", m.atPath, "from", msg.From)
	if f := m.cfg.onSMS; f != nil {
		m.mu.Lock()
		pub := m.pub
		m.mu.Unlock()
		pub.post(func() { f(msg.From, msg.Text, msg.Time) })
	}
}

// decode reads a +CMT/+CMGR body in the mode its header shows.
func decode(h at.MessageHeader, body string) (sms.Message, error) {
	if !h.PDU {
		return sms.FromText(h, body), nil
	}
	msg, err := sms.DecodeDeliver(body)
	if err != nil {
		return msg, err
	}
	if msg.Data != nil && msg.Text == "" {
		return msg, errors.New("8-bit data message, not text")
	}
	return msg, nil
}

// partsStore joins concatenated messages. Bounded: at most maxPartial
// messages wait for parts; the oldest is dropped for a new one.
type partsStore struct {
	keys []string
	m    map[string][]string
}

const maxPartial = 8

func (p *partsStore) add(msg sms.Message) (string, bool) {
	c := msg.Concat
	if c.Total <= 1 || c.Seq < 1 || c.Seq > c.Total {
		return msg.Text, true
	}
	if p.m == nil {
		p.m = map[string][]string{}
	}
	key := fmt.Sprintf("%s/%d/%d", msg.From, c.Ref, c.Total)
	parts, ok := p.m[key]
	if !ok {
		if len(p.keys) >= maxPartial {
			delete(p.m, p.keys[0])
			p.keys = p.keys[1:]
		}
		p.keys = append(p.keys, key)
		parts = make([]string, c.Total)
		p.m[key] = parts
	}
	parts[c.Seq-1] = msg.Text
	for _, t := range parts {
		if t == "" {
			return "", false
		}
	}
	delete(p.m, key)
	for i, k := range p.keys {
		if k == key {
			p.keys = append(p.keys[:i], p.keys[i+1:]...)
			break
		}
	}
	return strings.Join(parts, ""), true
}
