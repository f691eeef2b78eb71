// Package uci parses OpenWrt's UCI configuration syntax: the format of
// /etc/config/lifeline and of Lifeline's embedded board files.
//
// The accepted grammar is the one uci(1) writes and reads:
//
//	package <name>                    (ignored)
//	config <type> ['<name>']
//		option <name> '<value>'
//		list <name> '<value>'
//
// Values are single-quoted (no escapes), double-quoted (backslash escapes)
// or bare words (backslash escapes); adjacent pieces concatenate, as in a
// shell word. '#' starts a comment at the start of a word. A quoted value
// may not span lines. Every element records its line number so that callers
// can name file, line and option in their errors.
package uci

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("syntax error")

// MaxSize bounds the input Parse accepts; configuration files are small and a
// router's RAM is too.
const MaxSize = 1 << 20

// File is a parsed UCI file.
type File struct {
	Name     string // the file name used in errors
	Sections []*Section
}

// Section is one `config` block.
type Section struct {
	Type    string
	Name    string // empty for an anonymous section
	Line    int
	Options []*Option
}

// Option is an `option` (one value) or the gathered lines of a `list`.
type Option struct {
	Name   string
	Values []string // one value for an option; one per line for a list
	List   bool
	Line   int // line of the first occurrence
}

// Value returns the option's value; for a list, the last value.
func (o *Option) Value() string { return o.Values[len(o.Values)-1] }

// Error is a parse error at a position in a file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Unwrap makes errors.Is(err, ErrSyntax) true.
func (e *Error) Unwrap() error { return ErrSyntax }

// Parse parses data; name is used in error messages. An option given twice in
// one section is an error (uci would silently keep the last one, hiding a
// typo); list lines accumulate.
func Parse(name string, data []byte) (*File, error) {
	if len(data) > MaxSize {
		return nil, &Error{name, 0, fmt.Sprintf("file larger than %d bytes", MaxSize)}
	}
	f := &File{Name: name}
	var cur *Section
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxSize+1)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		words, err := split(sc.Text())
		if err != nil {
			return nil, &Error{name, lineNo, err.Error()}
		}
		if len(words) == 0 {
			continue
		}
		errf := func(format string, args ...any) error {
			return &Error{name, lineNo, fmt.Sprintf(format, args...)}
		}
		switch words[0] {
		case "package":
			if len(words) != 2 {
				return nil, errf("'package' takes one name")
			}
		case "config":
			if len(words) < 2 || len(words) > 3 {
				return nil, errf("'config' takes a type and an optional name")
			}
			if !validName(words[1]) {
				return nil, errf("bad section type %q", words[1])
			}
			cur = &Section{Type: words[1], Line: lineNo}
			if len(words) == 3 {
				if !validName(words[2]) {
					return nil, errf("bad section name %q", words[2])
				}
				cur.Name = words[2]
			}
			f.Sections = append(f.Sections, cur)
		case "option", "list":
			if cur == nil {
				return nil, errf("%q before any 'config' section", words[0])
			}
			if len(words) != 3 {
				return nil, errf("%q takes a name and one value", words[0])
			}
			if !validName(words[1]) {
				return nil, errf("bad option name %q", words[1])
			}
			isList := words[0] == "list"
			if o := cur.Option(words[1]); o != nil {
				if !isList || !o.List {
					return nil, errf("option %q already set on line %d", words[1], o.Line)
				}
				o.Values = append(o.Values, words[2])
				continue
			}
			cur.Options = append(cur.Options, &Option{Name: words[1], Values: []string{words[2]}, List: isList, Line: lineNo})
		default:
			return nil, errf("unknown keyword %q (want config, option or list)", words[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &Error{name, lineNo + 1, err.Error()}
	}
	return f, nil
}

// Option returns the named option of s, or nil.
func (s *Section) Option(name string) *Option {
	for _, o := range s.Options {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// Label names the section in messages: "type 'name'" or "type #line".
func (s *Section) Label() string {
	if s.Name != "" {
		return fmt.Sprintf("%s '%s'", s.Type, s.Name)
	}
	return fmt.Sprintf("anonymous %s (line %d)", s.Type, s.Line)
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// split cuts a line into shell-like words.
func split(line string) ([]string, error) {
	for i := 0; i < len(line); i++ {
		if c := line[i]; (c < 0x20 && c != '\t' && c != '\r') || c == 0x7f {
			return nil, fmt.Errorf("control character 0x%02x", c)
		}
	}
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			return words, nil
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) {
					i++
				}
				w.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(line) {
				return nil, errors.New("backslash at end of line (continuation lines are not supported)")
			}
			i++
			w.WriteByte(line[i])
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
