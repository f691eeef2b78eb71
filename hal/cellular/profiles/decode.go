package profiles

import (
	"strconv"
	"time"

	"lifeline/hal/jsonread"
)

// A profile is decoded by hand with hal/jsonread (no reflection-based
// decoder in the product), strictly as encoding/json with
// DisallowUnknownFields did; errors name the member's path and offset.

// parseJSON decodes the profile object at the start of b.
func parseJSON(b []byte) (*Profile, error) {
	var p Profile
	d := jsonread.New(b)
	err := d.Fields(parseJSONFields, true, func(i int) error {
		switch i {
		case 0: // name
			return d.SetString(&p.Name)
		case 1: // description
			return d.SetString(&p.Description)
		case 2: // source
			return d.SetString(&p.Source)
		case 3: // ports
			return d.Fields(portsFields, true, func(i int) error {
				if i == 0 {
					return d.SetString(&p.Ports.AT)
				}
				return d.SetString(&p.Ports.Audio)
			})
		case 4: // audio
			return decodeAudio(d, &p.Audio)
		case 5: // command_timeout
			return setDuration(d, &p.CommandTimeout)
		case 6: // init
			return d.SetStrings(&p.Init)
		case 7: // init_optional
			return d.SetStrings(&p.InitOptional)
		case 8: // voice_check
			return decodeCheck(d, &p.VoiceCheck)
		case 9: // volte_check
			return decodeCheck(d, &p.VOLTECheck)
		case 10: // pin
			return d.SetString(&p.PIN)
		case 11: // status
			return d.SetStrings(&p.Status)
		case 12: // dial
			return decodeCall(d, &p.Dial)
		case 13: // answer
			return decodeCall(d, &p.Answer)
		case 14: // hangup
			return d.Fields(hangupFields, true, func(i int) error {
				if i == 0 {
					return d.SetString(&p.Hangup.Command)
				}
				return d.SetStrings(&p.Hangup.AudioOff)
			})
		case 15: // dtmf
			return d.SetString(&p.DTMF)
		case 16: // urc
			return decodeURC(d, &p.URC)
		case 17: // notes
			return d.SetStrings(&p.Notes)
		}
		return nil
	})
	// What follows the object is not read (as encoding/json's Decoder
	// did before).
	return &p, err
}

func decodeAudio(d *jsonread.Decoder, a *Audio) error {
	return d.Fields(decodeAudioFields, true, func(i int) error {
		switch i {
		case 0: // rate
			return d.SetInt(&a.Rate)
		case 1: // bits
			return d.SetInt(&a.Bits)
		case 2: // encoding
			return d.SetString(&a.Encoding)
		case 3: // frame_bytes
			return d.SetInt(&a.FrameBytes)
		case 4: // frame
			return setDuration(d, &a.Frame)
		}
		return nil
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
	return d.Fields(decodeCheckFields, true, func(i int) error {
		switch i {
		case 0: // command
			return d.SetString(&c.Command)
		case 1: // enabled
			return d.SetString(&c.Enabled)
		case 2: // ready
			return d.SetString(&c.Ready)
		case 3: // note
			return d.SetString(&c.Note)
		}
		return nil
	})
}

func decodeCall(d *jsonread.Decoder, c *Call) error {
	return d.Fields(decodeCallFields, true, func(i int) error {
		switch i {
		case 0: // command
			return d.SetString(&c.Command)
		case 1: // timeout
			return setDuration(d, &c.Timeout)
		case 2: // audio
			return d.SetStrings(&c.Audio)
		case 3: // audio_on_connect
			return d.SetStrings(&c.AudioOnConnect)
		}
		return nil
	})
}

func decodeURC(d *jsonread.Decoder, u *URC) error {
	return d.Fields(decodeURCFields, true, func(i int) error {
		switch i {
		case 0: // ring
			return d.SetStrings(&u.Ring)
		case 1: // caller_id
			return d.SetString(&u.CallerID)
		case 2: // call_state
			return d.SetStrings(&u.CallState)
		case 3: // dialing
			return d.SetStrings(&u.Dialing)
		case 4: // alerting
			return d.SetStrings(&u.Alerting)
		case 5: // connected
			return d.SetStrings(&u.Connected)
		case 6: // ended
			return d.SetStrings(&u.Ended)
		case 7: // busy
			return d.SetStrings(&u.Busy)
		case 8: // no_answer
			return d.SetStrings(&u.NoAnswer)
		case 9: // sms
			return d.SetStrings(&u.SMS)
		case 10: // dtmf
			return d.SetStrings(&u.DTMF)
		}
		return nil
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

// Member names, in the order of the decoders' switch cases.
var (
	parseJSONFields   = []string{"name", "description", "source", "ports", "audio", "command_timeout", "init", "init_optional", "voice_check", "volte_check", "pin", "status", "dial", "answer", "hangup", "dtmf", "urc", "notes"}
	decodeAudioFields = []string{"rate", "bits", "encoding", "frame_bytes", "frame"}
	decodeCheckFields = []string{"command", "enabled", "ready", "note"}
	decodeCallFields  = []string{"command", "timeout", "audio", "audio_on_connect"}
	decodeURCFields   = []string{"ring", "caller_id", "call_state", "dialing", "alerting", "connected", "ended", "busy", "no_answer", "sms", "dtmf"}
	portsFields       = []string{"at", "audio"}
	hangupFields      = []string{"command", "audio_off"}
)
