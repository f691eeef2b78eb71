package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"lifeline/hal/gateway"
	"lifeline/hal/modem"
	"lifeline/hal/modem/modemsim"
	"lifeline/hal/modem/serialport"
	"lifeline/hal/voice"
	linecall "lifeline/hal/voice/call"
	"lifeline/hal/voice/rtp"
	"lifeline/hal/voice/sdp"
	"lifeline/hal/voice/voicetest"
)

// pcmLine is a line of the cellular kind's shape: its control is in
// memory (the dial is accepted and answered at once) and its audio is raw
// s16le PCM on a tty of its own, opened for each call as a module's audio
// port is (voice.PCMAudio over hal/modem/serialport).
type pcmLine struct {
	audioTTY string
	dialled  chan string // each number dialled
	ended    chan error  // VoiceCall's outcome once the call is over
}

func (l *pcmLine) VoiceCall(ctx context.Context, number string, opts linecall.Options, fn func(context.Context, *linecall.Call) error) error {
	l.dialled <- number
	if opts.Dialing != nil {
		opts.Dialing()
	}
	port, err := serialport.Open(l.audioTTY, serialport.Mode{})
	if err != nil {
		return errors.Join(linecall.ErrLineDown, err)
	}
	audio := voice.NewPCMAudio(port)
	err = fn(ctx, &linecall.Call{Number: number, Audio: audio, Started: time.Now()})
	err = errors.Join(err, audio.Close()) // the line ends the call
	l.ended <- err
	return err
}

// TestPCMLineCall is the cellular line's shape proven on the gateway: a
// call from the phone goes out on a line whose audio is raw PCM on a
// second pseudo-terminal, through the same gateway and bridge as the
// analog modem's calls. Tagged frames go both ways in lock step (one
// phone packet, one line frame); each direction must arrive exact and in
// order after G.711 transcoding, which is lossless for the samples
// chosen (codes that survive decoding and encoding again).
func TestPCMLineCall(t *testing.T) {
	for _, tc := range []struct {
		codec string
		pt    uint8
	}{{"PCMA", rtp.PayloadPCMA}, {"PCMU", rtp.PayloadPCMU}} {
		t.Run(tc.codec, func(t *testing.T) {
			master, slave, err := modemsim.OpenPTY()
			if err != nil {
				t.Skipf("needs pseudo-terminals: %v", err)
			}
			defer master.Close()
			defer slave.Close() // held open: the master reads no EIO between calls
			line := &pcmLine{audioTTY: slave.Name(), dialled: make(chan string, 1), ended: make(chan error, 1)}
			r := newRigWith(t, func(c *gateway.Config, _ *modem.Profile, _ string) { c.Line = line })
			codecFmt, _ := voice.CodecFormat(tc.codec)

			phone, port := voicetest.EvenUDP(t)
			defer phone.Close()
			c := r.invite(r.ctx(), "*005551234", offerFor(t, port, tc.codec), nil)
			if c.err != nil || c.codes[len(c.codes)-1] != 200 {
				t.Fatalf("INVITE: %v (responses %v), want 200", c.err, c.codes)
			}
			if n := <-line.dialled; n != "5551234" {
				t.Fatalf("dialled %q, want 5551234", n)
			}
			if err := c.sess.Ack(r.ctx()); err != nil {
				t.Fatal(err)
			}
			ans, err := sdp.Parse(c.sess.InviteResponse.Body())
			if err != nil {
				t.Fatal(err)
			}
			gwRTP := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ans.Media[0].Port}

			const lead, tagged, trail = 4, 50, 8 // frames of silence, tags, silence
			tags := tagFrames(codecFmt, tagged)
			silence := bytes.Repeat([]byte{codecFmt.SilenceByte()}, voice.FrameSamples)
			pk := rtp.NewPacketizer(tc.pt, 7, 1, 0)
			toLine := make([]byte, voice.FormatLinear16.FrameBytes())
			var fromGateway [][]byte // what the gateway wrote to the line, as codec frames
			for i := range lead + tagged + trail {
				// The phone's packet is in the gateway's socket before
				// the line's frame is: the bridge reads the socket once
				// per line frame.
				out := silence
				if i >= lead && i < lead+tagged {
					out = tags[i-lead]
				}
				if i < lead+tagged {
					if _, err := phone.WriteTo(pk.Packet(out, voice.FrameSamples), gwRTP); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := master.Write(voice.Transcode(nil, voice.FormatLinear16, out, codecFmt)); err != nil {
					t.Fatal(err)
				}
				// The frame back to the line answers the line's frame:
				// once it is read, the RTP of this frame has been sent.
				master.SetReadDeadline(time.Now().Add(safety))
				if _, err := io.ReadFull(master, toLine); err != nil {
					t.Fatalf("frame %d to the line: %v", i, err)
				}
				fromGateway = append(fromGateway, voice.Transcode(nil, codecFmt, toLine, voice.FormatLinear16))
			}
			if err := c.sess.Bye(r.ctx()); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-line.ended:
				if err != nil {
					t.Fatalf("the line's call ended with %v", err)
				}
			case <-time.After(safety):
				t.Fatal("the line's call did not end after the BYE")
			}

			// The phone's RTP is all in its socket (loopback delivers at
			// once): the deadline only ends the reading once it is empty
			// (an expired deadline would fail the read at once).
			var toPhone [][]byte
			var h rtp.Header
			buf := make([]byte, 2048)
			for {
				phone.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				n, _, err := phone.ReadFrom(buf)
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				payload, err := h.Unmarshal(buf[:n])
				if err != nil || h.PayloadType != tc.pt {
					t.Fatalf("bad RTP %+v: %v", h, err)
				}
				toPhone = append(toPhone, append([]byte(nil), payload...))
			}
			checkTagged(t, "line to phone", toPhone, tags, silence)
			checkTagged(t, "phone to line", fromGateway, tags, silence)
		})
	}
}

// tagFrames returns n frames of codec f, each unlike the others and
// unlike silence, made of codes that decode and encode back to themselves.
func tagFrames(f voice.Format, n int) [][]byte {
	var codes []byte
	for b := range 256 {
		c := []byte{byte(b)}
		if bytes.Equal(f.Encode(nil, f.Decode(nil, c)), c) && c[0] != f.SilenceByte() {
			codes = append(codes, c[0])
		}
	}
	frames := make([][]byte, n)
	for i := range frames {
		fr := make([]byte, voice.FrameSamples)
		for k := range fr {
			fr[k] = codes[(i*31+k*7)%len(codes)]
		}
		fr[0] = codes[i] // the tag: never two alike
		frames[i] = fr
	}
	return frames
}

// checkTagged wants got to be silence, then every tag exactly and in
// order, then silence.
func checkTagged(t *testing.T, what string, got, tags [][]byte, silence []byte) {
	t.Helper()
	i := 0
	for i < len(got) && bytes.Equal(got[i], silence) {
		i++
	}
	if len(got)-i < len(tags) {
		t.Fatalf("%s: %d frames after the leading silence, want the %d tagged ones", what, len(got)-i, len(tags))
	}
	for k, tag := range tags {
		if !bytes.Equal(got[i+k], tag) {
			t.Fatalf("%s: frame %d after the leading silence is not tag %d:\n got %x\nwant %x", what, k, k, got[i+k], tag)
		}
	}
	for _, f := range got[i+len(tags):] {
		if !bytes.Equal(f, silence) {
			t.Fatalf("%s: after the tags, %x, want silence", what, f)
		}
	}
}
