// Package voice holds the lower layers of the SIP-to-line gateway's audio
// path: Audio, a call's audio from and to the line in 20 ms frames (the
// seam between a line kind and the bridge: DLEAudio for a modem's
// in-band stream, PCMAudio for raw s16le PCM on a port of its own), the
// V.253 DLE-shielded voice stream codec (Decoder, Encoder), the
// voice sample formats a modem speaks (Format: 8-bit A-law, 8-bit µ-law,
// 8-bit unsigned linear, 16-bit signed linear, all at 8 kHz) with ITU-T
// G.711 conversion to and from linear PCM, and Conn, which splits one modem
// device between the AT command engine (command state) and the voice data
// stream (data state).
//
// Subpackages: call (what the gateway needs of any line: Line, Call,
// Options, Ring, error kinds), rtp (RFC 3550 header, RFC 4733 telephone
// events, packetiser, jitter buffer), sdp (a minimal RFC 3264
// offer/answer for PCMA/PCMU at 8000 Hz, 20 ms) and bridge (a call's
// audio between a UDP RTP socket and an Audio, paced by the line's
// clock). The
// modem simulator that speaks this protocol is modemsim.VoiceSim.
//
// Sources. ITU-T V.253 (Serial asynchronous automatic dialling and control
// for voice, 1998; successor of TIA IS-101) defines the voice data state and
// its <DLE> shielding; the code tables used here are V.253's as reproduced
// in modem manuals that implement it: Conexant/Rockwell RC56 "Command
// Reference Manual" section 6 (Table 6-6 "Events Detectable in the Voice
// Mode per V.253", Table 6-2/6-3 "<DLE> shielded codes"), US Robotics 56K
// "Command Reference" Tables 6-2 and 6-3, ZyXEL Omni 56K User's Guide
// Tables 22 and 23, Silicon Labs AN93 Table 112 ("<DLE> Simple Events
// DCE-to-DTE"). The compression method numbers of AT+VSM are manufacturer
// specific (V.253 only fixes the query format), so they are not coded here:
// a modem profile maps its +VSM number to a Format.
package voice
