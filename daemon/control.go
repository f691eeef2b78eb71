package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultSocket is the control socket's default path.
const DefaultSocket = "/var/run/lifeline/lifeline.sock"

// MaxRequest bounds one control request, in bytes.
const MaxRequest = 4096

// ErrRequest is wrapped by errors about a malformed control request.
var ErrRequest = errors.New("bad request")

// Request is one control command: one JSON object per connection,
// terminated by a newline or by the client closing its write side.
//
//	{"cmd":"status"}
//	{"cmd":"override","mode":"pstn","for":"10m"}
//	{"cmd":"sim","signal":"wan","args":["down"]}
type Request struct {
	Cmd    string   `json:"cmd"`
	Mode   string   `json:"mode,omitempty"`
	For    string   `json:"for,omitempty"`
	Signal string   `json:"signal,omitempty"`
	Args   []string `json:"args,omitempty"`
}

// Response answers a Request. Status is set whenever the daemon could give it.
type Response struct {
	OK     bool    `json:"ok"`
	Error  string  `json:"error,omitempty"`
	Status *Status `json:"status,omitempty"`
	// Output is what a sim signal answers (`lifeline sim sms list`: the
	// messages the simulated module sent), printed before the status.
	Output string `json:"output,omitempty"`
}

// DecodeRequest parses and validates one request.
func DecodeRequest(data []byte) (Request, error) {
	var r Request
	if len(data) > MaxRequest {
		return r, fmt.Errorf("%w: larger than %d bytes", ErrRequest, MaxRequest)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	if dec.More() {
		return r, fmt.Errorf("%w: more than one JSON value", ErrRequest)
	}
	switch r.Cmd {
	case "status":
	case "override":
		if _, err := ParseMode(r.Mode); err != nil {
			return r, fmt.Errorf("%w: %v", ErrRequest, err)
		}
		if r.For != "" {
			if _, err := parseFor(r.For); err != nil {
				return r, fmt.Errorf("%w: for %q: %v", ErrRequest, r.For, err)
			}
		}
	case "sim":
		if r.Signal == "" || len(r.Args) == 0 || len(r.Args) > 4 {
			return r, fmt.Errorf("%w: sim needs a signal and a value", ErrRequest)
		}
	case "":
		return r, fmt.Errorf("%w: missing \"cmd\"", ErrRequest)
	default:
		return r, fmt.Errorf("%w: unknown cmd %q (want status, override or sim)", ErrRequest, r.Cmd)
	}
	return r, nil
}

func parseFor(s string) (time.Duration, error) {
	d, err := ParseDuration(s)
	if err == nil && (d <= 0 || d > 366*24*time.Hour) {
		err = errors.New("must be between 1s and a year")
	}
	return d, err
}

// maxControlConns caps the connections served at once: more wait in the
// listen backlog, costing the daemon no file descriptor, so a flood of
// clients cannot take the fds the probe and the state writes need.
const maxControlConns = 16

// ControlServer serves the control socket. Serve owns one accept goroutine
// and one goroutine per connection (at most maxControlConns); Close stops
// them all and waits.
type ControlServer struct {
	d    *Daemon
	log  *slog.Logger
	ln   net.Listener
	path string

	slots chan struct{} // one token per connection being served
	spare *os.File      // a descriptor kept free to answer a client when none is left (EMFILE)

	wg        sync.WaitGroup
	closeOnce sync.Once
	ctx       context.Context
	cancel    context.CancelFunc
}

// ListenControl creates the socket at path with mode 0660. A stale socket
// left by a crash is replaced; one that answers means another daemon runs,
// which is an error.
func ListenControl(path string, d *Daemon, log *slog.Logger) (*ControlServer, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another lifeline is running", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	old := syscall.Umask(0o117)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &ControlServer{d: d, log: log, ln: ln, path: path, ctx: ctx, cancel: cancel,
		slots: make(chan struct{}, maxControlConns)}
	s.spare, _ = os.Open(os.DevNull)
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Close stops accepting, ends open connections, removes the socket and
// waits for every goroutine. It is idempotent.
func (s *ControlServer) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.ln.Close()
		os.Remove(s.path)
	})
	s.wg.Wait()
	return nil
}

func (s *ControlServer) accept() {
	defer s.wg.Done()
	defer func() {
		if s.spare != nil {
			s.spare.Close()
		}
	}()
	var backoff time.Duration
	for {
		select {
		case s.slots <- struct{}{}:
		case <-s.ctx.Done():
			return
		}
		c, err := s.ln.Accept()
		if err != nil {
			<-s.slots
			if s.ctx.Err() != nil {
				return
			}
			if !temporary(err) {
				s.log.Error("control socket accept failed, not serving", "err", err)
				return
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				s.shedOne()
			}
			// As net/http does: 5 ms doubling to 1 s, logged once per streak.
			if backoff == 0 {
				backoff = 5 * time.Millisecond
				s.log.Warn("control socket accept failed, retrying", "err", err)
			} else {
				backoff = min(2*backoff, time.Second)
			}
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		backoff = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.slots }()
			s.serve(c)
		}()
	}
}

// temporary reports whether an accept error may pass: out of descriptors
// or memory, or a client that gave up while queued.
func temporary(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.EINTR, syscall.EAGAIN, syscall.EPROTO} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// shedOne is the answer to EMFILE: with the spare descriptor released,
// the waiting client is accepted and told why it is turned away (instead
// of timing out), and the spare is taken back.
func (s *ControlServer) shedOne() {
	if s.spare == nil {
		return
	}
	s.spare.Close()
	s.spare = nil
	if ul, ok := s.ln.(*net.UnixListener); ok {
		ul.SetDeadline(time.Now().Add(10 * time.Millisecond))
		if c, err := ul.Accept(); err == nil {
			c.SetDeadline(time.Now().Add(100 * time.Millisecond))
			writeResponse(c, Response{Error: "lifeline is out of file descriptors, try again"})
			c.Close()
		}
		ul.SetDeadline(time.Time{})
	}
	s.spare, _ = os.Open(os.DevNull)
}

func (s *ControlServer) serve(c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(s.ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReaderSize(io.LimitReader(c, MaxRequest+1), MaxRequest+1).ReadSlice('\n')
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		s.log.Debug("control read failed", "err", err)
		return
	}
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > MaxRequest {
		writeResponse(c, Response{Error: fmt.Sprintf("%v: larger than %d bytes", ErrRequest, MaxRequest)})
		// Closing with the rest unread would reset the connection, and
		// the client would lose the answer: end our side, then read
		// what is still coming (bounded by the connection's deadline
		// and 1 MiB).
		if uc, ok := c.(*net.UnixConn); ok {
			uc.CloseWrite()
		}
		io.Copy(io.Discard, io.LimitReader(c, 1<<20))
		return
	}
	writeResponse(c, s.handle(line))
}

func writeResponse(w io.Writer, r Response) {
	data, _ := json.Marshal(r)
	w.Write(append(data, '\n'))
}

func (s *ControlServer) handle(line []byte) Response {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	req, err := DecodeRequest(bytes.TrimSpace(line))
	if err != nil {
		s.log.Warn("control: rejected request", "err", err)
		return Response{Error: err.Error()}
	}
	var st Status
	var out string
	switch req.Cmd {
	case "status":
		st, err = s.d.Status(ctx)
	case "override":
		mode, _ := ParseMode(req.Mode)
		var dur time.Duration
		if req.For != "" {
			dur, _ = parseFor(req.For)
		}
		st, err = s.d.SetOverride(ctx, mode, dur, "cli")
	case "sim":
		if out, err = s.d.Sim(req.Signal, req.Args); err == nil {
			st, err = s.d.Status(ctx)
		}
	}
	if errors.Is(err, ErrNotDurable) {
		return Response{Error: err.Error(), Status: &st}
	}
	if err != nil {
		return Response{Error: err.Error()}
	}
	return Response{OK: true, Status: &st, Output: out}
}

// Call sends one request to the daemon at socket and returns its response.
// A response with OK false is returned as an error carrying its message.
func Call(ctx context.Context, socket string, req Request) (*Status, error) {
	resp, err := Exchange(ctx, socket, req)
	return resp.Status, err
}

// Exchange is Call returning the whole response (a sim signal's Output).
func Exchange(ctx context.Context, socket string, req Request) (Response, error) {
	var resp Response
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, "unix", socket)
	if err != nil {
		return resp, fmt.Errorf("cannot reach lifeline at %s: %w", socket, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	data, _ := json.Marshal(req)
	if _, err := c.Write(append(data, '\n')); err != nil {
		return resp, fmt.Errorf("%s: %w", socket, err)
	}
	dec := json.NewDecoder(io.LimitReader(c, 1<<20))
	if err := dec.Decode(&resp); err != nil {
		return resp, fmt.Errorf("%s: bad response: %w", socket, err)
	}
	if !resp.OK {
		return resp, errors.New(strings.TrimSpace(resp.Error))
	}
	return resp, nil
}
