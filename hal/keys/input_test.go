package keys

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"

	"lifeline/hal/clock"
)

// Records as the kernel writes them: a WPS press (EV_KEY 0x211 value 1)
// followed by SYN_REPORT, on a 64-bit little-endian and a 32-bit big-endian
// (MIPS) target.
var (
	rec64LE = []byte{
		0x10, 0x32, 0x54, 0x67, 0x00, 0x00, 0x00, 0x00, // tv_sec 0x67543210
		0x40, 0xe2, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // tv_usec 123456
		0x01, 0x00, // EV_KEY
		0x11, 0x02, // KEY_WPS_BUTTON
		0x01, 0x00, 0x00, 0x00, // pressed
	}
	rec32BE = []byte{
		0x67, 0x54, 0x32, 0x10, // tv_sec
		0x00, 0x01, 0xe2, 0x40, // tv_usec
		0x00, 0x01, // EV_KEY
		0x02, 0x11, // KEY_WPS_BUTTON
		0x00, 0x00, 0x00, 0x01, // pressed
	}
	rec32LE = []byte{
		0x10, 0x32, 0x54, 0x67,
		0x40, 0xe2, 0x01, 0x00,
		0x01, 0x00,
		0x98, 0x01, // KEY_RESTART
		0x00, 0x00, 0x00, 0x00, // released
	}
)

func TestInputEventSize(t *testing.T) {
	if InputEventSize(4) != 16 || InputEventSize(8) != 24 {
		t.Fatalf("sizes %d, %d", InputEventSize(4), InputEventSize(8))
	}
	if NativeWordSize != 4 && NativeWordSize != 8 {
		t.Fatalf("native word size %d", NativeWordSize)
	}
}

func TestDecodeInputEvent(t *testing.T) {
	cases := []struct {
		name     string
		b        []byte
		wordSize int
		bo       binary.ByteOrder
		want     InputEvent
	}{
		{"64-bit little endian", rec64LE, 8, binary.LittleEndian, InputEvent{Sec: 0x67543210, Usec: 123456, Type: EvKey, Code: 0x211, Value: 1}},
		{"32-bit big endian", rec32BE, 4, binary.BigEndian, InputEvent{Sec: 0x67543210, Usec: 123456, Type: EvKey, Code: 0x211, Value: 1}},
		{"32-bit little endian", rec32LE, 4, binary.LittleEndian, InputEvent{Sec: 0x67543210, Usec: 123456, Type: EvKey, Code: 0x198, Value: 0}},
		{"32-bit past 2038 (time64 layout, unsigned)", []byte{0x80, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0x74, 0, 0, 0, 2}, 4, binary.BigEndian, InputEvent{Sec: 0x80000001, Type: EvKey, Code: 116, Value: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeInputEvent(tc.b, tc.wordSize, tc.bo)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if enc := EncodeInputEvent(got, tc.wordSize, tc.bo); !bytes.Equal(enc, tc.b) {
				t.Fatalf("re-encoded % x, want % x", enc, tc.b)
			}
		})
	}
}

func TestDecodeInputEventErrors(t *testing.T) {
	if _, err := DecodeInputEvent(rec32BE, 8, binary.BigEndian); !errors.Is(err, ErrShort) {
		t.Fatalf("16 bytes as 64-bit: err = %v", err)
	}
	if _, err := DecodeInputEvent(rec64LE, 2, binary.BigEndian); !errors.Is(err, ErrMalformed) {
		t.Fatalf("word size 2: err = %v", err)
	}
}

func FuzzDecodeInputEvent(f *testing.F) {
	f.Add(rec64LE, true)
	f.Add(rec32BE, false)
	f.Fuzz(func(t *testing.T, b []byte, wide bool) {
		ws := 4
		if wide {
			ws = 8
		}
		e, err := DecodeInputEvent(b, ws, binary.LittleEndian)
		if err != nil {
			return
		}
		if !bytes.Equal(EncodeInputEvent(e, ws, binary.LittleEndian), b[:InputEventSize(ws)]) {
			t.Fatal("decode/encode not inverse")
		}
	})
}

// TestInputSourceBothSizes feeds a pipe with records for each word size and
// checks the events, autorepeat and SYN_DROPPED handling, and unmapped codes.
func TestInputSourceBothSizes(t *testing.T) {
	for _, ws := range []int{4, 8} {
		for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			t.Run(bo.String()+map[int]string{4: "/32-bit", 8: "/64-bit"}[ws], func(t *testing.T) {
				testInputSource(t, ws, bo)
			})
		}
	}
}

func testInputSource(t *testing.T, ws int, bo binary.ByteOrder) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	clk := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	codes := map[uint16]string{KeyCodes["KEY_WPS_BUTTON"]: "wps", KeyCodes["KEY_RESTART"]: "reset"}
	s := newInput(context.Background(), r, codes, ws, bo, WithClock(clk))
	defer s.Close()

	ev := func(typ, code uint16, val int32) []byte {
		return EncodeInputEvent(InputEvent{Sec: 1, Type: typ, Code: code, Value: val}, ws, bo)
	}
	var stream []byte
	for _, rec := range [][]byte{
		ev(EvKey, 0x211, 1), ev(EvSyn, SynReport, 0), // wps down
		ev(EvKey, 0x211, 2), ev(EvSyn, SynReport, 0), // autorepeat: ignored
		ev(EvKey, 116, 1), ev(EvSyn, SynReport, 0), // KEY_POWER: not mapped
		ev(EvSyn, SynDropped, 0), ev(EvKey, 0x198, 1), ev(EvSyn, SynReport, 0), // dropped until SYN_REPORT
		ev(EvKey, 0x198, 1), ev(EvSyn, SynReport, 0), // reset down
		ev(EvKey, 0x211, 0), ev(EvSyn, SynReport, 0), // wps up
	} {
		stream = append(stream, rec...)
	}
	// Split writes mid-record: the reader must reassemble.
	go func() {
		w.Write(stream[:5])
		w.Write(stream[5:])
	}()
	want := []Event{{"wps", true, clk.Now()}, {"reset", true, clk.Now()}, {"wps", false, clk.Now()}}
	for i, wv := range want {
		select {
		case got := <-s.Events():
			if got != wv {
				t.Fatalf("event %d = %+v, want %+v", i, got, wv)
			}
		case <-time.After(5 * time.Second): // safety net
			t.Fatalf("event %d never came", i)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-s.Events(); ok {
		t.Fatal("Events not closed after Close")
	}
	if s.Err() != nil {
		t.Fatalf("Err after Close = %v", s.Err())
	}
	s.Close() // idempotent
}

func TestInputSourceNativeAndEOF(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s := NewInput(context.Background(), r, map[uint16]string{0x211: "wps"})
	defer s.Close()
	w.Write(EncodeInputEvent(InputEvent{Type: EvKey, Code: 0x211, Value: 1}, NativeWordSize, binary.NativeEndian))
	if e := <-s.Events(); e.Key != "wps" || !e.Pressed {
		t.Fatalf("got %+v", e)
	}
	w.Close() // the device went away
	if _, ok := <-s.Events(); ok {
		t.Fatal("Events still open after EOF")
	}
	if s.Err() == nil {
		t.Fatal("Err nil after the device vanished")
	}
}

func TestInputSourceContextStops(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	s := NewInput(ctx, r, nil)
	cancel()
	for range s.Events() {
	}
	s.Close()
}

func TestOpenInputMissing(t *testing.T) {
	if _, err := OpenInput(context.Background(), "/nonexistent/event9", nil); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}
