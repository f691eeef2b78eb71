package module

import (
	"strings"
	"sync"

	"lifeline/hal/cellular/at"
	"lifeline/hal/cellular/profiles"
	"lifeline/hal/modem"
)

// Why a tap: hal/modem's Engine delivers to subscribers only the result
// codes V.250 modems send (RING, +CLIP, NO CARRIER …); the information
// lines a cellular module sends unsolicited (+CREG, +CMTI, ^CONN, +QIND,
// VOICE CALL: BEGIN) are dropped outside a command and mixed into a
// command's reply inside one. Nor can it wait for AT+CMGS's "> " prompt,
// which ends no line. The tap sits between the device and the engine:
// every byte passes through unchanged, and the tap splits the stream into
// lines of its own, hands the unsolicited ones (by content, so a reply to
// AT+CREG? is told from a +CREG URC) to the session loop, and answers the
// SMS prompt with the armed message body.

// tapQueue bounds the URCs waiting for the session loop; more are dropped
// and logged (a module flooding its AT port).
const tapQueue = 256

// maxLine bounds one line the tap keeps.
const maxLine = modem.MaxLineLen

// urc is one unsolicited result code; body is the line after +CMT.
type urc struct {
	line, body string
}

// urcKind says what the loop does with a line.
type urcKind int

const (
	kindNone urcKind = iota
	kindCall         // call state: RING, +CLIP, vendor codes, NO CARRIER …
	kindReg          // +CREG/+CEREG/+C5GREG URC: re-read the health
	kindCMTI         // a stored message
	kindCMT          // a routed message; its body is the next line
	kindDTMF         // a digit heard from the far end
)

// classify tells an unsolicited line from a reply line by content alone.
// Call-state codes are those the profile lists; registration lines only
// in their URC form (no <n>).
func classify(p *profiles.Profile, line string) urcKind {
	switch {
	case strings.HasPrefix(line, "+CMTI:"):
		return kindCMTI
	case strings.HasPrefix(line, "+CMT:"):
		return kindCMT
	case strings.HasPrefix(line, "+CREG:") || strings.HasPrefix(line, "+CEREG:") || strings.HasPrefix(line, "+C5GREG:"):
		if r, err := at.ParseRegistration(line); err == nil && r.N < 0 {
			return kindReg
		}
		return kindNone
	}
	u := p.URC
	for _, prefix := range u.DTMF {
		if strings.HasPrefix(line, prefix) {
			return kindDTMF
		}
	}
	for _, l := range [][]string{u.Ring, {u.CallerID}, u.CallState, u.Dialing, u.Alerting, u.Connected, u.Ended, u.Busy, u.NoAnswer} {
		for _, prefix := range l {
			if prefix != "" && strings.HasPrefix(line, prefix) {
				return kindCall
			}
		}
	}
	return kindNone
}

// tap is the engine's device: see above. Read is called by the engine's
// reader goroutine only; Write by its writer goroutine and, for the SMS
// body, by that reader goroutine, serialised by wmu.
//
// The tap also keeps stale result codes from the engine: a module that
// ends a call sends a vendor code (^CEND, VOICE CALL: END, +QIND) and then
// NO CARRIER; the session reacts to the first and may send a command
// before the engine has read the second, which would take it for that
// command's final result and answer every later command with the reply
// of the one before. So the engine gets only whole lines, and NO CARRIER,
// BUSY and NO ANSWER that arrive while no command is outstanding (none
// written since the last final result) go to the session alone.
type tap struct {
	dev  modem.Port
	prof *profiles.Profile
	out  chan urc
	drop func(line string)

	wmu sync.Mutex

	// Reader goroutine's state.
	rbuf     []byte
	ready    []byte // whole lines for the engine
	rerr     error  // the device's read error, returned after ready
	buf      []byte
	discard  bool
	prompted bool // the prompt of the current line was answered
	cmt      *urc // a +CMT waiting for its body line

	mu          sync.Mutex // guards body and outstanding
	body        []byte     // armed SMS body (Ctrl-Z included), nil when none
	outstanding bool       // a command was written and its final result not seen
}

func newTap(dev modem.Port, prof *profiles.Profile, drop func(string)) *tap {
	return &tap{dev: dev, prof: prof, out: make(chan urc, tapQueue), drop: drop, rbuf: make([]byte, 512)}
}

// Read returns whole lines from the device, scanned.
func (t *tap) Read(p []byte) (int, error) {
	for {
		if len(t.ready) > 0 {
			n := copy(p, t.ready)
			t.ready = t.ready[n:]
			return n, nil
		}
		if t.rerr != nil {
			return 0, t.rerr
		}
		n, err := t.dev.Read(t.rbuf)
		t.scan(t.rbuf[:n])
		t.rerr = err
	}
}

// Write writes to the device; a command line (CR) is outstanding until
// a final result code arrives.
func (t *tap) Write(p []byte) (int, error) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	for _, c := range p {
		if c == '\r' {
			t.mu.Lock()
			t.outstanding = true
			t.mu.Unlock()
			break
		}
	}
	return t.dev.Write(p)
}

// Close closes the device (the engine calls it).
func (t *tap) Close() error { return t.dev.Close() }

// arm sets the body written at the next prompt; nil disarms.
func (t *tap) arm(body []byte) {
	t.mu.Lock()
	t.body = body
	t.mu.Unlock()
}

// scan splits b into lines, queues those the engine gets, and watches
// for the prompt.
func (t *tap) scan(b []byte) {
	for _, c := range b {
		if c == '\r' || c == '\n' {
			if len(t.buf) > 0 && t.line(modem.CleanLine(string(t.buf))) {
				t.ready = append(append(t.ready, t.buf...), '\r', '\n')
			}
			t.buf, t.discard, t.prompted = t.buf[:0], false, false
			continue
		}
		if len(t.buf) >= maxLine {
			t.discard = true
			continue
		}
		t.buf = append(t.buf, c)
	}
	if s := string(t.buf); !t.prompted && (s == "> " || s == ">") {
		t.prompted = true
		t.prompt()
	}
}

// prompt answers "> " with the armed body, or Esc (cancel) when nothing
// is armed (a late prompt of a command that timed out).
func (t *tap) prompt() {
	t.mu.Lock()
	body := t.body
	t.body = nil
	t.mu.Unlock()
	if body == nil {
		body = []byte{0x1B}
	}
	t.Write(body) // an error shows as the command's failure
}

// line handles one complete line and reports whether the engine gets it.
func (t *tap) line(l string) bool {
	if l == "" {
		return true
	}
	keep := true
	if r := modem.ParseLine(l, false); r.Kind == modem.KindFinal {
		t.mu.Lock()
		pending := t.outstanding
		t.outstanding = false
		t.mu.Unlock()
		switch r.Result {
		case modem.ResultNoCarrier, modem.ResultBusy, modem.ResultNoAnswer:
			keep = pending
		}
	}
	if t.cmt != nil {
		u := *t.cmt
		u.body, t.cmt = l, nil
		t.send(u)
		return keep
	}
	switch classify(t.prof, l) {
	case kindNone:
	case kindCMT:
		t.cmt = &urc{line: l}
	default:
		t.send(urc{line: l})
	}
	return keep
}

func (t *tap) send(u urc) {
	select {
	case t.out <- u:
	default:
		t.drop(u.line)
	}
}

// dispatcher runs callbacks in order on one goroutine, so that neither
// Run's loop nor the engine ever waits for a callback. The queue is
// bounded; when full the oldest callback is dropped and logged.
type dispatcher struct {
	mu    sync.Mutex
	q     []func()
	wake  chan struct{} // buffered 1
	stop  chan struct{}
	done  chan struct{}
	drops func()
}

const dispatchQueue = 1024

func startDispatcher(drops func()) *dispatcher {
	d := &dispatcher{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), drops: drops}
	go d.run()
	return d
}

func (d *dispatcher) post(f func()) {
	d.mu.Lock()
	if len(d.q) >= dispatchQueue {
		d.q = d.q[1:]
		d.drops()
	}
	d.q = append(d.q, f)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run calls queued functions until close, then the rest.
func (d *dispatcher) run() {
	defer close(d.done)
	for {
		d.mu.Lock()
		q := d.q
		d.q = nil
		d.mu.Unlock()
		for _, f := range q {
			f()
		}
		if len(q) > 0 {
			continue
		}
		select {
		case <-d.wake:
		case <-d.stop:
			d.mu.Lock()
			q := d.q
			d.q = nil
			d.mu.Unlock()
			for _, f := range q {
				f()
			}
			return
		}
	}
}

// close runs what is queued and waits for the goroutine.
func (d *dispatcher) close() {
	close(d.stop)
	<-d.done
}
