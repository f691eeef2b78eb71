package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzOverrideArgs: the rpcd arguments decode as with encoding/json.
func FuzzOverrideArgs(f *testing.F) {
	for _, s := range []string{`{"mode":"pstn","for":"10m"}`, `{"Mode":"sip","x":[1,{}]}`, `null`, `[]`, `{"mode":null}`, `{"mode":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want, got overrideArgs
		werr := json.Unmarshal(data, &want)
		gerr := got.decode(data)
		if gerr != nil && strings.Contains(gerr.Error(), "nested deeper") {
			return
		}
		if (werr == nil) != (gerr == nil) || werr == nil && got != want {
			t.Fatalf("%q: encoding/json %+v %v, hand decoder %+v %v", data, want, werr, got, gerr)
		}
	})
}
