package gateway_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestOptionsAdvertises: the gateway's answer to OPTIONS says what it
// takes (RFC 3261 §11.2): Allow in a fixed order, Accept application/sdp,
// Supported. (Before: a bare 200.)
func TestOptionsAdvertises(t *testing.T) {
	r := newRig(t)
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := c.LocalAddr().(*net.UDPAddr).Port
	req := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-opt1\r\nMax-Forwards: 70\r\n"+
		"From: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:%s>\r\nCall-ID: opt1@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		r.gwAddr, port, r.gwAddr)
	if _, err := c.WriteToUDP([]byte(req), r.gwAddr); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := c.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no answer to OPTIONS: %v", err)
	}
	res := string(buf[:n])
	for _, want := range []string{"SIP/2.0 200 ", "\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, REFER\r\n",
		"\r\nAccept: application/sdp\r\n", "\r\nSupported: timer\r\n"} {
		if !strings.Contains(res, want) {
			t.Fatalf("the answer lacks %q:\n%s", strings.TrimSpace(want), res)
		}
	}
}
