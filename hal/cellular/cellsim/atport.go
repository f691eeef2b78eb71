package cellsim

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"lifeline/hal/cellular/at"
	"lifeline/hal/cellular/sms"
)

// maxLine bounds a command line; longer input is discarded.
const maxLine = 1024

// readAT reads commands from the AT port until the plug goes. In the SMS
// prompt of AT+CMGS it collects the body up to Ctrl-Z (send) or Esc
// (cancel).
func (s *Sim) readAT(p *plug) {
	defer p.wg.Done()
	buf := make([]byte, 512)
	var line []byte
	var prompt *SentSMS // the AT+CMGS being written, nil outside the prompt
	for {
		n, err := p.atM.Read(buf)
		if err != nil {
			return
		}
		for _, c := range buf[:n] {
			switch {
			case prompt != nil && c == 0x1A:
				s.send(p, s.finishSMS(*prompt, string(line))...)
				prompt, line = nil, line[:0]
			case prompt != nil && c == 0x1B:
				s.send(p, "OK")
				prompt, line = nil, line[:0]
			case prompt != nil && (c == '\r' || c == '\n') && len(line) == 0:
			case prompt == nil && c == '\n':
			case prompt == nil && c == '\r':
				var out []string
				out, prompt = s.command(strings.TrimSpace(string(line)))
				line = line[:0]
				s.send(p, out...)
			case len(line) < maxLine:
				line = append(line, c)
			}
		}
	}
}

// command answers one command line; a non-nil SentSMS starts the prompt.
func (s *Sim) command(cmd string) ([]string, *SentSMS) {
	if cmd == "" {
		return nil, nil
	}
	up := strings.ToUpper(cmd)
	if !strings.HasPrefix(up, "AT") {
		return []string{"ERROR"}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify()
	if strings.HasPrefix(up, "AT+CMGS=") {
		arg := cmd[len("AT+CMGS="):]
		if s.textMode {
			return []string{"> "}, &SentSMS{To: strings.Trim(arg, `"`)}
		}
		n, err := strconv.Atoi(arg)
		if err != nil || n < 7 || n > 164 {
			return []string{"+CMS ERROR: 304"}, nil
		}
		return []string{"> "}, &SentSMS{Length: n}
	}
	return s.dispatch(cmd, up), nil
}

// dispatch answers everything but AT+CMGS; mu is held.
func (s *Sim) dispatch(cmd, up string) []string {
	ok := []string{"OK"}
	sim := s.st.SIM
	switch {
	case up == "AT" || up == "ATE0" || up == "ATZ":
		return ok
	case up == "AT+CPIN?":
		switch sim {
		case at.SIMAbsent:
			return []string{"+CME ERROR: 10"}
		case at.SIMPIN:
			return []string{"+CPIN: SIM PIN", "OK"}
		case at.SIMPUK:
			return []string{"+CPIN: SIM PUK", "OK"}
		}
		return []string{"+CPIN: READY", "OK"}
	case strings.HasPrefix(up, "AT+CPIN="):
		return s.enterPIN(cmd[len("AT+CPIN="):])
	case up == "AT+CREG?" || up == "AT+CEREG?":
		c := up[3 : len(up)-1]
		return []string{s.regLine(c, s.regN[c], true), "OK"}
	case strings.HasPrefix(up, "AT+CREG=") || strings.HasPrefix(up, "AT+CEREG="):
		c, v, _ := strings.Cut(up[3:], "=")
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 2 {
			return []string{"+CME ERROR: 50"}
		}
		s.regN[c] = n
		return ok
	case up == "AT+CSQ":
		return []string{fmt.Sprintf("+CSQ: %d,99", s.st.RSSI), "OK"}
	case up == "AT+COPS?":
		if !s.registered().Registered() {
			return []string{"+COPS: 0", "OK"}
		}
		return []string{fmt.Sprintf(`+COPS: 0,0,"%s",%d`, s.st.Operator, s.st.AcT), "OK"}
	case up == "AT^CVOICE?" && s.vendor == "huawei":
		return []string{"^CVOICE:0,8000,16,20", "OK"}
	case up == `AT+QCFG="IMS"` && s.vendor == "quectel":
		return []string{`+QCFG: "ims",1,1`, "OK"}
	case up == "AT^DDSETEX=2" && s.vendor == "huawei", up == "AT+QPCMV=1,0" && s.vendor == "quectel":
		s.st.AudioRouted = true
		return ok
	case up == "AT+QPCMV=0" && s.vendor == "quectel", up == "AT+CPCMREG=0" && s.vendor == "simcom":
		s.st.AudioRouted = false
		return ok
	case up == "AT+CPCMREG=1" && s.vendor == "simcom":
		if s.st.Call != CallActive {
			return []string{"ERROR"} // only during a connected call (SIM7600 manual)
		}
		s.st.AudioRouted = true
		return ok
	case strings.HasPrefix(up, "ATD"):
		return s.dial(strings.TrimSuffix(cmd[3:], ";"))
	case up == "ATA":
		return s.answer()
	case up == "AT+CHUP" || up == "ATH" || up == "ATH0":
		return append(ok, s.hangup(16, false)...)
	case strings.HasPrefix(up, "AT+VTS=") && s.vendor != "huawei":
		return s.dtmf(strings.Trim(cmd[len("AT+VTS="):], `"`))
	case strings.HasPrefix(up, "AT^DTMF=") && s.vendor == "huawei":
		_, d, _ := strings.Cut(cmd, ",")
		return s.dtmf(d)
	case strings.HasPrefix(up, "AT+QTONEDET=") && s.vendor == "quectel":
		s.toneDetect = strings.HasSuffix(up, "=1")
		return ok
	case strings.HasPrefix(up, "AT+CMGF="):
		s.textMode = strings.HasSuffix(up, "=1")
		return ok
	case strings.HasPrefix(up, "AT+CMGR="):
		return s.readSMS(cmd[len("AT+CMGR="):])
	case strings.HasPrefix(up, "AT+CMGL="):
		return s.listSMS(strings.Trim(up[len("AT+CMGL="):], `"`))
	case strings.HasPrefix(up, "AT+CMGD="):
		i, _ := strconv.Atoi(cmd[len("AT+CMGD="):])
		delete(s.stored, i)
		delete(s.read, i)
		return ok
	}
	for _, known := range append(append([]string{}, s.prof.Init...), s.prof.InitOptional...) {
		if strings.EqualFold(known, cmd) {
			return ok
		}
	}
	return []string{"ERROR"}
}

// enterPIN handles AT+CPIN="pin" and AT+CPIN="puk","newpin"; mu is held.
func (s *Sim) enterPIN(arg string) []string {
	codes := strings.Split(strings.ReplaceAll(arg, `"`, ""), ",")
	switch s.st.SIM {
	case at.SIMAbsent:
		return []string{"+CME ERROR: 10"}
	case at.SIMPIN:
		if codes[0] == s.pin {
			s.st.SIM, s.tries = at.SIMReady, 0
			return []string{"OK"}
		}
		if s.tries++; s.tries >= 3 {
			s.st.SIM = at.SIMPUK
		}
		return []string{"+CME ERROR: 16"}
	case at.SIMPUK:
		if len(codes) == 2 && codes[0] == s.puk {
			s.st.SIM, s.pin, s.tries = at.SIMReady, codes[1], 0
			return []string{"OK"}
		}
		return []string{"+CME ERROR: 16"}
	}
	return []string{"+CME ERROR: 3"}
}

// finishSMS records a message written at the prompt.
func (s *Sim) finishSMS(m SentSMS, body string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.To != "" {
		m.Text = body
	} else {
		b, err := hex.DecodeString(body)
		if err != nil || len(b) == 0 || len(b)-1-int(b[0]) != m.Length {
			return []string{"+CMS ERROR: 304"}
		}
		m.PDU = body
	}
	if !s.registered().Registered() {
		return []string{"+CMS ERROR: 331"} // no network service
	}
	if s.smsErr != 0 {
		s.st.Refused++
		s.notify()
		return []string{fmt.Sprintf("+CMS ERROR: %d", s.smsErr)}
	}
	s.st.Sent = append(s.st.Sent, m)
	if to, text, err := m.Decode(); err == nil { // a record that outlives the process (the daemon's log)
		s.log.Info("cellsim: SMS sent", "to", to, "text", text)
	}
	s.mr = (s.mr + 1) % 256
	s.notify()
	return []string{fmt.Sprintf("+CMGS: %d", s.mr), "OK"}
}

// InjectSMS delivers a received SMS-DELIVER PDU (hex, SMSC address
// included). Stored, the module announces it with +CMTI and the host
// reads it with AT+CMGR; direct, it is routed to the host as +CMT (in the
// current PDU or text mode).
func (s *Sim) InjectSMS(pdu string, direct bool) error {
	m, err := sms.DecodeDeliver(pdu)
	if err != nil {
		return err
	}
	s.mu.Lock()
	p := s.p
	if p == nil {
		s.mu.Unlock()
		return ErrUnplugged
	}
	var out []string
	if direct {
		out = s.messageLines("+CMT: ", "", pdu, m)
	} else {
		i := s.nextIdx
		s.nextIdx++
		s.stored[i] = pdu
		out = []string{fmt.Sprintf(`+CMTI: "SM",%d`, i)}
	}
	s.mu.Unlock()
	s.send(p, out...)
	return nil
}

// StoreSMS stores a received SMS-DELIVER PDU without announcing it, as
// the module does while nobody listens on its AT port (unplugged included:
// the SIM keeps it). AT+CMGL lists it as unread until AT+CMGR reads it.
func (s *Sim) StoreSMS(pdu string) error {
	if _, err := sms.DecodeDeliver(pdu); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stored[s.nextIdx] = pdu
	s.nextIdx++
	return nil
}

// listSMS answers AT+CMGL=<stat>: 0 or "REC UNREAD" lists the unread, 4
// or "ALL" every message (stored messages here are unread until read);
// mu is held.
func (s *Sim) listSMS(stat string) []string {
	switch stat {
	case "0", "4", "REC UNREAD", "ALL":
	default:
		return []string{"+CMS ERROR: 302"}
	}
	var idx []int
	for i := range s.stored {
		if !s.read[i] || stat == "4" || stat == "ALL" {
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	var out []string
	for _, i := range idx {
		m, _ := sms.DecodeDeliver(s.stored[i])
		st := "0"
		if s.read[i] {
			st = "1"
		}
		out = append(out, s.messageLines(fmt.Sprintf("+CMGL: %d,", i), st, s.stored[i], m)...)
	}
	return append(out, "OK")
}

// readSMS answers AT+CMGR; mu is held.
func (s *Sim) readSMS(arg string) []string {
	i, _ := strconv.Atoi(arg)
	pdu, ok := s.stored[i]
	if !ok {
		return []string{"+CMS ERROR: 321"} // invalid memory index
	}
	m, _ := sms.DecodeDeliver(pdu)
	st := "0"
	if s.read[i] {
		st = "1"
	}
	s.read[i] = true
	return append(s.messageLines("+CMGR: ", st, pdu, m), "OK")
}

// messageLines formats +CMT/+CMGR in the current mode; mu is held.
func (s *Sim) messageLines(prefix, stat, pdu string, m sms.Message) []string {
	if !s.textMode {
		sca := 0
		if b, err := hex.DecodeString(pdu[:2]); err == nil {
			sca = int(b[0])
		}
		if stat != "" {
			stat += ","
		}
		return []string{fmt.Sprintf("%s%s,%d", prefix, stat, len(pdu)/2-1-sca), pdu}
	}
	_, off := m.Time.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	ts := m.Time.Format("06/01/02,15:04:05") + fmt.Sprintf("%c%02d", sign, off/900)
	if stat != "" {
		stat = `"REC UNREAD",`
	}
	return []string{fmt.Sprintf(`%s%s"%s",,"%s"`, prefix, stat, m.From, ts), m.Text}
}
