// Package gateway is the SIP side of the SIP-to-line gateway: it answers
// the INVITEs Kamailio relays to Lifeline, places each call on the line
// with call.Line.VoiceCall and carries its audio (the call's voice.Audio)
// with hal/voice/bridge. The line is any kind (hal/voice/call): an analog
// modem ((*modem.Line).Calls; the flow below is its), a cellular module
// with PCM on its own port; the gateway imports none of them, and maps
// the call error kinds to SIP responses (Status).
//
// Outgoing call flow: INVITE → 100 Trying → SDP answer from the offer
// (hal/voice/sdp; 488 when it has neither PCMA nor PCMU) → the line dials
// in voice mode (180 Ringing once the modem has accepted the dial: the
// dial has run the profile's voice.alert_after without a final result, or
// VCON came first; an analog line signals no ringback to the modem, and a
// dial refused at once gets no 180) → VCON → 200 OK with the
// answer → bridge between RTP and the modem's full-duplex stream. Dial
// outcomes map to SIP: BUSY → 486, NO ANSWER and NO CARRIER → 480, NO
// DIALTONE, line absent or without voice mode → 503, a bad number → 484. A
// CANCEL aborts the dial (the user agent answers 487). A BYE from the phone
// hangs the line up; the line's end (the far end's loop interruption or busy
// tone in the stream, the modem ending its stream, Line.Hangup) sends BYE
// to the phone. The dial prefix (default "*00", the HT503's PSTN access
// code) is stripped from the number.
//
// Policy, before anything is dialled (Config): only Sources may send SIP
// at all (hal/gateway/guard answers the others one 403, no more); the
// Request-URI's number is normalised by hal/gateway/dialplan (escapes,
// tel: URIs, phone-context, E.164 into the line's national or
// international form: 484 when it holds no number); the dial plan's
// Allow/Block patterns refuse a number with 403 unless it is an Emergency
// number; beyond CallsPerMinute an INVITE gets 503 with Retry-After. A call
// ends after MaxDuration. Caller-ID names from the line are escaped into
// the From's display name.
//
// Media is accepted only where the gateway can justify it (checkMediaAddr):
// the SDP's c= address must be unicast and either the request's source or
// on a media network (Config.MediaNetworks, else the host's directly
// attached networks), else 488; the bridge takes RTP only from that
// address and sends none before the phone's ACK (or its first RTP). A call
// whose phone sends no RTP for Config.RTPTimeout (default 30 s) is ended,
// unless its SDP is not sendrecv (hold).
//
// SIP runs on hal/gateway/sipua, a UDP user agent (transport, RFC 3261
// transactions, dialogs with loose routing through a record-routing
// Kamailio) on Lifeline's own message layer, hal/sip, which the provider
// prober shares. Nothing of TLS, X.509, HTTP or WebSocket is linked; the
// gateway is part of every lifeline binary and runs when the
// configuration has a gateway section.
package gateway
