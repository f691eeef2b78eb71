package simboard

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/hal/sipprobe"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The real probe gets 200 OK while the sim provider is up and loses its
// probe while it is down.
func TestProviderAnswersRealProbe(t *testing.T) {
	p, err := NewProvider()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pr := sipprobe.New(sipprobe.Target{Host: "127.0.0.1", Port: p.Port(), Transport: "udp"},
		sipprobe.WithTimeout(200*time.Millisecond))
	ctx := context.Background()
	if r := pr.Probe(ctx); !r.OK || r.Status != 200 {
		t.Fatalf("up: %+v", r)
	}
	p.SetUp(false)
	if r := pr.Probe(ctx); r.OK {
		t.Fatalf("down: %+v", r)
	}
	p.SetUp(true)
	if r := pr.Probe(ctx); !r.OK {
		t.Fatalf("up again: %+v", r)
	}
}

func TestAnswer(t *testing.T) {
	req := "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx;rport\r\nf: <sip:a@b>;tag=1\r\nTo: <sip:x>\r\nCall-ID: c1\r\nCSeq: 7 OPTIONS\r\nMax-Forwards: 70\r\n\r\n"
	got := string(answer([]byte(req)))
	want := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx;rport\r\nf: <sip:a@b>;tag=1\r\nTo: <sip:x>;tag=sim\r\nCall-ID: c1\r\nCSeq: 7 OPTIONS\r\nServer: lifeline-sim\r\nContent-Length: 0\r\n\r\n"
	if got != want {
		t.Fatalf("answer:\n%q\nwant\n%q", got, want)
	}
	if answer([]byte("SIP/2.0 200 OK\r\n\r\n")) != nil {
		t.Fatal("answered a response")
	}
}
