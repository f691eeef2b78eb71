// Package modem owns the fallback telephone line: an AT command engine over
// an io.ReadWriter (Engine), modem dialects as embedded data (Profile), and
// Line, which keeps a serial modem or ISDN terminal adapter open, healthy
// and re-initialised across unplug and replug, and reports its state.
//
// The layering follows warthog618/modem's at package: the engine depends on
// io.ReadWriter only, one goroutine owns the device and callers send it
// requests; unsolicited result codes are delivered to subscribers.
//
// Line states for the route machine: absent (no device or it does not
// answer AT), initialising, idle (usable), ringing, in-call (from the start
// of dialling until hang-up; no failback to SIP while in it), no-line (the
// modem answers but the line check failed: degraded). The health check runs
// every Health.Interval while idle, no-line or initialising, never while
// ringing or in a call.
//
// Voice calls (ITU-T V.253, profiles with a voice section): Line.VoiceCall
// places one and Line.VoiceAnswer takes the call that rings the line; both
// hand the modem's full-duplex audio stream (a voice.DataStream) to a
// function for as long as the call lasts, while the Line keeps the device
// and the AT engine. SubscribeRings reports each ring with its caller ID
// and the end of the ringing. Line.Calls is the line as the gateway sees
// any line kind (hal/voice/call.Line): each call's stream wrapped as a
// voice.DLEAudio; Ring, CallerID and VoiceOptions are call's types, and
// the call errors (ErrBusy, ErrLineBusy, …) match call's error kinds.
//
// Subpackages: serialport is the go.bug.st/serial backend, modemsim a modem
// simulator on a pseudo-terminal (used by the sim board and the integration
// tests), modemtest a scripted io.ReadWriter for unit tests.
package modem
