package profiles

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseJSON: the hand decoder accepts and rejects the first value as
// encoding/json's Decoder with DisallowUnknownFields did and yields the
// same profile.
func FuzzParseJSON(f *testing.F) {
	for _, n := range Names() {
		b, _ := fsys.ReadFile("data/" + n + ".json")
		f.Add(b)
	}
	f.Add([]byte(`{"audio":{"frame":"20ms","rate":8000},"voice_check":null,"volte_check":{"command":"x"},"dial":{"timeout":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var want Profile
		werr := dec.Decode(&want)
		got, gerr := parseJSON(data)
		if gerr != nil && strings.Contains(gerr.Error(), "nested deeper") {
			return
		}
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: encoding/json %v, hand decoder %v", data, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(*got, want) {
			t.Fatalf("%q:\nencoding/json %+v\nhand decoder  %+v", data, want, *got)
		}
	})
}
