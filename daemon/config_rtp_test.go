package daemon

import (
	"strings"
	"testing"
	"time"
)

// TestGatewayRTPTimeout: option rtp_timeout, its default and its range.
func TestGatewayRTPTimeout(t *testing.T) {
	const head = "config gateway 'gw'\n\toption listen '127.0.0.1:5080'\n"
	for _, tc := range []struct {
		name, opt string
		want      time.Duration
	}{{"default", "", DefaultRTPTimeout}, {"set", "\toption rtp_timeout '1m'\n", time.Minute}, {"off", "\toption rtp_timeout '0'\n", 0}} {
		c, err := ParseConfig("g", []byte(head+tc.opt))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.Gateway.RTPTimeout != tc.want {
			t.Errorf("%s: RTPTimeout %v, want %v", tc.name, c.Gateway.RTPTimeout, tc.want)
		}
	}
	_, err := ParseConfig("g", []byte(head+"\toption rtp_timeout '-5s'\n"))
	if err == nil || !strings.Contains(err.Error(), "g:3: section gateway 'gw' option 'rtp_timeout'") {
		t.Fatalf("negative rtp_timeout: %v", err)
	}
}
