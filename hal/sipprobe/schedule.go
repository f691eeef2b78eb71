package sipprobe

import (
	"context"
	"time"
)

// Run probes on the adaptive schedule until ctx is done, then returns nil
// (ErrRunning if Run is already running on this Prober).
//
// Schedule: while probes succeed, one probe per interval (start to start).
// After a lost probe, the next starts one fast interval after the lost one
// started (at once if the loss was a timeout longer than that), up to
// fastProbes times in a row; if the provider is still silent, the schedule
// falls back to the steady interval until it answers again. With the
// defaults (1 s interval, 300 ms timeout, 200 ms fast interval) three
// losses in a row are confirmed 0.9–1.9 s after the provider dies
// silently, at one request per second while it is healthy.
//
// fn is called serially from Run's goroutine with every Result, one per
// probe; it must not block for long and must not call Run. A probe cut
// short by ctx is not reported.
func (p *Prober) Run(ctx context.Context, fn func(Result)) error {
	p.mu.Lock()
	if p.running {
		p.mu.Unlock()
		return ErrRunning
	}
	p.running = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.running = false
		p.mu.Unlock()
	}()

	timer := p.clk.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	losses := 0
	for {
		r := p.Probe(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if r.OK {
			losses = 0
		} else {
			losses++
			p.log.Debug("probe lost", "losses", losses, "err", r.Err)
		}
		fn(r)
		timer.Reset(p.nextWait(r, losses, p.clk.Now()))
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C():
		}
	}
}

// nextWait is the schedule policy: the wait after result r, the losses-th
// loss in a row (0 after a success), at time now.
func (p *Prober) nextWait(r Result, losses int, now time.Time) time.Duration {
	every := p.interval
	if losses > 0 && losses <= p.fastProbes {
		every = p.fastInterval
	}
	return max(every-now.Sub(r.At), 0)
}

// Source is what a consumer needs from a provider probe: *Prober
// implements it, and so does sipprobetest.Fake for tests of the consumer.
type Source interface {
	// Run reports one Result per probe to fn, serially, until ctx is
	// done; see Prober.Run for the contract.
	Run(ctx context.Context, fn func(Result)) error
}

var _ Source = (*Prober)(nil)
