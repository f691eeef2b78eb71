package modem

import (
	"strconv"
	"time"

	"lifeline/hal/jsonread"
)

// A profile is decoded by hand with hal/jsonread (no reflection-based
// decoder in the product): strictly, as encoding/json with
// DisallowUnknownFields decoded it, and every error names the member's
// path and byte offset.

func decodeProfile(d *jsonread.Decoder, p *Profile) error {
	return d.Fields(decodeProfileFields, true, func(i int) error {
		switch i {
		case 0: // name
			return d.SetString(&p.Name)
		case 1: // description
			return d.SetString(&p.Description)
		case 2: // source
			return d.SetString(&p.Source)
		case 3: // numeric
			return d.SetBool(&p.Numeric)
		case 4: // command_timeout
			return setDuration(d, &p.CommandTimeout)
		case 5: // init
			return d.SetStrings(&p.Init)
		case 6: // init_optional
			return d.SetStrings(&p.InitOptional)
		case 7: // caller_id
			return d.SetString(&p.CallerID)
		case 8: // health
			return decodeHealth(d, &p.Health)
		case 9: // dial
			return decodeDial(d, &p.Dial)
		case 10: // hangup
			return decodeHangup(d, &p.Hangup)
		case 11: // ring_timeout
			return setDuration(d, &p.RingTimeout)
		case 12: // voice
			if null, err := d.Null(); null || err != nil {
				p.Voice = nil
				return err
			}
			if p.Voice == nil {
				p.Voice = new(Voice)
			}
			return decodeVoice(d, p.Voice)
		case 13: // notes
			return d.SetStrings(&p.Notes)
		}
		return nil
	})
}

func decodeHealth(d *jsonread.Decoder, h *Health) error {
	return d.Fields(decodeHealthFields, true, func(i int) error {
		switch i {
		case 0: // interval
			return setDuration(d, &h.Interval)
		case 1: // timeout
			return setDuration(d, &h.Timeout)
		case 2: // commands
			return d.SetStrings(&h.Commands)
		case 3: // healthy
			return d.SetStrings(&h.Healthy)
		case 4: // no_line
			return d.SetStrings(&h.NoLine)
		case 5: // after
			return d.SetStrings(&h.After)
		}
		return nil
	})
}

func decodeDial(d *jsonread.Decoder, v *Dial) error {
	return d.Fields(decodeDialFields, true, func(i int) error {
		switch i {
		case 0: // command
			return d.SetString(&v.Command)
		case 1: // timeout
			return setDuration(d, &v.Timeout)
		case 2: // connected
			return d.SetStrings(&v.Connected)
		}
		return nil
	})
}

func decodeHangup(d *jsonread.Decoder, h *Hangup) error {
	return d.Fields(decodeHangupFields, true, func(i int) error {
		switch i {
		case 0: // command
			return d.SetString(&h.Command)
		case 1: // timeout
			return setDuration(d, &h.Timeout)
		case 2: // dtr_drop
			return setDuration(d, &h.DTRDrop)
		}
		return nil
	})
}

func decodeVoice(d *jsonread.Decoder, v *Voice) error {
	return d.Fields(decodeVoiceFields, true, func(i int) error {
		switch i {
		case 0: // enter
			return d.SetStrings(&v.Enter)
		case 1: // formats
			if null, err := d.Null(); null || err != nil {
				v.Formats = nil
				return err
			}
			v.Formats = []VoiceFormat{}
			return d.Array(func(int) error {
				var f VoiceFormat
				err := decodeVoiceFormat(d, &f)
				v.Formats = append(v.Formats, f)
				return err
			})
		case 2: // line_select
			return d.SetString(&v.LineSelect)
		case 3: // dial
			return d.SetString(&v.Dial)
		case 4: // dial_timeout
			return setDuration(d, &v.DialTimeout)
		case 5: // alert_after
			return setDuration(d, &v.AlertAfter)
		case 6: // connected
			return d.SetStrings(&v.Connected)
		case 7: // stream
			return d.SetString(&v.Stream)
		case 8: // leave
			return d.SetStrings(&v.Leave)
		case 9: // answer
			return d.SetString(&v.Answer)
		case 10: // answer_timeout
			return setDuration(d, &v.AnswerTimeout)
		case 11: // answer_connected
			return d.SetStrings(&v.AnswerConnected)
		}
		return nil
	})
}

func decodeVoiceFormat(d *jsonread.Decoder, f *VoiceFormat) error {
	return d.Fields(decodeVoiceFormatFields, true, func(i int) error {
		switch i {
		case 0: // vsm
			return d.SetInt(&f.VSM)
		case 1: // format
			return d.SetString(&f.Format)
		}
		return nil
	})
}

// setDuration decodes a duration string ("500ms", "30s") into *p.
func setDuration(d *jsonread.Decoder, p *Duration) error {
	kind := d.Peek()
	off := d.Offset()
	if kind != jsonread.String {
		raw, err := d.Raw()
		if err != nil {
			return err
		}
		return &jsonread.Error{Offset: off, Msg: string(raw) + ": want a duration string such as \"30s\""}
	}
	s, err := d.String()
	if err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return &jsonread.Error{Offset: off, Msg: "invalid duration " + strconv.Quote(s)}
	case v < 0:
		return &jsonread.Error{Offset: off, Msg: "negative duration " + strconv.Quote(s)}
	}
	*p = Duration(v)
	return nil
}

// parseProfileJSON decodes one profile document strictly: one object, no
// unknown members, nothing after it.
func parseProfileJSON(data []byte) (*Profile, error) {
	var p Profile
	d := jsonread.New(data)
	if err := decodeProfile(d, &p); err != nil {
		return nil, err
	}
	if d.End() != nil {
		return nil, &jsonread.Error{Offset: d.Offset(), Msg: "data after the profile object"}
	}
	return &p, nil
}

// Member names, in the order of the decoders' switch cases.
var (
	decodeProfileFields     = []string{"name", "description", "source", "numeric", "command_timeout", "init", "init_optional", "caller_id", "health", "dial", "hangup", "ring_timeout", "voice", "notes"}
	decodeHealthFields      = []string{"interval", "timeout", "commands", "healthy", "no_line", "after"}
	decodeDialFields        = []string{"command", "timeout", "connected"}
	decodeHangupFields      = []string{"command", "timeout", "dtr_drop"}
	decodeVoiceFields       = []string{"enter", "formats", "line_select", "dial", "dial_timeout", "alert_after", "connected", "stream", "leave", "answer", "answer_timeout", "answer_connected"}
	decodeVoiceFormatFields = []string{"vsm", "format"}
)
