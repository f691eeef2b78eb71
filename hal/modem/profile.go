package modem

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"lifeline/hal/jsonread"
	"lifeline/hal/voice"
)

//go:embed profiles/*.json
var profileFS embed.FS

// ErrProfile is wrapped by every profile loading and validation error.
var ErrProfile = errors.New("modem: bad profile")

// Duration is a time.Duration written in JSON as a Go duration string
// ("500ms", "30s").
type Duration time.Duration

// UnmarshalJSON parses a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	dec := jsonread.New(b)
	if err := setDuration(dec, d); err != nil {
		return err
	}
	return dec.End()
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Caller ID formats a profile may declare (Profile.CallerID).
const (
	CallerIDVCID       = "vcid"        // NMBR = / NAME = / DATE = / TIME = lines after the first RING (AT+VCID=1, AT#CID=1)
	CallerIDCLIP       = "clip"        // +CLIP: "number",type after RING (AT+CLIP=1)
	CallerIDRingSuffix = "ring-suffix" // RING;number (ELSA TanGo register S153)
)

// Profile is a modem dialect as data: how to initialise it, how to tell a
// usable line from a dead one, how to dial and hang up. Profiles are loaded
// once and then only read; a *Profile is safe for concurrent reads.
type Profile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Source cites where the dialect comes from.
	Source string `json:"source"`
	// Numeric: the modem is driven in ATV0 (numeric result code) mode.
	Numeric bool `json:"numeric,omitempty"`
	// CommandTimeout bounds init, health and hang-up commands.
	CommandTimeout Duration `json:"command_timeout"`
	// Init runs in order after every open; a command not answered OK makes
	// the initialisation fail.
	Init []string `json:"init"`
	// InitOptional runs after Init; failures are logged and ignored (caller
	// ID commands differ between chipsets).
	InitOptional []string `json:"init_optional,omitempty"`
	// CallerID is the format the modem reports callers in.
	CallerID string `json:"caller_id"`
	Health   Health `json:"health"`
	Dial     Dial   `json:"dial"`
	Hangup   Hangup `json:"hangup"`
	// RingTimeout: with no RING for this long, ringing has stopped.
	RingTimeout Duration `json:"ring_timeout"`
	// Voice, when present, says how to place a call whose audio Lifeline
	// carries (Line.VoiceCall); nil means the device has no voice mode.
	Voice *Voice `json:"voice,omitempty"`
	// Notes for people: limitations of the check, settings to store in the
	// device.
	Notes []string `json:"notes,omitempty"`
}

// Health is the periodic line check. The commands run in order; after each,
// the information text and final result are matched (case-insensitive
// prefix, or the verbose name of a numeric result): any NoLine match means
// the line is unusable, else a Healthy match lets the check continue, else
// the reply is unexpected (also reported as no line). After always runs,
// whatever the outcome (hang up after a dial-tone check).
type Health struct {
	Interval Duration `json:"interval"`
	Timeout  Duration `json:"timeout"`
	Commands []string `json:"commands"`
	Healthy  []string `json:"healthy"`
	NoLine   []string `json:"no_line"`
	After    []string `json:"after,omitempty"`
}

// Dial says how to place a voice call.
type Dial struct {
	// Command is a fmt format with one %s for the number, e.g. "ATDT%s;".
	Command string   `json:"command"`
	Timeout Duration `json:"timeout"`
	// Connected lists the final results that mean the call is up.
	Connected []string `json:"connected"`
}

// Hangup says how to end a call.
type Hangup struct {
	Command string   `json:"command"`
	Timeout Duration `json:"timeout"`
	// DTRDrop, when non-zero, drops DTR for this long before the command
	// (a hard hang-up with AT&D2).
	DTRDrop Duration `json:"dtr_drop,omitempty"`
}

// Voice is a modem's ITU-T V.253 voice mode as Line.VoiceCall drives it:
// Enter, one AT+VSM format, LineSelect, Dial until a Connected result,
// then Stream (the full-duplex data state) for the call's audio; after the
// hang-up, Leave.
type Voice struct {
	// Enter runs in order before each voice call; every command must
	// answer OK (e.g. "AT+FCLASS=8", voice mode).
	Enter []string `json:"enter"`
	// Formats are the AT+VSM compression methods the modem has, in order
	// of preference. The numbers are manufacturer specific (V.253 fixes
	// only the query), so each profile maps its own.
	Formats []VoiceFormat `json:"formats"`
	// LineSelect connects the modem's voice path to the telephone line
	// (e.g. "AT+VLS=1"); empty to skip.
	LineSelect string `json:"line_select,omitempty"`
	// Dial is a fmt format with one %s for the number, without ';' (e.g.
	// "ATDT%s"): its final result code tells whether the call is up.
	Dial        string   `json:"dial"`
	DialTimeout Duration `json:"dial_timeout"`
	// AlertAfter is how long the dial must run without a final result
	// before the modem counts as having accepted it (found a dial tone and
	// dialled: NO DIALTONE, ERROR or an early BUSY come sooner); then
	// VoiceOptions.Dialing is called (the gateway's 180 Ringing). Zero
	// means DefaultAlertAfter.
	AlertAfter Duration `json:"alert_after,omitempty"`
	// Connected lists the dial's final results that mean the call is up
	// (V.253: "VCON").
	Connected []string `json:"connected"`
	// Stream starts the data state that carries the audio both ways
	// ("AT+VTR"); it must answer CONNECT.
	Stream string `json:"stream"`
	// Leave runs after the hang-up; failures are logged (e.g.
	// "AT+FCLASS=0", back to data mode for the health check).
	Leave []string `json:"leave,omitempty"`
	// Answer takes an incoming call in voice mode (Line.VoiceAnswer),
	// after Enter, the format and LineSelect; empty means "ATA" (V.253
	// and the Rockwell, US Robotics and ZyXEL voice manuals: in
	// +FCLASS=8 the modem goes off hook and reports VCON at once).
	Answer string `json:"answer,omitempty"`
	// AnswerTimeout bounds Answer; zero means the profile's
	// command_timeout.
	AnswerTimeout Duration `json:"answer_timeout,omitempty"`
	// AnswerConnected lists Answer's final results that mean the call is
	// up; empty means Connected. Some V.253 modems answer OK, not VCON.
	AnswerConnected []string `json:"answer_connected,omitempty"`
}

// DefaultAlertAfter is Voice.AlertAfter's default: V.250's S6 (the wait
// for a dial tone before NO DIALTONE, 2 s by default) and about a second
// of dialling.
const DefaultAlertAfter = 3 * time.Second

// alertAfter is AlertAfter with its default applied.
func (v *Voice) alertAfter() time.Duration {
	if v.AlertAfter > 0 {
		return v.AlertAfter.D()
	}
	return DefaultAlertAfter
}

// answer returns the answer command, its timeout and its success results
// with the defaults applied.
func (v *Voice) answer(commandTimeout Duration) (string, time.Duration, []string) {
	cmd, d, ok := v.Answer, v.AnswerTimeout, v.AnswerConnected
	if cmd == "" {
		cmd = "ATA"
	}
	if d <= 0 {
		d = commandTimeout
	}
	if len(ok) == 0 {
		ok = v.Connected
	}
	return cmd, d.D(), ok
}

// VoiceFormat maps one AT+VSM compression method number to the sample
// format it selects.
type VoiceFormat struct {
	VSM int `json:"vsm"`
	// Format is a voice.ParseFormat name: "alaw", "ulaw", "linear8u",
	// "linear16le".
	Format string `json:"format"`
}

// Parsed returns the format (valid once the profile has been validated).
func (f VoiceFormat) Parsed() voice.Format {
	v, _ := voice.ParseFormat(f.Format)
	return v
}

// Command is the AT+VSM command that selects f at 8000 samples a second.
func (f VoiceFormat) Command() string { return fmt.Sprintf("AT+VSM=%d,%d", f.VSM, voice.SampleRate) }

// Order returns the formats with those in prefer first (in prefer's
// order), then the rest in the profile's order: the gateway passes the
// negotiated codec's format so that the modem needs no transcoding.
func (v *Voice) Order(prefer ...voice.Format) []VoiceFormat {
	out := make([]VoiceFormat, 0, len(v.Formats))
	used := make([]bool, len(v.Formats))
	for _, p := range prefer {
		for i, f := range v.Formats {
			if !used[i] && f.Parsed() == p {
				out, used[i] = append(out, f), true
			}
		}
	}
	for i, f := range v.Formats {
		if !used[i] {
			out = append(out, f)
		}
	}
	return out
}

func (v *Voice) validate() error {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("field %q: %w: %s", "voice."+field, ErrProfile, fmt.Sprintf(format, a...))
	}
	if len(v.Enter) == 0 {
		return bad("enter", "empty: voice mode needs a command such as AT+FCLASS=8")
	}
	for i, c := range v.Enter {
		if err := checkCommand(c); err != nil {
			return bad(fmt.Sprintf("enter[%d]", i), "%v", err)
		}
	}
	if len(v.Formats) == 0 {
		return bad("formats", "empty")
	}
	seen := map[int]bool{}
	for i, f := range v.Formats {
		if _, err := voice.ParseFormat(f.Format); err != nil {
			return bad(fmt.Sprintf("formats[%d].format", i), "%v", err)
		}
		if f.VSM < 0 || f.VSM > 255 || seen[f.VSM] {
			return bad(fmt.Sprintf("formats[%d].vsm", i), "%d is out of range 0-255 or repeated", f.VSM)
		}
		seen[f.VSM] = true
	}
	if v.LineSelect != "" {
		if err := checkCommand(v.LineSelect); err != nil {
			return bad("line_select", "%v", err)
		}
	}
	if strings.Count(v.Dial, "%") != 1 || !strings.Contains(v.Dial, "%s") {
		return bad("dial", "%q must contain exactly one %%s", v.Dial)
	}
	if err := checkCommand(v.Dial); err != nil {
		return bad("dial", "%v", err)
	}
	if strings.HasSuffix(strings.TrimSpace(v.Dial), ";") {
		return bad("dial", "%q ends in ';': the dial's final result must say whether the call is up", v.Dial)
	}
	if v.DialTimeout <= 0 {
		return bad("dial_timeout", "missing or zero")
	}
	if v.AlertAfter < 0 {
		return bad("alert_after", "negative")
	}
	if len(v.Connected) == 0 {
		return bad("connected", "empty")
	}
	if err := checkCommand(v.Stream); err != nil {
		return bad("stream", "%v", err)
	}
	for i, c := range v.Leave {
		if err := checkCommand(c); err != nil {
			return bad(fmt.Sprintf("leave[%d]", i), "%v", err)
		}
	}
	if v.Answer != "" {
		if err := checkCommand(v.Answer); err != nil {
			return bad("answer", "%v", err)
		}
		if strings.Contains(v.Answer, "%") {
			return bad("answer", "%q contains '%%': it takes no argument", v.Answer)
		}
	}
	for i, c := range v.AnswerConnected {
		if strings.TrimSpace(c) == "" {
			return bad(fmt.Sprintf("answer_connected[%d]", i), "empty")
		}
	}
	return nil
}

// ProfileNames lists the embedded profiles, sorted.
func ProfileNames() []string {
	ents, _ := profileFS.ReadDir("profiles")
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, n)
		}
	}
	sort.Sort(sort.StringSlice(names))
	return names
}

// LoadProfile returns the embedded profile called name ("analog",
// "isdn-ta"). Each call returns a fresh copy.
func LoadProfile(name string) (*Profile, error) {
	file := path.Join("profiles", name+".json")
	if strings.ContainsAny(name, "/\\") || name == "" {
		return nil, fmt.Errorf("profile %q: %w: no such profile (have %s)", name, ErrProfile, strings.Join(ProfileNames(), ", "))
	}
	b, err := profileFS.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w: no such profile (have %s)", name, ErrProfile, strings.Join(ProfileNames(), ", "))
	}
	p, err := ParseProfile(file, b)
	if err != nil {
		return nil, err
	}
	if p.Name != name {
		return nil, fmt.Errorf("%s: field \"name\": %w: %q does not match the file name", file, ErrProfile, p.Name)
	}
	return p, nil
}

// ParseProfile decodes and validates a profile; file names the source in
// errors. Unknown fields are errors.
func ParseProfile(file string, data []byte) (*Profile, error) {
	p, err := parseProfileJSON(data)
	if err != nil {
		var je *jsonread.Error
		if errors.As(err, &je) && je.Path != "" {
			return nil, fmt.Errorf("%s: field %q: %w: offset %d: %s", file, je.Path, ErrProfile, je.Offset, je.Msg)
		}
		if errors.As(err, &je) {
			return nil, fmt.Errorf("%s: offset %d: %w: %s", file, je.Offset, ErrProfile, je.Msg)
		}
		return nil, fmt.Errorf("%s: %w: %v", file, ErrProfile, err)
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return p, nil
}

func (p *Profile) validate() error {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("field %q: %w: %s", field, ErrProfile, fmt.Sprintf(format, a...))
	}
	if p.Name == "" {
		return bad("name", "missing")
	}
	if strings.TrimSpace(p.Source) == "" {
		return bad("source", "missing: cite the command set the profile follows")
	}
	if p.CommandTimeout <= 0 {
		return bad("command_timeout", "missing or zero")
	}
	for i, c := range append(append([]string{}, p.Init...), p.InitOptional...) {
		if err := checkCommand(c); err != nil {
			field := fmt.Sprintf("init[%d]", i)
			if i >= len(p.Init) {
				field = fmt.Sprintf("init_optional[%d]", i-len(p.Init))
			}
			return bad(field, "%v", err)
		}
	}
	switch p.CallerID {
	case CallerIDVCID, CallerIDCLIP, CallerIDRingSuffix:
	default:
		return bad("caller_id", "%q is not one of %q, %q, %q", p.CallerID, CallerIDVCID, CallerIDCLIP, CallerIDRingSuffix)
	}
	h := p.Health
	if h.Interval <= 0 {
		return bad("health.interval", "missing or zero")
	}
	if h.Timeout <= 0 {
		return bad("health.timeout", "missing or zero")
	}
	if len(h.Commands) == 0 {
		return bad("health.commands", "empty")
	}
	for i, c := range append(append([]string{}, h.Commands...), h.After...) {
		if err := checkCommand(c); err != nil {
			return bad(fmt.Sprintf("health.commands[%d]", i), "%v", err)
		}
	}
	if len(h.Healthy) == 0 {
		return bad("health.healthy", "empty")
	}
	if len(h.NoLine) == 0 {
		return bad("health.no_line", "empty")
	}
	if strings.Count(p.Dial.Command, "%") != 1 || !strings.Contains(p.Dial.Command, "%s") {
		return bad("dial.command", "%q must contain exactly one %%s", p.Dial.Command)
	}
	if err := checkCommand(p.Dial.Command); err != nil {
		return bad("dial.command", "%v", err)
	}
	if p.Dial.Timeout <= 0 {
		return bad("dial.timeout", "missing or zero")
	}
	if len(p.Dial.Connected) == 0 {
		return bad("dial.connected", "empty")
	}
	if err := checkCommand(p.Hangup.Command); err != nil {
		return bad("hangup.command", "%v", err)
	}
	if p.Hangup.Timeout <= 0 {
		return bad("hangup.timeout", "missing or zero")
	}
	if p.RingTimeout <= 0 {
		return bad("ring_timeout", "missing or zero")
	}
	if p.Voice != nil {
		return p.Voice.validate()
	}
	return nil
}

func checkCommand(c string) error {
	if !strings.HasPrefix(strings.ToUpper(c), "AT") {
		return fmt.Errorf("%q does not start with AT", c)
	}
	for i := 0; i < len(c); i++ {
		if c[i] < 0x20 || c[i] > 0x7e {
			return fmt.Errorf("%q contains a control character", c)
		}
	}
	return nil
}

// matches reports whether the reply's final result or an information line
// matches one of the patterns.
func matches(r Reply, patterns []string) (string, bool) {
	cands := append([]string{r.Final.Line}, r.Info...)
	for _, p := range patterns {
		up := strings.ToUpper(p)
		if r.Final.Result != ResultNone && r.Final.Result.String() == up {
			return p, true
		}
		for _, c := range cands {
			if c != "" && strings.HasPrefix(strings.ToUpper(c), up) {
				return p, true
			}
		}
	}
	return "", false
}
