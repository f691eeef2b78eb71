package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"lifeline/boards"
	"lifeline/daemon"
	"lifeline/hal/clock"
	"lifeline/hal/gpio"
	"lifeline/hal/gpio/gpiotest"
	"lifeline/hal/kamailio"
	"lifeline/hal/kamailio/kamailiotest"
	"lifeline/hal/keys"
	"lifeline/hal/led"
)

func quietLog(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }

func ptr[T any](v T) *T { return &v }

func TestLEDPatterns(t *testing.T) {
	tests := []struct {
		name              string
		st                daemon.Status
		ack               bool
		route, power, lin led.Pattern
	}{
		{"healthy", daemon.Status{Route: "sip", Power: daemon.PowerStatus{Flags: []string{"OL"}}, Line: daemon.LineStatus{State: "idle"}},
			false, led.On(), led.On(), led.On()},
		{"pstn on battery in a call", daemon.Status{Route: "pstn", Power: daemon.PowerStatus{Flags: []string{"OB"}}, Line: daemon.LineStatus{State: "in-call"}},
			false, slowBlink, slowBlink, slowBlink},
		{"degraded, FSD, no line", daemon.Status{Route: "sip", Degraded: true, Power: daemon.PowerStatus{Flags: []string{"OB", "LB", "FSD"}}, Line: daemon.LineStatus{State: "no-line"}},
			false, fastBlink, fastBlink, led.Off()},
		{"keypad ack wins", daemon.Status{Route: "pstn", Line: daemon.LineStatus{State: "absent"}},
			true, fastBlink, led.On(), led.Off()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := patterns(&tc.st, tc.ack)
			if p["route"] != tc.route || p["power"] != tc.power || p["line"] != tc.lin {
				t.Fatalf("patterns = route %v power %v line %v", p["route"], p["power"], p["line"])
			}
		})
	}
}

// A keypad override flashes the route LED for ackTime on the fake clock,
// then the route pattern returns; Close restores the LED.
func TestLEDDriverAck(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	route := &led.Fake{Name: "route"}
	applied := make(chan struct{}, 8)
	d := startLEDDriver(map[string]led.LED{"route": route}, quietLog(t), clk, func() { applied <- struct{}{} })
	waitPattern := func(want led.Pattern) {
		t.Helper()
		<-applied
		if got := route.Current(); got != want {
			t.Fatalf("route LED %v, want %v (history %v)", got, want, route.History())
		}
	}
	d.Observe(daemon.Status{Route: "sip", Override: daemon.OverrideStatus{Mode: "auto"}})
	waitPattern(led.On())
	d.Observe(daemon.Status{Route: "pstn", Override: daemon.OverrideStatus{Mode: "pstn", Source: ptr("keypad")}})
	waitPattern(fastBlink)
	clk.WaitTimers(1)
	clk.Advance(ackTime)
	waitPattern(slowBlink)
	d.Close()
	d.Close()
	if !route.Closed {
		t.Fatal("LED not restored on Close")
	}
}

// The proxy adapter applies the latest route to a (fake) Kamailio and never
// blocks the caller.
func TestProxyAdapter(t *testing.T) {
	srv, err := kamailiotest.Start(filepath.Join(t.TempDir(), "rpc.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	p := newProxyAdapter(quietLog(t), clock.Real())
	cfg := &daemon.Config{
		Proxy:   &daemon.ProxyConfig{Socket: srv.Path(), ProviderURI: "sip:provider.example", PSTNURI: "sip:127.0.0.1:5080", CheckInterval: time.Hour},
		Gateway: &daemon.GatewayConfig{Prefix: "*00", Emergency: []string{"112", "911"}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.run(ctx, cfg); close(done) }()
	defer func() { cancel(); <-done }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	p.SetRoute(daemon.RouteSIP, "start")
	if err := srv.WaitValue(wctx, "lifeline", "nexthop", "sip:provider.example"); err != nil {
		t.Fatal(err)
	}
	// The gateway's prefix and emergency numbers go to the line whatever
	// the route.
	for key, want := range map[string]string{"line": "sip:127.0.0.1:5080", "prefix": "*00", "emergency": "112,911"} {
		if err := srv.WaitValue(wctx, "lifeline", key, want); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	p.SetRoute(daemon.RoutePSTN, "wan down")
	if err := srv.WaitValue(wctx, "lifeline", "nexthop", "sip:127.0.0.1:5080"); err != nil {
		t.Fatal(err)
	}
	srv.Mute(true) // a Kamailio that does not answer must not block SetRoute
	// SetRoute returns whatever Kamailio does; a blocked one would hang
	// here for good, so the bound is a safety net, not a speed check.
	flapped := make(chan struct{})
	go func() {
		defer close(flapped)
		for i := 0; i < 100; i++ {
			p.SetRoute(daemon.RouteSIP, "flap")
		}
	}()
	select {
	case <-flapped:
	case <-time.After(30 * time.Second):
		t.Fatal("SetRoute blocked on a silent Kamailio")
	}
}

// GPIO keys: each edge of the line is a key event; a release as well.
func TestGPIOKey(t *testing.T) {
	be := &gpiotest.Backend{Lines: []*gpiotest.Line{{Chip: "gpiochip0", Offset: 3, Name: "KEY_PHONE"}}}
	clk := clock.NewFake(time.Unix(0, 0))
	k, err := newGPIOKey(be, boards.Key{Name: "phone", Source: "gpio", GPIO: &boards.GPIOLine{Line: "KEY_PHONE", Offset: -1}}, clk)
	if err != nil {
		t.Fatal(err)
	}
	be.Inject("KEY_PHONE", true, time.Millisecond)
	be.Inject("KEY_PHONE", false, 2*time.Millisecond)
	for _, want := range []bool{true, false} {
		if ev := <-k.Events(); ev.Key != "phone" || ev.Pressed != want {
			t.Fatalf("event %+v, want pressed=%v", ev, want)
		}
	}
	k.Close()
	k.Close()
	if _, ok := <-k.Events(); ok {
		t.Fatal("events not closed")
	}
	var _ gpio.Opener = be
}

// Only the board's buttons pass: OpenWrt broadcasts every button.
func TestFilterKeys(t *testing.T) {
	f := keys.NewFake(clock.NewFake(time.Unix(0, 0)))
	src := filterKeys(f, map[string]string{"BTN_0": "phone"})
	f.Press("reset")
	f.Press("phone")
	if ev := <-src.Events(); ev.Key != "phone" {
		t.Fatalf("got %+v", ev)
	}
	src.Close()
}

// Without a gateway section (say, after a reload removed it) the proxy
// adapter clears the numbers an earlier configuration sent to the line.
func TestProxyAdapterClearsLineNumbers(t *testing.T) {
	srv, err := kamailiotest.Start(filepath.Join(t.TempDir(), "rpc.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // safety net only
	defer cancel()
	c, err := kamailio.Dial(srv.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetLineNumbers(ctx, kamailio.LineNumbers{URI: "sip:127.0.0.1:5080", Prefix: "*00", Emergency: []string{"112"}}); err != nil {
		t.Fatal(err)
	}
	p := newProxyAdapter(quietLog(t), clock.Real())
	cfg := &daemon.Config{Proxy: &daemon.ProxyConfig{Socket: srv.Path(), ProviderURI: "sip:provider.example",
		PSTNURI: "sip:127.0.0.1:5080", CheckInterval: time.Hour}}
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p.run(rctx, cfg); close(done) }()
	defer func() { rcancel(); <-done }()
	p.SetRoute(daemon.RouteSIP, "start")
	for key, want := range map[string]string{"line": "", "prefix": "", "emergency": ""} {
		if err := srv.WaitValue(ctx, "lifeline", key, want); err != nil {
			t.Fatalf("%s not cleared: %v", key, err)
		}
	}
}
