package notify_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"lifeline/hal/cellular/notify"
	"lifeline/hal/clock"
)

// printer is a Sender that prints.
type printer struct{}

func (printer) SendSMS(_ context.Context, to, text string) error {
	fmt.Println(to, "←", text)
	return nil
}

func ExampleNotifier() {
	clk := clock.NewFake(time.Date(2026, 12, 4, 17, 5, 0, 0, time.UTC))
	n := notify.New(printer{}, notify.Config{Name: "gw1", Numbers: []string{"+491701234567"}, Location: time.UTC},
		clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	n.Notify(notify.Event{Kind: "powerout", Power: "battery", Battery: "87"})
	n.Close(context.Background()) // sends what waits
	// Output: +491701234567 ← gw1: mains lost, battery 87% 2026-12-04 17:05 UTC
}
