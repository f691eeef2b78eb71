package rtp

// Packetizer numbers outgoing frames: the sequence number grows by one per
// packet and the timestamp by the samples in it (RFC 3550 section 5.1);
// the first packet, and the first after Talkspurt, carry the marker bit.
// The initial sequence number and timestamp should be random (section
// 5.1); the caller chooses them, so tests are repeatable.
type Packetizer struct {
	hdr    Header
	marker bool
	buf    []byte
}

// NewPacketizer starts a stream with the given payload type, SSRC and
// initial sequence number and timestamp.
func NewPacketizer(payloadType uint8, ssrc uint32, seq uint16, ts uint32) *Packetizer {
	return &Packetizer{
		hdr:    Header{PayloadType: payloadType & 0x7F, SSRC: ssrc, SequenceNumber: seq, Timestamp: ts},
		marker: true,
	}
}

// Packet returns the RTP packet for one frame of samples (payload is
// copied) and advances the sequence number and timestamp. The returned
// slice is reused by the next call.
func (p *Packetizer) Packet(payload []byte, samples uint32) []byte {
	p.hdr.Marker = p.marker
	p.marker = false
	p.buf, _ = p.hdr.Append(p.buf[:0]) // cannot fail: no CSRC, PT masked
	p.buf = append(p.buf, payload...)
	p.hdr.SequenceNumber++
	p.hdr.Timestamp += samples
	return p.buf
}

// Skip advances the timestamp by samples without sending (silence
// suppression); the next packet carries the marker.
func (p *Packetizer) Skip(samples uint32) {
	p.hdr.Timestamp += samples
	p.marker = true
}

// Next returns the sequence number and timestamp of the next packet.
func (p *Packetizer) Next() (seq uint16, ts uint32) {
	return p.hdr.SequenceNumber, p.hdr.Timestamp
}

// EventPacket returns an RFC 4733 telephone-event packet of payload type
// pt for the event that started at timestamp ts (every packet of one
// event carries its start's timestamp), with the next sequence number;
// marker is set on an event's first packet. The timestamp of the audio
// stream does not move: the caller Skips the frames the event replaces.
// The returned slice is reused by the next call.
func (p *Packetizer) EventPacket(pt uint8, ts uint32, marker bool, e Event) []byte {
	h := p.hdr
	h.PayloadType, h.Timestamp, h.Marker = pt&0x7F, ts, marker
	p.buf, _ = h.Append(p.buf[:0])
	p.buf = e.Append(p.buf)
	p.hdr.SequenceNumber++
	return p.buf
}
