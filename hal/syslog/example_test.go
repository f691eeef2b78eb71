package syslog_test

import (
	"log/slog"
	"os"

	"lifeline/hal/syslog"
)

// A daemon under procd logs to /dev/log, each record at its own priority;
// elsewhere it keeps stderr.
func Example() {
	var h slog.Handler = slog.NewTextHandler(os.Stderr, nil)
	if sh, err := syslog.Dial(syslog.DefaultPath, "lifeline", syslog.Daemon, slog.LevelInfo); err == nil {
		defer sh.Close()
		h = sh
	}
	slog.New(h).Warn("provider down", "host", "sip.example.net")
}
