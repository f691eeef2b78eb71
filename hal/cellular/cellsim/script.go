package cellsim

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"lifeline/hal/cellular/at"
	"lifeline/hal/cellular/sms"
)

// SetPIN locks the SIM with pin (and puk): it asks for the PIN now, as
// after the module's next power-up, until the host enters it.
func (s *Sim) SetPIN(pin, puk string) {
	s.mu.Lock()
	s.pin, s.puk, s.tries = pin, puk, 0
	if s.st.SIM == at.SIMReady {
		s.st.SIM = at.SIMPIN
	}
	s.notify()
	s.mu.Unlock()
}

// DeliverPDUs encodes text from number as the SMS-DELIVER PDUs (hex, with
// an empty SMSC address) a network hands the module: one, or the parts of
// a concatenated message, GSM 7-bit or UCS-2 as the text needs, stamped
// with when.
func DeliverPDUs(from, text string, when time.Time) ([]string, error) {
	parts, err := sms.Submit(from, text, byte(when.Unix()))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range parts {
		// An SMS-SUBMIT becomes the SMS-DELIVER the recipient gets: the
		// same address, PID, DCS and user data, without TP-MR and TP-VP,
		// with a service centre time stamp.
		b, _ := hex.DecodeString(p.Hex[2:])
		fo, rest := b[0], b[2:]
		alen := 2 + (int(rest[0])+1)/2
		addr, pidDCS, ud := rest[:alen], rest[alen:alen+2], rest[alen+3:]
		d := append([]byte{0x00, fo&0x40 | 0x04}, addr...)
		d = append(append(d, pidDCS...), scts(when)...)
		out = append(out, strings.ToUpper(hex.EncodeToString(append(d, ud...))))
	}
	return out, nil
}

// scts is the 7-octet service centre time stamp of t (swapped BCD, the
// zone in quarters of an hour).
func scts(t time.Time) []byte {
	_, off := t.Zone()
	q := off / (15 * 60)
	sign := byte(0)
	if q < 0 {
		q, sign = -q, 0x08
	}
	bcd := func(v int) byte { return byte(v%10)<<4 | byte(v/10%10) }
	return []byte{bcd(t.Year() % 100), bcd(int(t.Month())), bcd(t.Day()), bcd(t.Hour()), bcd(t.Minute()), bcd(t.Second()), bcd(q) | sign}
}

// InjectText delivers text from number as the network does: stored and
// announced with +CMTI, one PDU per part.
func (s *Sim) InjectText(from, text string) error {
	pdus, err := DeliverPDUs(from, text, s.clk.Now())
	if err != nil {
		return fmt.Errorf("cellsim: SMS from %s: %w", from, err)
	}
	for _, p := range pdus {
		if err := s.InjectSMS(p, false); err != nil {
			return err
		}
	}
	return nil
}

// Decode reads a sent message: its destination and text (one part's, for
// a concatenated message).
func (m SentSMS) Decode() (to, text string, err error) {
	if m.PDU == "" {
		return m.To, m.Text, nil
	}
	b, err := hex.DecodeString(m.PDU)
	if err != nil || len(b) < 1 || len(b) < 1+int(b[0])+4 {
		return "", "", fmt.Errorf("cellsim: sent PDU %q is not an SMS-SUBMIT", m.PDU)
	}
	t := b[1+int(b[0]):]
	fo := t[0]
	if fo&0x03 != 0x01 || len(t) < 3 {
		return "", "", fmt.Errorf("cellsim: sent PDU %q is not an SMS-SUBMIT", m.PDU)
	}
	alen := 2 + (int(t[2])+1)/2
	vp := map[byte]int{0x00: 0, 0x10: 1, 0x08: 7, 0x18: 7}[fo&0x18]
	if len(t) < 2+alen+2+vp+1 {
		return "", "", fmt.Errorf("cellsim: sent PDU %q is cut short", m.PDU)
	}
	addr, pidDCS, ud := t[2:2+alen], t[2+alen:2+alen+2], t[2+alen+2+vp:]
	d := append([]byte{0x00, fo&0x40 | 0x04}, addr...)
	d = append(append(d, pidDCS...), 0x00, 0x10, 0x10, 0, 0, 0, 0)
	msg, err := sms.DecodeDeliver(hex.EncodeToString(append(d, ud...)))
	if err != nil {
		return "", "", fmt.Errorf("cellsim: sent PDU: %w", err)
	}
	return msg.From, msg.Text, nil
}
