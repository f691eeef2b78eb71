// Package boards describes router hardware as data: which GPIO line is the
// mains sense, which button is "phone", where the modem is. Definitions are
// UCI files embedded in the binary; a new router is a new file, not new code.
package boards

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"lifeline/daemon/uci"
)

//go:embed defs/*.board
var defs embed.FS

// ErrUnknownBoard is returned for a board name no definition has.
var ErrUnknownBoard = errors.New("unknown board")

// ErrBoard is wrapped by errors in a board definition.
var ErrBoard = errors.New("bad board definition")

// Board is one router's hardware.
type Board struct {
	Name        string
	Description string
	Driver      string   // sim | linux
	Match       []string // board_name or device-tree compatible strings

	GPIO        map[string]GPIOLine // inputs by role: mains, on_battery, battery_low
	Keys        []Key
	Relay       *GPIOLine
	LEDs        map[string]string // role (route, power, line) → /sys/class/leds name
	Serial      *Serial
	PowerSupply string // sysfs root of the power-supply class, "" when unused
}

// GPIOLine names one GPIO line: by Line name (searched across chips) or by
// Chip and Offset.
type GPIOLine struct {
	Chip      string
	Line      string
	Offset    int // -1 when the line is named
	ActiveLow bool
	Bias      string // "", pull-up, pull-down, disable
	Debounce  time.Duration
}

// String names the line for messages.
func (g GPIOLine) String() string {
	if g.Line != "" {
		return fmt.Sprintf("line %q", g.Line)
	}
	return fmt.Sprintf("%s line %d", g.Chip, g.Offset)
}

// Key is one button or key.
type Key struct {
	Name   string
	Source string // sim | gpio | button (OpenWrt uevent) | input (evdev)
	GPIO   *GPIOLine
	Button string // uevent BUTTON= value
	Code   int    // evdev KEY_* code
	Device string // evdev device path
}

// Serial is the modem or terminal adapter.
type Serial struct {
	Device  string
	Profile string
}

// Roles of GPIO inputs a board may have.
var gpioRoles = []string{"mains", "on_battery", "battery_low"}

// DefaultDir is where a router keeps board files of its own
// (NAME.board, the format of the embedded ones).
const DefaultDir = "/etc/lifeline/boards.d"

// Names lists the embedded boards, sorted.
func Names() []string { return NamesIn("") }

// NamesIn lists the embedded boards and those of dir (NAME.board files;
// "" or a missing dir: none), sorted, each once.
func NamesIn(dir string) []string {
	seen := map[string]bool{}
	entries, _ := defs.ReadDir("defs")
	if dir != "" {
		more, _ := os.ReadDir(dir)
		entries = append(entries, more...)
	}
	var out []string
	for _, e := range entries {
		n, ok := strings.CutSuffix(e.Name(), ".board")
		if ok && !e.IsDir() && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Sort(sort.StringSlice(out))
	return out
}

// All returns every embedded board, parsed.
func All() ([]*Board, error) { return AllIn("") }

// AllIn returns every board of NamesIn(dir), parsed; a bad file in dir is
// an error naming it.
func AllIn(dir string) ([]*Board, error) {
	var out []*Board
	for _, n := range NamesIn(dir) {
		b, err := GetIn(dir, n)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// Get returns the embedded board called name.
func Get(name string) (*Board, error) { return GetIn("", name) }

// GetIn returns the board called name: dir/NAME.board when dir has one
// (a router's own file wins over an embedded one of the same name), else
// the embedded definition. The board section must be named as the file.
func GetIn(dir, name string) (*Board, error) {
	if dir != "" && name != "" && !strings.ContainsAny(name, "/\x00") {
		file := filepath.Join(dir, name+".board")
		data, err := os.ReadFile(file)
		if err == nil {
			b, err := Parse(file, data)
			if err == nil && b.Name != name {
				err = fmt.Errorf("%w: %s: the board section is named %q, want %q (the file's name)", ErrBoard, file, b.Name, name)
			}
			return b, err
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %w", ErrBoard, err)
		}
	}
	data, err := defs.ReadFile(path.Join("defs", name+".board"))
	if err != nil {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownBoard, name, strings.Join(NamesIn(dir), ", "))
	}
	return Parse(name+".board", data)
}

// Detect picks the embedded board for this machine (DetectIn without a
// directory).
func Detect(root string) (*Board, string, error) { return DetectIn(root, "") }

// DetectIn picks the board for this machine among the embedded ones and
// those of dir: the first whose match list holds /tmp/sysinfo/board_name
// (OpenWrt) or one of the device tree's compatible strings. root prefixes
// both paths (tests use a temp dir); "" is "/". It returns "generic" when
// nothing matches.
func DetectIn(root, dir string) (*Board, string, error) {
	var ids []string
	if data, err := os.ReadFile(filepath.Join(root, "/tmp/sysinfo/board_name")); err == nil {
		ids = append(ids, strings.TrimSpace(string(data)))
	}
	for _, p := range []string{"/proc/device-tree/compatible", "/sys/firmware/devicetree/base/compatible"} {
		if data, err := os.ReadFile(filepath.Join(root, p)); err == nil {
			for _, c := range strings.Split(string(data), "\x00") {
				if c != "" {
					ids = append(ids, c)
				}
			}
			break
		}
	}
	all, err := AllIn(dir)
	if err != nil {
		return nil, "", err
	}
	for _, id := range ids {
		for _, b := range all {
			for _, m := range b.Match {
				if m == id {
					return b, id, nil
				}
			}
		}
	}
	b, err := GetIn(dir, "generic")
	return b, "", err
}

// Parse reads one board definition; name is used in errors.
func Parse(name string, data []byte) (*Board, error) {
	f, err := uci.Parse(name, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBoard, err)
	}
	b := &Board{GPIO: map[string]GPIOLine{}, LEDs: map[string]string{}}
	for _, s := range f.Sections {
		p := &sectionReader{file: name, s: s, used: map[string]bool{}}
		switch s.Type {
		case "board":
			b.Name = s.Name
			b.Description = p.str("description")
			b.Driver = p.str("driver")
			b.Match = p.list("match")
			if b.Driver != "sim" && b.Driver != "linux" {
				p.fail(s.Line, "driver", "want sim or linux, got %q", b.Driver)
			}
		case "gpio":
			if !contains(gpioRoles, s.Name) {
				p.fail(s.Line, "", "unknown gpio role %q (want %s)", s.Name, strings.Join(gpioRoles, ", "))
			}
			b.GPIO[s.Name] = p.gpio()
		case "key":
			if b.hasKey(s.Name) {
				p.fail(s.Line, "", "key %q is defined twice (a 'buttons' section before it names it too?)", s.Name)
			}
			k := Key{Name: s.Name, Source: p.str("source")}
			switch k.Source {
			case "sim":
			case "gpio":
				g := p.gpio()
				k.GPIO = &g
			case "button":
				k.Button = p.str("button")
			case "input":
				k.Code = p.integer("code", 1, 0x2ff)
				k.Device = p.str("device")
			default:
				p.fail(s.Line, "source", "want sim, gpio, button or input, got %q", k.Source)
			}
			b.Keys = append(b.Keys, k)
		case "buttons":
			// Keys named as OpenWrt's gpio-button-hotplug names them: each
			// name is a key reading the uevents with BUTTON=name.
			for _, n := range p.list("name") {
				if n == "" || strings.ContainsAny(n, " \t=") {
					p.fail(s.Line, "name", "%q is not a button name", n)
				}
				if !b.hasKey(n) {
					b.Keys = append(b.Keys, Key{Name: n, Source: "button", Button: n})
				}
			}
		case "relay":
			g := p.gpio()
			b.Relay = &g
		case "led":
			b.LEDs[s.Name] = p.str("sysfs")
		case "serial":
			b.Serial = &Serial{Device: p.str("device"), Profile: p.str("profile")}
		case "power_supply":
			b.PowerSupply = p.str("sysfs_root")
		default:
			p.fail(s.Line, "", "unknown section type %q", s.Type)
		}
		p.unknown()
		if p.err != nil {
			return nil, p.err
		}
	}
	if b.Name == "" {
		return nil, fmt.Errorf("%w: %s: no named 'board' section", ErrBoard, name)
	}
	return b, nil
}

func (b *Board) hasKey(name string) bool {
	for _, k := range b.Keys {
		if k.Name == name {
			return true
		}
	}
	return false
}

type sectionReader struct {
	file string
	s    *uci.Section
	used map[string]bool
	err  error
}

func (p *sectionReader) fail(line int, opt, format string, args ...any) {
	if p.err != nil {
		return
	}
	where := p.s.Label()
	if opt != "" {
		where += " option '" + opt + "'"
	}
	p.err = fmt.Errorf("%w: %s:%d: %s: %s", ErrBoard, p.file, line, where, fmt.Sprintf(format, args...))
}

func (p *sectionReader) opt(name string) *uci.Option {
	p.used[name] = true
	return p.s.Option(name)
}

func (p *sectionReader) str(name string) string {
	if o := p.opt(name); o != nil {
		return o.Value()
	}
	return ""
}

func (p *sectionReader) list(name string) []string {
	if o := p.opt(name); o != nil {
		return o.Values
	}
	return nil
}

func (p *sectionReader) integer(name string, lo, hi int) int {
	o := p.opt(name)
	if o == nil {
		p.fail(p.s.Line, name, "is required")
		return 0
	}
	n, err := strconv.ParseInt(o.Value(), 0, 32)
	if err != nil || int(n) < lo || int(n) > hi {
		p.fail(o.Line, name, "%q is not an integer in %d..%d", o.Value(), lo, hi)
	}
	return int(n)
}

func (p *sectionReader) gpio() GPIOLine {
	g := GPIOLine{Chip: p.str("chip"), Line: p.str("line"), Offset: -1, Bias: p.str("bias")}
	if o := p.opt("offset"); o != nil {
		g.Offset = p.integer("offset", 0, 1023)
	}
	switch {
	case g.Line == "" && (g.Chip == "" || g.Offset < 0):
		p.fail(p.s.Line, "", "a gpio needs 'line' (a line name) or 'chip' and 'offset'")
	case g.Line != "" && g.Offset >= 0:
		p.fail(p.s.Line, "", "give 'line' or 'offset', not both")
	}
	if v := p.str("active_low"); v != "" && v != "0" && v != "1" {
		p.fail(p.s.Option("active_low").Line, "active_low", "want 0 or 1, got %q", v)
	} else {
		g.ActiveLow = v == "1"
	}
	if !contains([]string{"", "pull-up", "pull-down", "disable"}, g.Bias) {
		p.fail(p.s.Option("bias").Line, "bias", "want pull-up, pull-down or disable, got %q", g.Bias)
	}
	if v := p.str("debounce"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Second {
			p.fail(p.s.Option("debounce").Line, "debounce", "%q is not a duration up to 1s", v)
		}
		g.Debounce = d
	}
	return g
}

func (p *sectionReader) unknown() {
	for _, o := range p.s.Options {
		if !p.used[o.Name] {
			p.fail(o.Line, o.Name, "unknown option")
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
