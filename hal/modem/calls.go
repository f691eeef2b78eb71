package modem

import (
	"context"

	"lifeline/hal/voice"
	"lifeline/hal/voice/call"
)

// Calls returns the line as hal/voice/call sees it, for the gateway:
// VoiceCall and VoiceAnswer hand over each call with its data period as a
// voice.DLEAudio; rings are SubscribeRings'. The line keeps its own
// contract (VoiceCall): the call's function owns the audio until it
// returns, then the line ends the call.
func (l *Line) Calls() call.Line { return calls{l} }

// calls adapts a *Line to call.Line.
type calls struct{ l *Line }

func (c calls) VoiceCall(ctx context.Context, number string, opts call.Options, fn func(context.Context, *call.Call) error) error {
	return c.l.VoiceCall(ctx, number, opts, callFunc{fn}.run)
}

func (c calls) VoiceAnswer(ctx context.Context, opts call.Options, fn func(context.Context, *call.Call) error) error {
	return c.l.VoiceAnswer(ctx, opts, callFunc{fn}.run)
}

func (c calls) SubscribeRings(buf int) (<-chan call.Ring, func()) { return c.l.SubscribeRings(buf) }

// callFunc is the gateway's call function, run with the call.Call of a
// modem call.
type callFunc struct {
	fn func(context.Context, *call.Call) error
}

func (f callFunc) run(ctx context.Context, c *Call) error {
	return f.fn(ctx, &call.Call{Number: c.Number, Incoming: c.Incoming, Caller: c.Caller,
		Audio: voice.NewDLEAudio(c.Stream, c.Format), Started: c.Started})
}
