package daemon

import (
	"encoding/json"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fillRandom sets every field reachable from v (pointers allocated, slices
// of one or two elements) so that a field the hand decoder forgets shows up
// as a difference from encoding/json.
func fillRandom(v reflect.Value, r *rand.Rand) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillRandom(v.Elem(), r)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(r.Int63n(4e9), r.Int63n(1e9)).UTC()))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillRandom(v.Field(i), r)
			}
		}
	case reflect.Slice:
		n := 1 + r.Intn(2)
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := 0; i < n; i++ {
			fillRandom(v.Index(i), r)
		}
	case reflect.String:
		v.SetString([]string{"sip", "a\"b", "é\u2028x", "wan0"}[r.Intn(4)])
	case reflect.Bool:
		v.SetBool(r.Intn(2) == 1)
	case reflect.Int, reflect.Int64:
		v.SetInt(r.Int63n(1e6) - 5e5)
	case reflect.Float64:
		v.SetFloat(r.Float64() * 100)
	}
}

// TestStatusDecodesEveryField: a Status with every field set survives
// encoding and the hand decoder exactly as with encoding/json.
func TestStatusDecodesEveryField(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 50; i++ {
		var st Status
		fillRandom(reflect.ValueOf(&st).Elem(), r)
		data, err := json.Marshal(Response{OK: true, Status: &st})
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeResponse(data)
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if !reflect.DeepEqual(got.Status, &st) {
			t.Fatalf("decoded\n%+v\nwant\n%+v", got.Status, st)
		}
	}
}

func FuzzDecodeResponse(f *testing.F) {
	var st Status
	fillRandom(reflect.ValueOf(&st).Elem(), rand.New(rand.NewSource(2)))
	full, _ := json.Marshal(Response{OK: true, Status: &st})
	f.Add(full)
	f.Add([]byte(`{"ok":false,"error":"x","status":null}`))
	f.Add([]byte(`{"OK":true,"Status":{"CALLS":[],"wan":{"rtt_ms":null},"power":{"battery_percent":1.5}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var want Response
		werr := json.Unmarshal(data, &want)
		got, gerr := decodeResponse(data)
		if werr == nil && gerr == nil {
			gerr = nil
		}
		if (werr == nil) != (gerr == nil) {
			if gerr != nil && strings.Contains(gerr.Error(), "nested deeper") {
				return
			}
			t.Fatalf("%q: encoding/json %v, hand decoder %v", data, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\nencoding/json %+v\nhand decoder  %+v", data, want, got)
		}
	})
}

func FuzzDecodeOverride(f *testing.F) {
	f.Add([]byte(`{"mode":"pstn","until":"2026-01-02T03:04:05Z","source":"cli"}`))
	f.Add([]byte(`{"mode":"sip"}`))
	f.Add([]byte(`{"Mode":"sip","until":null,"x":[1]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var want Override
		werr := json.Unmarshal(data, &want)
		got, gerr := decodeOverride(data)
		if (werr == nil) != (gerr == nil) {
			if gerr != nil && strings.Contains(gerr.Error(), "nested deeper") {
				return
			}
			t.Fatalf("%q: encoding/json %v, hand decoder %v", data, werr, gerr)
		}
		if werr == nil && (got.Mode != want.Mode || !got.Until.Equal(want.Until) || got.Source != want.Source) {
			t.Fatalf("%q: encoding/json %+v, hand decoder %+v", data, want, got)
		}
	})
}
