// Package profiles holds the cellular module dialects as embedded data,
// one JSON file per module family, in the spirit of hal/modem's analog and
// isdn-ta profiles. hal/modem's Profile describes a V.250/V.253 modem
// whose audio travels in-band on the one port (DLE framing); a cellular
// module has its AT commands on one tty and raw PCM on a second, checks
// health by registration instead of dial tone, and reports calls by vendor
// URCs, so it needs a format of its own.
//
// Commands are templates: {number}, {digit}, {call} (the module's call
// index) and {pin} are replaced by Expand. Profiles are read-only after
// Load; a *Profile is safe for concurrent reads.
package profiles

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
)

//go:embed data/*.json
var fsys embed.FS

// ErrProfile is wrapped by every loading and validation error.
var ErrProfile = errors.New("cellular: bad profile")

// Duration is a time.Duration written as a Go duration string.
type Duration time.Duration

// UnmarshalJSON parses "500ms", "60s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration %s: want a string such as \"30s\"", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("duration %q: want a positive Go duration", s)
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Profile is one module family's dialect.
type Profile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Source cites the manuals the commands were checked against.
	Source string `json:"source"`
	// Ports describes, for people, which interface is which role; the
	// device paths come from the board or config.
	Ports struct {
		AT    string `json:"at"`
		Audio string `json:"audio"`
	} `json:"ports"`
	Audio          Audio    `json:"audio"`
	CommandTimeout Duration `json:"command_timeout"`
	// Init runs after every open, each must answer OK; InitOptional
	// failures are logged and ignored.
	Init         []string `json:"init"`
	InitOptional []string `json:"init_optional,omitempty"`
	// VoiceCheck, when set, tells whether the firmware has voice at all.
	VoiceCheck *Check `json:"voice_check,omitempty"`
	// VOLTECheck, when set, tells whether voice over LTE is available.
	VOLTECheck *Check `json:"volte_check,omitempty"`
	// PIN enters a configured SIM PIN ({pin}), once per SIM PIN state.
	PIN string `json:"pin"`
	// Status are the queries of the periodic health check.
	Status []string `json:"status"`
	Dial   Call     `json:"dial"`
	Answer Call     `json:"answer"`
	Hangup struct {
		Command string `json:"command"`
		// AudioOff runs after the call to stop the PCM stream.
		AudioOff []string `json:"audio_off,omitempty"`
	} `json:"hangup"`
	// DTMF sends one digit during a call ({digit}, {call}).
	DTMF string `json:"dtmf"`
	URC  URC    `json:"urc"`
	// Notes for people.
	Notes []string `json:"notes,omitempty"`
}

// Audio is the PCM format on the audio port.
type Audio struct {
	Rate int `json:"rate"`
	Bits int `json:"bits"`
	// Encoding: "s16le" (signed 16-bit little-endian linear).
	Encoding   string   `json:"encoding"`
	FrameBytes int      `json:"frame_bytes"`
	Frame      Duration `json:"frame"`
}

// Check is a query whose answer starts with a prefix when all is well.
type Check struct {
	Command string `json:"command"`
	Enabled string `json:"enabled,omitempty"`
	Ready   string `json:"ready,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Call says how to place or answer a call and start its audio: Audio runs
// right after Command's OK, AudioOnConnect once the call is connected.
type Call struct {
	Command        string   `json:"command"`
	Timeout        Duration `json:"timeout,omitempty"`
	Audio          []string `json:"audio,omitempty"`
	AudioOnConnect []string `json:"audio_on_connect,omitempty"`
}

// URC lists the line prefixes of each unsolicited result code.
type URC struct {
	Ring      []string `json:"ring"`
	CallerID  string   `json:"caller_id"`
	CallState []string `json:"call_state,omitempty"`
	Dialing   []string `json:"dialing,omitempty"`
	Alerting  []string `json:"alerting,omitempty"`
	Connected []string `json:"connected,omitempty"`
	Ended     []string `json:"ended"`
	Busy      []string `json:"busy"`
	NoAnswer  []string `json:"no_answer"`
	SMS       []string `json:"sms"`
}

// All returns every prefix, for registering them with an AT engine.
func (u URC) All() []string {
	var out []string
	for _, l := range [][]string{u.Ring, {u.CallerID}, u.CallState, u.Dialing, u.Alerting, u.Connected, u.Ended, u.Busy, u.NoAnswer, u.SMS} {
		out = append(out, l...)
	}
	return out
}

// Names lists the embedded profiles, sorted (embed.FS's ReadDir sorts
// by name; no sort here, whose generic instantiation costs the router ~8 KB).
func Names() []string {
	ents, _ := fsys.ReadDir("data")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".json"))
	}
	return out
}

// Load returns the embedded profile called name.
func Load(name string) (*Profile, error) {
	b, err := fsys.ReadFile(path.Join("data", name+".json"))
	if err != nil {
		return nil, fmt.Errorf("%w: no cellular profile %q (have %s)", ErrProfile, name, strings.Join(Names(), ", "))
	}
	return Parse(b, name+".json")
}

// Parse reads and validates a profile; file names it in errors.
func Parse(b []byte, file string) (*Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrProfile, file, err)
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrProfile, file, err)
	}
	return &p, nil
}

func (p *Profile) validate() error {
	a := p.Audio
	switch {
	case p.Name == "" || p.Source == "":
		return errors.New("name and source are required")
	case p.Ports.AT == "" || p.Ports.Audio == "":
		return errors.New("ports.at and ports.audio are required")
	case a.Encoding != "s16le" || a.Bits != 16:
		return fmt.Errorf("audio: only 16-bit s16le is supported, got %d-bit %q", a.Bits, a.Encoding)
	case a.Rate != 8000 && a.Rate != 16000:
		return fmt.Errorf("audio.rate %d: want 8000 or 16000", a.Rate)
	case int64(a.FrameBytes) != int64(a.Rate)*2*int64(a.Frame.D())/int64(time.Second):
		return fmt.Errorf("audio.frame_bytes %d does not match %d Hz 16-bit for %v", a.FrameBytes, a.Rate, a.Frame.D())
	case p.CommandTimeout <= 0 || p.Dial.Timeout <= 0:
		return errors.New("command_timeout and dial.timeout are required")
	case !strings.Contains(p.Dial.Command, "{number}"):
		return fmt.Errorf("dial.command %q has no {number}", p.Dial.Command)
	case !strings.Contains(p.DTMF, "{digit}"):
		return fmt.Errorf("dtmf %q has no {digit}", p.DTMF)
	case !strings.Contains(p.PIN, "{pin}"):
		return fmt.Errorf("pin %q has no {pin}", p.PIN)
	case len(p.URC.Ring) == 0 || p.URC.CallerID == "" || len(p.URC.Ended) == 0:
		return errors.New("urc.ring, urc.caller_id and urc.ended are required")
	}
	cmds := append(append(append([]string{p.PIN, p.Dial.Command, p.Answer.Command, p.Hangup.Command, p.DTMF}, p.Init...), p.InitOptional...), p.Status...)
	cmds = append(append(append(cmds, p.Dial.Audio...), p.Answer.Audio...), p.Hangup.AudioOff...)
	for _, c := range cmds {
		if !strings.HasPrefix(strings.ToUpper(c), "AT") {
			return fmt.Errorf("command %q does not start with AT", c)
		}
	}
	return nil
}

// Expand fills a command template. Values are checked so that nothing a
// caller passes can end the command early or add another: a number is
// "+" and 0-9*#, a digit one of 0-9*#A-D, a PIN 4 to 8 digits.
func Expand(template string, vars map[string]string) (string, error) {
	for k, v := range vars {
		if err := checkVar(k, v); err != nil {
			return "", err
		}
		template = strings.ReplaceAll(template, "{"+k+"}", v)
	}
	if i := strings.IndexByte(template, '{'); i >= 0 {
		return "", fmt.Errorf("%w: %q: placeholder left unfilled", ErrProfile, template)
	}
	return template, nil
}

func checkVar(k, v string) error {
	allowed, lo, hi := "", 1, 32
	switch k {
	case "number":
		allowed = "+0123456789*#"
	case "digit":
		allowed, hi = "0123456789*#ABCD", 1
	case "pin":
		allowed, lo, hi = "0123456789", 4, 8
	case "call":
		allowed, hi = "0123456789", 2
	default:
		return fmt.Errorf("%w: unknown placeholder {%s}", ErrProfile, k)
	}
	if len(v) < lo || len(v) > hi || strings.Trim(v, allowed) != "" || strings.LastIndexByte(v, '+') > 0 {
		return fmt.Errorf("%w: {%s} value %q is not allowed", ErrProfile, k, v)
	}
	return nil
}
