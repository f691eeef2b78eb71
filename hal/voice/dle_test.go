package voice

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// item is what a decode produced: data or an event, in order.
type item struct {
	data string
	ev   string
	off  int64
}

// decodeAll runs a Decoder over in read through the given reader wrapper
// and returns the items with consecutive data merged, the final error and
// the bytes left after the end.
func decodeAll(t testing.TB, r io.Reader, bufLen int) ([]item, error, []byte) {
	d := NewDecoder(r)
	var out []item
	p := make([]byte, bufLen)
	for i := 0; i < 1<<20; i++ {
		n, ev, err := d.Next(p)
		if n > 0 {
			if len(out) > 0 && out[len(out)-1].ev == "" {
				out[len(out)-1].data += string(p[:n])
			} else {
				out = append(out, item{data: string(p[:n])})
			}
		}
		if ev != nil {
			out = append(out, item{ev: ev.String(), off: ev.Offset})
		}
		if err != nil {
			return out, err, d.Buffered()
		}
	}
	t.Fatal("decoder did not finish")
	return nil, nil, nil
}

func TestDecoder(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []item
		wantErr error
		rest    string
	}{
		{name: "plain data to EOF", in: "abc", want: []item{{data: "abc"}}, wantErr: io.EOF},
		{name: "end of stream and result code after", in: "ab\x10\x03\r\nOK\r\n",
			want: []item{{data: "ab"}, {ev: "end", off: 2}}, wantErr: io.EOF, rest: "\r\nOK\r\n"},
		{name: "doubled DLE is one data byte", in: "a\x10\x10b\x10\x03",
			want: []item{{data: "a\x10b"}, {ev: "end", off: 3}}, wantErr: io.EOF},
		{name: "DLE SUB is two data bytes", in: "\x10\x1a\x10\x03",
			want: []item{{data: "\x10\x10"}, {ev: "end", off: 2}}, wantErr: io.EOF},
		{name: "busy then dial tone", in: "xx\x10byy\x10dz",
			want: []item{{data: "xx"}, {ev: "busy", off: 2}, {data: "yy"}, {ev: "dial-tone", off: 4}, {data: "z"}}, wantErr: io.EOF},
		{name: "quiet silence hangup handset", in: "\x10q\x10s\x10h\x10H\x10l",
			want: []item{{ev: "quiet"}, {ev: "silence"}, {ev: "handset-on-hook"}, {ev: "handset-off-hook"}, {ev: "loop-interrupt"}}, wantErr: io.EOF},
		{name: "every DTMF digit", in: "\x100\x109\x10*\x10#\x10A\x10D",
			want: []item{{ev: "dtmf-0"}, {ev: "dtmf-9"}, {ev: "dtmf-*"}, {ev: "dtmf-#"}, {ev: "dtmf-A"}, {ev: "dtmf-D"}}, wantErr: io.EOF},
		{name: "fax and data calling tones", in: "\x10c\x10e",
			want: []item{{ev: "fax-calling"}, {ev: "data-calling"}}, wantErr: io.EOF},
		{name: "unknown code is reported, not fatal", in: "a\x10zb",
			want: []item{{data: "a"}, {ev: "unknown-0x7a", off: 1}, {data: "b"}}, wantErr: io.EOF},
		{name: "DLE at end of input", in: "a\x10",
			want: []item{{data: "a"}}, wantErr: io.ErrUnexpectedEOF},
		{name: "nothing after end is decoded", in: "\x10\x03\x10b",
			want: []item{{ev: "end"}}, wantErr: io.EOF, rest: "\x10b"},
		{name: "empty", in: "", wantErr: io.EOF},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":   func(r io.Reader) io.Reader { return r },
		"onebyte": iotest.OneByteReader,
		"half":    iotest.HalfReader,
	}
	for _, tc := range tests {
		for rn, wrap := range readers {
			for _, bl := range []int{1, 3, 4096} {
				t.Run(tc.name+"/"+rn, func(t *testing.T) {
					got, err, rest := decodeAll(t, wrap(bytes.NewReader([]byte(tc.in))), bl)
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("err = %v, want %v", err, tc.wantErr)
					}
					if !equalItems(got, tc.want) {
						t.Fatalf("buf %d: got %+v, want %+v", bl, got, tc.want)
					}
					if rn == "whole" && string(rest) != tc.rest {
						t.Fatalf("rest = %q, want %q", rest, tc.rest)
					}
				})
			}
		}
	}
}

func equalItems(a, b []item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDecoderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader([]byte("ab\x10b")), iotest.ErrReader(boom))
	got, err, _ := decodeAll(t, r, 16)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if want := []item{{data: "ab"}, {ev: "busy", off: 2}}; !equalItems(got, want) {
		t.Fatalf("got %+v", got)
	}
}

func TestEventKnown(t *testing.T) {
	tests := []struct {
		code  byte
		known bool
		name  string
	}{
		{'b', true, "busy"}, {'d', true, "dial-tone"}, {'5', true, "dtmf-5"}, {ETX, true, "end"},
		{'z', false, "unknown-0x7a"}, {0xff, false, "unknown-0xff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := Event{Code: tc.code}
			if e.Known() != tc.known || e.String() != tc.name {
				t.Fatalf("Known %v String %q", e.Known(), e.String())
			}
		})
	}
}

func TestEncoder(t *testing.T) {
	tests := []struct {
		name string
		run  func(e *Encoder) error
		want string
	}{
		{"data shielded", func(e *Encoder) error { _, err := e.Write([]byte("a\x10b\x10")); return err }, "a\x10\x10b\x10\x10"},
		{"end", func(e *Encoder) error { e.Write([]byte("x")); return e.End() }, "x\x10\x03"},
		{"abort", func(e *Encoder) error { return e.Abort() }, "\x10!"},
		{"event code", func(e *Encoder) error { return e.Code(EventBusy) }, "\x10b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.run(NewEncoder(&b)); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Fatalf("got %q, want %q", b.String(), tc.want)
			}
		})
	}
	t.Run("write after end", func(t *testing.T) {
		e := NewEncoder(io.Discard)
		e.End()
		if _, err := e.Write([]byte("x")); !errors.Is(err, ErrEnded) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("DLE is not a code", func(t *testing.T) {
		if err := NewEncoder(io.Discard).Code(DLE); err == nil {
			t.Fatal("no error")
		}
	})
}

// roundTrip encodes data and decodes it again.
func roundTrip(t testing.TB, data []byte) {
	var b bytes.Buffer
	e := NewEncoder(&b)
	if _, err := e.Write(data); err != nil {
		t.Fatal(err)
	}
	e.End()
	got, err, _ := decodeAll(t, &b, 160)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v", err)
	}
	var d []byte
	for _, it := range got {
		d = append(d, it.data...)
		if it.ev != "" && it.ev != "end" {
			t.Fatalf("spurious event %q", it.ev)
		}
	}
	if !bytes.Equal(d, data) {
		t.Fatalf("round trip: got %d bytes %q, want %d %q", len(d), d, len(data), data)
	}
}

func TestRoundTripAllBytes(t *testing.T) {
	var all []byte
	for i := 0; i < 3; i++ {
		for b := 0; b < 256; b++ {
			all = append(all, byte(b), DLE)
		}
	}
	roundTrip(t, all)
}

func FuzzDecoder(f *testing.F) {
	for _, s := range []string{"", "abc", "\x10\x03", "\x10\x10", "\x10b\x10d\x10q", "\x10", "a\x10\x1a", "\x10\x10\x10\x03OK"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// Arbitrary input: no panic, no hang, data never exceeds twice the input.
		got, _, _ := decodeAll(t, iotest.HalfReader(bytes.NewReader(in)), 7)
		n := 0
		for _, it := range got {
			n += len(it.data)
		}
		if n > 2*len(in) {
			t.Fatalf("%d data bytes from %d input bytes", n, len(in))
		}
		// The input taken as audio survives encode and decode.
		roundTrip(t, in)
	})
}
