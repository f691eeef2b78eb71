// Package syslog is a log/slog handler that sends each record to the local
// syslog socket (/dev/log) as one datagram at the record's own priority.
//
// On OpenWrt, procd logs whatever a service writes to stderr at one
// priority (daemon.err) and stamps it; a daemon that wants `logread` to
// show its warnings as warnings writes to /dev/log itself, as every C
// daemon does through syslog(3). The datagram has syslog(3)'s form,
// "<PRI>Mmm dd hh:mm:ss TAG[PID]: MESSAGE": OpenWrt's logd takes the
// priority, and drops those 16 bytes of timestamp (it stamps every line
// itself), so each line is stamped once. The message is the record's
// message followed by its attributes as slog's text handler writes them,
// without time= and level= (the syslog line has both).
package syslog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// DefaultPath is the local syslog socket.
const DefaultPath = "/dev/log"

// Facility is a syslog facility (RFC 5424 section 6.2.1).
type Facility int

// Facilities a daemon uses.
const (
	Daemon Facility = 3
	Local0 Facility = 16
)

// Severity is a syslog severity (RFC 5424 section 6.2.1).
type Severity int

// Severities slog's levels map onto.
const (
	Err     Severity = 3
	Warning Severity = 4
	Info    Severity = 6
	Debug   Severity = 7
)

// SeverityOf maps a slog level onto a syslog severity: Error and above is
// err, Warn warning, Info info, below Info debug.
func SeverityOf(l slog.Level) Severity {
	switch {
	case l >= slog.LevelError:
		return Err
	case l >= slog.LevelWarn:
		return Warning
	case l >= slog.LevelInfo:
		return Info
	}
	return Debug
}

// Handler sends records to a syslog socket. Handlers derived with
// WithAttrs and WithGroup share the socket and one mutex, which guards the
// socket and the formatting buffer; Handle is safe for concurrent use.
type Handler struct {
	s     *sink
	inner slog.Handler // formats attributes into s.buf
	level slog.Leveler
}

// sink is what a Handler and those derived from it share.
type sink struct {
	mu       sync.Mutex
	path     string
	tag      string
	facility Facility
	now      func() time.Time
	fallback io.Writer
	conn     net.Conn // nil after a failed send, re-dialled on the next
	buf      bytes.Buffer
	line     []byte
}

// Option configures Dial.
type Option func(*sink)

// WithClock sets the source of the timestamp logd drops (tests).
func WithClock(now func() time.Time) Option { return func(s *sink) { s.now = now } }

// WithFallback sets where a line goes when the socket refuses it (logd
// restarting): default os.Stderr, which procd still collects.
func WithFallback(w io.Writer) Option { return func(s *sink) { s.fallback = w } }

// Dial connects to the syslog datagram socket at path ("" is DefaultPath).
// tag names the program in each line; level is the least level sent
// (nil: Info).
func Dial(path, tag string, facility Facility, level slog.Leveler, opts ...Option) (*Handler, error) {
	if path == "" {
		path = DefaultPath
	}
	s := &sink{path: path, tag: tag, facility: facility, now: time.Now, fallback: os.Stderr}
	for _, o := range opts {
		o(s)
	}
	c, err := net.Dial("unixgram", path)
	if err != nil {
		return nil, fmt.Errorf("syslog: %w", err)
	}
	s.conn = c
	if level == nil {
		level = slog.LevelInfo
	}
	inner := slog.NewTextHandler(&s.buf, &slog.HandlerOptions{Level: slog.LevelDebug - 8,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
				return slog.Attr{}
			}
			return a
		}})
	return &Handler{s: s, inner: inner, level: level}, nil
}

// Close closes the socket; the handler must not be used after it.
func (h *Handler) Close() error {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if h.s.conn == nil {
		return nil
	}
	err := h.s.conn.Close()
	h.s.conn = nil
	return err
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &Handler{s: h.s, inner: h.inner.WithAttrs(as), level: h.level}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{s: h.s, inner: h.inner.WithGroup(name), level: h.level}
}

// Handle implements slog.Handler: one datagram per record.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	attrs := bytes.TrimRight(s.buf.Bytes(), "\n")
	pri := int(s.facility)<<3 | int(SeverityOf(r.Level))
	s.line = fmt.Appendf(s.line[:0], "<%d>%s %s[%d]: %s", pri, s.now().Format(time.Stamp), s.tag, os.Getpid(), r.Message)
	if len(attrs) > 0 {
		s.line = append(append(s.line, ' '), attrs...)
	}
	return s.send()
}

// send writes s.line, re-dialling once if the socket went away (logd was
// restarted); if that fails too the line goes to the fallback.
func (s *sink) send() error {
	var err error
	for range 2 {
		if s.conn == nil {
			if s.conn, err = net.Dial("unixgram", s.path); err != nil {
				s.conn = nil
				continue
			}
		}
		if _, err = s.conn.Write(s.line); err == nil {
			return nil
		}
		s.conn.Close()
		s.conn = nil
	}
	if s.fallback != nil {
		_, ferr := s.fallback.Write(append(s.line, '\n'))
		return errors.Join(err, ferr)
	}
	return err
}

var _ slog.Handler = (*Handler)(nil)
