package bridge_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/voice"
	"lifeline/hal/voice/bridge"
	"lifeline/hal/voice/rtcp"
	"lifeline/hal/voice/rtp"
)

// readRTCP reads one compound RTCP packet the phone's RTCP socket got.
func readRTCP(t *testing.T, c net.PacketConn) []rtcp.Packet {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(safety))
	buf := make([]byte, 1500)
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no RTCP at the phone: %v", err)
	}
	ps, err := rtcp.Parse(buf[:n])
	if err != nil {
		t.Fatalf("RTCP from the bridge: %v", err)
	}
	return ps
}

// TestRTCP: the bridge reads the phone's RTCP (from the call's address
// only) and answers with SR + SDES: its own counts, a reception report of
// the phone's stream with the delay since the phone's SR, and its CNAME;
// Close ends with a BYE.
func TestRTCP(t *testing.T) {
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	gwRTCP, phoneRTCP, stranger := rtpSocket(t), udp(t), udp(t)
	defer phoneRTCP.Close()
	defer stranger.Close()
	phoneAddr := netip.MustParseAddrPort(phoneRTCP.LocalAddr().String())
	r := newSourceRig(t, func(c *bridge.Config) {
		c.Clock, c.RTCP, c.RTCPRemote, c.CNAME = clk, gwRTCP, phoneAddr, "gw@192.0.2.1"
		c.SSRC, c.Timestamp = 0x1234, 1000
	})
	for range 3 {
		r.send(t, r.phone)
		clk.Advance(20 * time.Millisecond)
		r.m.feed(t, voice.FormatALaw, 1)
	}
	phoneSR := rtcp.SenderInfo{NTP: rtcp.NTP(clk.Now()), Packets: 3, Octets: 480}
	sr := rtcp.AppendBYE(rtcp.AppendSDES(rtcp.AppendSR(nil, 9, phoneSR), 9, "phone@lan"), 9, "")
	if _, err := phoneRTCP.WriteTo(sr, gwRTCP.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if _, err := stranger.WriteTo(rtcp.AppendSR(nil, 66, rtcp.SenderInfo{}), gwRTCP.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if _, err := phoneRTCP.WriteTo([]byte("not rtcp"), gwRTCP.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	// The stranger shares the phone's address (loopback) from another
	// port: the first source latched is the phone's, which wrote first.
	clk.Advance(2 * time.Second)
	if err := r.b.Report(); err != nil {
		t.Fatal(err)
	}
	ps := readRTCP(t, phoneRTCP)
	if len(ps) != 2 || ps[0].Type != rtcp.TypeSR || ps[1].Type != rtcp.TypeSDES {
		t.Fatalf("report = %+v, want SR + SDES", ps)
	}
	got := ps[0]
	if got.SSRC != 0x1234 || got.Sender.Packets != 3 || got.Sender.Octets != 3*voice.FrameSamples ||
		got.Sender.RTPTime != 1000+3*voice.FrameSamples || got.Sender.NTP != rtcp.NTP(clk.Now()) {
		t.Errorf("SR = %+v", got)
	}
	if len(got.Reports) != 1 {
		t.Fatalf("SR reports = %+v, want one for the phone", got.Reports)
	}
	rb := got.Reports[0]
	if rb.SSRC != 9 || rb.HighestSeq != 3 || rb.Lost != 0 || rb.LSR != 0 || rb.DLSR != 0 {
		t.Errorf("report block = %+v", rb)
	}
	if ps[1].SSRC != 0x1234 || ps[1].CNAME != "gw@192.0.2.1" {
		t.Errorf("SDES = %+v", ps[1])
	}
	if st := r.b.Stats(); st.RTCPReceived != 1 || st.RTCPByes != 1 || st.RTCPForeign != 1 || st.RTCPIgnored != 1 || st.RTCPSent != 1 {
		t.Errorf("stats = %+v", st)
	}
	if d := r.b.RTCPInterval(); d < 2*time.Second || d > 7*time.Second {
		t.Errorf("RTCPInterval = %v, want about 5 s", d)
	}
	r.b.Close()
	ps = readRTCP(t, phoneRTCP)
	if n := len(ps); n != 3 || ps[0].Type != rtcp.TypeSR || ps[2].Type != rtcp.TypeBYE || ps[2].SSRCs[0] != 0x1234 {
		t.Fatalf("at Close: %+v, want SR + SDES + BYE", ps)
	}
}

// TestRTCPLoss: a gap in the phone's sequence numbers is reported as
// lost, in the cumulative count and the fraction since the last report.
func TestRTCPLoss(t *testing.T) {
	gwRTCP, phoneRTCP := rtpSocket(t), udp(t)
	defer phoneRTCP.Close()
	r := newSourceRig(t, func(c *bridge.Config) {
		c.RTCP, c.RTCPRemote = gwRTCP, netip.MustParseAddrPort(phoneRTCP.LocalAddr().String())
	})
	r.send(t, r.phone)
	r.pk.Skip(voice.FrameSamples)
	r.pk = rtp.NewPacketizer(rtp.PayloadPCMA, 9, 5, 4*voice.FrameSamples) // seq 2-4 lost
	r.send(t, r.phone)
	r.m.feed(t, voice.FormatALaw, 1)
	if err := r.b.Report(); err != nil {
		t.Fatal(err)
	}
	rb := readRTCP(t, phoneRTCP)[0].Reports[0]
	if rb.HighestSeq != 5 || rb.Lost != 3 || rb.FractionLost != 3*256/5 {
		t.Errorf("report block = %+v, want 3 of 5 lost", rb)
	}
}

// TestSetSendEnabled: while the phone holds the call no RTP goes to it,
// whatever it sends; the modem's frames are still answered, and RTP
// resumes with the marker bit.
func TestSetSendEnabled(t *testing.T) {
	r := newSourceRig(t, nil)
	r.b.SetSendEnabled(false)
	r.send(t, r.phone)
	r.m.feed(t, voice.FormatALaw, 5)
	// A deadline already past fails a read before it looks at the socket:
	// a millisecond's is a non-blocking read of what is waiting.
	r.phone.SetReadDeadline(time.Now().Add(time.Millisecond))
	if n, _, err := r.phone.ReadFrom(make([]byte, 1500)); err == nil {
		t.Fatalf("the phone got %d bytes while it held the call", n)
	}
	if st := r.b.Stats(); st.FramesMuted != 5 || st.FramesToModem != 5 || st.PacketsReceived != 1 {
		t.Errorf("stats = %+v", st)
	}
	r.b.SetSendEnabled(true)
	r.m.feed(t, voice.FormatALaw, 1)
	r.phone.SetReadDeadline(time.Now().Add(safety))
	buf := make([]byte, 1500)
	n, _, err := r.phone.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no RTP after the resume: %v", err)
	}
	var h rtp.Header
	if _, err := h.Unmarshal(buf[:n]); err != nil || !h.Marker {
		t.Errorf("first packet after the resume: %+v %v, want the marker", h, err)
	}
}
