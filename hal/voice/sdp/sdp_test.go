package sdp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

var local = Local{Addr: netip.MustParseAddr("192.0.2.1"), Port: 40000, SessionID: 42, Version: 1}

func sdpText(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

// A SIPp-style offer (RFC 4317 example 2.1 shape).
var basicOffer = sdpText(
	"v=0", "o=alice 2890844526 2890844526 IN IP4 198.51.100.7", "s=-", "c=IN IP4 198.51.100.7", "t=0 0",
	"m=audio 49170 RTP/AVP 0 8 97 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
	"a=rtpmap:97 iLBC/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20")

func TestAnswer(t *testing.T) {
	tests := []struct {
		name    string
		offer   []byte
		want    Choice
		wantIn  []string // lines the answer must hold
		wantErr error
	}{
		{name: "PCMU first with DTMF", offer: basicOffer,
			want:   Choice{Codec: "PCMU", PayloadType: 0, EventPT: 101, Remote: netip.MustParseAddrPort("198.51.100.7:49170"), RTCP: netip.MustParseAddrPort("198.51.100.7:49171"), Direction: "sendrecv", Index: 0},
			wantIn: []string{"m=audio 40000 RTP/AVP 0 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20", "a=sendrecv", "c=IN IP4 192.0.2.1"}},
		{name: "PCMA preferred, static types without rtpmap", offer: sdpText("v=0", "o=- 1 1 IN IP4 198.51.100.7", "s=-", "c=IN IP4 198.51.100.7", "t=0 0", "m=audio 5004 RTP/AVP 8 0"),
			want:   Choice{Codec: "PCMA", PayloadType: 8, EventPT: -1, Remote: netip.MustParseAddrPort("198.51.100.7:5004"), RTCP: netip.MustParseAddrPort("198.51.100.7:5005"), Direction: "sendrecv"},
			wantIn: []string{"m=audio 40000 RTP/AVP 8", "a=rtpmap:8 PCMA/8000"}},
		{name: "dynamic type for PCMA, event type 96", offer: sdpText("v=0", "o=- 1 1 IN IP4 h", "s=-", "t=0 0", "m=audio 5004 RTP/AVP 18 110 96", "c=IN IP4 198.51.100.9", "a=rtpmap:110 pcma/8000", "a=rtpmap:96 telephone-event/8000", "a=sendonly"),
			want:   Choice{Codec: "PCMA", PayloadType: 110, EventPT: 96, Remote: netip.MustParseAddrPort("198.51.100.9:5004"), RTCP: netip.MustParseAddrPort("198.51.100.9:5005"), Direction: "recvonly"},
			wantIn: []string{"m=audio 40000 RTP/AVP 110 96", "a=rtpmap:110 PCMA/8000", "a=fmtp:96 0-15", "a=recvonly"}},
		{name: "video rejected, second audio used", offer: sdpText("v=0", "o=- 1 1 IN IP6 ::1", "s=-", "c=IN IP6 2001:db8::7", "t=0 0",
			"m=video 5006 RTP/AVP 31", "m=audio 0 RTP/AVP 0", "m=audio 5008 RTP/AVP 9 0", "a=inactive"),
			want:   Choice{Codec: "PCMU", PayloadType: 0, EventPT: -1, Remote: netip.MustParseAddrPort("[2001:db8::7]:5008"), RTCP: netip.MustParseAddrPort("[2001:db8::7]:5009"), Direction: "inactive", Index: 2},
			wantIn: []string{"m=video 0 RTP/AVP 31", "m=audio 0 RTP/AVP 0", "m=audio 40000 RTP/AVP 0", "a=inactive"}},
		{name: "PCMA at 16 kHz is no match", offer: sdpText("v=0", "o=- 1 1 IN IP4 h", "s=-", "c=IN IP4 198.51.100.7", "t=0 0", "m=audio 5004 RTP/AVP 96", "a=rtpmap:96 PCMA/16000"),
			wantErr: ErrNoCodec},
		{name: "G.722 only", offer: sdpText("v=0", "o=- 1 1 IN IP4 h", "s=-", "c=IN IP4 198.51.100.7", "t=0 0", "m=audio 5004 RTP/AVP 9"), wantErr: ErrNoCodec},
		{name: "no audio", offer: sdpText("v=0", "o=- 1 1 IN IP4 h", "s=-", "c=IN IP4 198.51.100.7", "t=0 0", "m=video 5004 RTP/AVP 31"), wantErr: ErrNoAudio},
		{name: "SRTP profile is not offered audio", offer: sdpText("v=0", "o=- 1 1 IN IP4 h", "s=-", "c=IN IP4 198.51.100.7", "t=0 0", "m=audio 5004 RTP/SAVP 0"), wantErr: ErrNoAudio},
		{name: "no connection address", offer: sdpText("v=0", "o=- 1 1 IN IP4 h", "s=-", "t=0 0", "m=audio 5004 RTP/AVP 0"), wantErr: ErrNoAudio},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.offer)
			if err != nil {
				t.Fatal(err)
			}
			ans, ch, err := Answer(s, local)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if ch != tc.want {
				t.Fatalf("choice %+v, want %+v", ch, tc.want)
			}
			for _, l := range tc.wantIn {
				if !strings.Contains(string(ans), l+"\r\n") {
					t.Errorf("answer lacks %q:\n%s", l, ans)
				}
			}
			back, err := Parse(ans)
			if err != nil || len(back.Media) != len(s.Media) {
				t.Fatalf("answer does not parse back with %d media: %v\n%s", len(s.Media), err, ans)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"no version", "o=- 1 1 IN IP4 h\r\n"},
		{"version 1", "v=1\r\n"},
		{"garbage line", "v=0\r\nxyz\r\n"},
		{"bad port", "v=0\r\nm=audio x RTP/AVP 0\r\n"},
		{"short m line", "v=0\r\nm=audio 5004\r\n"},
		{"bad c line", "v=0\r\nc=IN IP4\r\n"},
		{"bad address", "v=0\r\nc=IN IP4 300.1.1.1\r\n"},
		{"empty", "v=0\r\n"},
		{"too big", "v=0\r\n" + strings.Repeat("a=x\r\n", MaxSize/5+1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.in)); !errors.Is(err, ErrSyntax) {
				t.Fatalf("err = %v, want ErrSyntax", err)
			}
		})
	}
}

func TestOfferAnswerLoop(t *testing.T) {
	for _, prefer := range [][]string{nil, {"PCMU"}, {"PCMU", "PCMA"}} {
		off, err := Offer(local, prefer...)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(off)
		if err != nil {
			t.Fatal(err)
		}
		peer := Local{Addr: netip.MustParseAddr("2001:db8::2"), Port: 50000}
		_, ch, err := Answer(s, peer)
		if err != nil {
			t.Fatal(err)
		}
		want := "PCMA"
		if len(prefer) > 0 {
			want = prefer[0]
		}
		if ch.Codec != want || ch.EventPT != 101 || ch.Remote != netip.MustParseAddrPort("192.0.2.1:40000") {
			t.Fatalf("prefer %v: %+v", prefer, ch)
		}
	}
	if _, err := Offer(local, "G729"); err == nil {
		t.Fatal("G729 offered")
	}
	if _, err := Offer(Local{Addr: local.Addr, Port: 5005}); err == nil {
		t.Fatal("odd port accepted")
	}
}

func FuzzSDP(f *testing.F) {
	f.Add(basicOffer)
	f.Add([]byte("v=0\nc=IN IP6 ::1\nm=audio 1 RTP/AVP 8\na=rtpmap:8 PCMA/8000/1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := Parse(in)
		if err != nil {
			return
		}
		ans, ch, err := Answer(s, local)
		if err != nil {
			return
		}
		back, err := Parse(ans)
		if err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, ans)
		}
		if len(back.Media) != len(s.Media) {
			t.Fatalf("answer has %d media, offer %d\n%s", len(back.Media), len(s.Media), ans)
		}
		m := &back.Media[ch.Index]
		if name, rate, ok := m.Codec(m.Formats[0]); !ok || name != ch.Codec || rate != 8000 || m.Port != local.Port {
			t.Fatalf("accepted stream %+v does not carry %s\n%s", m, ch.Codec, ans)
		}
		if _, _, err := Answer(back, local); err != nil {
			t.Fatalf("the answer is not itself acceptable: %v\n%s", err, ans)
		}
	})
}

// TestAnswerRTCPAndHold: the RTCP address comes from a=rtcp (RFC 3605)
// or is the RTP port + 1; c=0.0.0.0 is the old hold, answered without
// sending.
func TestAnswerRTCPAndHold(t *testing.T) {
	for _, tc := range []struct {
		name, conn string
		attrs      []string
		rtcp       string
		dir        string
		sends      bool
	}{
		{"default", "198.51.100.7", nil, "198.51.100.7:5005", "sendrecv", true},
		{"a=rtcp port", "198.51.100.7", []string{"a=rtcp:6000"}, "198.51.100.7:6000", "sendrecv", true},
		{"a=rtcp with address", "198.51.100.7", []string{"a=rtcp:6001 IN IP4 198.51.100.8"}, "198.51.100.8:6001", "sendrecv", true},
		{"a=rtcp malformed", "198.51.100.7", []string{"a=rtcp:x"}, "198.51.100.7:5005", "sendrecv", true},
		{"a=rtcp empty", "198.51.100.7", []string{"a=rtcp:"}, "198.51.100.7:5005", "sendrecv", true},
		{"sendonly", "198.51.100.7", []string{"a=sendonly"}, "198.51.100.7:5005", "recvonly", false},
		{"inactive", "198.51.100.7", []string{"a=inactive"}, "198.51.100.7:5005", "inactive", false},
		{"recvonly", "198.51.100.7", []string{"a=recvonly"}, "198.51.100.7:5005", "sendonly", true},
		{"c=0.0.0.0", "0.0.0.0", nil, "0.0.0.0:5005", "recvonly", false},
		{"c=0.0.0.0 recvonly", "0.0.0.0", []string{"a=recvonly"}, "0.0.0.0:5005", "inactive", false},
	} {
		lines := append([]string{"v=0", "o=- 1 1 IN IP4 h", "s=-", "c=IN IP4 " + tc.conn, "t=0 0", "m=audio 5004 RTP/AVP 8"}, tc.attrs...)
		s, err := Parse(sdpText(lines...))
		if err != nil {
			t.Fatal(err)
		}
		ans, ch, err := Answer(s, local)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if ch.RTCP.String() != tc.rtcp || ch.Direction != tc.dir || ch.Sends() != tc.sends {
			t.Errorf("%s: RTCP %v, direction %s, sends %v; want %s, %s, %v", tc.name, ch.RTCP, ch.Direction, ch.Sends(), tc.rtcp, tc.dir, tc.sends)
		}
		if !strings.Contains(string(ans), "a="+tc.dir+"\r\n") {
			t.Errorf("%s: answer without a=%s:\n%s", tc.name, tc.dir, ans)
		}
	}
}

// TestHeld: a re-INVITE's offer says whether the call is held.
func TestHeld(t *testing.T) {
	for _, tc := range []struct {
		conn, attr, dir string
		sends, ok       bool
	}{
		{"198.51.100.7", "a=sendrecv", "sendrecv", true, true},
		{"198.51.100.7", "a=sendonly", "recvonly", false, true},
		{"198.51.100.7", "a=inactive", "inactive", false, true},
		{"198.51.100.7", "a=recvonly", "sendonly", true, true},
		{"0.0.0.0", "a=sendrecv", "recvonly", false, true},
	} {
		s, err := Parse(sdpText("v=0", "o=- 1 2 IN IP4 h", "s=-", "c=IN IP4 "+tc.conn, "t=0 0", "m=audio 5004 RTP/AVP 8", tc.attr))
		if err != nil {
			t.Fatal(err)
		}
		dir, sends, ok := Held(s)
		if dir != tc.dir || sends != tc.sends || ok != tc.ok {
			t.Errorf("%s %s: Held = %s, %v, %v; want %s, %v, %v", tc.conn, tc.attr, dir, sends, ok, tc.dir, tc.sends, tc.ok)
		}
	}
	s, _ := Parse(sdpText("v=0", "o=- 1 2 IN IP4 h", "s=-", "c=IN IP4 198.51.100.7", "t=0 0", "m=audio 0 RTP/AVP 8"))
	if _, _, ok := Held(s); ok {
		t.Error("Held found a stream in an offer without one in use")
	}
}
