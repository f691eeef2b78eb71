package kamailio

import (
	"encoding/json"

	"lifeline/internal/jsonread"
)

// The JSON-RPC replies are decoded by hand with internal/jsonread, as
// encoding/json decoded them (unknown members skipped, names matched
// case-insensitively), so the product links no reflection-based decoder.

// decodeResponse decodes one JSON-RPC 2.0 reply.
func decodeResponse(b []byte) (response, error) {
	var r response
	d := jsonread.New(b)
	if null, err := d.Null(); null || err != nil {
		if err == nil {
			err = d.End()
		}
		return r, err
	}
	err := d.Object(func(k string) error {
		switch jsonread.Key(k, "jsonrpc", "result", "error", "id") {
		case "jsonrpc":
			return d.SetString(&r.JSONRPC)
		case "result":
			raw, err := d.Raw()
			r.Result = json.RawMessage(raw)
			return err
		case "error":
			if null, err := d.Null(); null || err != nil {
				r.Error = nil
				return err
			}
			if r.Error == nil {
				r.Error = new(RPCError)
			}
			return decodeRPCError(d, r.Error)
		case "id":
			if null, err := d.Null(); null || err != nil {
				r.ID = nil
				return err
			}
			v, err := d.Uint(64)
			if err == nil {
				r.ID = &v
			}
			return err
		}
		return d.Skip()
	})
	if err == nil {
		err = d.End()
	}
	return r, err
}

func decodeRPCError(d *jsonread.Decoder, e *RPCError) error {
	return d.Object(func(k string) error {
		switch jsonread.Key(k, "code", "message") {
		case "code":
			return d.SetInt(&e.Code)
		case "message":
			return d.SetString(&e.Message)
		}
		return d.Skip()
	})
}

// decodeItem decodes htable.get's result, {"item": {"name": …, "value": …}},
// returning the raw value (nil when absent).
func decodeItem(b []byte) (json.RawMessage, error) {
	var value json.RawMessage
	d := jsonread.New(b)
	if null, err := d.Null(); null || err != nil {
		if err == nil {
			err = d.End()
		}
		return nil, err
	}
	err := d.Object(func(k string) error {
		if jsonread.Key(k, "item") != "item" {
			return d.Skip()
		}
		if null, err := d.Null(); null || err != nil {
			return err
		}
		return d.Object(func(k string) error {
			switch jsonread.Key(k, "name", "value") {
			case "name":
				var s string
				return d.SetString(&s)
			case "value":
				raw, err := d.Raw()
				value = raw
				return err
			}
			return d.Skip()
		})
	})
	if err == nil {
		err = d.End()
	}
	return value, err
}

// decodeString decodes a JSON string value (null is "", as encoding/json
// leaves a string).
func decodeString(b []byte) (string, bool) {
	d := jsonread.New(b)
	if null, err := d.Null(); null || err != nil {
		return "", err == nil && d.End() == nil
	}
	s, err := d.String()
	return s, err == nil && d.End() == nil
}

// decodeUptime decodes core.uptime's result: now, up_since and uptime (in
// seconds).
func decodeUptime(b []byte) (u Uptime, secs float64, err error) {
	d := jsonread.New(b)
	if null, err := d.Null(); null || err != nil {
		if err == nil {
			err = d.End()
		}
		return u, 0, err
	}
	err = d.Object(func(k string) error {
		switch jsonread.Key(k, "now", "up_since", "uptime") {
		case "now":
			return d.SetString(&u.Now)
		case "up_since":
			return d.SetString(&u.UpSince)
		case "uptime":
			return d.SetFloat64(&secs)
		}
		return d.Skip()
	})
	if err == nil {
		err = d.End()
	}
	return u, secs, err
}
