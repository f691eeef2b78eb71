package gateway

import (
	"context"
	"log/slog"
	"sync"

	"lifeline/hal/voice"
)

// DigitSender is implemented by a call's audio whose line sends DTMF by
// command (a cellular module's AT+VTS) rather than as in-band tones: the
// phone's RFC 4733 digits then go to SendDigit, in order, and the bridge
// plays no tones.
type DigitSender interface {
	SendDigit(ctx context.Context, digit byte) error
}

// digitQueue is the digits of one call on their way to a DigitSender.
const digitQueue = 32

// lineDigits returns the bridge's OnDigit for a's line (nil: a plays the
// digits in band) and a stop that waits for the queue's goroutine. A
// digit that does not fit the queue is dropped and logged.
func lineDigits(ctx context.Context, a voice.Audio, log *slog.Logger) (onDigit func(byte), stop func()) {
	ds, ok := a.(DigitSender)
	if !ok {
		return nil, func() {}
	}
	ch := make(chan byte, digitQueue)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // ends with the call (stop)
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case d := <-ch:
				if err := ds.SendDigit(ctx, d); err != nil && ctx.Err() == nil {
					log.Warn("gateway: DTMF to the line", "digit", string(rune(d)), "err", err)
				}
			}
		}
	}()
	onDigit = func(d byte) {
		select {
		case ch <- d:
		default:
			log.Warn("gateway: DTMF to the line dropped: queue full", "digit", string(rune(d)))
		}
	}
	return onDigit, func() { cancel(); wg.Wait() }
}
