package modemsim_test

import (
	"testing"
	"time"

	"lifeline/hal/modem"
	"lifeline/hal/voice"
)

// BenchmarkVoiceEchoFrame is the round trip of one 20 ms A-law frame
// through the whole lower audio path: Encoder, Conn, serialport, the pty,
// the VoiceSim's echo, and back through Conn and Decoder. Half of it
// bounds the one-way delay these layers add to the bridge (the modem's
// own buffering excluded).
func BenchmarkVoiceEchoFrame(b *testing.B) {
	rb := newVoiceRig(b)
	rb.call("5")
	ds := rb.startData("AT+VTR")
	enc := voice.NewEncoder(ds)
	dec := voice.NewDecoder(ds)
	frame := testAudio(voice.FormatALaw, 20*time.Millisecond)
	got := make([]byte, len(frame))
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := enc.Write(frame); err != nil {
			b.Fatal(err)
		}
		if _, err := dec.ReadFrame(got, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	enc.Abort()
	for {
		if _, err := dec.ReadFrame(got, nil); err != nil {
			break
		}
	}
	rb.final(ds)
	rb.cmd("ATH", modem.ResultOK)
}
