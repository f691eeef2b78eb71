package at

import (
	"fmt"
	"strconv"
	"time"
)

// NewMessage is a parsed +CMTI: a message was stored at Index in Memory
// ("SM", "ME", "MT"); read it with AT+CMGR=<index>.
type NewMessage struct {
	Memory string
	Index  int
}

// ParseCMTI parses "+CMTI: <mem>,<index>" (3GPP TS 27.005 section 3.4.1).
func ParseCMTI(line string) (NewMessage, error) {
	fs, err := splitN(line, "+CMTI:", 2)
	if err != nil {
		return NewMessage{}, err
	}
	i, err := fs[1].Int()
	if err != nil || i < 0 {
		return NewMessage{}, fmt.Errorf("%w: bad <index> in %q", ErrSyntax, line)
	}
	return NewMessage{Memory: fs[0].Text, Index: i}, nil
}

// MessageHeader is the header line of +CMT (a message routed straight to
// the host) or +CMGR (a stored message read back). The message itself is
// on the next line: a hexadecimal PDU when PDU is true, else the text.
type MessageHeader struct {
	// PDU: PDU mode (AT+CMGF=0); Length is then the TPDU length in
	// octets (without the SMSC address).
	PDU    bool
	Length int
	// Status is <stat> of +CMGR: a number in PDU mode (0 received unread,
	// 1 read …), "REC UNREAD" etc. in text mode; empty for +CMT.
	Status string
	Alpha  string
	// Text mode only: the originator and the service centre time stamp.
	Originator string
	Time       time.Time
}

// ParseCMT parses "+CMT: [<alpha>],<length>" (PDU mode) or
// "+CMT: <oa>,[<alpha>],<scts>[,...]" (text mode).
func ParseCMT(line string) (MessageHeader, error) {
	fs, err := Split(line, "+CMT:")
	if err != nil {
		return MessageHeader{}, err
	}
	return messageHeader(fs, line)
}

// ParseCMGR parses "+CMGR: <stat>,[<alpha>],<length>" (PDU mode) or
// "+CMGR: <stat>,<oa>,[<alpha>],[<scts>][,...]" (text mode).
func ParseCMGR(line string) (MessageHeader, error) {
	fs, err := splitN(line, "+CMGR:", 2)
	if err != nil {
		return MessageHeader{}, err
	}
	h, err := messageHeader(fs[1:], line)
	h.Status = fs[0].Text
	return h, err
}

// ParseCMGL parses one entry of AT+CMGL's list and returns its storage
// index: "+CMGL: <index>,<stat>,[<alpha>],<length>" (PDU mode) or
// "+CMGL: <index>,<stat>,<oa>,[<alpha>],[<scts>][,...]" (text mode). The
// message is on the next line.
func ParseCMGL(line string) (int, MessageHeader, error) {
	fs, err := splitN(line, "+CMGL:", 3)
	if err != nil {
		return 0, MessageHeader{}, err
	}
	i, err := fs[0].Int()
	if err != nil || i < 0 {
		return 0, MessageHeader{}, fmt.Errorf("%w: bad <index> in %q", ErrSyntax, line)
	}
	h, err := messageHeader(fs[2:], line)
	h.Status = fs[1].Text
	return i, h, err
}

func messageHeader(fs []Field, line string) (MessageHeader, error) {
	if err := need(fs, 2, line); err != nil {
		return MessageHeader{}, err
	}
	last := fs[len(fs)-1]
	if len(fs) == 2 && !last.Quoted {
		n, err := strconv.Atoi(last.Text)
		if err != nil || n < 1 || n > 176 {
			return MessageHeader{}, fmt.Errorf("%w: bad PDU <length> in %q", ErrSyntax, line)
		}
		return MessageHeader{PDU: true, Length: n, Alpha: fs[0].Text}, nil
	}
	if err := need(fs, 3, line); err != nil {
		return MessageHeader{}, err
	}
	h := MessageHeader{Originator: fs[0].Text, Alpha: fs[1].Text}
	if fs[2].Text != "" {
		t, err := ParseSCTS(fs[2].Text)
		if err != nil {
			return h, fmt.Errorf("%w (in %q)", err, line)
		}
		h.Time = t
	}
	return h, nil
}

// ParseSCTS parses a text-mode time stamp "yy/MM/dd,hh:mm:ss±zz", zz in
// quarters of an hour (3GPP TS 27.005 section 3.3.1, 23.040 9.2.3.11).
func ParseSCTS(s string) (time.Time, error) {
	if len(s) != 20 || s[2] != '/' || s[5] != '/' || s[8] != ',' || s[11] != ':' || s[14] != ':' || (s[17] != '+' && s[17] != '-') {
		return time.Time{}, fmt.Errorf("%w: time stamp %q is not yy/MM/dd,hh:mm:ss±zz", ErrSyntax, s)
	}
	var v [7]int
	for i, p := range [...]int{0, 3, 6, 9, 12, 15, 18} {
		n, err := strconv.Atoi(s[p : p+2])
		if err != nil || n < 0 {
			return time.Time{}, fmt.Errorf("%w: time stamp %q is not yy/MM/dd,hh:mm:ss±zz", ErrSyntax, s)
		}
		v[i] = n
	}
	off := v[6] * 15 * 60
	if s[17] == '-' {
		off = -off
	}
	return Timestamp(v[0], v[1], v[2], v[3], v[4], v[5], off)
}

// Timestamp builds a time from the fields of an SMS time stamp, rejecting
// fields out of range. The two-digit year is 1990-2089 (90-99 are the
// 1990s, as in the published PDU examples).
func Timestamp(yy, mo, dd, hh, mm, ss, offset int) (time.Time, error) {
	if mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mm > 59 || ss > 59 || yy > 99 || offset < -16*3600 || offset > 16*3600 {
		return time.Time{}, fmt.Errorf("%w: time stamp field out of range", ErrSyntax)
	}
	year := 2000 + yy
	if yy >= 90 {
		year -= 100
	}
	return time.Date(year, time.Month(mo), dd, hh, mm, ss, 0, time.FixedZone("", offset)), nil
}
