package voice

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
)

// ErrConnClosed is returned by a Conn, its command side and its data
// streams after Close.
var ErrConnClosed = errors.New("voice: connection closed")

// ErrDataPending is returned by ExpectData while a data period is armed or
// running.
var ErrDataPending = errors.New("voice: a data period is already armed or running")

// maxPipe bounds the bytes buffered for a side that is not reading; the
// device reader then waits, and the tty's own buffer and flow control
// push back on the modem.
const maxPipe = 64 << 10

// ConnOption configures a Conn.
type ConnOption func(*Conn)

// WithLineFunc sets a function that sees every line the modem sends in
// command state (control characters removed, blanks trimmed, empty lines
// skipped), before the engine does. It is called from the Conn's reader
// goroutine, serially; it must not block and must not call the Conn
// (tests use it to watch the modem; the AT engine knows VCON as a final
// result code, modem.ResultVCON).
func WithLineFunc(f func(line string)) ConnOption { return func(c *Conn) { c.lineFunc = f } }

// Conn shares one modem device between the AT command engine and the
// voice data stream. In command state every byte the modem sends goes to
// the command side (Command, given to modem.NewEngine). ExpectData arms
// the switch: after the next CONNECT line (verbose result codes, ATV1)
// the bytes go to the returned DataStream instead, up to and including
// the modem's <DLE><ETX>, after which the Conn is back in command state
// and the modem's OK reaches the engine again. Writes from both sides go
// straight to the device, serialised by a mutex.
//
// One goroutine, started by NewConn, reads the device; Close closes the
// device, which ends it, and waits for it. All methods are safe for
// concurrent use.
type Conn struct {
	dev      io.ReadWriteCloser
	lineFunc func(string)

	wmu sync.Mutex // serialises writes to dev

	mu        sync.Mutex // guards the fields below and the pipes
	cond      *sync.Cond // on mu: pipe data, pipe space, close
	cmdPipe   *pipe
	data      *DataStream // armed or running period, nil in plain command state
	inData    bool        // bytes go to data
	line      []byte      // the command-state line being assembled
	dleSeen   bool        // in data state: the last byte was an unpaired <DLE>
	skipLF    bool        // the CONNECT line ended with CR at a chunk end
	await     *DataStream // a period ended: its final result code is held back from the engine
	held      []byte      // bytes of the current line while await is set
	closed    bool
	closeErr  error
	deliver   []delivery // data for pushing streams, handed over once mu is released
	done      chan struct{}
	closeOnce sync.Once
}

// NewConn starts reading dev. The Conn owns dev: Close closes it.
func NewConn(dev io.ReadWriteCloser, opts ...ConnOption) *Conn {
	c := &Conn{dev: dev, done: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	for _, o := range opts {
		o(c)
	}
	c.cmdPipe = newPipe(c)
	go c.reader()
	return c
}

// Command returns the command side: Read yields the modem's command-state
// bytes, Write writes to the device, Close closes the whole Conn (so that
// modem.Engine's Close ends everything).
func (c *Conn) Command() io.ReadWriteCloser { return cmdSide{c} }

type cmdSide struct{ c *Conn }

func (s cmdSide) Read(p []byte) (int, error)  { return s.c.cmdPipe.read(p) }
func (s cmdSide) Write(p []byte) (int, error) { return s.c.write(p) }
func (s cmdSide) Close() error                { return s.c.Close() }

// ExpectData arms the switch to data state for the next CONNECT line and
// returns the stream of that data period. Call it before sending the
// command that starts the period (AT+VTX, AT+VRX, AT+VTR). If the command
// fails, Close the stream to disarm.
func (c *Conn) ExpectData() (*DataStream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrConnClosed
	}
	if c.data != nil {
		return nil, ErrDataPending
	}
	d := &DataStream{c: c, p: newPipe(c), final: make(chan string, 1)}
	d.p.ds = d
	c.data = d
	return d, nil
}

// Close closes the device, waits for the reader goroutine and ends every
// side with ErrConnClosed. Idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.cond.Broadcast() // a reader waiting for pipe space gives up
		c.mu.Unlock()
		c.closeErr = c.dev.Close()
		<-c.done
	})
	return c.closeErr
}

func (c *Conn) write(p []byte) (int, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return 0, ErrConnClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.dev.Write(p)
}

func (c *Conn) reader() {
	defer close(c.done)
	buf := make([]byte, 4096)
	var out []delivery
	for {
		n, err := c.dev.Read(buf)
		c.mu.Lock()
		c.route(buf[:n])
		if err != nil {
			if c.closed {
				err = ErrConnClosed
			}
			c.cmdPipe.closeWith(err)
			if c.data != nil {
				c.data.p.closeWith(err)
			}
		}
		out, c.deliver = c.deliver, out[:0]
		c.mu.Unlock()
		// Pushing streams get their bytes here, without c.mu (their sink
		// writes to the modem), before the next read reuses buf.
		for _, d := range out {
			d.ds.push(d.data, d.err)
		}
		if err != nil {
			return
		}
	}
}

// delivery is data (a slice of the reader's buffer) or the end (err) of a
// pushing DataStream.
type delivery struct {
	ds   *DataStream
	data []byte
	err  error
}

// route sends b to the side that owns it. Caller holds c.mu.
func (c *Conn) route(b []byte) {
	for len(b) > 0 {
		if c.inData {
			if c.skipLF {
				c.skipLF = false
				if b[0] == '\n' {
					c.cmdPipe.write(b[:1])
					b = b[1:]
					continue
				}
			}
			end := c.scanEnd(b)
			if end < 0 {
				c.data.p.write(b)
				return
			}
			c.data.p.write(b[:end])
			c.data.p.closeWith(io.EOF)
			c.data.ended = true
			c.await, c.held = c.data, c.held[:0]
			c.data, c.inData = nil, false
			b = b[end:]
			continue
		}
		if c.await != nil {
			c.awaitFinal(b[0])
			b = b[1:]
			continue
		}
		start := c.scanLines(b)
		if start < 0 {
			c.cmdPipe.write(b)
			return
		}
		c.cmdPipe.write(b[:start])
		c.inData = true
		c.dleSeen = false
		b = b[start:]
	}
}

// awaitFinal holds back the line after a data period until it is known:
// the final result code that ends the period goes to the DataStream
// (Final), anything else on to the engine. Caller holds c.mu.
func (c *Conn) awaitFinal(x byte) {
	c.held = append(c.held, x)
	if x != '\r' && x != '\n' {
		if len(c.line) < 256 && x >= ' ' && x < 0x7f {
			c.line = append(c.line, x)
		}
		return
	}
	l := strings.TrimSpace(string(c.line))
	c.line = c.line[:0]
	if l != "" && c.lineFunc != nil {
		c.lineFunc(l)
	}
	if isFinal(l) {
		select {
		case c.await.final <- l:
		default:
		}
		c.await, c.held = nil, c.held[:0]
		return
	}
	c.cmdPipe.write(c.held)
	c.held = c.held[:0]
}

// isFinal reports whether l is a V.250 final result code that ends a
// voice data period.
func isFinal(l string) bool {
	switch strings.ToUpper(l) {
	case "OK", "ERROR", "NO CARRIER", "BUSY":
		return true
	}
	return strings.HasPrefix(strings.ToUpper(l), "+CME ERROR")
}

// scanEnd returns the index just after the first <DLE><ETX> in b, or -1.
func (c *Conn) scanEnd(b []byte) int {
	for i, x := range b {
		if c.dleSeen {
			c.dleSeen = false
			if x == ETX {
				return i + 1
			}
			continue // <DLE><DLE> or another code
		}
		if x == DLE {
			c.dleSeen = true
		}
	}
	return -1
}

// scanLines assembles command-state lines, reports them to the line
// function, and returns the index where data starts when an armed Conn
// sees CONNECT, or -1.
func (c *Conn) scanLines(b []byte) int {
	for i, x := range b {
		if x != '\r' && x != '\n' {
			if len(c.line) < 256 && x >= ' ' && x < 0x7f {
				c.line = append(c.line, x)
			}
			continue
		}
		l := strings.TrimSpace(string(c.line))
		c.line = c.line[:0]
		if l == "" {
			continue
		}
		if c.lineFunc != nil {
			c.lineFunc(l)
		}
		if c.data == nil || !isConnect(l) {
			continue
		}
		// Data starts after the line end: CR LF, or CR alone.
		if x == '\r' {
			if i+1 < len(b) {
				if b[i+1] == '\n' {
					return i + 2
				}
				return i + 1
			}
			c.skipLF = true
		}
		return i + 1
	}
	return -1
}

func isConnect(l string) bool {
	u := strings.ToUpper(l)
	return u == "CONNECT" || strings.HasPrefix(u, "CONNECT ")
}

// DataStream is one data period of a Conn: Read yields the modem's
// shielded bytes from just after CONNECT up to and including its
// <DLE><ETX>, then io.EOF; Write sends shielded bytes to the modem (wrap
// it in an Encoder). Wrap the read side in a Decoder. Reads and writes
// may run in two goroutines at once; each side is for one goroutine.
type DataStream struct {
	c     *Conn
	p     *pipe
	final chan string
	// Under c.mu: the modem's <DLE><ETX> has come (ended), or the DTE
	// has ended the period (EndTransmit, Abort).
	ended, aborted bool

	sinkMu sync.Mutex          // held while sink runs
	sink   func([]byte, error) // under sinkMu: set by Deliver, cleared by Close and the end
}

// Final waits for the final result code that ended the period (the OK
// after the modem's <DLE><ETX>, or after EndTransmit). The Conn keeps that
// line from the engine, which took CONNECT for the command's final result
// and would otherwise mistake the late OK for the reply to the next
// command.
//
// When the period has already ended, Final returns its result code even
// if ctx is done, so Final(doneCtx) asks without waiting.
func (d *DataStream) Final(ctx context.Context) (string, error) {
	select {
	case l := <-d.final:
		return l, nil
	default:
	}
	select {
	case l := <-d.final:
		return l, nil
	case <-ctx.Done():
		return "", ctx.Err()
	case <-d.c.done:
		return "", ErrConnClosed
	}
}

// Read reads the modem's side of the data period.
func (d *DataStream) Read(p []byte) (int, error) { return d.p.read(p) }

// Deliver makes the stream push the modem's bytes to sink instead of
// Read: sink gets the bytes already buffered, then each chunk as the
// Conn's reader goroutine reads it from the device, in order, and last
// the error that ends the stream (io.EOF after the modem's <DLE><ETX>, the
// device's error, ErrConnClosed) with no data. A reader that hands each
// chunk to another goroutine costs a goroutine switch and a thread wake
// per chunk (one per 20 ms frame in a call); a sink does the work in the
// reader goroutine itself.
//
// sink is called serially, from the Conn's reader goroutine (or, for the
// bytes buffered before Deliver, from Deliver's caller); data is valid
// only during the call. sink may Write and Abort; it must not call Close
// or Read, and should not block: the device is not read while it runs.
// Once Close has returned, sink is not called again. Call Deliver at most
// once; do not Read after it.
func (d *DataStream) Deliver(sink func(data []byte, err error)) {
	d.sinkMu.Lock()
	defer d.sinkMu.Unlock()
	d.c.mu.Lock()
	buffered := append([]byte(nil), d.p.buf[d.p.off:]...)
	d.p.buf, d.p.off = d.p.buf[:0], 0
	err, closed := d.p.err, d.p.discard
	d.p.pushing = true
	d.c.cond.Broadcast() // the reader may be waiting for room in the pipe
	d.c.mu.Unlock()
	if closed {
		return
	}
	d.sink = sink
	if len(buffered) > 0 {
		sink(buffered, nil)
	}
	if err != nil { // ended before Deliver: the pipe will not report it again
		sink(nil, err)
		d.sink = nil
	}
}

// push hands one delivery to the sink (the Conn's reader goroutine).
func (d *DataStream) push(data []byte, err error) {
	d.sinkMu.Lock()
	defer d.sinkMu.Unlock()
	if d.sink == nil {
		return
	}
	d.sink(data, err)
	if err != nil {
		d.sink = nil
	}
}

// Write writes to the modem.
func (d *DataStream) Write(p []byte) (int, error) { return d.c.write(p) }

// Close stops delivering this period's bytes (the rest up to <DLE><ETX>
// is discarded) and disarms the switch if CONNECT has not come. The
// caller is still responsible for ending the period on the modem
// (<DLE>! or <DLE><ETX>). Idempotent.
func (d *DataStream) Close() error {
	d.c.mu.Lock()
	d.p.closeWith(ErrConnClosed)
	d.p.discard = true
	if d.c.data == d && !d.c.inData {
		d.c.data = nil
	}
	d.c.mu.Unlock()
	// Wait out a sink that is running; it is not called again.
	d.sinkMu.Lock()
	d.sink = nil
	d.sinkMu.Unlock()
	return nil
}

// Abort ends a receive or full-duplex period (AT+VRX, AT+VTR) from the
// DTE's side: it sends <DLE>! unless the modem has already ended the
// stream (<DLE><ETX>) or the period was already aborted or ended with
// EndTransmit, so that two owners (a bridge and the line that placed the
// call) may both call it. The modem answers with the rest of its stream,
// <DLE><ETX> and OK: read on to io.EOF, or Close the stream, and wait
// with Final. Safe for concurrent use.
func (d *DataStream) Abort() error {
	d.c.mu.Lock()
	if d.ended || d.aborted {
		d.c.mu.Unlock()
		return nil
	}
	d.aborted = true
	d.c.mu.Unlock()
	_, err := d.c.write([]byte{DLE, CmdAbort})
	return err
}

// EndTransmit ends a transmit-only period (AT+VTX), in which the modem
// sends no stream of its own and answers the DTE's <DLE><ETX> with a plain
// OK: it puts the Conn back in command state first, so that the OK reaches
// the engine, then writes <DLE><ETX>. Reads then return io.EOF. Use it
// instead of Encoder.End for AT+VTX.
func (d *DataStream) EndTransmit() error {
	d.c.mu.Lock()
	d.aborted = true
	if d.c.data == d {
		d.c.data, d.c.inData, d.c.skipLF = nil, false, false
		d.c.await, d.c.held = d, d.c.held[:0]
	}
	d.p.closeWith(io.EOF)
	d.c.mu.Unlock()
	_, err := d.c.write([]byte{DLE, ETX})
	return err
}

// pipe is a bounded byte queue from the reader goroutine to one consumer.
// It shares the Conn's mutex and condition variable.
type pipe struct {
	c       *Conn
	buf     []byte
	off     int   // buf[off:] is unread
	err     error // set when closed; delivered after buf drains
	discard bool  // drop writes (the consumer is gone)
	ds      *DataStream
	pushing bool // ds.Deliver: writes go to c.deliver, not buf
}

func newPipe(c *Conn) *pipe { return &pipe{c: c} }

// write queues b, waiting while the pipe is full. Caller holds c.mu.
func (p *pipe) write(b []byte) {
	if p.pushing {
		if len(b) > 0 && !p.discard && p.err == nil && !p.c.closed {
			p.c.deliver = append(p.c.deliver, delivery{ds: p.ds, data: b})
		}
		return
	}
	for len(b) > 0 {
		if p.discard || p.err != nil || p.c.closed {
			return
		}
		room := maxPipe - (len(p.buf) - p.off)
		if room == 0 {
			p.c.cond.Wait()
			continue
		}
		n := min(room, len(b))
		if p.off > 0 && len(p.buf)+n > cap(p.buf) {
			p.buf = p.buf[:copy(p.buf, p.buf[p.off:])]
			p.off = 0
		}
		p.buf = append(p.buf, b[:n]...)
		b = b[n:]
		p.c.cond.Broadcast()
	}
}

// closeWith ends the pipe; readers get err once buffered bytes are read.
// Caller holds c.mu.
func (p *pipe) closeWith(err error) {
	if p.err == nil {
		p.err = err
		if p.pushing && !p.discard {
			p.c.deliver = append(p.c.deliver, delivery{ds: p.ds, err: err})
		}
	}
	p.c.cond.Broadcast()
}

func (p *pipe) read(b []byte) (int, error) {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	for p.off == len(p.buf) && p.err == nil {
		p.c.cond.Wait()
	}
	if p.off == len(p.buf) {
		return 0, p.err
	}
	n := copy(b, p.buf[p.off:])
	p.off += n
	if p.off == len(p.buf) {
		p.buf, p.off = p.buf[:0], 0
	}
	p.c.cond.Broadcast()
	return n, nil
}
