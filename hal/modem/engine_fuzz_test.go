package modem_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/modem"
	"lifeline/hal/modem/modemtest"
)

// FuzzEngineReply answers a command with arbitrary bytes: the command must
// end (a final result or the timeout), never hang, and the engine must
// still run the next command.
func FuzzEngineReply(f *testing.F) {
	for _, s := range []string{"\r\nOK\r\n", "AT\r\r\nERROR\r\n", "\x00\xff", "RING\r\nNO CARRIER\r\n", "0\r", "+CME ERROR: x\r\n"} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, reply []byte, numeric bool) {
		clk := clock.NewFake(epoch)
		m := modemtest.New(map[string][]string{"AT": nil, "ATI": {"x", "OK"}})
		e := modem.NewEngine(m, modem.WithClock(clk), modem.EngineNumeric(numeric), modem.EngineTimeout(time.Second))
		defer e.Close()
		sub, cancel := e.Subscribe(1) // a slow subscriber must not block the engine
		defer cancel()
		_ = sub
		errc := make(chan error, 1)
		go func() {
			_, err := e.Command(context.Background(), "AT")
			errc <- err
		}()
		<-m.Written()
		m.InjectRaw(reply)
		m.InjectRaw([]byte("\r\n")) // end a partial line
		clk.Advance(time.Second)
		if err := <-errc; err != nil && !errors.Is(err, modem.ErrTimeout) {
			t.Fatalf("Command: %v", err)
		}
		go func() {
			_, err := e.Command(context.Background(), "ATI")
			errc <- err
		}()
		<-m.Written()
		clk.Advance(time.Second)
		if err := <-errc; err != nil && !errors.Is(err, modem.ErrTimeout) {
			t.Fatalf("next Command: %v", err)
		}
	})
}
