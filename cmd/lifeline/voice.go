package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"lifeline/boards"
	"lifeline/daemon"
)

// voiceFeature is the line and the SIP-to-line gateway (startVoice,
// stopVoice); its state stays on hardware, where line.go and gateway.go
// reach it.
var voiceFeature = featureDef{name: "voice",
	check: func(c *daemon.Config, b *boards.Board) error {
		if err := checkGateway(c, b); err != nil {
			return err
		}
		return checkLineProfile(c)
	},
	new: func(hw *hardware) feature { return voiceFeat{hw} },
}

type voiceFeat struct{ hw *hardware }

func (v voiceFeat) apply(ctx context.Context, cfg *daemon.Config) error {
	return v.hw.startVoice(ctx, cfg)
}
func (v voiceFeat) stop() { v.hw.stopVoice() }

// voiceSlot is the lifetime of the line and the gateway: they are started
// together and stopped together, and kept across a reload whose line and
// gateway sections are unchanged.
type voiceSlot struct {
	key      string // voiceKey of the running sections
	running  bool
	gwListen netip.AddrPort // the running gateway's address; zero: none
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// voiceKey identifies what the line and the gateway were started from:
// their sections (without the line numbers, which move when other
// sections are edited).
func voiceKey(cfg *daemon.Config) string {
	var line daemon.LineConfig
	if cfg.Line != nil {
		line = *cfg.Line
	}
	var gw daemon.GatewayConfig
	if cfg.Gateway != nil {
		gw = *cfg.Gateway
		gw.SourceLine = 0
	}
	return fmt.Sprintf("%t %#v %t %#v", cfg.Line != nil, line, cfg.Gateway != nil, gw)
}

// startVoice starts the line and the gateway of cfg under parent, unless
// they already run from the same sections: then a call in progress goes
// on, and the daemon is told the line's state again (it may have changed
// while the watchers restarted).
func (hw *hardware) startVoice(parent context.Context, cfg *daemon.Config) error {
	key := voiceKey(cfg)
	if hw.voice.running && hw.voice.key == key {
		hw.mu.Lock()
		l := hw.line
		hw.mu.Unlock()
		if l != nil {
			hw.log.Info("line and gateway unchanged: kept across the reload", "device", l.Path())
			hw.post(lineInput(l))
		}
		return nil
	}
	// What can fail is tried before the running line and gateway are
	// stopped: a new gateway that cannot listen leaves the old one serving.
	gw, err := hw.prepareGateway(cfg)
	if err != nil {
		return err
	}
	hw.stopVoice()
	ctx, cancel := context.WithCancel(parent)
	hw.voice.key, hw.voice.running, hw.voice.cancel = key, true, cancel
	err = hw.startLine(ctx, cfg)
	if err == nil {
		err = hw.startGateway(ctx, cfg, gw)
	} else {
		gw.close()
	}
	if err != nil {
		hw.stopVoice() // the next Start tries again
		return err
	}
	info := hw.lineInfo(cfg)
	hw.post(daemon.LineInfoInput{Device: info.Device, Profile: info.Profile, AudioDevice: info.AudioDevice})
	return nil
}

// stopVoice ends the calls, stops the gateway and the line, and waits.
func (hw *hardware) stopVoice() {
	if !hw.voice.running {
		return
	}
	hw.voice.cancel()
	hw.voice.wg.Wait()
	hw.voice.running = false
	hw.voice.gwListen = netip.AddrPort{}
	hw.mu.Lock()
	hw.line = nil
	hw.mu.Unlock()
}

// goVoice runs f on a goroutine that stopVoice waits for.
func (hw *hardware) goVoice(f func()) {
	hw.voice.wg.Add(1)
	go func() {
		defer hw.voice.wg.Done()
		f()
	}()
}

// preparedGateway is what prepareGateway got ready before the running
// gateway stops: the new gateway's socket, bound (nil when it reuses the
// running gateway's address, bound once that one is closed).
type preparedGateway struct{ conn net.PacketConn }

// close releases a prepared socket that will not be used; nil-safe.
func (p *preparedGateway) close() {
	if p != nil && p.conn != nil {
		p.conn.Close()
	}
}
