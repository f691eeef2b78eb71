package kamailio

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"lifeline/hal/kamailio/kamailiotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startFake returns a fake Kamailio and a client bound beside it.
func startFake(t *testing.T, opts ...Option) (*kamailiotest.Server, *Client) {
	t.Helper()
	dir := t.TempDir()
	srv, err := kamailiotest.Start(filepath.Join(dir, "kamailio.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c, err := Dial(srv.Path(), append([]Option{WithLocalPath(filepath.Join(dir, "client.sock"))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c
}

func TestSetNextHopAndGet(t *testing.T) {
	srv, c := startFake(t)
	ctx := context.Background()
	if _, err := c.Get(ctx, Table, KeyNextHop); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on empty table: err = %v, want ErrNotFound", err)
	}
	if err := c.SetNextHop(ctx, "pstn", "sip:127.0.0.1:5080"); err != nil {
		t.Fatal(err)
	}
	route, uri, err := c.NextHop(ctx)
	if err != nil || route != "pstn" || uri != "sip:127.0.0.1:5080" {
		t.Fatalf("NextHop = %q, %q, %v", route, uri, err)
	}
	if v, _ := srv.Value(Table, KeyRoute); v != "pstn" {
		t.Fatalf("fake holds route %q", v)
	}
	if _, err := c.Uptime(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSetNextHopRejectsBadURI(t *testing.T) {
	_, c := startFake(t)
	for name, uri := range map[string]string{"empty": "", "crlf": "sip:a\r\nX: y"} {
		t.Run(name, func(t *testing.T) {
			if err := c.SetNextHop(context.Background(), "sip", uri); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestTimeoutAndRecovery(t *testing.T) {
	srv, c := startFake(t, WithTimeout(50*time.Millisecond))
	ctx := context.Background()
	srv.Mute(true)
	if _, err := c.Uptime(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("muted: err = %v, want ErrTimeout", err)
	}
	srv.Mute(false)
	// The client works again. On a busy machine the fake's reply may miss
	// the 50 ms timeout of a call or two: only such a timeout may fail, a
	// few times (the late reply is then skipped by its id).
	for attempt := 1; ; attempt++ {
		err := c.SetNextHop(ctx, "sip", "sip:p")
		if err == nil {
			break
		}
		if !errors.Is(err, ErrTimeout) || attempt == 20 {
			t.Fatalf("after unmute (attempt %d): %v", attempt, err)
		}
	}
}

func TestContextCancel(t *testing.T) {
	srv, c := startFake(t)
	srv.Mute(true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Uptime(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	srv.Mute(false)
	if _, err := c.Uptime(context.Background()); err != nil {
		t.Fatalf("next call after cancel: %v", err)
	}
}

func TestKamailioDown(t *testing.T) {
	dir := t.TempDir()
	c, err := Dial(filepath.Join(dir, "absent.sock"), WithLocalPath(filepath.Join(dir, "c.sock")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetNextHop(context.Background(), "sip", "sip:p"); err == nil {
		t.Fatal("no error with no server")
	}
}

func TestCloseIdempotent(t *testing.T) {
	_, c := startFake(t)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Uptime(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}

func TestParseResponse(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"result", `{"jsonrpc":"2.0","result":"Ok. Key set to new value.","id":1}`, false},
		{"kamailio pretty", "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t{\n\t\t\"uptime\":\t1\n\t},\n\t\"id\":\t1\n}", false},
		{"error", `{"jsonrpc":"2.0","error":{"code":500,"message":"Key name doesn't exist in htable."},"id":1}`, false},
		{"no version", `{"result":1,"id":1}`, true},
		{"neither", `{"jsonrpc":"2.0","id":1}`, true},
		{"garbage", `not json`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseResponse([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","result":{"item":{"name":"route","value":"pstn"}},"id":1}`))
	f.Add([]byte(`{"jsonrpc":"2.0","error":{"code":500,"message":"x"},"id":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseResponse(b)
		if err == nil && r.Error == nil && r.Result == nil {
			t.Fatal("accepted a reply with neither result nor error")
		}
	})
}
