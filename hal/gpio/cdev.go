package gpio

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"sync"
	"syscall"

	"github.com/warthog618/go-gpiocdev"

	"lifeline/hal/clock"
)

// Cdev opens lines on the kernel's GPIO character devices (/dev/gpiochipN)
// through go-gpiocdev. It is safe for concurrent use; each Input and Output
// owns its line request until Close.
//
// Debounce uses the kernel's debounce (uAPI v2, Linux 5.10+: in hardware
// where the chip supports it, in gpiolib otherwise). Where the kernel refuses
// it (uAPI v1) the line falls back to the software debouncer on the
// injected clock, and that is logged once per line.
type Cdev struct {
	clk      clock.Clock
	log      *slog.Logger
	consumer string
	abi      int // 0: the newest the kernel has
}

// Option configures a Cdev.
type Option func(*Cdev)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *Cdev) { c.log = l } }

// WithConsumer sets the consumer label the kernel shows for requested lines
// (default "lifeline").
func WithConsumer(name string) Option { return func(c *Cdev) { c.consumer = name } }

// WithABIVersion forces the GPIO uAPI version (1 or 2) instead of the newest
// the kernel supports. Version 1 has no kernel debounce, so debounced lines
// use the software fallback; tests use it to exercise that path.
func WithABIVersion(v int) Option { return func(c *Cdev) { c.abi = v } }

// NewCdev returns the kernel backend. clk drives the software debounce
// fallback.
func NewCdev(clk clock.Clock, opts ...Option) *Cdev {
	c := &Cdev{clk: clk, log: slog.New(slog.DiscardHandler), consumer: "lifeline"}
	for _, o := range opts {
		o(c)
	}
	return c
}

var _ Opener = (*Cdev)(nil)

// classify maps errors from go-gpiocdev and the kernel onto the sentinels.
func classify(err error, def error) error {
	var uapiErr gpiocdev.ErrUapiIncompatibility
	switch {
	case errors.Is(err, syscall.EBUSY):
		return ErrBusy
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM),
		errors.Is(err, fs.ErrPermission), errors.Is(err, gpiocdev.ErrPermissionDenied):
		return ErrPermission
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENODEV),
		errors.Is(err, gpiocdev.ErrNotCharacterDevice):
		return ErrChipNotFound
	case errors.Is(err, gpiocdev.ErrInvalidOffset), errors.Is(err, gpiocdev.ErrNotFound):
		return ErrLineNotFound
	case errors.As(err, &uapiErr):
		return ErrNotSupported
	}
	return def
}

// ErrIO is the kind of a LineError whose cause fits no other sentinel.
var ErrIO = errors.New("gpio i/o error")

// openChip resolves spec to an open chip and an offset. The caller closes
// the chip.
func (c *Cdev) openChip(op string, spec LineSpec) (*gpiocdev.Chip, int, error) {
	lineErr := func(chip string, kind, cause error) error {
		return &LineError{Op: op, Chip: chip, Line: spec.String(), Kind: kind, Cause: cause}
	}
	if err := spec.Validate(); err != nil {
		return nil, 0, lineErr(spec.Chip, ErrInvalidSpec, err)
	}
	if spec.Chip == "" {
		// Search every chip, lowest chip and lowest offset first, as
		// gpiocdev.FindLine does, but remember why chips failed to open.
		chips := gpiocdev.Chips()
		if len(chips) == 0 {
			return nil, 0, lineErr("", ErrChipNotFound, errors.New("no gpiochip devices in /dev"))
		}
		var openErr error
		for _, name := range chips {
			ch, err := gpiocdev.NewChip(name, c.chipOptions()...)
			if err != nil {
				if openErr == nil {
					openErr = fmt.Errorf("open %s: %w", name, err)
				}
				continue
			}
			if off, err := ch.FindLine(spec.Name); err == nil {
				return ch, off, nil
			}
			ch.Close()
		}
		if openErr != nil && classify(openErr, nil) == ErrPermission {
			return nil, 0, lineErr("", ErrPermission, openErr)
		}
		return nil, 0, lineErr("", ErrLineNotFound,
			fmt.Errorf("no line named %q on %d chips", spec.Name, len(chips)))
	}
	ch, err := gpiocdev.NewChip(spec.Chip, c.chipOptions()...)
	if err != nil {
		return nil, 0, lineErr(spec.Chip, classify(err, ErrChipNotFound), err)
	}
	off := spec.Offset
	if off < 0 {
		off, err = ch.FindLine(spec.Name)
		if err != nil {
			ch.Close()
			return nil, 0, lineErr(spec.Chip, ErrLineNotFound, fmt.Errorf("no line named %q on %s", spec.Name, spec.Chip))
		}
	} else if off >= ch.Lines() {
		n := ch.Lines()
		ch.Close()
		return nil, 0, lineErr(spec.Chip, ErrLineNotFound,
			fmt.Errorf("offset %d out of range, chip has %d lines", off, n))
	}
	return ch, off, nil
}

// chipOptions are the options every chip is opened with.
func (c *Cdev) chipOptions() []gpiocdev.ChipOption {
	opts := []gpiocdev.ChipOption{gpiocdev.WithConsumer(c.consumer)}
	if c.abi != 0 {
		opts = append(opts, gpiocdev.WithABIVersion(c.abi))
	}
	return opts
}

func (c *Cdev) commonOptions(spec LineSpec) []gpiocdev.LineReqOption {
	opts := []gpiocdev.LineReqOption{gpiocdev.WithConsumer(c.consumer)}
	if spec.ActiveLow {
		opts = append(opts, gpiocdev.AsActiveLow)
	}
	switch spec.Bias {
	case BiasPullUp:
		opts = append(opts, gpiocdev.WithPullUp)
	case BiasPullDown:
		opts = append(opts, gpiocdev.WithPullDown)
	case BiasDisable:
		opts = append(opts, gpiocdev.WithBiasDisabled)
	}
	return opts
}

// OpenInput requests the line as an input with both edges detected. See
// Opener.
func (c *Cdev) OpenInput(spec LineSpec, h Handler) (Input, error) {
	const op = "open input"
	ch, off, err := c.openChip(op, spec)
	if err != nil {
		return nil, err
	}
	defer ch.Close()
	label := spec.String()
	chipName := ch.Name
	in := &cdevInput{label: label, chip: chipName}

	var db *debouncer
	deliver := h
	handler := func(le gpiocdev.LineEvent) {
		if deliver == nil {
			return
		}
		deliver(Edge{Line: label, Active: le.Type == gpiocdev.LineEventRisingEdge, Time: le.Timestamp, Seqno: le.LineSeqno})
	}
	// Edge detection only when someone listens: the caller's handler, or
	// the software debouncer standing in for the kernel's.
	opts := append(c.commonOptions(spec), gpiocdev.AsInput)
	edges := []gpiocdev.LineReqOption{gpiocdev.WithBothEdges, gpiocdev.WithEventHandler(handler)}
	withEdges := func(o []gpiocdev.LineReqOption) []gpiocdev.LineReqOption {
		return append(o[:len(o):len(o)], edges...)
	}
	if h != nil {
		opts = withEdges(opts)
	}
	var l *gpiocdev.Line
	if spec.Debounce > 0 {
		l, err = ch.RequestLine(off, append(opts[:len(opts):len(opts)], gpiocdev.WithDebounce(spec.Debounce))...)
		var uapiErr gpiocdev.ErrUapiIncompatibility
		if err != nil && (errors.As(err, &uapiErr) || errors.Is(err, syscall.EINVAL)) {
			c.log.Info("gpio: kernel debounce unavailable, debouncing in software",
				"line", label, "chip", chipName, "err", err)
			db = newDebouncer(c.clk, spec.Debounce, h)
			deliver = db.handle
			if h == nil {
				opts = withEdges(opts)
			}
			l, err = ch.RequestLine(off, opts...)
		}
	} else {
		l, err = ch.RequestLine(off, opts...)
	}
	if err != nil {
		if db != nil {
			db.close()
		}
		return nil, requestError(op, ch, spec, off, err)
	}
	in.l = l
	v, err := l.Value()
	if err != nil {
		l.Close()
		if db != nil {
			db.close()
		}
		return nil, &LineError{Op: "read initial level of", Chip: chipName, Line: label, Kind: classify(err, ErrIO), Cause: err}
	}
	if db != nil {
		db.start(v == 1)
		in.db = db
	}
	return in, nil
}

// OpenOutput requests the line as an output at the logical level safe. See
// Opener.
func (c *Cdev) OpenOutput(spec LineSpec, safe bool) (Output, error) {
	const op = "open output"
	ch, off, err := c.openChip(op, spec)
	if err != nil {
		return nil, err
	}
	defer ch.Close()
	v := 0
	if safe {
		v = 1
	}
	l, err := ch.RequestLine(off, append(c.commonOptions(spec), gpiocdev.AsOutput(v))...)
	if err != nil {
		return nil, requestError(op, ch, spec, off, err)
	}
	return &cdevOutput{label: spec.String(), chip: ch.Name, l: l}, nil
}

// requestError describes a refused line request: the offset when the line
// was found by name, and the current consumer when the line is busy.
func requestError(op string, ch *gpiocdev.Chip, spec LineSpec, off int, err error) error {
	line := spec.String()
	if spec.Offset < 0 {
		line += " (offset " + strconv.Itoa(off) + ")"
	}
	kind := classify(err, ErrIO)
	if kind == ErrBusy {
		if info, ierr := ch.LineInfo(off); ierr == nil && info.Consumer != "" {
			err = fmt.Errorf("held by %q: %w", info.Consumer, err)
		}
	}
	return &LineError{Op: op, Chip: ch.Name, Line: line, Kind: kind, Cause: err}
}

var (
	_ Input  = (*cdevInput)(nil)
	_ Output = (*cdevOutput)(nil)
	_ Input  = (*debouncedInput)(nil)
)

// cdevInput is an Input on a gpiocdev line; db is set when software
// debounce stands in for the kernel's.
type cdevInput struct {
	label, chip string
	l           *gpiocdev.Line
	db          *debouncer
	once        sync.Once
}

func (i *cdevInput) String() string { return i.label }

func (i *cdevInput) Read() (bool, error) {
	if i.db != nil {
		return i.db.level()
	}
	v, err := i.l.Value()
	if err != nil {
		return false, &LineError{Op: "read", Chip: i.chip, Line: i.label, Kind: readKind(err), Cause: err}
	}
	return v == 1, nil
}

func readKind(err error) error {
	if errors.Is(err, gpiocdev.ErrClosed) {
		return ErrClosed
	}
	return classify(err, ErrIO)
}

// Close releases the line; gpiocdev waits for its handler goroutine.
func (i *cdevInput) Close() error {
	i.once.Do(func() {
		i.l.Close()
		if i.db != nil {
			i.db.close()
		}
	})
	return nil
}

type cdevOutput struct {
	label, chip string
	l           *gpiocdev.Line
	once        sync.Once
}

func (o *cdevOutput) String() string { return o.label }

func (o *cdevOutput) Write(active bool) error {
	v := 0
	if active {
		v = 1
	}
	if err := o.l.SetValue(v); err != nil {
		return &LineError{Op: "write", Chip: o.chip, Line: o.label, Kind: readKind(err), Cause: err}
	}
	return nil
}

func (o *cdevOutput) Read() (bool, error) {
	v, err := o.l.Value()
	if err != nil {
		return false, &LineError{Op: "read", Chip: o.chip, Line: o.label, Kind: readKind(err), Cause: err}
	}
	return v == 1, nil
}

func (o *cdevOutput) Close() error {
	o.once.Do(func() { o.l.Close() })
	return nil
}
