package daemon

import (
	"time"

	"lifeline/internal/jsonread"
)

// The documents the daemon and its clients read, decoded by hand with
// jsonread instead of encoding/json's reflection (see that package). Each
// decoder keeps encoding/json's behaviour for its type: null leaves a value
// unchanged (a pointer nil), member names match case-insensitively, and
// unknown members are skipped unless the document is strict.

// decodeRequestJSON decodes a control request; unknown members are errors.
func decodeRequestJSON(d *jsonread.Decoder, r *Request) error {
	return d.Object(func(k string) error {
		switch jsonread.Key(k, "cmd", "mode", "for", "signal", "args") {
		case "cmd":
			return d.SetString(&r.Cmd)
		case "mode":
			return d.SetString(&r.Mode)
		case "for":
			return d.SetString(&r.For)
		case "signal":
			return d.SetString(&r.Signal)
		case "args":
			return d.SetStrings(&r.Args)
		}
		return d.UnknownField(k)
	})
}

// decodeResponse decodes the daemon's answer to a control request.
func decodeResponse(data []byte) (Response, error) {
	var r Response
	d := jsonread.New(data)
	err := d.Object(func(k string) error {
		switch jsonread.Key(k, "ok", "error", "status", "output") {
		case "output":
			return d.SetString(&r.Output)
		case "ok":
			return d.SetBool(&r.OK)
		case "error":
			return d.SetString(&r.Error)
		case "status":
			if null, err := d.Null(); null || err != nil {
				r.Status = nil
				return err
			}
			if r.Status == nil {
				r.Status = new(Status)
			}
			return decodeStatus(d, r.Status)
		}
		return d.Skip()
	})
	if err == nil {
		err = d.End()
	}
	return r, err
}

// decodeStatus decodes the status document (`lifeline status --json`).
func decodeStatus(d *jsonread.Decoder, s *Status) error {
	return d.Object(func(k string) error {
		switch jsonread.Key(k, "route", "reason", "since", "degraded", "power", "wan", "line", "override", "calls", "board", "version", "storage") {
		case "route":
			return setString(d, &s.Route)
		case "reason":
			return d.SetString(&s.Reason)
		case "since":
			return setTime(d, &s.Since)
		case "degraded":
			return d.SetBool(&s.Degraded)
		case "power":
			return decodePowerStatus(d, &s.Power)
		case "wan":
			return decodeWANStatus(d, &s.WAN)
		case "line":
			return decodeLineStatus(d, &s.Line)
		case "override":
			return decodeOverrideStatus(d, &s.Override)
		case "calls":
			if null, err := d.Null(); null || err != nil {
				s.Calls = nil
				return err
			}
			s.Calls = []CallStatus{}
			return d.Array(func(int) error {
				var c CallStatus
				err := decodeCallStatus(d, &c)
				s.Calls = append(s.Calls, c)
				return err
			})
		case "board":
			return d.SetString(&s.Board)
		case "version":
			return d.SetString(&s.Version)
		case "storage":
			return d.Object(func(k string) error {
				switch jsonread.Key(k, "ok", "unsaved", "error") {
				case "ok":
					return d.SetBool(&s.Storage.OK)
				case "unsaved":
					return d.SetStrings(&s.Storage.Unsaved)
				case "error":
					return d.SetString(&s.Storage.Error)
				}
				return d.Skip()
			})
		}
		return d.Skip()
	})
}

func decodeCallStatus(d *jsonread.Decoder, c *CallStatus) error {
	return d.Object(func(k string) error {
		switch jsonread.Key(k, "direction", "number", "codec", "format", "started") {
		case "direction":
			return d.SetString(&c.Direction)
		case "number":
			return d.SetString(&c.Number)
		case "codec":
			return d.SetString(&c.Codec)
		case "format":
			return d.SetString(&c.Format)
		case "started":
			return setTime(d, &c.Started)
		}
		return d.Skip()
	})
}

func decodePowerStatus(d *jsonread.Decoder, p *PowerStatus) error {
	return d.Object(func(k string) error {
		switch jsonread.Key(k, "source", "battery_percent", "flags", "on_battery_seconds", "minutes_left", "shed") {
		case "source":
			return d.SetString(&p.Source)
		case "battery_percent":
			return setIntPtr(d, &p.BatteryPercent)
		case "flags":
			return d.SetStrings(&p.Flags)
		case "on_battery_seconds":
			if null, err := d.Null(); null || err != nil {
				p.OnBatterySeconds = nil
				return err
			}
			v, err := d.Int(64)
			if err == nil {
				p.OnBatterySeconds = &v
			}
			return err
		case "minutes_left":
			return setIntPtr(d, &p.MinutesLeft)
		case "shed":
			return d.SetStrings(&p.Shed)
		}
		return d.Skip()
	})
}

func decodeWANStatus(d *jsonread.Decoder, w *WANStatus) error {
	return d.Object(func(k string) error {
		switch jsonread.Key(k, "interface", "link", "carrier", "operstate", "addresses", "default_route", "provider", "provider_host", "rtt_ms", "provider_losses") {
		case "interface":
			return d.SetString(&w.Interface)
		case "link":
			return d.SetString(&w.Link)
		case "carrier":
			return d.SetBool(&w.Carrier)
		case "operstate":
			return d.SetString(&w.OperState)
		case "addresses":
			return d.SetStrings(&w.Addresses)
		case "default_route":
			return d.SetBool(&w.DefaultRoute)
		case "provider":
			return d.SetString(&w.Provider)
		case "provider_host":
			return d.SetString(&w.ProviderHost)
		case "rtt_ms":
			if null, err := d.Null(); null || err != nil {
				w.RTTms = nil
				return err
			}
			v, err := d.Float64()
			if err == nil {
				w.RTTms = &v
			}
			return err
		case "provider_losses":
			return d.SetInt(&w.ProviderLosses)
		}
		return d.Skip()
	})
}

func decodeLineStatus(d *jsonread.Decoder, l *LineStatus) error {
	return d.Object(func(k string) error {
		switch jsonread.Key(k, "device", "profile", "state", "audio_device", "reason") {
		case "device":
			return d.SetString(&l.Device)
		case "profile":
			return d.SetString(&l.Profile)
		case "state":
			return d.SetString(&l.State)
		case "audio_device":
			return d.SetString(&l.AudioDevice)
		case "reason":
			return d.SetString(&l.Reason)
		}
		return decodeCellularStatus(d, k, &l.CellularStatus)
	})
}

// decodeCellularStatus decodes member k of a line into the inlined
// CellularStatus, allocated on its first member (as encoding/json does).
func decodeCellularStatus(d *jsonread.Decoder, k string, cp **CellularStatus) error {
	k = jsonread.Key(k, "registration", "operator", "signal_dbm", "technology", "sim", "volte")
	switch k {
	case "registration", "operator", "signal_dbm", "technology", "sim", "volte":
	default:
		return d.Skip()
	}
	if *cp == nil {
		*cp = new(CellularStatus)
	}
	c := *cp
	switch k {
	case "registration":
		return d.SetString(&c.Registration)
	case "operator":
		return d.SetString(&c.Operator)
	case "signal_dbm":
		return setIntPtr(d, &c.SignalDBm)
	case "technology":
		return d.SetString(&c.Technology)
	case "sim":
		return d.SetString(&c.SIM)
	}
	return d.SetString(&c.VoLTE)
}

func decodeOverrideStatus(d *jsonread.Decoder, o *OverrideStatus) error {
	return d.Object(func(k string) error {
		switch jsonread.Key(k, "mode", "until", "source") {
		case "mode":
			return setString(d, &o.Mode)
		case "until":
			if null, err := d.Null(); null || err != nil {
				o.Until = nil
				return err
			}
			var t time.Time
			err := setTime(d, &t)
			if err == nil {
				o.Until = &t
			}
			return err
		case "source":
			if null, err := d.Null(); null || err != nil {
				o.Source = nil
				return err
			}
			s, err := d.String()
			if err == nil {
				o.Source = &s
			}
			return err
		}
		return d.Skip()
	})
}

// decodeOverride decodes the persisted override (OverrideFile).
func decodeOverride(data []byte) (Override, error) {
	var o Override
	d := jsonread.New(data)
	err := d.Object(func(k string) error {
		switch jsonread.Key(k, "mode", "until", "source") {
		case "mode":
			return setString(d, &o.Mode)
		case "until":
			return setTime(d, &o.Until)
		case "source":
			return d.SetString(&o.Source)
		}
		return d.Skip()
	})
	if err == nil {
		err = d.End()
	}
	return o, err
}

// setString decodes a string into a named string type.
func setString[T ~string](d *jsonread.Decoder, p *T) error {
	s := string(*p)
	err := d.SetString(&s)
	*p = T(s)
	return err
}

// setIntPtr decodes an integer or null into *p.
func setIntPtr(d *jsonread.Decoder, p **int) error {
	if null, err := d.Null(); null || err != nil {
		*p = nil
		return err
	}
	var v int
	err := d.SetInt(&v)
	if err == nil {
		*p = &v
	}
	return err
}

// setTime decodes an RFC 3339 string as time.Time's UnmarshalJSON does.
func setTime(d *jsonread.Decoder, t *time.Time) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	off := d.Offset()
	raw, err := d.Raw()
	if err != nil {
		return err
	}
	if err := t.UnmarshalJSON(raw); err != nil {
		return &jsonread.Error{Offset: off, Msg: err.Error()}
	}
	return nil
}
