package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"lifeline/hal/cellular/cellsim"
	"lifeline/hal/cellular/module"
	"lifeline/hal/cellular/profiles"
	"lifeline/hal/kamailio/siprig"
	"lifeline/hal/voice"
	voicecall "lifeline/hal/voice/call"
)

// BenchmarkGatewayCallCellular is BenchmarkGatewayCall on a cellular line:
// the daemon's line is a cellsim module (quectel-ec25, real clock) whose
// far end echoes on its 20 ms audio clock, the call's audio raw 16-bit
// PCM on the module's second pty (voice.PCMAudio) instead of the modem's
// DLE stream. Same phone, frames, metrics and isolation; the round trip
// is not split (no relay on the audio port), and the control run is a
// Module in the test dialling a second simulator and answering each frame
// with one, as the bridge does:
//
//	CGO_ENABLED=1 go test -run '^$' -bench 'GatewayCall(Cellular)?$' -benchtime 1x ./cmd/lifeline
func BenchmarkGatewayCallCellular(b *testing.B) {
	benchGatewayCall(b, gwbLine{format: voice.FormatLinear16, control: gwbCellSimOnly, start: startGWBCellRig})
}

// startGWBCellRig is startGWBRig on a cellular line: a quectel-ec25
// simulator, no relay.
func startGWBCellRig(b *testing.B, bin string, dur time.Duration, format voice.Format) *gwbRig {
	b.Helper()
	sim := gwbCellSim(b)
	r := &gwbRig{sipPort: siprig.FreePort(b)}
	r.pcma, _, r.echo = gwbFrames(int(dur/(20*time.Millisecond))+100, format)
	dir := b.TempDir()
	cfg := fmt.Sprintf(gwCellularLineConfig, filepath.Join(dir, "hooks.d"), "quectel-ec25", sim.ATPath(), sim.AudioPath())
	r.d = startGWBDaemon(b, bin, strings.Replace(cfg, "127.0.0.1:0", fmt.Sprintf("127.0.0.1:%d", r.sipPort), 1)+"\toption prefix '*00'\n")
	r.d.waitFor(b, "line idle", noCallLineIdle)
	return r
}

// gwbCellSim is a quectel-ec25 simulator on the real clock, closed with tb.
func gwbCellSim(tb testing.TB) *cellsim.Sim {
	tb.Helper()
	prof, err := profiles.Load("quectel-ec25")
	if err != nil {
		tb.Fatal(err)
	}
	sim, err := cellsim.New(tb.TempDir(), prof)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sim.Close() })
	return sim
}

// gwbCellSimOnly is the cellular control run: a Module in the test dials a
// simulator and, like the bridge, answers each frame of the call's audio
// with one tagged frame; it returns the round trip of each frame's echo.
func gwbCellSimOnly(b *testing.B, dur time.Duration) []time.Duration {
	b.Helper()
	sim := gwbCellSim(b)
	prof, _ := profiles.Load("quectel-ec25")
	m, err := module.New(sim.ATPath(), sim.AudioPath(), prof)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); m.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	ready := time.Now().Add(15 * time.Second)
	for m.Status().State != module.StateIdle {
		if time.Now().After(ready) {
			b.Fatalf("control run: module %+v", m.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	n := int(dur/(20*time.Millisecond)) + 100
	_, line, _ := gwbFrames(n, voice.FormatLinear16)
	idx := make(map[string]int, n)
	for k, l := range line {
		idx[string(l)] = k
	}
	var rtts []time.Duration
	err = m.Calls().VoiceCall(gwbStepCtx(b), "5551234", voicecall.Options{}, func(cctx context.Context, c *voicecall.Call) error {
		sentAt := make([]time.Time, 0, n)
		got := make([]bool, n)
		end := time.Now().Add(dur)
		done := make(chan error, 1)
		c.Audio.Deliver(voice.Sink{
			Frame: func(frame []byte) error {
				now := time.Now()
				if k, ok := idx[string(frame)]; ok && k < len(sentAt) && !got[k] {
					got[k] = true
					rtts = append(rtts, now.Sub(sentAt[k]))
				}
				if now.After(end) || len(sentAt) == n {
					return voice.ErrAudioClosed
				}
				sentAt = append(sentAt, time.Now())
				return c.Audio.WriteFrame(line[len(sentAt)-1])
			},
			End: func(err error) { done <- err },
		})
		select {
		case <-done:
		case <-cctx.Done():
		}
		return c.Audio.Close()
	})
	if err != nil {
		b.Fatalf("control run: %v", err)
	}
	return rtts
}
