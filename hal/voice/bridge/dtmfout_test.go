package bridge_test

import (
	"testing"
	"time"

	"lifeline/hal/modem/modemsim"
	"lifeline/hal/voice"
	"lifeline/hal/voice/bridge"
	"lifeline/hal/voice/rtp"
)

// TestDTMFFromLine: digits the modem reports hearing on the line
// (<DLE><digit>, here from the simulator on a pty through voice.Conn) reach
// the phone as RFC 4733 events on the negotiated payload type: for each,
// a first packet with the marker, updates every 20 ms with the event's
// starting timestamp and a growing duration, and the end packet three
// times; sequence numbers run on with the audio's and the audio stops for
// the event. Before, the bridge dropped the reports.
func TestDTMFFromLine(t *testing.T) {
	l := newLine(t, "5", modemsim.PlayEchoPaced)
	phone, gw := udp(t), rtpSocket(t)
	defer phone.Close()
	const pt = 101
	b, err := bridge.Start(bridge.Config{Audio: voice.NewDLEAudio(l.ds, l.sim.Format()), Codec: "PCMA", PayloadType: rtp.PayloadPCMA,
		EventPT: pt, Conn: gw, Remote: phone.LocalAddr(), Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	read := func() (rtp.Header, []byte) {
		t.Helper()
		phone.SetReadDeadline(time.Now().Add(safety))
		n, _, err := phone.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		var h rtp.Header
		p, err := h.Unmarshal(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		return h, p
	}
	lastAudio, _ := read() // the stream runs
	for _, d := range []byte("7#") {
		if err := l.sim.SendEvent(d); err != nil {
			t.Fatal(err)
		}
	}
	var evs []rtp.Event
	var hs []rtp.Header
	for len(evs) < 2*(bridge.DTMFEventLen/160-1+3) {
		h, p := read()
		if h.PayloadType != pt {
			if len(evs)%(bridge.DTMFEventLen/160-1+3) != 0 { // between two digits is fine (a slow test)
				t.Fatalf("audio packet %+v inside the events (after %d)", h, len(evs))
			}
			lastAudio = h
			continue
		}
		e, err := rtp.ParseEvent(p)
		if err != nil {
			t.Fatal(err)
		}
		evs, hs = append(evs, e), append(hs, h)
	}
	per := bridge.DTMFEventLen/160 - 1 + 3 // updates, then three ends
	for k, want := range []byte("7#") {
		code, _ := rtp.EventCode(want)
		first := hs[k*per]
		if !first.Marker {
			t.Errorf("digit %c: first packet without marker", want)
		}
		for i := range per {
			h, e := hs[k*per+i], evs[k*per+i]
			if e.Code != code || h.Timestamp != first.Timestamp || (i > 0 && h.Marker) {
				t.Errorf("digit %c packet %d: %+v %+v", want, i, h, e)
			}
			wantEnd := i >= per-3
			wantDur := uint16(min((i+1)*160, bridge.DTMFEventLen))
			if e.End != wantEnd || e.Duration != wantDur {
				t.Errorf("digit %c packet %d: end %v duration %d, want %v %d", want, i, e.End, e.Duration, wantEnd, wantDur)
			}
		}
	}
	for i := 1; i < len(hs); i++ {
		if i != per && hs[i].SequenceNumber != hs[i-1].SequenceNumber+1 {
			t.Fatalf("sequence numbers %d then %d", hs[i-1].SequenceNumber, hs[i].SequenceNumber)
		}
	}
	if hs[0].SequenceNumber != lastAudio.SequenceNumber+1 || hs[0].Timestamp != lastAudio.Timestamp+160 {
		t.Fatalf("first event %+v after audio %+v: want the next seq and the next frame's timestamp", hs[0], lastAudio)
	}
	if d := hs[per].Timestamp - hs[0].Timestamp; d < uint32(per*160) || d%160 != 0 {
		t.Fatalf("second digit %d samples after the first, want %d or a later frame", d, per*160)
	}
	h, _ := read()
	if h.PayloadType != rtp.PayloadPCMA || !h.Marker {
		t.Fatalf("after the events %+v: want audio again with the marker", h)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.DigitsSent != 2 {
		t.Fatalf("stats %+v", st)
	}
	l.hangup(t)
}
