package bridge_test

import (
	"net"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/voice"
	"lifeline/hal/voice/bridge"
	"lifeline/hal/voice/rtp"
)

// sourceRig is a bridge over a fake modem (A-law) with a phone socket as
// its Remote; cfg's other fields come from mut. send sends one silent
// PCMA packet from c to the bridge.
type sourceRig struct {
	m     *fakeModem
	phone net.PacketConn
	gw    *bridge.Socket
	b     *bridge.Bridge
	pk    *rtp.Packetizer
}

func newSourceRig(t *testing.T, mut func(*bridge.Config)) *sourceRig {
	t.Helper()
	r := &sourceRig{m: newFakeModem(), phone: udp(t), gw: rtpSocket(t), pk: rtp.NewPacketizer(rtp.PayloadPCMA, 9, 1, 0)}
	t.Cleanup(func() { r.phone.Close() })
	cfg := bridge.Config{Audio: voice.NewDLEAudio(r.m, voice.FormatALaw), Codec: "PCMA", PayloadType: rtp.PayloadPCMA, EventPT: -1,
		Conn: r.gw, Remote: r.phone.LocalAddr(), Logger: logger()}
	if mut != nil {
		mut(&cfg)
	}
	b, err := bridge.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	r.b = b
	return r
}

func (r *sourceRig) send(t *testing.T, c net.PacketConn) {
	t.Helper()
	frame := voice.FormatALaw.Encode(nil, make([]int16, voice.FrameSamples))
	if _, err := c.WriteTo(r.pk.Packet(frame, voice.FrameSamples), r.gw.LocalAddr()); err != nil {
		t.Fatal(err)
	}
}

// TestRTPSourceLock: RTP is taken only from the negotiated address, and
// only from the first port seen sending from it. Audio and digits from a
// host that never negotiated the call are dropped unread; the call's own
// packets still reach the jitter buffer and OnDigit. (Before the lock,
// every source was played to the line.)
func TestRTPSourceLock(t *testing.T) {
	m := newFakeModem()
	phone, gw := udp(t), rtpSocket(t)
	defer phone.Close()
	// Same address as the phone (loopback), another port: a second phone
	// port is foreign once the first has been seen.
	intruder := udp(t)
	defer intruder.Close()
	var digits []byte
	b, err := bridge.Start(bridge.Config{
		Audio: voice.NewDLEAudio(m, voice.FormatALaw), Codec: "PCMA", PayloadType: rtp.PayloadPCMA, EventPT: 101,
		Conn: gw, Remote: phone.LocalAddr(), Logger: logger(),
		OnDigit: func(d byte) { digits = append(digits, d) }, // the modem goroutine only, read after Close
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pk := rtp.NewPacketizer(rtp.PayloadPCMA, 9, 1, 0)
	frame := voice.FormatALaw.Encode(nil, make([]int16, voice.FrameSamples))
	send := func(c net.PacketConn, n int) {
		for range n {
			if _, err := c.WriteTo(pk.Packet(frame, voice.FrameSamples), gw.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(phone, 3)
	send(intruder, 4)
	sendDigits(t, intruder, gw.LocalAddr(), []digitEvent{{'9', 800}})
	m.feed(t, voice.FormatALaw, 3)
	st := b.Stats()
	if st.PacketsReceived != 3 || st.Digits != 0 || st.PacketsForeign < 4+4 {
		t.Fatalf("stats %+v: want the phone's 3 packets and every intruder's packet foreign", st)
	}
	sendDigits(t, phone, gw.LocalAddr(), []digitEvent{{'5', 800}})
	m.feed(t, voice.FormatALaw, 2)
	b.Close()
	if string(digits) != "5" {
		t.Fatalf("digits %q, want only the phone's 5", digits)
	}
}

// TestRTPForeignAddress: a host on another address is foreign from the
// first packet, even before the phone has sent anything (no first-seen
// latch for an address that was not negotiated).
func TestRTPForeignAddress(t *testing.T) {
	m := newFakeModem()
	phone, gw := udp(t), rtpSocket(t)
	defer phone.Close()
	other := otherHost(t)
	b, err := bridge.Start(bridge.Config{
		Audio: voice.NewDLEAudio(m, voice.FormatALaw), Codec: "PCMA", PayloadType: rtp.PayloadPCMA, EventPT: 101,
		Conn: gw, Remote: phone.LocalAddr(), Logger: logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sendDigits(t, other, gw.LocalAddr(), []digitEvent{{'1', 800}})
	m.feed(t, voice.FormatALaw, 2)
	if st := b.Stats(); st.Digits != 0 || st.PacketsForeign == 0 || st.PacketsIgnored != 0 {
		t.Fatalf("stats %+v: want everything from 127.0.0.2 foreign", st)
	}
}

// otherHost is a UDP socket on another loopback address than the phone's
// (a host that never negotiated the call), closed when t ends.
func otherHost(t *testing.T) net.PacketConn {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("needs 127.0.0.2: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestHoldSend: with HoldSend the bridge sends no RTP, however many
// frames the modem sends, until StartSending; then the first packet
// carries the marker and a timestamp that ran on through the held frames.
func TestHoldSend(t *testing.T) {
	m := newFakeModem()
	phone, gw := udp(t), rtpSocket(t)
	defer phone.Close()
	b, err := bridge.Start(bridge.Config{
		Audio: voice.NewDLEAudio(m, voice.FormatALaw), Codec: "PCMA", PayloadType: rtp.PayloadPCMA, EventPT: -1,
		Conn: gw, Remote: phone.LocalAddr(), Logger: logger(), HoldSend: true, Timestamp: 1000, Seq: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m.feed(t, voice.FormatALaw, 10)
	buf := make([]byte, 2048)
	// Nothing may be waiting: the feed has been answered. The deadline is
	// in the future, however short: with one already passed Go fails the
	// read without looking at the socket.
	phone.SetReadDeadline(time.Now().Add(time.Millisecond))
	if n, _, err := phone.ReadFrom(buf); err == nil {
		t.Fatalf("RTP sent while held: %d bytes", n)
	}
	if st := b.Stats(); st.FramesHeld != 10 || st.FramesToModem != 10 {
		t.Fatalf("stats %+v", st)
	}
	b.StartSending()
	m.feed(t, voice.FormatALaw, 1)
	phone.SetReadDeadline(time.Now().Add(safety))
	n, _, err := phone.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	var h rtp.Header
	if _, err := h.Unmarshal(buf[:n]); err != nil {
		t.Fatal(err)
	}
	if !h.Marker || h.SequenceNumber != 5 || h.Timestamp != 1000+10*voice.FrameSamples {
		t.Fatalf("first packet %+v: want marker, seq 5, timestamp 1000+10 frames", h)
	}
}

// TestLastReceived: the bridge stamps the call's RTP with its clock;
// foreign packets do not count.
func TestLastReceived(t *testing.T) {
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	r := newSourceRig(t, func(c *bridge.Config) { c.Clock = clk })
	other := otherHost(t)
	if got := r.b.LastReceived(); !got.Equal(start) {
		t.Fatalf("LastReceived %v before any RTP, want the start %v", got, start)
	}
	clk.Advance(5 * time.Second)
	r.send(t, other)
	r.m.feed(t, voice.FormatALaw, 1)
	if got := r.b.LastReceived(); !got.Equal(start) {
		t.Fatalf("LastReceived %v after a foreign packet, want %v", got, start)
	}
	clk.Advance(5 * time.Second)
	r.send(t, r.phone)
	r.m.feed(t, voice.FormatALaw, 1)
	if got, want := r.b.LastReceived(), start.Add(10*time.Second); !got.Equal(want) {
		t.Fatalf("LastReceived %v, want %v", got, want)
	}
}

// TestHoldSendEndsWithPhoneRTP: RTP from the call's source ends the hold
// (the phone is there, its ACK may trail its media through a proxy); RTP
// from another host does not.
func TestHoldSendEndsWithPhoneRTP(t *testing.T) {
	r := newSourceRig(t, func(c *bridge.Config) { c.HoldSend = true })
	r.send(t, otherHost(t))
	r.m.feed(t, voice.FormatALaw, 2)
	if st := r.b.Stats(); st.FramesHeld != 2 {
		t.Fatalf("stats %+v: a foreign packet released the hold", st)
	}
	r.send(t, r.phone)
	r.m.feed(t, voice.FormatALaw, 2)
	// The frame that reads the phone's packet has decided already; the
	// next one goes out.
	if st := r.b.Stats(); st.FramesHeld != 3 {
		t.Fatalf("stats %+v: want the frames after the phone's RTP sent", st)
	}
	r.phone.SetReadDeadline(time.Now().Add(safety))
	if _, _, err := r.phone.ReadFrom(make([]byte, 2048)); err != nil {
		t.Fatalf("no RTP after the phone's: %v", err)
	}
}
