package uci

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	src := `package lifeline
# a comment
config lifeline 'main'
	option board 'auto'   # trailing comment
	option hooks_dir "/etc/lifeline/hooks.d"
	option quoted "a \"b\" c"
	option mixed foo'bar'"baz"

config battery
	list shed_interface 'wlan1'
	list shed_interface wlan0
`
	f, err := Parse("lifeline", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sections) != 2 {
		t.Fatalf("sections = %d", len(f.Sections))
	}
	m := f.Sections[0]
	if m.Type != "lifeline" || m.Name != "main" || m.Line != 3 {
		t.Fatalf("main = %+v", m)
	}
	for name, want := range map[string]string{
		"board": "auto", "hooks_dir": "/etc/lifeline/hooks.d", "quoted": `a "b" c`, "mixed": "foobarbaz",
	} {
		if got := m.Option(name).Value(); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if m.Option("board").Line != 4 {
		t.Errorf("board line = %d", m.Option("board").Line)
	}
	b := f.Sections[1]
	if b.Name != "" || b.Label() != "anonymous battery (line 9)" {
		t.Errorf("label = %q", b.Label())
	}
	if got := b.Option("shed_interface"); !got.List || !reflect.DeepEqual(got.Values, []string{"wlan1", "wlan0"}) {
		t.Errorf("list = %+v", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"option before config", "option a 'b'\n", 1, "before any 'config'"},
		{"unterminated single", "config a\n\toption b 'c\n", 2, "unterminated single quote"},
		{"unterminated double", "config a\n\toption b \"c\n", 2, "unterminated double quote"},
		{"missing value", "config a\n\toption b\n", 2, "takes a name and one value"},
		{"extra value", "config a\n\toption b c d\n", 2, "takes a name and one value"},
		{"unknown keyword", "config a\n\n\toptoin b c\n", 3, `unknown keyword "optoin"`},
		{"duplicate option", "config a\n\toption b c\n\toption b d\n", 3, `option "b" already set on line 2`},
		{"list after option", "config a\n\toption b c\n\tlist b d\n", 3, "already set"},
		{"bad section name", "config a 'b c'\n", 1, "bad section name"},
		{"bad type", "config\n", 1, "'config' takes a type"},
		{"trailing backslash", "config a\n\toption b c\\\n", 2, "backslash at end of line"},
		{"control char", "config a\n\toption b '\x01'\n", 2, "control character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f", []byte(tc.src))
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("err = %v, want *Error wrapping ErrSyntax", err)
			}
			if e.Line != tc.line || !strings.Contains(e.Msg, tc.msg) {
				t.Fatalf("err = %v, want line %d containing %q", err, tc.line, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "f:") {
				t.Fatalf("err %q does not name the file", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("config lifeline 'main'\n\toption board 'auto'\n\tlist k 'a'\n\tlist k \"b\\\"\"\n"))
	f.Add([]byte("package x\nconfig a\n# c\n\toption b c'd'\"e\"\n"))
	f.Add([]byte("config a\n\toption b '\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, s := range file.Sections {
			if !validName(s.Type) || s.Line <= 0 {
				t.Fatalf("bad section %+v", s)
			}
			for _, o := range s.Options {
				if len(o.Values) == 0 || (!o.List && len(o.Values) != 1) {
					t.Fatalf("bad option %+v", o)
				}
			}
		}
	})
}
