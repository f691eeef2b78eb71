package sdp_test

import (
	"fmt"
	"net/netip"
	"strings"

	"lifeline/hal/voice/sdp"
)

func ExampleAnswer() {
	offer := "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
		"m=audio 6000 RTP/AVP 9 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
	s, err := sdp.Parse([]byte(offer))
	if err != nil {
		fmt.Println(err)
		return
	}
	answer, ch, err := sdp.Answer(s, sdp.Local{Addr: netip.MustParseAddr("192.0.2.1"), Port: 40000, SessionID: 7, Version: 7})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s PT %d, events PT %d, send to %s\n%s", ch.Codec, ch.PayloadType, ch.EventPT, ch.Remote, strings.ReplaceAll(string(answer), "\r\n", "\n"))
	// Output:
	// PCMA PT 8, events PT 101, send to 192.0.2.10:6000
	// v=0
	// o=- 7 7 IN IP4 192.0.2.1
	// s=lifeline
	// c=IN IP4 192.0.2.1
	// t=0 0
	// m=audio 40000 RTP/AVP 8 101
	// a=rtpmap:8 PCMA/8000
	// a=rtpmap:101 telephone-event/8000
	// a=fmtp:101 0-15
	// a=ptime:20
	// a=sendrecv
}
