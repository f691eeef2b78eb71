package kamailio

import (
	"encoding/json"

	"lifeline/hal/jsonread"
)

// The JSON-RPC replies are decoded by hand with hal/jsonread, as
// encoding/json decoded them (unknown members skipped, names matched
// case-insensitively), so the product links no reflection-based decoder.

// decodeResponse decodes one JSON-RPC 2.0 reply.
func decodeResponse(b []byte) (response, error) {
	var r response
	d := jsonread.New(b)
	err := d.Fields(decodeResponseFields, false, func(i int) error {
		switch i {
		case 0: // jsonrpc
			return d.SetString(&r.JSONRPC)
		case 1: // result
			raw, err := d.Raw()
			r.Result = json.RawMessage(raw)
			return err
		case 2: // error
			if null, err := d.Null(); null || err != nil {
				r.Error = nil
				return err
			}
			if r.Error == nil {
				r.Error = new(RPCError)
			}
			return decodeRPCError(d, r.Error)
		case 3: // id
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
		return nil
	})
	if err == nil {
		err = d.End()
	}
	return r, err
}

func decodeRPCError(d *jsonread.Decoder, e *RPCError) error {
	return d.Fields(decodeRPCErrorFields, false, func(i int) error {
		switch i {
		case 0: // code
			return d.SetInt(&e.Code)
		case 1: // message
			return d.SetString(&e.Message)
		}
		return nil
	})
}

// decodeItem decodes htable.get's result, {"item": {"name": …, "value": …}},
// returning the raw value (nil when absent).
func decodeItem(b []byte) (json.RawMessage, error) {
	var value json.RawMessage
	d := jsonread.New(b)
	err := d.Fields(itemFields, false, func(int) error {
		return d.Fields(decodeItemFields, false, func(i int) error {
			switch i {
			case 0: // name
				var s string
				return d.SetString(&s)
			case 1: // value
				raw, err := d.Raw()
				value = raw
				return err
			}
			return nil
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
	err = d.Fields(decodeUptimeFields, false, func(i int) error {
		switch i {
		case 0: // now
			return d.SetString(&u.Now)
		case 1: // up_since
			return d.SetString(&u.UpSince)
		case 2: // uptime
			return d.SetFloat64(&secs)
		}
		return nil
	})
	if err == nil {
		err = d.End()
	}
	return u, secs, err
}

// Member names, in the order of the decoders' switch cases.
var (
	decodeResponseFields = []string{"jsonrpc", "result", "error", "id"}
	decodeRPCErrorFields = []string{"code", "message"}
	decodeItemFields     = []string{"name", "value"}
	decodeUptimeFields   = []string{"now", "up_since", "uptime"}
	itemFields           = []string{"item"}
)
