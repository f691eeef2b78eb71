// Package jsonread is a small, strict JSON (RFC 8259) reader for the few
// documents Lifeline decodes: control requests and replies, state files,
// JSON-RPC replies and profiles. Each caller walks its document by hand
// with the typed accessors below, so the product needs no reflection-based
// decoder (encoding/json's Unmarshal costs about 110 KB on mipsle).
//
// It accepts exactly what encoding/json accepts and yields the same values:
// strings are unescaped as RFC 8259 says (surrogate pairs joined, a lone
// surrogate and invalid UTF-8 become U+FFFD, as encoding/json does),
// numbers follow the JSON grammar, duplicate object keys are all reported
// (a caller that assigns keeps the last, as encoding/json does). Nesting is
// limited to MaxDepth and the document to MaxSize. Errors are *Error: they
// carry the byte offset and the path of the member ("audio.frame[2]").
package jsonread

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

const (
	// MaxDepth is the deepest nesting of arrays and objects accepted.
	MaxDepth = 64
	// MaxSize is the largest document accepted, in bytes.
	MaxSize = 4 << 20
)

// Error is a syntax or type error at Offset bytes into the document, in
// the member at Path ("" for the top level).
type Error struct {
	Offset int
	Path   string
	Msg    string
}

func (e *Error) Error() string {
	s := "json: offset " + strconv.Itoa(e.Offset)
	if e.Path != "" {
		s += ", " + e.Path
	}
	return s + ": " + e.Msg
}

// Kind is the kind of the next value.
type Kind byte

// The kinds of JSON values; Invalid is the end of input or a byte no value
// starts with.
const (
	Invalid Kind = iota
	Null
	Bool
	Number
	String
	Array
	Object
)

var kindNames = [...]string{"nothing", "null", "a boolean", "a number", "a string", "an array", "an object"}

func (k Kind) String() string { return kindNames[k] }

// Decoder reads one document. Its methods consume the next value; after a
// method returned an error the Decoder is not to be used again.
type Decoder struct {
	data  []byte
	pos   int
	depth int
}

// New returns a Decoder reading data.
func New(data []byte) *Decoder { return &Decoder{data: data} }

// Offset is the position of the next byte to read.
func (d *Decoder) Offset() int { return d.pos }

func (d *Decoder) errAt(off int, msg string) error { return &Error{Offset: off, Msg: msg} }

func (d *Decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// Peek returns the kind of the next value without consuming it.
func (d *Decoder) Peek() Kind {
	d.ws()
	if d.pos >= len(d.data) {
		return Invalid
	}
	switch c := d.data[d.pos]; {
	case c == 'n':
		return Null
	case c == 't' || c == 'f':
		return Bool
	case c == '-' || c >= '0' && c <= '9':
		return Number
	case c == '"':
		return String
	case c == '[':
		return Array
	case c == '{':
		return Object
	}
	return Invalid
}

// start checks the next value is of kind want and returns an error naming
// what was found otherwise.
func (d *Decoder) start(want Kind) error {
	if len(d.data) > MaxSize {
		return d.errAt(0, "document larger than "+strconv.Itoa(MaxSize)+" bytes")
	}
	got := d.Peek()
	if got == want {
		return nil
	}
	if got == Invalid {
		return d.syntax("a value")
	}
	return d.errAt(d.pos, "want "+want.String()+", got "+got.String())
}

// syntax is the error for an unexpected byte (or the end) where want was.
func (d *Decoder) syntax(want string) error {
	if d.pos >= len(d.data) {
		return d.errAt(d.pos, "unexpected end of input, want "+want)
	}
	return d.errAt(d.pos, "invalid character "+strconv.QuoteRune(rune(d.data[d.pos]))+", want "+want)
}

// Null consumes a null and reports true if the next value is null; it
// consumes nothing otherwise. encoding/json leaves a non-pointer field
// unchanged for null: callers skip their assignment when Null is true.
func (d *Decoder) Null() (bool, error) {
	if d.Peek() != Null {
		return false, nil
	}
	return true, d.literal("null")
}

func (d *Decoder) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		if d.pos >= len(d.data) || d.data[d.pos] != lit[i] {
			return d.syntax("literal " + lit)
		}
		d.pos++
	}
	return nil
}

// Bool reads true or false.
func (d *Decoder) Bool() (bool, error) {
	if err := d.start(Bool); err != nil {
		return false, err
	}
	if d.data[d.pos] == 't' {
		return true, d.literal("true")
	}
	return false, d.literal("false")
}

// Number reads a number and returns its text, checked against the JSON
// grammar.
func (d *Decoder) Number() (string, error) {
	if err := d.start(Number); err != nil {
		return "", err
	}
	begin := d.pos
	if d.data[d.pos] == '-' {
		d.pos++
	}
	if d.peekByte() == '0' {
		d.pos++
	} else if !d.digits() {
		return "", d.syntax("a digit")
	}
	if d.peekByte() == '.' {
		d.pos++
		if !d.digits() {
			return "", d.syntax("a digit after the decimal point")
		}
	}
	if c := d.peekByte(); c == 'e' || c == 'E' {
		d.pos++
		if c := d.peekByte(); c == '+' || c == '-' {
			d.pos++
		}
		if !d.digits() {
			return "", d.syntax("a digit in the exponent")
		}
	}
	return string(d.data[begin:d.pos]), nil
}

func (d *Decoder) peekByte() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// digits consumes [0-9]* and reports whether there was at least one.
func (d *Decoder) digits() bool {
	begin := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
	return d.pos > begin
}

// Int reads an integer that fits in bits (as strconv.ParseInt); a fraction,
// an exponent or an overflow is an error, as for encoding/json.
func (d *Decoder) Int(bits int) (int64, error) {
	off := d.Offset()
	s, err := d.Number()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return 0, d.errAt(off, "number "+s+" is not an integer of "+strconv.Itoa(bits)+" bits")
	}
	return v, nil
}

// Uint reads an unsigned integer that fits in bits.
func (d *Decoder) Uint(bits int) (uint64, error) {
	off := d.Offset()
	s, err := d.Number()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, d.errAt(off, "number "+s+" is not an unsigned integer of "+strconv.Itoa(bits)+" bits")
	}
	return v, nil
}

// Float64 reads a number as a float64; one out of its range is an error.
func (d *Decoder) Float64() (float64, error) {
	off := d.Offset()
	s, err := d.Number()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, d.errAt(off, "number "+s+" is out of range")
	}
	return v, nil
}

// String reads a string and returns it unescaped.
func (d *Decoder) String() (string, error) {
	if err := d.start(String); err != nil {
		return "", err
	}
	d.pos++ // the opening quote
	begin := d.pos
	// Fast path: no escapes, ASCII or valid UTF-8.
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c == '"' {
			s := d.data[begin:d.pos]
			d.pos++
			return string(s), nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		d.pos++
	}
	buf := append([]byte(nil), d.data[begin:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(buf), nil
		case c < 0x20:
			return "", d.errAt(d.pos, "control character "+strconv.QuoteRune(rune(c))+" in string")
		case c == '\\':
			r, err := d.escape()
			if err != nil {
				return "", err
			}
			buf = utf8.AppendRune(buf, r)
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			d.pos++
		default:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			buf = utf8.AppendRune(buf, r) // invalid UTF-8 becomes U+FFFD
			d.pos += size
		}
	}
	return "", d.syntax("a closing quote")
}

// escape reads one escape sequence at d.pos (the backslash).
func (d *Decoder) escape() (rune, error) {
	d.pos++
	if d.pos >= len(d.data) {
		return 0, d.syntax("an escape")
	}
	c := d.data[d.pos]
	d.pos++
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r := d.hex4(d.pos)
		if r < 0 {
			return 0, d.errAt(d.pos-2, "invalid \\u escape")
		}
		d.pos += 4
		if !utf16.IsSurrogate(r) {
			return r, nil
		}
		// A high surrogate followed by a low one is one rune; anything
		// else leaves U+FFFD for the lone surrogate.
		if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
			if r2 := d.hex4(d.pos + 2); r2 >= 0 {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					d.pos += 6
					return dec, nil
				}
			}
		}
		return utf8.RuneError, nil
	}
	d.pos--
	return 0, d.errAt(d.pos, "invalid escape "+strconv.QuoteRune(rune(c)))
}

// hex4 decodes four hex digits at off, or returns -1.
func (d *Decoder) hex4(off int) rune {
	if off+4 > len(d.data) {
		return -1
	}
	var r rune
	for _, c := range d.data[off : off+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// Object reads an object, calling member for each key with the decoder at
// the member's value; member must consume the value (Skip for unknown
// keys). An *Error member returns gets key prepended to its Path.
func (d *Decoder) Object(member func(key string) error) error {
	if err := d.start(Object); err != nil {
		return err
	}
	if err := d.enter(); err != nil {
		return err
	}
	d.pos++
	d.ws()
	if d.peekByte() == '}' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		key, err := d.String()
		if err != nil {
			if d.Peek() != String {
				return d.syntax("a member name")
			}
			return err
		}
		d.ws()
		if d.peekByte() != ':' {
			return d.syntax("':' after a member name")
		}
		d.pos++
		if err := member(key); err != nil {
			return inPath(err, key)
		}
		d.ws()
		switch d.peekByte() {
		case ',':
			d.pos++
			d.ws()
			continue
		case '}':
			d.pos++
			d.depth--
			return nil
		}
		return d.syntax("',' or '}' after a member")
	}
}

// Array reads an array, calling elem with the index of each element with
// the decoder at the element; elem must consume it. An *Error elem returns
// gets "[i]" prepended to its Path.
func (d *Decoder) Array(elem func(i int) error) error {
	if err := d.start(Array); err != nil {
		return err
	}
	if err := d.enter(); err != nil {
		return err
	}
	d.pos++
	d.ws()
	if d.peekByte() == ']' {
		d.pos++
		d.depth--
		return nil
	}
	for i := 0; ; i++ {
		if err := elem(i); err != nil {
			return inPath(err, "["+strconv.Itoa(i)+"]")
		}
		d.ws()
		switch d.peekByte() {
		case ',':
			d.pos++
			continue
		case ']':
			d.pos++
			d.depth--
			return nil
		}
		return d.syntax("',' or ']' after an element")
	}
}

func (d *Decoder) enter() error {
	if d.depth >= MaxDepth {
		return d.errAt(d.pos, "nested deeper than "+strconv.Itoa(MaxDepth))
	}
	d.depth++
	return nil
}

// inPath prepends a member name or an index to the path of an *Error.
func inPath(err error, part string) error {
	e, ok := err.(*Error)
	if !ok {
		return err
	}
	switch {
	case e.Path == "":
		e.Path = part
	case e.Path[0] == '[':
		e.Path = part + e.Path
	default:
		e.Path = part + "." + e.Path
	}
	return e
}

// Skip reads and discards the next value, checking its syntax.
func (d *Decoder) Skip() error {
	var err error
	switch d.Peek() {
	case Null:
		err = d.literal("null")
	case Bool:
		_, err = d.Bool()
	case Number:
		_, err = d.Number()
	case String:
		_, err = d.String()
	case Array:
		err = d.Array(func(int) error { return d.Skip() })
	case Object:
		err = d.Object(func(string) error { return d.Skip() })
	default:
		if len(d.data) > MaxSize {
			return d.start(Null) // the size error
		}
		err = d.syntax("a value")
	}
	return err
}

// Raw reads the next value and returns its bytes as they are in the
// document (as encoding/json's RawMessage).
func (d *Decoder) Raw() ([]byte, error) {
	d.ws()
	begin := d.pos
	if err := d.Skip(); err != nil {
		return nil, err
	}
	return append([]byte(nil), d.data[begin:d.pos]...), nil
}

// Strings reads an array of strings; null yields nil.
func (d *Decoder) Strings() ([]string, error) {
	if null, err := d.Null(); null || err != nil {
		return nil, err
	}
	out := []string{}
	err := d.Array(func(int) error {
		s, err := d.String()
		out = append(out, s)
		return err
	})
	return out, err
}

// End checks that only whitespace follows the value read.
func (d *Decoder) End() error {
	d.ws()
	if d.pos < len(d.data) {
		return d.errAt(d.pos, "invalid character "+strconv.QuoteRune(rune(d.data[d.pos]))+" after the top-level value")
	}
	return nil
}

// UnknownField is the error for a member a strict document does not
// have (encoding/json's DisallowUnknownFields).
func (d *Decoder) UnknownField(key string) error {
	return &Error{Offset: d.pos, Msg: "unknown field " + strconv.Quote(key)}
}

// Fields reads an object into a struct as encoding/json does: member is
// called with the index in names of each member's name (matched exactly,
// else case-insensitively), with the decoder at the value; members not in
// names are skipped, or are an error when strict (DisallowUnknownFields).
// null is no object and changes nothing. names is best a package-level
// slice: the call then builds no list.
func (d *Decoder) Fields(names []string, strict bool, member func(i int) error) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	return d.Object(func(k string) error {
		if i := Index(names, k); i >= 0 {
			return member(i)
		}
		if strict {
			return d.UnknownField(k)
		}
		return d.Skip()
	})
}

// Index finds key in names as encoding/json matches member names to
// fields: exactly, else case-insensitively; -1 when none matches.
func Index(names []string, key string) int {
	for i, n := range names {
		if n == key {
			return i
		}
	}
	for i, n := range names {
		if strings.EqualFold(n, key) {
			return i
		}
	}
	return -1
}

// The Set functions decode the next value into *p as encoding/json decodes
// into a field of *p's type: null leaves a value unchanged and sets a
// pointer to nil.

// SetString decodes a string into *p.
func (d *Decoder) SetString(p *string) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	s, err := d.String()
	if err == nil {
		*p = s
	}
	return err
}

// SetBool decodes a boolean into *p.
func (d *Decoder) SetBool(p *bool) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	b, err := d.Bool()
	if err == nil {
		*p = b
	}
	return err
}

// SetInt decodes an integer into *p (an int of strconv.IntSize bits).
func (d *Decoder) SetInt(p *int) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	v, err := d.Int(strconv.IntSize)
	if err == nil {
		*p = int(v)
	}
	return err
}

// SetFloat64 decodes a number into *p.
func (d *Decoder) SetFloat64(p *float64) error {
	if null, err := d.Null(); null || err != nil {
		return err
	}
	v, err := d.Float64()
	if err == nil {
		*p = v
	}
	return err
}

// SetStrings decodes an array of strings into *p; null sets nil.
func (d *Decoder) SetStrings(p *[]string) error {
	v, err := d.Strings()
	if err == nil {
		*p = v
	}
	return err
}
