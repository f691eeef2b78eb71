package modem

import (
	"strconv"
	"time"

	"lifeline/internal/jsonread"
)

// A profile is decoded by hand with internal/jsonread (no reflection-based
// decoder in the product): strictly, as encoding/json with
// DisallowUnknownFields decoded it, and every error names the member's
// path and byte offset.

func decodeProfile(d *jsonread.Decoder, p *Profile) error {
	return d.Object(func(k string) error {
		switch jsonread.Key(k, "name", "description", "source", "numeric", "command_timeout", "init", "init_optional",
			"caller_id", "health", "dial", "hangup", "ring_timeout", "voice", "notes") {
		case "name":
			return d.SetString(&p.Name)
		case "description":
			return d.SetString(&p.Description)
		case "source":
			return d.SetString(&p.Source)
		case "numeric":
			return d.SetBool(&p.Numeric)
		case "command_timeout":
			return setDuration(d, &p.CommandTimeout)
		case "init":
			return d.SetStrings(&p.Init)
		case "init_optional":
			return d.SetStrings(&p.InitOptional)
		case "caller_id":
			return d.SetString(&p.CallerID)
		case "health":
			return decodeHealth(d, &p.Health)
		case "dial":
			return decodeDial(d, &p.Dial)
		case "hangup":
			return decodeHangup(d, &p.Hangup)
		case "ring_timeout":
			return setDuration(d, &p.RingTimeout)
		case "voice":
			if null, err := d.Null(); null || err != nil {
				p.Voice = nil
				return err
			}
			if p.Voice == nil {
				p.Voice = new(Voice)
			}
			return decodeVoice(d, p.Voice)
		case "notes":
			return d.SetStrings(&p.Notes)
		}
		return d.UnknownField(k)
	})
}

func decodeHealth(d *jsonread.Decoder, h *Health) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	return d.Object(func(k string) error {
		switch jsonread.Key(k, "interval", "timeout", "commands", "healthy", "no_line", "after") {
		case "interval":
			return setDuration(d, &h.Interval)
		case "timeout":
			return setDuration(d, &h.Timeout)
		case "commands":
			return d.SetStrings(&h.Commands)
		case "healthy":
			return d.SetStrings(&h.Healthy)
		case "no_line":
			return d.SetStrings(&h.NoLine)
		case "after":
			return d.SetStrings(&h.After)
		}
		return d.UnknownField(k)
	})
}

func decodeDial(d *jsonread.Decoder, v *Dial) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	return d.Object(func(k string) error {
		switch jsonread.Key(k, "command", "timeout", "connected") {
		case "command":
			return d.SetString(&v.Command)
		case "timeout":
			return setDuration(d, &v.Timeout)
		case "connected":
			return d.SetStrings(&v.Connected)
		}
		return d.UnknownField(k)
	})
}

func decodeHangup(d *jsonread.Decoder, h *Hangup) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	return d.Object(func(k string) error {
		switch jsonread.Key(k, "command", "timeout", "dtr_drop") {
		case "command":
			return d.SetString(&h.Command)
		case "timeout":
			return setDuration(d, &h.Timeout)
		case "dtr_drop":
			return setDuration(d, &h.DTRDrop)
		}
		return d.UnknownField(k)
	})
}

func decodeVoice(d *jsonread.Decoder, v *Voice) error {
	return d.Object(func(k string) error {
		switch jsonread.Key(k, "enter", "formats", "line_select", "dial", "dial_timeout", "alert_after", "connected",
			"stream", "leave", "answer", "answer_timeout", "answer_connected") {
		case "enter":
			return d.SetStrings(&v.Enter)
		case "formats":
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
		case "line_select":
			return d.SetString(&v.LineSelect)
		case "dial":
			return d.SetString(&v.Dial)
		case "dial_timeout":
			return setDuration(d, &v.DialTimeout)
		case "alert_after":
			return setDuration(d, &v.AlertAfter)
		case "connected":
			return d.SetStrings(&v.Connected)
		case "stream":
			return d.SetString(&v.Stream)
		case "leave":
			return d.SetStrings(&v.Leave)
		case "answer":
			return d.SetString(&v.Answer)
		case "answer_timeout":
			return setDuration(d, &v.AnswerTimeout)
		case "answer_connected":
			return d.SetStrings(&v.AnswerConnected)
		}
		return d.UnknownField(k)
	})
}

func decodeVoiceFormat(d *jsonread.Decoder, f *VoiceFormat) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	return d.Object(func(k string) error {
		switch jsonread.Key(k, "vsm", "format") {
		case "vsm":
			return d.SetInt(&f.VSM)
		case "format":
			return d.SetString(&f.Format)
		}
		return d.UnknownField(k)
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
