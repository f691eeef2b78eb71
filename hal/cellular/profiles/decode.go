package profiles

import (
	"strconv"
	"time"

	"lifeline/internal/jsonread"
)

// A profile is decoded by hand with internal/jsonread (no reflection-based
// decoder in the product), strictly as encoding/json with
// DisallowUnknownFields did; errors name the member's path and offset.

// parseJSON decodes the profile object at the start of b.
func parseJSON(b []byte) (*Profile, error) {
	var p Profile
	d := jsonread.New(b)
	err := d.Object(func(k string) error {
		switch jsonread.Key(k, "name", "description", "source", "ports", "audio", "command_timeout", "init", "init_optional",
			"voice_check", "volte_check", "pin", "status", "dial", "answer", "hangup", "dtmf", "urc", "notes") {
		case "name":
			return d.SetString(&p.Name)
		case "description":
			return d.SetString(&p.Description)
		case "source":
			return d.SetString(&p.Source)
		case "ports":
			return object(d, func(k string) error {
				switch jsonread.Key(k, "at", "audio") {
				case "at":
					return d.SetString(&p.Ports.AT)
				case "audio":
					return d.SetString(&p.Ports.Audio)
				}
				return d.UnknownField(k)
			})
		case "audio":
			return decodeAudio(d, &p.Audio)
		case "command_timeout":
			return setDuration(d, &p.CommandTimeout)
		case "init":
			return d.SetStrings(&p.Init)
		case "init_optional":
			return d.SetStrings(&p.InitOptional)
		case "voice_check":
			return decodeCheck(d, &p.VoiceCheck)
		case "volte_check":
			return decodeCheck(d, &p.VOLTECheck)
		case "pin":
			return d.SetString(&p.PIN)
		case "status":
			return d.SetStrings(&p.Status)
		case "dial":
			return decodeCall(d, &p.Dial)
		case "answer":
			return decodeCall(d, &p.Answer)
		case "hangup":
			return object(d, func(k string) error {
				switch jsonread.Key(k, "command", "audio_off") {
				case "command":
					return d.SetString(&p.Hangup.Command)
				case "audio_off":
					return d.SetStrings(&p.Hangup.AudioOff)
				}
				return d.UnknownField(k)
			})
		case "dtmf":
			return d.SetString(&p.DTMF)
		case "urc":
			return decodeURC(d, &p.URC)
		case "notes":
			return d.SetStrings(&p.Notes)
		}
		return d.UnknownField(k)
	})
	// What follows the object is not read (as encoding/json's Decoder
	// did before).
	return &p, err
}

// object decodes an object member by member; null leaves it unchanged.
func object(d *jsonread.Decoder, member func(string) error) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	return d.Object(member)
}

func decodeAudio(d *jsonread.Decoder, a *Audio) error {
	return object(d, func(k string) error {
		switch jsonread.Key(k, "rate", "bits", "encoding", "frame_bytes", "frame") {
		case "rate":
			return d.SetInt(&a.Rate)
		case "bits":
			return d.SetInt(&a.Bits)
		case "encoding":
			return d.SetString(&a.Encoding)
		case "frame_bytes":
			return d.SetInt(&a.FrameBytes)
		case "frame":
			return setDuration(d, &a.Frame)
		}
		return d.UnknownField(k)
	})
}

func decodeCheck(d *jsonread.Decoder, cp **Check) error {
	if null, err := d.Null(); null || err != nil {
		*cp = nil
		return err
	}
	if *cp == nil {
		*cp = new(Check)
	}
	c := *cp
	return d.Object(func(k string) error {
		switch jsonread.Key(k, "command", "enabled", "ready", "note") {
		case "command":
			return d.SetString(&c.Command)
		case "enabled":
			return d.SetString(&c.Enabled)
		case "ready":
			return d.SetString(&c.Ready)
		case "note":
			return d.SetString(&c.Note)
		}
		return d.UnknownField(k)
	})
}

func decodeCall(d *jsonread.Decoder, c *Call) error {
	return object(d, func(k string) error {
		switch jsonread.Key(k, "command", "timeout", "audio", "audio_on_connect") {
		case "command":
			return d.SetString(&c.Command)
		case "timeout":
			return setDuration(d, &c.Timeout)
		case "audio":
			return d.SetStrings(&c.Audio)
		case "audio_on_connect":
			return d.SetStrings(&c.AudioOnConnect)
		}
		return d.UnknownField(k)
	})
}

func decodeURC(d *jsonread.Decoder, u *URC) error {
	return object(d, func(k string) error {
		switch jsonread.Key(k, "ring", "caller_id", "call_state", "dialing", "alerting", "connected", "ended", "busy", "no_answer", "sms") {
		case "ring":
			return d.SetStrings(&u.Ring)
		case "caller_id":
			return d.SetString(&u.CallerID)
		case "call_state":
			return d.SetStrings(&u.CallState)
		case "dialing":
			return d.SetStrings(&u.Dialing)
		case "alerting":
			return d.SetStrings(&u.Alerting)
		case "connected":
			return d.SetStrings(&u.Connected)
		case "ended":
			return d.SetStrings(&u.Ended)
		case "busy":
			return d.SetStrings(&u.Busy)
		case "no_answer":
			return d.SetStrings(&u.NoAnswer)
		case "sms":
			return d.SetStrings(&u.SMS)
		}
		return d.UnknownField(k)
	})
}

// setDuration decodes a positive Go duration string ("500ms", "60s").
func setDuration(d *jsonread.Decoder, p *Duration) error {
	kind := d.Peek()
	off := d.Offset()
	raw, err := d.Raw()
	if err != nil {
		return err
	}
	if kind != jsonread.String {
		return &jsonread.Error{Offset: off, Msg: "duration " + string(raw) + ": want a string such as \"30s\""}
	}
	s, _ := jsonread.New(raw).String()
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return &jsonread.Error{Offset: off, Msg: "duration " + strconv.Quote(s) + ": want a positive Go duration"}
	}
	*p = Duration(v)
	return nil
}
