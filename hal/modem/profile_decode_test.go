package modem

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// FuzzProfileDecode: the hand decoder accepts and rejects what encoding/json
// with DisallowUnknownFields did and yields the same profile.
func FuzzProfileDecode(f *testing.F) {
	ents, _ := profileFS.ReadDir("profiles")
	for _, e := range ents {
		b, _ := profileFS.ReadFile("profiles/" + e.Name())
		f.Add(b)
	}
	f.Add([]byte(`{"name":"x","voice":{"formats":[{"vsm":1,"format":"a"}],"dial_timeout":"1s"},"health":{"interval":5}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var want Profile
		werr := dec.Decode(&want)
		if werr == nil && dec.More() {
			werr = errors.New("data after the profile object") // as ParseProfile did
		}
		got, gerr := parseProfileJSON(data)
		if gerr != nil && strings.Contains(gerr.Error(), "nested deeper") {
			return
		}
		if werr == nil {
			if _, err := dec.Token(); err != io.EOF {
				werr = errors.New("data after the profile object") // as ParseProfile did
			}
		}
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: encoding/json %v, hand decoder %v", data, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(*got, want) {
			t.Fatalf("%q:\nencoding/json %+v\nhand decoder  %+v", data, want, *got)
		}
	})
}
