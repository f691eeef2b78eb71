package rtp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestHeaderUnmarshal(t *testing.T) {
	tests := []struct {
		name    string
		packet  []byte
		want    Header
		payload string
		err     error
	}{
		{name: "PCMA with marker", packet: mustHex("8088 1234 000000a0 deadbeef 0102"),
			want: Header{Marker: true, PayloadType: 8, SequenceNumber: 0x1234, Timestamp: 160, SSRC: 0xdeadbeef}, payload: "\x01\x02"},
		{name: "PCMU two CSRC", packet: mustHex("8200 0001 00000001 00000002 00000003 00000004 ff"),
			want: Header{PayloadType: 0, SequenceNumber: 1, Timestamp: 1, SSRC: 2, CSRC: []uint32{3, 4}}, payload: "\xff"},
		{name: "extension", packet: mustHex("9065 0001 00000001 00000002 bede0001 11223344 aa"),
			want: Header{PayloadType: 101, SequenceNumber: 1, Timestamp: 1, SSRC: 2, Extension: true, ExtensionProfile: 0xbede, ExtensionData: mustHex("11223344")}, payload: "\xaa"},
		{name: "padding removed", packet: mustHex("a008 0001 00000001 00000002 aabb0002"),
			want: Header{Padding: true, PayloadType: 8, SequenceNumber: 1, Timestamp: 1, SSRC: 2}, payload: "\xaa\xbb"},
		{name: "short", packet: mustHex("8008 0001"), err: ErrShort},
		{name: "version 1", packet: mustHex("4008 0001 00000001 00000002"), err: ErrVersion},
		{name: "CSRC beyond end", packet: mustHex("8f08 0001 00000001 00000002"), err: ErrShort},
		{name: "extension beyond end", packet: mustHex("9008 0001 00000001 00000002 bede0002 11223344"), err: ErrShort},
		{name: "padding count zero", packet: mustHex("a008 0001 00000001 00000002 aa00"), err: ErrPadding},
		{name: "padding longer than payload", packet: mustHex("a008 0001 00000001 00000002 aa05"), err: ErrPadding},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Header
			p, err := h.Unmarshal(tc.packet)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(h, tc.want) || string(p) != tc.payload {
				t.Fatalf("got %+v %q, want %+v %q", h, p, tc.want, tc.payload)
			}
		})
	}
}

func TestHeaderAppend(t *testing.T) {
	h := Header{Marker: true, PayloadType: 0, SequenceNumber: 65535, Timestamp: 0xfffffff0, SSRC: 7, CSRC: []uint32{9}}
	b, err := h.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := mustHex("8180 ffff fffffff0 00000007 00000009"); !bytes.Equal(b, want) || len(b) != h.Len() {
		t.Fatalf("got %x, want %x", b, want)
	}
	bad := []Header{{CSRC: make([]uint32, 16)}, {PayloadType: 128}, {Extension: true, ExtensionData: []byte{1}}}
	for _, h := range bad {
		if _, err := h.Append(nil); err == nil {
			t.Errorf("%+v: no error", h)
		}
	}
}

func FuzzHeader(f *testing.F) {
	for _, s := range []string{"8088 1234 000000a0 deadbeef 0102", "9065 0001 00000001 00000002 bede0001 11223344 aa", "a008 0001 00000001 00000002 aabb0002"} {
		f.Add(mustHex(s))
	}
	f.Fuzz(func(t *testing.T, packet []byte) {
		var h Header
		payload, err := h.Unmarshal(packet)
		if err != nil {
			return
		}
		if h.Padding {
			return
		}
		// Without padding, marshalling the header again gives the packet back.
		b, err := h.Append(nil)
		if err != nil {
			t.Fatalf("re-marshal %+v: %v", h, err)
		}
		if b = append(b, payload...); !bytes.Equal(b, packet) {
			t.Fatalf("round trip: %x != %x", b, packet)
		}
	})
}

func TestEvent(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    Event
		digit   byte
		isDigit bool
		err     error
	}{
		{"digit 5 start", mustHex("050a00a0"), Event{Code: 5, Volume: 10, Duration: 160}, '5', true, nil},
		{"star end", mustHex("0a8a0320"), Event{Code: 10, End: true, Volume: 10, Duration: 800}, '*', true, nil},
		{"hash", mustHex("0b000000"), Event{Code: 11}, '#', true, nil},
		{"D", mustHex("0f000000"), Event{Code: 15}, 'D', true, nil},
		{"flash is no digit", mustHex("10000000"), Event{Code: 16}, 0, false, nil},
		{"reserved bit ignored", mustHex("01400000"), Event{Code: 1}, '1', true, nil},
		{"short", mustHex("0500"), Event{}, 0, false, ErrEvent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseEvent(tc.payload)
			if !errors.Is(err, tc.err) || e != tc.want {
				t.Fatalf("got %+v %v, want %+v %v", e, err, tc.want, tc.err)
			}
			if err != nil {
				return
			}
			d, ok := e.Digit()
			if d != tc.digit || ok != tc.isDigit {
				t.Fatalf("Digit = %q %v", d, ok)
			}
			if ok {
				c, _ := EventCode(d)
				if c != e.Code {
					t.Fatalf("EventCode(%q) = %d", d, c)
				}
			}
		})
	}
	if b := (Event{Code: 3, End: true, Volume: 7, Duration: 400}).Append(nil); !bytes.Equal(b, mustHex("03870190")) {
		t.Fatalf("Append = %x", b)
	}
}

func TestDigitDetector(t *testing.T) {
	// RFC 4733 section 2.5: a digit's packets share the timestamp; the end
	// packet is sent three times.
	type pkt struct {
		ts uint32
		e  Event
	}
	stream := []pkt{
		{1000, Event{Code: 1, Duration: 160}}, {1000, Event{Code: 1, Duration: 320}},
		{1000, Event{Code: 1, End: true, Duration: 480}}, {1000, Event{Code: 1, End: true, Duration: 480}},
		{1000, Event{Code: 1, End: true, Duration: 480}},
		{2000, Event{Code: 1, Duration: 160}}, // the same digit again
		{3000, Event{Code: 11, Duration: 160}},
		{4000, Event{Code: 16, Duration: 160}}, // flash: not a digit
	}
	var d DigitDetector
	var got []byte
	for _, p := range stream {
		if c, ok := d.Packet(p.ts, p.e); ok {
			got = append(got, c)
		}
	}
	if string(got) != "11#" {
		t.Fatalf("digits %q, want 11#", got)
	}
}

func FuzzEvent(f *testing.F) {
	f.Add(mustHex("050a00a0"))
	f.Add(mustHex("0a8a0320ffff"))
	f.Fuzz(func(t *testing.T, payload []byte) {
		e, err := ParseEvent(payload)
		if err != nil {
			return
		}
		e.Digit()
		back := e.Append(nil)
		want := append([]byte{payload[0], payload[1] &^ 0x40}, payload[2:4]...)
		if !bytes.Equal(back, want) {
			t.Fatalf("round trip %x -> %+v -> %x", payload[:4], e, back)
		}
	})
}

func TestPacketizer(t *testing.T) {
	p := NewPacketizer(PayloadPCMA, 0xabcdef01, 65534, 0xffffff00)
	frame := bytes.Repeat([]byte{0xd5}, 160)
	want := []struct {
		seq    uint16
		ts     uint32
		marker bool
	}{{65534, 0xffffff00, true}, {65535, 0xffffffa0, false}, {0, 0x40, false}, {2, 0x220, true}}
	for i, w := range want {
		if i == 3 {
			p.Packet(frame, 160) // seq 1, ts 0xe0
			p.Skip(160)          // a frame of suppressed silence
		}
		pkt := p.Packet(frame, 160)
		var h Header
		payload, err := h.Unmarshal(pkt)
		if err != nil {
			t.Fatal(err)
		}
		if h.SequenceNumber != w.seq || h.Timestamp != w.ts || h.Marker != w.marker || h.PayloadType != PayloadPCMA || h.SSRC != 0xabcdef01 || !bytes.Equal(payload, frame) {
			t.Fatalf("packet %d: %+v", i, h)
		}
	}
}
