package daemon

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"lifeline/hal/clock"
)

// BenchmarkStep is the cost of one route decision (an input that flips the
// route each time, the expensive case: reasons are formatted).
func BenchmarkStep(b *testing.B) {
	s := healthy()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s, _ = Step(testParams, s, WANChanged{Link: i%2 == 0, Addressed: true, DefaultRoute: true}, t0.Add(time.Duration(i)*time.Minute))
	}
}

type chanActuator chan Route

func (c chanActuator) SetRoute(r Route, _ string) { c <- r }

// BenchmarkInputToSwitch measures the daemon's share of detection-to-switch:
// from a hal input handed to Post until the route actuators are told
// (route file and status.json written atomically on the way). It reports
// p50 and p99 over the iterations. The state dir is on tmpfs when the
// machine has /dev/shm, as /var/run is on a router: each switch is followed
// by two fsyncs, which a disk makes the bottleneck of the next iteration.
func BenchmarkInputToSwitch(b *testing.B) {
	dir, err := os.MkdirTemp("/dev/shm", "lifeline-bench")
	if err != nil {
		dir = b.TempDir()
	} else {
		defer os.RemoveAll(dir)
	}
	cfg := DefaultConfig()
	cfg.HooksDir = filepath.Join(dir, "hooks.d")
	cfg.FailbackHold = 0
	act := make(chanActuator, 1)
	d, err := New(Options{Config: cfg, StateDir: dir, Clock: clock.Real(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Actuators: []RouteActuator{act}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-act // the route at start
	var lat []time.Duration
	up := true
	for b.Loop() {
		up = !up
		start := time.Now()
		d.Post(ctx, wanIn(up))
		<-act
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
