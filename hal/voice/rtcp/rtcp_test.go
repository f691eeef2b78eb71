package rtcp

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	rb := ReportBlock{SSRC: 7, FractionLost: 12, Lost: -3, HighestSeq: 0x10005, Jitter: 40, LSR: 0x12345678, DLSR: 65536}
	si := SenderInfo{NTP: NTP(time.Unix(1e9, 5e8)), RTPTime: 160, Packets: 250, Octets: 40000}
	b := AppendSR(nil, 0xdeadbeef, si, rb)
	b = AppendSDES(b, 0xdeadbeef, "lifeline@192.0.2.1")
	b = AppendBYE(b, 0xdeadbeef, "call ended")
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []Packet{
		{Type: TypeSR, SSRC: 0xdeadbeef, Sender: si, Reports: []ReportBlock{rb}},
		{Type: TypeSDES, SSRC: 0xdeadbeef, CNAME: "lifeline@192.0.2.1"},
		{Type: TypeBYE, SSRCs: []uint32{0xdeadbeef}, Reason: "call ended"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if len(b)%4 != 0 {
		t.Errorf("compound packet of %d bytes is not 32-bit aligned", len(b))
	}
	rr, err := Parse(AppendRR(nil, 9))
	if err != nil || len(rr) != 1 || rr[0].Type != TypeRR || rr[0].SSRC != 9 {
		t.Errorf("RR: %+v, %v", rr, err)
	}
}

func TestNTP(t *testing.T) {
	n := NTP(time.Unix(0, 5e8))
	if n>>32 != ntpEpoch || uint32(n) != 1<<31 {
		t.Errorf("NTP(1970 + 0.5 s) = %#x", n)
	}
	if Middle(n) != uint32(ntpEpoch&0xffff)<<16|0x8000 {
		t.Errorf("Middle = %#x", Middle(n))
	}
}

func TestParseErrors(t *testing.T) {
	sr := AppendSR(nil, 1, SenderInfo{})
	for name, b := range map[string][]byte{
		"empty":         {},
		"short header":  {0x80, 200},
		"version 1":     {0x40, 201, 0, 1, 0, 0, 0, 1},
		"SDES first":    AppendSDES(nil, 1, "x"),
		"too long":      {0x80, 201, 0, 5, 0, 0, 0, 1},
		"report count":  {0x81, 201, 0, 1, 0, 0, 0, 1},
		"pad not last":  append([]byte{0xa0, 201, 0, 1, 0, 0, 0, 1}, sr...),
		"pad too large": {0xa0, 201, 0, 1, 0, 0, 0, 9},
		"trailing":      append(sr[:len(sr):len(sr)], 0x80),
		"BYE reason":    append(sr[:len(sr):len(sr)], 0x81, 203, 0, 2, 0, 0, 0, 1, 9, 'a', 'b', 'c'),
	} {
		if _, err := Parse(b); !errors.Is(err, ErrSyntax) {
			t.Errorf("%s: err = %v, want ErrSyntax", name, err)
		}
	}
}

func TestInterval(t *testing.T) {
	// A two-party G.711 call: RTCP's share is far above what two members
	// need, so the minimum rules: 5 s (2.5 s at first), spread by r and
	// divided by e-3/2.
	const bw = 64000 / 8
	for _, tc := range []struct {
		r       float64
		initial bool
		want    time.Duration
	}{
		{0.5, false, 4104}, {0, false, 2052}, {0.999, false, 6152}, {0.5, true, 2052},
	} {
		got := Interval(2, 2, bw, 100, true, tc.initial, tc.r)
		if got.Milliseconds() != int64(tc.want) {
			t.Errorf("Interval(r=%v, initial=%v) = %v, want %d ms", tc.r, tc.initial, got, tc.want)
		}
	}
	// Many members: the bandwidth rules.
	if got := Interval(1000, 1, bw, 100, false, false, 0.5); got < time.Minute {
		t.Errorf("1000 members: %v, want over a minute", got)
	}
}

func FuzzParse(f *testing.F) {
	b := AppendSR(nil, 1, SenderInfo{Packets: 3}, ReportBlock{SSRC: 2})
	b = AppendSDES(b, 1, "cname")
	f.Add(AppendBYE(b, 1, "bye"))
	f.Add(AppendRR(nil, 5))
	f.Add([]byte{0xa0, 201, 0, 1, 0, 0, 0, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := Parse(data)
		if err != nil {
			return
		}
		if len(ps) == 0 || (ps[0].Type != TypeSR && ps[0].Type != TypeRR) {
			t.Fatalf("accepted %x as %+v", data, ps)
		}
	})
}
