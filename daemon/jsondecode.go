package daemon

import (
	"time"

	"lifeline/hal/jsonread"
)

// The documents the daemon and its clients read, decoded by hand with
// jsonread instead of encoding/json's reflection (see that package). Each
// decoder keeps encoding/json's behaviour for its type: null leaves a value
// unchanged (a pointer nil), member names match case-insensitively, and
// unknown members are skipped unless the document is strict.

// decodeRequestJSON decodes a control request; unknown members are errors.
func decodeRequestJSON(d *jsonread.Decoder, r *Request) error {
	return d.Fields(decodeRequestJSONFields, true, func(i int) error {
		switch i {
		case 0: // cmd
			return d.SetString(&r.Cmd)
		case 1: // mode
			return d.SetString(&r.Mode)
		case 2: // for
			return d.SetString(&r.For)
		case 3: // signal
			return d.SetString(&r.Signal)
		case 4: // args
			return d.SetStrings(&r.Args)
		}
		return nil
	})
}

// decodeResponse decodes the daemon's answer to a control request.
func decodeResponse(data []byte) (Response, error) {
	var r Response
	d := jsonread.New(data)
	err := d.Fields(decodeResponseFields, false, func(i int) error {
		switch i {
		case 3: // output
			return d.SetString(&r.Output)
		case 0: // ok
			return d.SetBool(&r.OK)
		case 1: // error
			return d.SetString(&r.Error)
		case 2: // status
			if null, err := d.Null(); null || err != nil {
				r.Status = nil
				return err
			}
			if r.Status == nil {
				r.Status = new(Status)
			}
			return decodeStatus(d, r.Status)
		}
		return nil
	})
	if err == nil {
		err = d.End()
	}
	return r, err
}

// decodeStatus decodes the status document (`lifeline status --json`).
func decodeStatus(d *jsonread.Decoder, s *Status) error {
	return d.Fields(decodeStatusFields, false, func(i int) error {
		switch i {
		case 0: // route
			return setString(d, &s.Route)
		case 1: // reason
			return d.SetString(&s.Reason)
		case 2: // since
			return setTime(d, &s.Since)
		case 3: // degraded
			return d.SetBool(&s.Degraded)
		case 4: // power
			return decodePowerStatus(d, &s.Power)
		case 5: // wan
			return decodeWANStatus(d, &s.WAN)
		case 6: // line
			return decodeLineStatus(d, &s.Line)
		case 7: // override
			return decodeOverrideStatus(d, &s.Override)
		case 8: // calls
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
		case 9: // board
			return d.SetString(&s.Board)
		case 10: // version
			return d.SetString(&s.Version)
		case 11: // storage
			return d.Fields(storageFields, false, func(i int) error {
				switch i {
				case 0: // ok
					return d.SetBool(&s.Storage.OK)
				case 1: // unsaved
					return d.SetStrings(&s.Storage.Unsaved)
				}
				return d.SetString(&s.Storage.Error)
			})
		}
		return nil
	})
}

func decodeCallStatus(d *jsonread.Decoder, c *CallStatus) error {
	return d.Fields(decodeCallStatusFields, false, func(i int) error {
		switch i {
		case 0: // direction
			return d.SetString(&c.Direction)
		case 1: // number
			return d.SetString(&c.Number)
		case 2: // codec
			return d.SetString(&c.Codec)
		case 3: // format
			return d.SetString(&c.Format)
		case 4: // started
			return setTime(d, &c.Started)
		}
		return nil
	})
}

func decodePowerStatus(d *jsonread.Decoder, p *PowerStatus) error {
	return d.Fields(decodePowerStatusFields, false, func(i int) error {
		switch i {
		case 0: // source
			return d.SetString(&p.Source)
		case 1: // battery_percent
			return setIntPtr(d, &p.BatteryPercent)
		case 2: // flags
			return d.SetStrings(&p.Flags)
		case 3: // on_battery_seconds
			if null, err := d.Null(); null || err != nil {
				p.OnBatterySeconds = nil
				return err
			}
			v, err := d.Int(64)
			if err == nil {
				p.OnBatterySeconds = &v
			}
			return err
		case 4: // minutes_left
			return setIntPtr(d, &p.MinutesLeft)
		case 5: // shed
			return d.SetStrings(&p.Shed)
		}
		return nil
	})
}

func decodeWANStatus(d *jsonread.Decoder, w *WANStatus) error {
	return d.Fields(decodeWANStatusFields, false, func(i int) error {
		switch i {
		case 0: // interface
			return d.SetString(&w.Interface)
		case 1: // link
			return d.SetString(&w.Link)
		case 2: // carrier
			return d.SetBool(&w.Carrier)
		case 3: // operstate
			return d.SetString(&w.OperState)
		case 4: // addresses
			return d.SetStrings(&w.Addresses)
		case 5: // default_route
			return d.SetBool(&w.DefaultRoute)
		case 6: // provider
			return d.SetString(&w.Provider)
		case 7: // provider_host
			return d.SetString(&w.ProviderHost)
		case 8: // rtt_ms
			if null, err := d.Null(); null || err != nil {
				w.RTTms = nil
				return err
			}
			v, err := d.Float64()
			if err == nil {
				w.RTTms = &v
			}
			return err
		case 9: // provider_losses
			return d.SetInt(&w.ProviderLosses)
		}
		return nil
	})
}

func decodeLineStatus(d *jsonread.Decoder, l *LineStatus) error {
	return d.Fields(lineFields, false, func(i int) error {
		switch i {
		case 0: // device
			return d.SetString(&l.Device)
		case 1: // profile
			return d.SetString(&l.Profile)
		case 2: // state
			return d.SetString(&l.State)
		case 3: // audio_device
			return d.SetString(&l.AudioDevice)
		case 4: // reason
			return d.SetString(&l.Reason)
		}
		// The inlined CellularStatus, allocated on its first member (as
		// encoding/json does).
		if l.CellularStatus == nil {
			l.CellularStatus = new(CellularStatus)
		}
		c := l.CellularStatus
		switch i {
		case 5: // registration
			return d.SetString(&c.Registration)
		case 6: // operator
			return d.SetString(&c.Operator)
		case 7: // signal_dbm
			return setIntPtr(d, &c.SignalDBm)
		case 8: // technology
			return d.SetString(&c.Technology)
		case 9: // sim
			return d.SetString(&c.SIM)
		}
		return d.SetString(&c.VoLTE)
	})
}

func decodeOverrideStatus(d *jsonread.Decoder, o *OverrideStatus) error {
	return d.Fields(decodeOverrideStatusFields, false, func(i int) error {
		switch i {
		case 0: // mode
			return setString(d, &o.Mode)
		case 1: // until
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
		case 2: // source
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
		return nil
	})
}

// decodeOverride decodes the persisted override (OverrideFile).
func decodeOverride(data []byte) (Override, error) {
	var o Override
	d := jsonread.New(data)
	err := d.Fields(decodeOverrideFields, false, func(i int) error {
		switch i {
		case 0: // mode
			return setString(d, &o.Mode)
		case 1: // until
			return setTime(d, &o.Until)
		case 2: // source
			return d.SetString(&o.Source)
		}
		return nil
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

// Member names, in the order of the decoders' switch cases.
var (
	decodeRequestJSONFields    = []string{"cmd", "mode", "for", "signal", "args"}
	decodeResponseFields       = []string{"ok", "error", "status", "output"}
	decodeStatusFields         = []string{"route", "reason", "since", "degraded", "power", "wan", "line", "override", "calls", "board", "version", "storage"}
	decodeCallStatusFields     = []string{"direction", "number", "codec", "format", "started"}
	decodePowerStatusFields    = []string{"source", "battery_percent", "flags", "on_battery_seconds", "minutes_left", "shed"}
	decodeWANStatusFields      = []string{"interface", "link", "carrier", "operstate", "addresses", "default_route", "provider", "provider_host", "rtt_ms", "provider_losses"}
	decodeOverrideStatusFields = []string{"mode", "until", "source"}
	decodeOverrideFields       = []string{"mode", "until", "source"}
	storageFields              = []string{"ok", "unsaved", "error"}
	// A line's own members, then its inlined CellularStatus's.
	lineFields = []string{"device", "profile", "state", "audio_device", "reason",
		"registration", "operator", "signal_dbm", "technology", "sim", "volte"}
)
