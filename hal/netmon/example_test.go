package netmon_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"lifeline/hal/netmon"
)

// Follow the WAN by name and print every change. The callback runs on
// Run's goroutine, one call at a time; it hands the state on and returns.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	m := netmon.New("pppoe-wan", netmon.WithLogger(slog.Default()))
	_ = m.Run(ctx, func(s netmon.WANState) {
		fmt.Printf("wan %s: up=%v default=%v addrs=%v\n", s.Interface, s.Up(), s.DefaultRoute(), s.Addrs)
	})
}
