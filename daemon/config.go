package daemon

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"lifeline/daemon/uci"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid configuration")

// DefaultConfigPath is where OpenWrt keeps the configuration.
const DefaultConfigPath = "/etc/config/lifeline"

// Config is the validated configuration of the daemon, loaded once per
// start or reload. The zero value is not useful: use DefaultConfig or
// LoadConfig.
type Config struct {
	Source string // file it was read from; empty for the defaults

	Board               string        // board name or "auto"
	BoardsDir           string        // more board files (NAME.board); "" none
	WANInterface        string        // kernel interface name of the WAN
	FailbackHold        time.Duration // health needed before going back to SIP
	HooksDir            string
	HookTimeout         time.Duration
	PersistDir          string // "" : lifeline run decides (see README)
	PreferPSTNOnBattery bool
	LogLevel            string // debug | info | warn | error

	Provider ProviderConfig
	Line     *LineConfig // nil when no line is configured
	Battery  BatteryConfig
	Hotkeys  []HotkeyConfig
	Proxy    *ProxyConfig   // nil: no SIP proxy to steer
	Gateway  *GatewayConfig // nil: no SIP-to-line gateway
	Notify   *NotifyConfig  // nil: no SMS alerts nor remote override (config_notify.go)
}

// GatewayConfig is the SIP-to-line gateway (in every build): it answers
// INVITEs on Listen and carries the calls over the line.
type GatewayConfig struct {
	Name       string
	SourceLine int            // the config file line where the section starts, for errors found later
	Listen     netip.AddrPort // SIP UDP socket; the address may be unspecified
	RTPAddress netip.Addr     // concrete address for SDP and Contact
	Prefix     string         // stripped from dialled numbers (default *00)
	Emergency  []string       // numbers that always go out over the line
	// Incoming is where rings on the line are offered (an INVITE with the
	// caller's number in From), e.g. the phones' proxy; "" leaves
	// incoming calls to the telephone on the line.
	Incoming string
	// RTPTimeout ends a call whose phone has sent no RTP for this long
	// (option rtp_timeout, default DefaultRTPTimeout); 0 never does.
	RTPTimeout time.Duration
	// GatewayPolicy: who may call, what may be dialled and how
	// (config_gateway.go).
	GatewayPolicy
}

// DefaultRTPTimeout is the gateway's default RTP inactivity timeout.
const DefaultRTPTimeout = 30 * time.Second

// DefaultGatewayPrefix is the PSTN access code of FXO adapters such as the
// Grandstream HT503.
const DefaultGatewayPrefix = "*00"

// ProxyConfig is the phones' outbound proxy (Kamailio) whose next hop
// Lifeline sets over its JSON-RPC datagram socket.
type ProxyConfig struct {
	Name              string
	Socket            string // Kamailio's jsonrpcs datagram socket
	ProviderURI       string // next hop while the route is sip
	PSTNURI           string // next hop while the route is pstn (the line gateway)
	PSTNURISourceLine int    // the config file line of pstn_uri, for errors found across sections
	CheckInterval     time.Duration
}

// ProviderConfig is the SIP provider probed for health.
type ProviderConfig struct {
	Host         string // empty: no probe, the provider counts as up
	Port         int    // 0 (no port option): SRV (_sip._udp / _sip._tcp), else 5060 (RFC 3263)
	Transport    string // udp | tcp
	Interval     time.Duration
	FastInterval time.Duration
	Timeout      time.Duration
	DownAfter    int
}

// LineConfig is the fallback line: a serial modem or terminal adapter, or
// a cellular module (config_cellular.go), as its profile says.
type LineConfig struct {
	Name    string
	Device  string // the modem's port; a cellular module's AT port
	Profile string // analog | isdn-ta | a cellular profile
	Kind    string // LineKindModem | LineKindCellular, from Profile
	Baud    int
	Parity  string // none | even | odd
	Flow    string // none | rtscts
	// Cellular is set for a cellular profile (a value, not a pointer: a
	// reload compares sections by value).
	Cellular CellularConfig
}

// BatteryConfig is the power policy.
type BatteryConfig struct {
	ShedInterfaces  []string
	OnBatteryDelay  time.Duration
	CriticalPercent int
	ShutdownCommand string
	ShutdownGrace   time.Duration
}

// HotkeyConfig binds a key combination to an override.
type HotkeyConfig struct {
	Name   string
	Keys   []string
	Kind   string // chord | sequence
	Hold   time.Duration
	Action string        // pstn | sip | auto | toggle
	For    time.Duration // 0: until cleared
	// SourceLine is the config file line where the section starts.
	SourceLine int
}

// DefaultConfig returns the configuration used when no file exists.
func DefaultConfig() *Config {
	return &Config{
		Board:        "auto",
		BoardsDir:    "/etc/lifeline/boards.d",
		WANInterface: "wan",
		FailbackHold: 30 * time.Second,
		HooksDir:     "/etc/lifeline/hooks.d",
		HookTimeout:  10 * time.Second,
		LogLevel:     "info",
		Provider: ProviderConfig{
			Transport: "udp", Interval: time.Second,
			FastInterval: 200 * time.Millisecond, Timeout: 300 * time.Millisecond, DownAfter: 3,
		},
		Battery: BatteryConfig{
			OnBatteryDelay: 2 * time.Second, CriticalPercent: 10,
			ShutdownCommand: "poweroff", ShutdownGrace: 15 * time.Second,
		},
	}
}

// LoadConfig reads and validates the UCI file at path.
func LoadConfig(path string) (*Config, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return ParseConfig(path, data)
}

// readConfigFile reads a regular file of at most uci.MaxSize bytes. The
// open does not block (a FIFO would hold the daemon's loop for ever) and
// the read stops at the limit (a link to /dev/zero never ends, a 1 GB file
// would take 1 GB of memory).
func readConfigFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readRegular(f, path, uci.MaxSize, nil)
}

// errNotRegular is wrapped by readRegular's refusal of a FIFO, device,
// directory or socket.
var errNotRegular = errors.New("not a regular file")

// readRegular reads the open file f, named path in errors: a regular file
// of at most limit bytes, which check (if not nil) also accepts.
func readRegular(f *os.File, path string, limit int64, check func(fs.FileInfo) error) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", path, errNotRegular, fileKind(st.Mode()))
	}
	if check != nil {
		if err := check(st); err != nil {
			return nil, err
		}
	}
	tooBig := fmt.Errorf("%s: larger than %d bytes", path, limit)
	if st.Size() > limit {
		return nil, tooBig
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, tooBig
	}
	return data, nil
}

// fileKind names a file type for errors.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return m.Type().String()
}

// ParseConfig validates UCI text; name is used in errors, which have the
// form "FILE:LINE: section 'x' option 'y': what is wrong".
func ParseConfig(name string, data []byte) (*Config, error) {
	f, err := uci.Parse(name, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	c := DefaultConfig()
	c.Source = name
	seen := map[string]int{}
	for _, s := range f.Sections {
		r := &reader{file: name, sec: s}
		def, ok := sectionByType(s.Type)
		if !ok {
			return nil, r.errAt(s.Line, "", "unknown section type %q (want %s)", s.Type, sectionTypes())
		}
		if def.once {
			if prev, dup := seen[s.Type]; dup {
				return nil, r.errAt(s.Line, "", "a second %q section (the first is on line %d)", s.Type, prev)
			}
			seen[s.Type] = s.Line
		}
		def.read(r, c)
		if r.err == nil {
			r.checkUnknown()
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	if err := c.crossCheck(); err != nil {
		return nil, err
	}
	return c, nil
}

// sectionDef is how one section type is read into the Config.
type sectionDef struct {
	typ  string
	once bool // a second section of the type is an error
	// read reads r's section into c; it records the first bad option in
	// r.err. Unknown options are refused after it (checkUnknown).
	read func(r *reader, c *Config)
}

// sections are the section types a configuration file may hold, in the
// order the unknown-type error names them. A new section type is its
// reader in a file of its own (config_gateway.go, config_notify.go) and one
// entry here.
var sections = []sectionDef{
	{"lifeline", true, (*reader).mainSection},
	{"provider", true, (*reader).providerSection},
	{"line", true, (*reader).lineSection},
	{"battery", true, (*reader).batterySection},
	{"hotkey", false, (*reader).hotkeySection},
	{"proxy", true, (*reader).proxySection},
	{"gateway", true, (*reader).gatewaySection},
	{"notify", false, (*reader).notifySection}, // refuses a second one itself
}

func sectionByType(typ string) (sectionDef, bool) {
	for _, d := range sections {
		if d.typ == typ {
			return d, true
		}
	}
	return sectionDef{}, false
}

// sectionTypes lists the known types: "a, b or c".
func sectionTypes() string {
	var b strings.Builder
	for i, d := range sections {
		switch {
		case i == 0:
		case i == len(sections)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(d.typ)
	}
	return b.String()
}

func (r *reader) mainSection(c *Config) {
	c.Board = r.str("board", c.Board, nonEmpty)
	c.BoardsDir = r.str("boards_dir", c.BoardsDir, absPath)
	c.WANInterface = r.str("wan_interface", c.WANInterface, ifName)
	c.FailbackHold = r.dur("failback_hold", c.FailbackHold, 0, 24*time.Hour)
	c.HooksDir = r.str("hooks_dir", c.HooksDir, absPath)
	c.HookTimeout = r.dur("hook_timeout", c.HookTimeout, 100*time.Millisecond, time.Hour)
	c.PersistDir = r.str("persist_dir", c.PersistDir, absPath)
	c.PreferPSTNOnBattery = r.boolean("prefer_pstn_on_battery", c.PreferPSTNOnBattery)
	c.LogLevel = r.enum("log_level", c.LogLevel, "debug", "info", "warn", "error")
}

func (r *reader) providerSection(c *Config) {
	p := &c.Provider
	p.Host = r.str("host", p.Host, hostName)
	p.Port = r.integer("port", p.Port, 1, 65535)
	p.Transport = r.enum("transport", p.Transport, "udp", "tcp")
	p.Interval = r.dur("interval", p.Interval, 10*time.Millisecond, time.Hour)
	p.FastInterval = r.dur("fast_interval", min(p.FastInterval, p.Interval), 10*time.Millisecond, time.Hour)
	p.Timeout = r.dur("timeout", min(p.Timeout, p.Interval), 10*time.Millisecond, time.Minute)
	p.DownAfter = r.integer("down_after", p.DownAfter, 1, 100)
}

func (r *reader) lineSection(c *Config) {
	s := r.sec
	l := &LineConfig{Name: s.Name, Profile: "analog", Baud: 115200, Parity: "none", Flow: "none"}
	l.Device = r.str("device", "", absPath)
	l.Profile = r.str("profile", l.Profile, nonEmpty)
	l.Baud = r.integer("baud", l.Baud, 300, 4000000)
	l.Parity = r.enum("parity", l.Parity, "none", "even", "odd")
	l.Flow = r.enum("flow", l.Flow, "none", "rtscts")
	if l.Device == "" && r.err == nil {
		r.errAt(s.Line, "device", "is required")
	}
	if r.err == nil {
		r.lineKind(l)
	}
	c.Line = l
}

func (r *reader) batterySection(c *Config) {
	b := &c.Battery
	b.ShedInterfaces = r.list("shed_interface", ifName)
	b.OnBatteryDelay = r.dur("on_battery_delay", b.OnBatteryDelay, 0, time.Hour)
	b.CriticalPercent = r.integer("critical_percent", b.CriticalPercent, 0, 99)
	b.ShutdownCommand = r.str("shutdown_command", b.ShutdownCommand, nil)
	b.ShutdownGrace = r.dur("shutdown_grace", b.ShutdownGrace, 0, time.Hour)
}

func (r *reader) hotkeySection(c *Config) {
	s := r.sec
	h := HotkeyConfig{Name: s.Name, SourceLine: s.Line}
	h.Keys = r.list("key", keyName)
	h.Kind = r.enum("kind", "chord", "chord", "sequence")
	h.Hold = r.dur("hold", 2*time.Second, 0, time.Minute)
	h.Action = r.enum("action", "toggle", "pstn", "sip", "auto", "toggle")
	h.For = r.dur("for", 0, 0, 30*24*time.Hour)
	if len(h.Keys) == 0 && r.err == nil {
		r.errAt(s.Line, "key", "at least one key is required")
	}
	c.Hotkeys = append(c.Hotkeys, h)
}

func (r *reader) proxySection(c *Config) {
	s := r.sec
	p := &ProxyConfig{Name: s.Name}
	p.Socket = r.str("socket", "/var/run/kamailio/kamailio_rpc.sock", absPath)
	p.ProviderURI = r.str("provider_uri", "", sipURI)
	p.PSTNURI = r.str("pstn_uri", "", sipURI)
	p.PSTNURISourceLine = s.Line
	if o := s.Option("pstn_uri"); o != nil {
		p.PSTNURISourceLine = o.Line
	}
	p.CheckInterval = r.dur("check_interval", 2*time.Second, 100*time.Millisecond, time.Hour)
	for _, req := range []struct{ opt, v string }{{"provider_uri", p.ProviderURI}, {"pstn_uri", p.PSTNURI}} {
		if req.v == "" && r.err == nil {
			r.errAt(s.Line, req.opt, "is required")
		}
	}
	c.Proxy = p
}

func (r *reader) gatewaySection(c *Config) {
	c.Gateway = r.gateway()
}

func (r *reader) notifySection(c *Config) {
	c.Notify = r.notify(c.Notify)
}

// crossCheck validates what spans sections: with a gateway, the proxy's
// pstn_uri must reach it (the same port, and the same address when the
// gateway listens on one), or every call routed to the line would go
// nowhere.
func (c *Config) crossCheck() error {
	p, g := c.Proxy, c.Gateway
	if p == nil || g == nil {
		return nil
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s:%d: section proxy '%s' option 'pstn_uri': %q: %s",
			ErrConfig, c.Source, p.PSTNURISourceLine, p.Name, p.PSTNURI, fmt.Sprintf(format, args...))
	}
	host, port, err := sipHostPort(p.PSTNURI)
	if err != nil {
		return fail("%v", err)
	}
	if port != int(g.Listen.Port()) {
		return fail("port %d is not the gateway '%s' listen port %d (line %d)", port, g.Name, g.Listen.Port(), g.SourceLine)
	}
	if a := g.Listen.Addr(); !a.IsUnspecified() {
		if h, err := netip.ParseAddr(host); err != nil || h.Unmap() != a {
			return fail("host %s is not the gateway '%s' listen address %s (line %d)", host, g.Name, a, g.SourceLine)
		}
	}
	return nil
}

// sipHostPort returns the host and port of a sip: URI
// (sip:[user@]host[:port][;params][?headers]); the port defaults to 5060.
func sipHostPort(v string) (string, int, error) {
	rest, ok := strings.CutPrefix(v, "sip:")
	if !ok {
		return "", 0, errors.New("not a sip: URI")
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if i := strings.IndexAny(rest, ";?"); i >= 0 {
		rest = rest[:i]
	}
	host, port := rest, 5060
	if h, p, err := net.SplitHostPort(rest); err == nil {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return "", 0, fmt.Errorf("bad port %q", p)
		}
		host, port = h, int(n)
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if host == "" {
		return "", 0, errors.New("no host")
	}
	return host, port, nil
}

// sipURIWithIP checks a sip: URI whose host is an IP address.
func sipURIWithIP(v string) error {
	if err := sipURI(v); err != nil {
		return err
	}
	host, _, err := sipHostPort(v)
	if err == nil {
		if _, err = netip.ParseAddr(host); err != nil {
			err = fmt.Errorf("host %q is not an IP address (the gateway does no DNS): want sip:user@IP[:port]", host)
		}
	}
	return err
}

func (r *reader) gateway() *GatewayConfig {
	s := r.sec
	g := &GatewayConfig{Name: s.Name, SourceLine: s.Line}
	r.str("listen", "", func(v string) error {
		ap, err := parseListen(v)
		g.Listen = ap
		return err
	})
	r.str("rtp_address", "", func(v string) error {
		a, err := netip.ParseAddr(v)
		if err != nil || a.IsUnspecified() || a.Zone() != "" {
			return errors.New("not a concrete IP address (e.g. 192.168.1.1)")
		}
		g.RTPAddress = a
		return nil
	})
	g.Prefix = r.str("prefix", DefaultGatewayPrefix, dialString)
	g.Emergency = r.list("emergency", dialString)
	// The gateway's user agent does no DNS: rings go to an IP address.
	g.Incoming = r.str("incoming", "", sipURIWithIP)
	g.RTPTimeout = r.dur("rtp_timeout", DefaultRTPTimeout, 0, 24*time.Hour)
	g.GatewayPolicy = r.gatewayPolicy()
	if r.err != nil {
		return g
	}
	switch {
	case !g.Listen.IsValid():
		r.errAt(s.Line, "listen", "is required (e.g. '192.168.1.1:5080' or ':5080')")
	case !g.RTPAddress.IsValid() && g.Listen.Addr().IsUnspecified():
		r.errAt(s.Line, "rtp_address", "is required when listen has no address")
	case !g.RTPAddress.IsValid():
		g.RTPAddress = g.Listen.Addr()
	}
	return g
}

// parseListen accepts "HOST:PORT" with an IP host or ":PORT" (every address).
func parseListen(v string) (netip.AddrPort, error) {
	bad := errors.New("not a SIP listen address (e.g. '192.168.1.1:5080' or ':5080')")
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return netip.AddrPort{}, bad
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return netip.AddrPort{}, bad
	}
	a := netip.IPv6Unspecified()
	if host != "" {
		if a, err = netip.ParseAddr(host); err != nil || a.Zone() != "" {
			return netip.AddrPort{}, bad
		}
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(p)), nil
}

// dialString checks a number or code dialled on the line: digits, * and #.
func dialString(v string) error {
	if v == "" || len(v) > 32 || strings.Trim(v, "0123456789*#") != "" {
		return errors.New("want digits, * and # (at most 32)")
	}
	return nil
}

// reader pulls typed options out of one section, remembering which it used
// and the first error, so the parse code above reads as a list of options.
type reader struct {
	file string
	sec  *uci.Section
	used map[string]bool
	err  error
}

func (r *reader) errAt(line int, opt, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	where := fmt.Sprintf("section %s", r.sec.Label())
	if opt != "" {
		where += fmt.Sprintf(" option '%s'", opt)
	}
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s:%d: %s: %s", ErrConfig, r.file, line, where, msg)
	}
	return r.err
}

func (r *reader) get(name string, list bool) *uci.Option {
	if r.used == nil {
		r.used = map[string]bool{}
	}
	r.used[name] = true
	o := r.sec.Option(name)
	if o == nil || r.err != nil {
		return nil
	}
	if o.List != list {
		want := "option"
		if list {
			want = "list"
		}
		r.errAt(o.Line, name, "must be given with '%s'", want)
		return nil
	}
	return o
}

func (r *reader) checkUnknown() {
	for _, o := range r.sec.Options {
		if !r.used[o.Name] {
			r.errAt(o.Line, o.Name, "unknown option")
			return
		}
	}
}

func (r *reader) str(name, def string, check func(string) error) string {
	o := r.get(name, false)
	if o == nil {
		return def
	}
	if check != nil {
		if err := check(o.Value()); err != nil {
			r.errAt(o.Line, name, "%q: %v", o.Value(), err)
			return def
		}
	}
	return o.Value()
}

func (r *reader) list(name string, check func(string) error) []string {
	o := r.get(name, true)
	if o == nil {
		return nil
	}
	for _, v := range o.Values {
		if err := check(v); err != nil {
			r.errAt(o.Line, name, "%q: %v", v, err)
			return nil
		}
	}
	return append([]string(nil), o.Values...)
}

func (r *reader) enum(name, def string, allowed ...string) string {
	return r.str(name, def, func(v string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(allowed, ", "))
	})
}

func (r *reader) dur(name string, def, lo, hi time.Duration) time.Duration {
	out := def
	r.str(name, "", func(v string) error {
		d, err := ParseDuration(v)
		if err != nil {
			return err
		}
		if d < lo || d > hi {
			return fmt.Errorf("out of range %v..%v", lo, hi)
		}
		out = d
		return nil
	})
	return out
}

func (r *reader) integer(name string, def, lo, hi int) int {
	out := def
	r.str(name, "", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errors.New("not an integer")
		}
		if n < lo || n > hi {
			return fmt.Errorf("out of range %d..%d", lo, hi)
		}
		out = n
		return nil
	})
	return out
}

func (r *reader) boolean(name string, def bool) bool {
	out := def
	r.str(name, "", func(v string) error {
		switch v {
		case "1", "on", "true", "yes", "enabled":
			out = true
		case "0", "off", "false", "no", "disabled":
			out = false
		default:
			return errors.New("want 1 or 0")
		}
		return nil
	})
	return out
}

// ParseDuration accepts Go durations ("1m30s", "250ms") and, as UCI users
// write them, a bare number of seconds ("30").
func ParseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("not a duration (e.g. 30s, 1m, 500ms)")
	}
	if d < 0 {
		return 0, errors.New("negative duration")
	}
	return d, nil
}

func nonEmpty(v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func absPath(v string) error {
	if !filepath.IsAbs(v) {
		return errors.New("must be an absolute path")
	}
	return nil
}

// ifName checks a Linux interface name (IFNAMSIZ 16 with the NUL).
func ifName(v string) error {
	if v == "" || len(v) > 15 || strings.ContainsAny(v, "/ \t:") || v == "." || v == ".." {
		return errors.New("not a valid interface name")
	}
	return nil
}

func keyName(v string) error {
	if v == "" || len(v) > 32 || strings.ContainsAny(v, " \t=") {
		return errors.New("not a valid key name")
	}
	return nil
}

func sipURI(v string) error {
	if !strings.HasPrefix(v, "sip:") && !strings.HasPrefix(v, "sips:") || strings.ContainsAny(v, " \t\"<>") {
		return errors.New("not a SIP URI (e.g. sip:192.0.2.1:5060)")
	}
	return nil
}

func hostName(v string) error {
	if v == "" || len(v) > 253 || strings.ContainsAny(v, " \t/@;") {
		return errors.New("not a valid host name or address")
	}
	return nil
}
