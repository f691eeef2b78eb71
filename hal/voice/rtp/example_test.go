package rtp_test

import (
	"fmt"

	"lifeline/hal/voice/rtp"
)

// The bridge's two directions: frames from the modem become packets; packets
// from the network wait in the jitter buffer until the modem's clock asks for
// the next frame.
func ExampleJitter() {
	pk := rtp.NewPacketizer(rtp.PayloadPCMA, 0x1234, 100, 16000)
	j, _ := rtp.NewJitter(160, 8, 2, 0xD5)
	frame := make([]byte, 160)
	var h rtp.Header
	// Three packets arrive out of order; the second never comes.
	var pkts [][]byte
	for i := 0; i < 4; i++ {
		frame[0] = byte(i)
		pkts = append(pkts, append([]byte(nil), pk.Packet(frame, 160)...))
	}
	for _, i := range []int{0, 3, 2} {
		payload, _ := h.Unmarshal(pkts[i])
		fmt.Println("push", h.SequenceNumber, j.Push(h.SequenceNumber, payload))
	}
	out := make([]byte, 160)
	for i := 0; i < 4; i++ {
		ok := j.Pop(out) // once per 20 ms, on the modem's clock
		fmt.Printf("pop %v first byte %#02x\n", ok, out[0])
	}
	fmt.Printf("%+v\n", j.Stats())
	// Output:
	// push 100 accepted
	// push 103 accepted
	// push 102 accepted
	// pop true first byte 0x00
	// pop false first byte 0xd5
	// pop true first byte 0x02
	// pop true first byte 0x03
	// {Accepted:3 Late:0 Duplicate:0 Overflow:0 Played:3 Concealed:1 Waiting:0 Resyncs:0 Trimmed:0}
}

// An RFC 4733 DTMF digit, as the gateway would turn it into AT+VTS.
func ExampleParseEvent() {
	var d rtp.DigitDetector
	for _, p := range [][]byte{{0x05, 0x0a, 0x00, 0xa0}, {0x05, 0x8a, 0x03, 0x20}, {0x05, 0x8a, 0x03, 0x20}} {
		e, _ := rtp.ParseEvent(p)
		if digit, ok := d.Packet(48000, e); ok {
			fmt.Printf("AT+VTS=%c\n", digit)
		}
	}
	// Output: AT+VTS=5
}
