package sipua

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"lifeline/hal/sip"
)

// The interop tests put this UA on loopback UDP against sipgo's UA (its
// transaction and dialog layers, as the phone), on the real clock: an
// INVITE/180/200/ACK/BYE each way, the BYE from either side.

// peerUA is a sipgo UA with a listening socket, stopped with the test.
type peerUA struct {
	addr *net.UDPAddr
	cli  *sipgo.Client
	srv  *sipgo.Server
}

// newPeer makes the peer; setup registers its handlers before it serves.
func newPeer(t *testing.T, setup func(*peerUA)) *peerUA {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("needs loopback UDP: %v", err)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("sipgo-peer"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua)
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	p := &peerUA{addr: conn.LocalAddr().(*net.UDPAddr), cli: cli, srv: srv}
	setup(p)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); srv.ServeUDP(conn) }()
	t.Cleanup(func() {
		ua.Close()
		conn.Close()
		wg.Wait()
	})
	return p
}

func (p *peerUA) contact() gosip.ContactHeader {
	return gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "peer", Host: "127.0.0.1", Port: p.addr.Port}}
}

// startUDP runs a UA on loopback on the real clock until the test ends.
func startUDP(t *testing.T, handlers map[sip.Method]func(*ServerTx)) (*UA, *net.UDPAddr) {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("needs loopback UDP: %v", err)
	}
	addr := conn.LocalAddr().(*net.UDPAddr)
	ua, err := New(Config{Conn: conn, Contact: sip.URI{Scheme: "sip", User: "gw", Host: "127.0.0.1", Port: addr.Port},
		UserAgent: "sipua", Logger: testLogger(&syncBuffer{})})
	if err != nil {
		t.Fatal(err)
	}
	for m, h := range handlers {
		ua.Handle(m, h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ua.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return ua, addr
}

func within(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	t.Cleanup(cancel)
	return ctx
}

// TestInteropSipgoCallsUs: sipgo's UAC calls this UA's UAS.
func TestInteropSipgoCallsUs(t *testing.T) {
	for _, byeFrom := range []string{"sipgo", "sipua"} {
		t.Run("BYE from "+byeFrom, func(t *testing.T) {
			txs := make(chan *ServerTx, 1)
			_, addr := startUDP(t, map[sip.Method]func(*ServerTx){sip.INVITE: func(tx *ServerTx) {
				tx.Respond(100, "Trying", nil)
				tx.Respond(180, "Ringing", nil)
				tx.Respond(200, "OK", []byte("v=0\r\n"))
				txs <- tx
			}})
			var dc *sipgo.DialogClientCache
			byes := make(chan struct{}, 1)
			newPeer(t, func(p *peerUA) {
				dc = sipgo.NewDialogClientCache(p.cli, p.contact())
				p.srv.OnBye(func(req *gosip.Request, tx gosip.ServerTransaction) {
					if err := dc.ReadBye(req, tx); err != nil {
						t.Errorf("BYE from sipua: %v", err)
					}
					byes <- struct{}{}
				})
			})
			sess, err := dc.Invite(within(t), gosip.Uri{Scheme: "sip", User: "5551234", Host: "127.0.0.1", Port: addr.Port}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			var got []int
			if err := sess.WaitAnswer(within(t), sipgo.AnswerOptions{OnResponse: func(r *gosip.Response) error {
				got = append(got, r.StatusCode)
				return nil
			}}); err != nil {
				t.Fatalf("WaitAnswer: %v (responses %v)", err, got)
			}
			if string(sess.InviteResponse.Body()) != "v=0\r\n" {
				t.Fatalf("200 body %q", sess.InviteResponse.Body())
			}
			if err := sess.Ack(within(t)); err != nil {
				t.Fatal(err)
			}
			tx := <-txs
			d := tx.Dialog()
			switch byeFrom {
			case "sipgo":
				if err := sess.Bye(within(t)); err != nil {
					t.Fatal(err)
				}
				select {
				case <-d.Done():
				case <-time.After(safety):
					t.Fatal("sipgo's BYE did not end the dialog")
				}
			case "sipua":
				if err := d.Bye(within(t)); err != nil {
					t.Fatal(err)
				}
				select {
				case <-byes:
				case <-time.After(safety):
					t.Fatal("no BYE at sipgo")
				}
			}
		})
	}
}

// TestInteropWeCallSipgo: this UA's UAC calls sipgo's UAS; sipgo's
// dialog layer must see our ACK, and each side's BYE must end the other.
func TestInteropWeCallSipgo(t *testing.T) {
	for _, byeFrom := range []string{"sipgo", "sipua"} {
		t.Run("BYE from "+byeFrom, func(t *testing.T) {
			ua, _ := startUDP(t, nil)
			var ds *sipgo.DialogServerCache
			sessions := make(chan *sipgo.DialogServerSession, 1)
			acked := make(chan struct{}, 1)
			var hwg sync.WaitGroup
			t.Cleanup(hwg.Wait)
			p := newPeer(t, func(p *peerUA) {
				ds = sipgo.NewDialogServerCache(p.cli, p.contact())
				p.srv.OnInvite(func(req *gosip.Request, tx gosip.ServerTransaction) {
					hwg.Add(1)
					defer hwg.Done()
					s, err := ds.ReadInvite(req, tx)
					if err != nil {
						t.Errorf("ReadInvite: %v", err)
						return
					}
					s.Respond(180, "Ringing", nil)
					s.RespondSDP([]byte("v=0\r\n"))
					sessions <- s
					<-s.Context().Done()
				})
				p.srv.OnAck(func(req *gosip.Request, tx gosip.ServerTransaction) {
					if err := ds.ReadAck(req, tx); err != nil {
						t.Errorf("our ACK: %v", err)
					}
					acked <- struct{}{}
				})
				p.srv.OnBye(func(req *gosip.Request, tx gosip.ServerTransaction) {
					if err := ds.ReadBye(req, tx); err != nil {
						t.Errorf("our BYE: %v", err)
					}
				})
			})
			ci, err := ua.Invite(within(t), sip.URI{Scheme: "sip", User: "phone", Host: "127.0.0.1", Port: p.addr.Port},
				sip.Address{URI: sip.URI{Scheme: "sip", User: "5550100", Host: "127.0.0.1"}}, []byte("v=0\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for r := range ci.Responses() {
				got = append(got, r.Status)
			}
			if len(got) == 0 || got[len(got)-1] != 200 || ci.Dialog() == nil {
				t.Fatalf("responses %v, err %v", got, ci.Err())
			}
			s := <-sessions
			select {
			case <-acked:
			case <-time.After(safety):
				t.Fatal("sipgo never saw the ACK")
			}
			switch byeFrom {
			case "sipgo":
				if err := s.Bye(within(t)); err != nil {
					t.Fatal(err)
				}
				select {
				case <-ci.Dialog().Done():
				case <-time.After(safety):
					t.Fatal("sipgo's BYE did not end our dialog")
				}
			case "sipua":
				if err := ci.Dialog().Bye(within(t)); err != nil {
					t.Fatal(err)
				}
				select {
				case <-s.Context().Done():
				case <-time.After(safety):
					t.Fatal("our BYE did not end sipgo's dialog")
				}
			}
		})
	}
}
