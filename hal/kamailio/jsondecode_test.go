package kamailio

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func deep(err error) bool { return err != nil && strings.Contains(err.Error(), "nested deeper") }

// FuzzDecodeResponse: a reply decodes as with encoding/json.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{`{"jsonrpc":"2.0","result":{"a":[1]},"id":3}`, `{"jsonrpc":"2.0","error":{"code":500,"message":"x"},"id":1}`,
		`{"JSONRPC":"2.0","result":null,"id":null}`, `{"id":-1}`, `{"id":1.5}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want response
		werr := json.Unmarshal(data, &want)
		got, gerr := decodeResponse(data)
		if deep(gerr) {
			return
		}
		if (werr == nil) != (gerr == nil) || werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: encoding/json %+v %v, hand decoder %+v %v", data, want, werr, got, gerr)
		}
	})
}

// FuzzDecodeResults: htable.get's item and core.uptime decode as with
// encoding/json.
func FuzzDecodeResults(f *testing.F) {
	for _, s := range []string{`{"item":{"name":"k","value":"sip:a"}}`, `{"item":{"value":42}}`, `{"item":{"value":null}}`, `{"item":null}`,
		`{"now":"a","up_since":"b","uptime":12.5}`, `{"uptime":"x"}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var item struct {
			Item struct {
				Name  string          `json:"name"`
				Value json.RawMessage `json:"value"`
			} `json:"item"`
		}
		werr := json.Unmarshal(data, &item)
		value, gerr := decodeItem(data)
		if deep(gerr) {
			return
		}
		if (werr == nil) != (gerr == nil) || werr == nil && string(value) != string(item.Item.Value) {
			t.Fatalf("item %q: encoding/json %q %v, hand decoder %q %v", data, item.Item.Value, werr, value, gerr)
		}
		if werr == nil && value != nil {
			var s string
			serr := json.Unmarshal(value, &s)
			gs, ok := decodeString(value)
			if (serr == nil) != ok || ok && gs != s {
				t.Fatalf("value %q: encoding/json %q %v, hand decoder %q %v", value, s, serr, gs, ok)
			}
		}
		var u Uptime
		var secs struct {
			Uptime float64 `json:"uptime"`
		}
		werr = json.Unmarshal(data, &u)
		if werr == nil {
			werr = json.Unmarshal(data, &secs)
		}
		gu, gsecs, gerr := decodeUptime(data)
		if (werr == nil) != (gerr == nil) || werr == nil && (gu != u || gsecs != secs.Uptime) {
			t.Fatalf("uptime %q: encoding/json %+v %v %v, hand decoder %+v %v %v", data, u, secs.Uptime, werr, gu, gsecs, gerr)
		}
	})
}
