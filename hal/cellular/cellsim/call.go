package cellsim

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// urc formats the dialect's call-state codes; mu is held. state is one of
// the Call* constants or "ended".
func (s *Sim) urc(state string, c *call, cause int) []string {
	dir, toa := 0, 129
	if c.incoming {
		dir = 1
	}
	if strings.HasPrefix(c.number, "+") {
		toa = 145
	}
	ccinfo := func(stat int) string {
		return fmt.Sprintf(`+QIND: "ccinfo",1,%d,%d,0,0,"%s",%d`, dir, stat, c.number, toa)
	}
	dur := time.Duration(0)
	if !c.start.IsZero() {
		dur = s.clk.Now().Sub(c.start)
	}
	switch s.vendor + " " + state {
	case "huawei dialing":
		return []string{"^ORIG:1,0"}
	case "huawei alerting":
		return []string{"^CONF:1"}
	case "huawei active":
		return []string{"^CONN:1,0"}
	case "huawei ended":
		return []string{fmt.Sprintf("^CEND:1,%d,104,%d", int(dur.Seconds()), cause)}
	case "quectel dialing":
		return []string{ccinfo(2)}
	case "quectel alerting":
		return []string{ccinfo(3)}
	case "quectel incoming":
		return []string{ccinfo(4)}
	case "quectel active":
		return []string{ccinfo(0)}
	case "quectel ended":
		return []string{ccinfo(6)}
	case "simcom active":
		return []string{"VOICE CALL: BEGIN"}
	case "simcom ended":
		if c.start.IsZero() {
			return nil
		}
		d := int(dur.Seconds())
		return []string{fmt.Sprintf("VOICE CALL: END: %02d%02d%02d", d/3600, d/60%60, d%60)}
	}
	return nil
}

// dial places an outgoing call; mu is held. 112 and 911 go out without
// a usable SIM or registration, as networks allow emergency calls.
func (s *Sim) dial(number string) []string {
	emergency := number == "112" || number == "911"
	if s.call != nil {
		return []string{"+CME ERROR: 3"}
	}
	if !emergency && !s.registered().Registered() {
		return []string{"NO CARRIER"}
	}
	c := &call{number: number, stop: make(chan struct{})}
	s.call, s.st.Number, s.st.DTMF = c, number, ""
	out := append([]string{"OK"}, s.urc(CallDialing, c, 0)...)
	switch s.outcome {
	case Busy:
		return append(out, s.end(17, "BUSY")...)
	case NoAnswer:
		return append(append(out, s.urc(CallAlerting, c, 0)...), s.end(19, "NO ANSWER")...)
	}
	s.st.Call = CallAlerting
	out = append(out, s.urc(CallAlerting, c, 0)...)
	if s.outcome == Answer {
		out = append(out, s.connect()...)
	}
	return out
}

// connect makes the current call active and starts its audio; mu is held.
func (s *Sim) connect() []string {
	c := s.call
	c.start = s.clk.Now()
	s.st.Call = CallActive
	s.echo = s.echo[:0]
	if s.p != nil {
		s.p.wg.Add(1)
		go s.runAudio(s.p, c.stop)
	}
	return s.urc(CallActive, c, 0)
}

// end clears the current call with a cause and a final text ("" none);
// mu is held.
func (s *Sim) end(cause int, final string) []string {
	c := s.call
	if c == nil {
		return nil
	}
	out := s.urc("ended", c, cause)
	if s.vendor != "huawei" && final != "" || s.vendor == "huawei" && final == "NO CARRIER" {
		out = append(out, final)
	}
	close(c.stop)
	s.call, s.st.Call = nil, CallIdle
	if s.vendor != "quectel" { // Quectel keeps AT+QPCMV until AT+QPCMV=0
		s.st.AudioRouted = false
	}
	return out
}

// hangup ends the call from the host's side; mu is held.
func (s *Sim) hangup(cause int, remote bool) []string {
	final := ""
	if remote {
		final = "NO CARRIER"
	}
	return s.end(cause, final)
}

// answer takes an incoming call; mu is held.
func (s *Sim) answer() []string {
	if s.call == nil || s.st.Call != CallIncoming {
		return []string{"NO CARRIER"}
	}
	close(s.call.stop) // stops the ring repeater
	s.call.stop = make(chan struct{})
	return append([]string{"OK"}, s.connect()...)
}

// dtmf records a digit sent during an active call; mu is held.
func (s *Sim) dtmf(d string) []string {
	if s.st.Call != CallActive || len(d) != 1 || !strings.Contains("0123456789*#ABCD", d) {
		return []string{"+CME ERROR: 3"}
	}
	s.st.DTMF += d
	return []string{"OK"}
}

// PressDigits is the far end pressing digits (0-9 * # A-D) during the
// active call: the module reports each as its dialect does, Huawei
// ^DDTMF: <digit>, SIMCom +RXDTMF: <digit>, Quectel +QTONEDET: <ASCII
// code> (only after the host sent AT+QTONEDET=1, as the module does not
// report them otherwise).
func (s *Sim) PressDigits(digits string) error {
	if digits == "" || strings.Trim(digits, "0123456789*#ABCD") != "" {
		return ErrDigits
	}
	s.mu.Lock()
	p, active, detect := s.p, s.st.Call == CallActive, s.vendor != "quectel" || s.toneDetect
	s.mu.Unlock()
	switch {
	case p == nil:
		return ErrUnplugged
	case !active:
		return ErrState
	case !detect:
		return nil // AT+QTONEDET is off: the tones go by unreported
	}
	prefix := "+RXDTMF: "
	switch s.vendor {
	case "huawei":
		prefix = "^DDTMF: "
	case "quectel":
		prefix = "+QTONEDET: "
	}
	for i := range len(digits) {
		d := digits[i : i+1]
		if s.vendor == "quectel" {
			d = strconv.Itoa(int(digits[i])) // the digit's ASCII code
		}
		s.send(p, prefix+d)
	}
	return nil
}

// Ring starts an incoming call from number ("" withheld): RING and
// +CLIP now and every RingEvery until answered or RemoteHangup.
func (s *Sim) Ring(number string) error {
	s.mu.Lock()
	p := s.p
	if p == nil {
		s.mu.Unlock()
		return ErrUnplugged
	}
	if s.call != nil {
		s.mu.Unlock()
		return ErrState
	}
	c := &call{number: number, incoming: true, stop: make(chan struct{})}
	s.call, s.st.Call, s.st.Number, s.st.DTMF = c, CallIncoming, number, ""
	out := append(s.urc(CallIncoming, c, 0), s.ringLines(number)...)
	s.notify()
	p.wg.Add(1)
	go s.repeatRing(p, number, c.stop)
	s.mu.Unlock()
	s.send(p, out...)
	return nil
}

func (s *Sim) ringLines(number string) []string {
	toa, valid := 129, 0
	if strings.HasPrefix(number, "+") {
		toa = 145
	}
	if number == "" {
		toa, valid = 128, 1
	}
	return []string{"RING", fmt.Sprintf(`+CLIP: "%s",%d,,,,%d`, number, toa, valid)}
}

// repeatRing repeats RING and +CLIP until stop closes.
func (s *Sim) repeatRing(p *plug, number string, stop <-chan struct{}) {
	s.every(p, stop, RingEvery, func() bool {
		s.send(p, s.ringLines(number)...)
		return true
	})
}

// every calls fn each period on the injected clock until stop or the
// plug's stop closes or fn returns false. It runs as a goroutine of p
// (the caller did p.wg.Add).
func (s *Sim) every(p *plug, stop <-chan struct{}, period time.Duration, fn func() bool) {
	defer p.wg.Done()
	t := s.clk.NewTimer(period)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-p.stop:
			return
		case <-t.C():
		}
		if !fn() {
			return
		}
		t.Reset(period)
	}
}

// RemoteAnswer answers the host's call that is alerting (Ringing outcome).
func (s *Sim) RemoteAnswer() error {
	s.mu.Lock()
	if s.call == nil || s.st.Call != CallAlerting {
		s.mu.Unlock()
		return ErrState
	}
	out := s.connect()
	p := s.p
	s.notify()
	s.mu.Unlock()
	s.send(p, out...)
	return nil
}

// RemoteHangup ends the call from the far end (or the caller gives up on
// an incoming call): the dialect's end code and NO CARRIER.
func (s *Sim) RemoteHangup() error {
	s.mu.Lock()
	if s.call == nil {
		s.mu.Unlock()
		return ErrState
	}
	out := s.hangup(16, true)
	p := s.p
	s.notify()
	s.mu.Unlock()
	s.send(p, out...)
	return nil
}

// maxEcho bounds the audio the module holds for echo (one second).
const maxEcho = 16000

// readAudio takes what the host writes on the audio port; during a call
// it is queued to be echoed back.
func (s *Sim) readAudio(p *plug) {
	defer p.wg.Done()
	buf := make([]byte, 4096)
	for {
		n, err := p.auM.Read(buf)
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.st.Call == CallActive {
			s.st.AudioIn += n
			if len(s.echo)+n <= maxEcho {
				s.echo = append(s.echo, buf[:n]...)
			}
			s.notify()
		}
		s.mu.Unlock()
	}
}

// runAudio writes one frame every frame period until stop closes: the
// oldest echoed audio, or silence. A frame the host does not read in time
// is dropped, as a USB serial port's would be (the write deadline is a
// bailout on the real clock, not a synchronisation).
func (s *Sim) runAudio(p *plug, stop <-chan struct{}) {
	size := s.prof.Audio.FrameBytes
	s.every(p, stop, s.frame, func() bool {
		frame := make([]byte, size)
		s.mu.Lock()
		n := copy(frame, s.echo)
		s.echo = s.echo[:copy(s.echo, s.echo[n:])]
		s.mu.Unlock()
		p.auM.SetWriteDeadline(time.Now().Add(5 * time.Millisecond))
		_, err := p.auM.Write(frame)
		if err == nil {
			s.mu.Lock()
			s.st.AudioOut++
			s.notify()
			s.mu.Unlock()
		}
		return err == nil || os.IsTimeout(err)
	})
}
