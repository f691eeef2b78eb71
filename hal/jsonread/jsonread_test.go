package jsonread

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// toAny decodes the document as encoding/json decodes into an any.
func toAny(d *Decoder) (any, error) {
	switch d.Peek() {
	case Null:
		_, err := d.Null()
		return nil, err
	case Bool:
		return d.Bool()
	case Number:
		return d.Float64()
	case String:
		return d.String()
	case Array:
		out := []any{}
		err := d.Array(func(int) error {
			v, err := toAny(d)
			out = append(out, v)
			return err
		})
		return out, err
	case Object:
		out := map[string]any{}
		err := d.Object(func(k string) error {
			v, err := toAny(d)
			out[k] = v
			return err
		})
		return out, err
	}
	return nil, d.Skip()
}

func decodeAny(data []byte) (any, error) {
	d := New(data)
	v, err := toAny(d)
	if err == nil {
		err = d.End()
	}
	return v, err
}

func tooDeep(err error) bool {
	var e *Error
	return errors.As(err, &e) && strings.HasPrefix(e.Msg, "nested deeper")
}

var seeds = []string{
	`null`, `true`, `false`, `0`, `-0`, `1.5e3`, `-12.25E-2`, `1e999`, `01`, `-`, `1.`, `.5`, `1e`, `+1`,
	`""`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u20AC"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00x"`,
	`"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`, `"\x"`, `"\u12"`, `"a` + "\x01" + `"`, "\"\xff\xfe\"", `"é"`,
	`[]`, `[1,2,[3,{}]]`, `[1,]`, `[,1]`, `{}`, `{"a":1,"a":2}`, `{"a":1,}`, `{"a" 1}`, `{1:2}`,
	`{"k":[null,true,"x"]}`, ` {"a" : [ 1 , 2 ] } `, `{"a":1} x`, `nul`, `truex`, "\ufeff{}", ``, ` `,
	strings.Repeat("[", 65) + strings.Repeat("]", 65), `[1e400]`, `{"a":"b"`, `"abc`,
}

func TestMatchesEncodingJSON(t *testing.T) {
	for _, s := range seeds {
		checkAgainstJSON(t, []byte(s))
	}
}

func FuzzMatchesEncodingJSON(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkAgainstJSON)
}

// checkAgainstJSON: same accept/reject as encoding/json and, when valid,
// the same value.
func checkAgainstJSON(t *testing.T, data []byte) {
	var want any
	werr := json.Unmarshal(data, &want)
	got, gerr := decodeAny(data)
	if tooDeep(gerr) {
		return
	}
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%q: encoding/json error %v, jsonread error %v", data, werr, gerr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: encoding/json %#v, jsonread %#v", data, want, got)
	}
	if gerr != nil {
		var e *Error
		if !errors.As(gerr, &e) || e.Offset < 0 || e.Offset > len(data) {
			t.Fatalf("%q: error %v has no offset in the document", data, gerr)
		}
	}
}

func TestErrorPathAndOffset(t *testing.T) {
	d := New([]byte(`{"a": {"b": [1, "x"]}}`))
	err := d.Object(func(string) error {
		return d.Object(func(string) error {
			var n int
			return d.Array(func(int) error { return d.SetInt(&n) })
		})
	})
	var e *Error
	if !errors.As(err, &e) || e.Path != "a.b[1]" || e.Offset != 16 {
		t.Fatalf("got %#v (%v), want path a.b[1] at offset 16", e, err)
	}
	if want := `json: offset 16, a.b[1]: want a number, got a string`; err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
}

func TestIntsAsEncodingJSON(t *testing.T) {
	for _, s := range []string{`1`, `-0`, `1.0`, `1e2`, `9223372036854775808`, `-9223372036854775808`, `null`, `"1"`} {
		var want, got int64 = 7, 7
		werr := json.Unmarshal([]byte(s), &want)
		d := New([]byte(s))
		var gerr error
		if null, err := d.Null(); err != nil {
			gerr = err
		} else if !null {
			var v int64
			if v, gerr = d.Int(64); gerr == nil {
				got = v
			}
		}
		if (werr == nil) != (gerr == nil) || got != want {
			t.Errorf("%s: encoding/json %d, %v; jsonread %d, %v", s, want, werr, got, gerr)
		}
	}
}

func TestLimits(t *testing.T) {
	if _, err := decodeAny([]byte(strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1))); !tooDeep(err) {
		t.Errorf("depth %d: got %v, want nested deeper error", MaxDepth+1, err)
	}
	if _, err := decodeAny([]byte(strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth))); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	big := make([]byte, MaxSize+1)
	big[0] = '"'
	if _, err := New(big).String(); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("%d bytes: got %v, want a size error", len(big), err)
	}
}

func TestFields(t *testing.T) {
	names := []string{"cmd", "mode"}
	for _, c := range []struct {
		key  string
		want int
	}{{"cmd", 0}, {"CMD", 0}, {"Mode", 1}, {"other", -1}} {
		if got := Index(names, c.key); got != c.want {
			t.Errorf("Index(%q) = %d, want %d", c.key, got, c.want)
		}
	}
	var got []int
	d := New([]byte(`{"MODE":1,"x":{"y":[]},"cmd":2}`))
	if err := d.Fields(names, false, func(i int) error { got = append(got, i); return d.Skip() }); err != nil || len(got) != 2 || got[0] != 1 || got[1] != 0 {
		t.Errorf("lenient: got %v, %v; want [1 0]", got, err)
	}
	d = New([]byte(`{"cmd":1,"x":2}`))
	err := d.Fields(names, true, func(int) error { return d.Skip() })
	if err == nil || !strings.Contains(err.Error(), `unknown field "x"`) {
		t.Errorf("strict: got %v, want unknown field \"x\"", err)
	}
	if err := New([]byte(`null`)).Fields(names, true, func(int) error { t.Error("member called for null"); return nil }); err != nil {
		t.Errorf("null: %v", err)
	}
}
