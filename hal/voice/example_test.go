package voice_test

import (
	"bytes"
	"fmt"

	"lifeline/hal/voice"
)

// The modem's receive stream: audio with a DTMF digit and busy tone in
// band, ended by <DLE><ETX> and the modem's OK.
func ExampleDecoder_ReadFrame() {
	stream := []byte("\x01\x02\x10\x10\x10" + "5" + "\x03\x04\x10b\x05\x06\x10\x03\r\nOK\r\n")
	dec := voice.NewDecoder(bytes.NewReader(stream))
	frame := make([]byte, 3)
	for {
		n, err := dec.ReadFrame(frame, func(e voice.Event) { fmt.Printf("event %s after %d bytes\n", e, e.Offset) })
		if n > 0 {
			fmt.Printf("audio % x\n", frame[:n])
		}
		if err != nil {
			fmt.Printf("%v; left for the engine: %q\n", err, dec.Buffered())
			return
		}
	}
	// Output:
	// event dtmf-5 after 3 bytes
	// audio 01 02 10
	// event busy after 5 bytes
	// audio 03 04 05
	// event end after 7 bytes
	// audio 06
	// EOF; left for the engine: "\r\nOK\r\n"
}

// Audio from RTP (PCMA) to a modem that speaks 8-bit unsigned linear,
// shielded, then the end of the transmit stream.
func ExampleEncoder() {
	var toModem bytes.Buffer
	enc := voice.NewEncoder(&toModem)
	pcma := []byte{0xD5, 0xD5, 0xAA, 0x2A}
	enc.Write(voice.Transcode(nil, voice.FormatLinear8U, pcma, voice.FormatALaw))
	enc.End()
	fmt.Printf("% x\n", toModem.Bytes())
	// Output: 80 80 fe 02 10 03
}
