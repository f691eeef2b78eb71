package daemon

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// designExample is the configuration of DESIGN.md, verbatim.
const designExample = `config lifeline 'main'
	option board 'auto'
	option wan_interface 'wan'
	option failback_hold '30s'
	option hooks_dir '/etc/lifeline/hooks.d'

config provider 'sip'
	option host 'sip.example.net'
	option port '5060'
	option transport 'udp'
	option interval '1s'
	option down_after '3'

config line 'pstn'
	option device '/dev/ttyUSB0'
	option profile 'analog'          # analog | isdn-ta
	option baud '115200'

config battery 'battery'
	list shed_interface 'wlan1'
	option on_battery_delay '2s'
	option critical_percent '10'
	option shutdown_command 'poweroff'

config hotkey 'force_pstn'           # keys pressed together (a chord), held for ` + "`hold`" + `
	list key 'wps'
	list key 'phone'
	option hold '2s'
	option action 'toggle'           # pstn | sip | auto | toggle
	option for '1h'                  # optional: the override expires
`

func TestParseConfigDesignExample(t *testing.T) {
	c, err := ParseConfig("lifeline", []byte(designExample))
	if err != nil {
		t.Fatal(err)
	}
	if c.Board != "auto" || c.WANInterface != "wan" || c.FailbackHold != 30*time.Second {
		t.Errorf("main = %+v", c)
	}
	if p := c.Provider; p.Host != "sip.example.net" || p.Port != 5060 || p.Transport != "udp" || p.Interval != time.Second || p.DownAfter != 3 {
		t.Errorf("provider = %+v", p)
	}
	if l := c.Line; l == nil || l.Device != "/dev/ttyUSB0" || l.Profile != "analog" || l.Baud != 115200 || l.Name != "pstn" {
		t.Errorf("line = %+v", l)
	}
	if b := c.Battery; len(b.ShedInterfaces) != 1 || b.ShedInterfaces[0] != "wlan1" || b.CriticalPercent != 10 || b.OnBatteryDelay != 2*time.Second {
		t.Errorf("battery = %+v", b)
	}
	if len(c.Hotkeys) != 1 {
		t.Fatalf("hotkeys = %+v", c.Hotkeys)
	}
	if h := c.Hotkeys[0]; strings.Join(h.Keys, "+") != "wps+phone" || h.Hold != 2*time.Second || h.Action != "toggle" || h.For != time.Hour || h.Kind != "chord" {
		t.Errorf("hotkey = %+v", h)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig("empty", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Line != nil || c.Provider.DownAfter != 3 || c.FailbackHold != 30*time.Second || c.Provider.Host != "" {
		t.Errorf("defaults = %+v", c)
	}
	c, _ = ParseConfig("bare", []byte("config provider\n\toption interval '200ms'\n"))
	if c.Provider.Timeout != 200*time.Millisecond || c.Provider.FastInterval != 200*time.Millisecond {
		t.Errorf("timeout/fast not capped by interval: %+v", c.Provider)
	}
	c, _ = ParseConfig("secs", []byte("config lifeline\n\toption failback_hold '45'\n"))
	if c.FailbackHold != 45*time.Second {
		t.Errorf("bare seconds: %v", c.FailbackHold)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unknown option", "config lifeline 'main'\n\toption bored 'auto'\n", "f:2: section lifeline 'main' option 'bored': unknown option"},
		{"bad duration", "config lifeline 'main'\n\toption failback_hold 'soon'\n", "f:2: section lifeline 'main' option 'failback_hold': \"soon\": not a duration"},
		{"negative duration", "config lifeline 'main'\n\toption failback_hold '-1s'\n", "option 'failback_hold'"},
		{"port range", "config provider 'sip'\n\n\toption port '70000'\n", "f:3: section provider 'sip' option 'port': \"70000\": out of range 1..65535"},
		{"transport", "config provider 'sip'\n\toption transport 'sctp'\n", "want one of udp, tcp"},
		{"down_after zero", "config provider 'sip'\n\toption down_after '0'\n", "option 'down_after'"},
		{"unknown section", "config lifelime 'main'\n", "f:1: section lifelime 'main': unknown section type"},
		{"duplicate section", "config lifeline\nconfig lifeline\n", "f:2: section anonymous lifeline (line 2): a second \"lifeline\" section (the first is on line 1)"},
		{"line without device", "config line 'pstn'\n\toption profile 'analog'\n", "f:1: section line 'pstn' option 'device': is required"},
		{"relative hooks dir", "config lifeline\n\toption hooks_dir 'hooks'\n", "must be an absolute path"},
		{"list as option", "config battery\n\toption shed_interface 'wlan1'\n", "f:2: section anonymous battery (line 1) option 'shed_interface': must be given with 'list'"},
		{"bad interface", "config battery\n\tlist shed_interface 'wlan/1'\n", "not a valid interface name"},
		{"hotkey without key", "config hotkey 'x'\n\toption action 'pstn'\n", "option 'key': at least one key"},
		{"hotkey action", "config hotkey 'x'\n\tlist key 'wps'\n\toption action 'dance'\n", "f:3: section hotkey 'x' option 'action'"},
		{"critical percent", "config battery\n\toption critical_percent '100'\n", "out of range 0..99"},
		{"bool", "config lifeline\n\toption prefer_pstn_on_battery 'maybe'\n", "want 1 or 0"},
		{"syntax", "config lifeline\n\toption board 'auto\n", "f:2: unterminated single quote"},
		{"proxy without uris", "config proxy 'kamailio'\n", "option 'provider_uri': is required"},
		{"proxy bad uri", "config proxy 'k'\n\toption provider_uri 'http://x'\n", "f:2: section proxy 'k' option 'provider_uri': \"http://x\": not a SIP URI"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantConfigError(t, tc.src, tc.want) })
	}
}

func TestParseConfigProxy(t *testing.T) {
	c, err := ParseConfig("p", []byte("config proxy 'kamailio'\n\toption provider_uri 'sip:sip.example.net'\n\toption pstn_uri 'sip:127.0.0.1:5080'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Proxy; p == nil || p.Socket != "/var/run/kamailio/kamailio_rpc.sock" || p.PSTNURI != "sip:127.0.0.1:5080" || p.CheckInterval != 2*time.Second {
		t.Fatalf("proxy = %+v", p)
	}
}

// wantConfigError asserts that src is refused with ErrConfig and a message
// containing want (file "f").
func wantConfigError(t *testing.T, src, want string) {
	t.Helper()
	_, err := ParseConfig("f", []byte(src))
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %q\nwant it to contain %q", err, want)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"30": 30 * time.Second, "1m30s": 90 * time.Second, "250ms": 250 * time.Millisecond, "0": 0} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-5s", "1 h", "abc"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(designExample))
	f.Add([]byte("config provider\n\toption interval '10ms'\n\toption timeout '1m'\n"))
	f.Add([]byte("config gateway 'gw'\n\toption listen '192.168.1.1:5080'\n\toption incoming 'sip:phones@[fd00::1]:5060;transport=udp'\n" +
		"config proxy 'k'\n\toption provider_uri 'sip:p.example'\n\toption pstn_uri 'sip:gw@192.168.1.1:5080?x=y'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("fuzz", data)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error not wrapping ErrConfig: %v", err)
			}
			return
		}
		if c.Proxy != nil && c.Gateway != nil {
			if _, port, err := sipHostPort(c.Proxy.PSTNURI); err != nil || port != int(c.Gateway.Listen.Port()) {
				t.Fatalf("pstn_uri %q accepted for gateway listen %v", c.Proxy.PSTNURI, c.Gateway.Listen)
			}
		}
		if g := c.Gateway; g != nil && g.Incoming != "" {
			if err := sipURIWithIP(g.Incoming); err != nil {
				t.Fatalf("incoming %q accepted: %v", g.Incoming, err)
			}
		}
		if c.Provider.DownAfter < 1 || c.Provider.Interval <= 0 || c.Provider.Port < 0 || c.Provider.Port > 65535 {
			t.Fatalf("invalid config accepted: %+v", c.Provider)
		}
	})
}

func TestParseConfigGateway(t *testing.T) {
	ok := []struct {
		name, src string
		listen    string
		rtp       string
		prefix    string
		emergency []string
		incoming  string
	}{
		{"address", "config gateway 'gw'\n\toption listen '192.168.1.1:5080'\n", "192.168.1.1:5080", "192.168.1.1", "*00", nil, ""},
		{"any address", "config gateway 'gw'\n\toption listen ':5080'\n\toption rtp_address '192.168.1.1'\n", "[::]:5080", "192.168.1.1", "*00", nil, ""},
		{"ipv6", "config gateway 'gw'\n\toption listen '[fd00::1]:5080'\n", "[fd00::1]:5080", "fd00::1", "*00", nil, ""},
		{"prefix and emergency", "config gateway 'gw'\n\toption listen '127.0.0.1:5080'\n\toption rtp_address '127.0.0.2'\n\toption prefix '#9'\n\tlist emergency '112'\n\tlist emergency '110'\n",
			"127.0.0.1:5080", "127.0.0.2", "#9", []string{"112", "110"}, ""},
		{"incoming", "config gateway 'gw'\n\toption listen '127.0.0.1:5080'\n\toption incoming 'sip:phones@127.0.0.1:5060'\n",
			"127.0.0.1:5080", "127.0.0.1", "*00", nil, "sip:phones@127.0.0.1:5060"},
		{"incoming ipv6", "config gateway 'gw'\n\toption listen '127.0.0.1:5080'\n\toption incoming 'sip:phones@[fd00::1]:5060;transport=udp'\n",
			"127.0.0.1:5080", "127.0.0.1", "*00", nil, "sip:phones@[fd00::1]:5060;transport=udp"},
		{"with a proxy to it", "config gateway 'gw'\n\toption listen ':5080'\n\toption rtp_address '192.168.1.1'\nconfig proxy 'k'\n\toption provider_uri 'sip:p.example'\n\toption pstn_uri 'sip:192.168.1.1:5080'\n",
			"[::]:5080", "192.168.1.1", "*00", nil, ""},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig("g", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			g := c.Gateway
			if g == nil || g.Name != "gw" || g.SourceLine != 1 || g.Listen.String() != tc.listen || g.RTPAddress.String() != tc.rtp ||
				g.Prefix != tc.prefix || strings.Join(g.Emergency, ",") != strings.Join(tc.emergency, ",") || g.Incoming != tc.incoming {
				t.Fatalf("gateway = %+v", g)
			}
		})
	}
	bad := []struct{ name, src, want string }{
		{"no listen", "config gateway 'gw'\n\toption rtp_address '192.168.1.1'\n", "f:1: section gateway 'gw' option 'listen': is required"},
		{"listen without port", "config gateway 'gw'\n\toption listen '192.168.1.1'\n", "f:2: section gateway 'gw' option 'listen': \"192.168.1.1\": not a SIP listen address"},
		{"listen host name", "config gateway 'gw'\n\toption listen 'router.lan:5080'\n", "option 'listen': \"router.lan:5080\": not a SIP listen address"},
		{"listen port zero", "config gateway 'gw'\n\toption listen ':0'\n", "option 'listen'"},
		{"listen port range", "config gateway 'gw'\n\toption listen ':65536'\n", "option 'listen'"},
		{"any address without rtp", "config gateway 'gw'\n\toption listen ':5080'\n", "f:1: section gateway 'gw' option 'rtp_address': is required when listen has no address"},
		{"rtp unspecified", "config gateway 'gw'\n\toption listen ':5080'\n\toption rtp_address '0.0.0.0'\n", "f:3: section gateway 'gw' option 'rtp_address': \"0.0.0.0\": not a concrete IP address"},
		{"rtp host name", "config gateway 'gw'\n\toption listen ':5080'\n\toption rtp_address 'router'\n", "option 'rtp_address'"},
		{"prefix letters", "config gateway 'gw'\n\toption listen '127.0.0.1:5080'\n\toption prefix 'x1'\n", "f:3: section gateway 'gw' option 'prefix': \"x1\": want digits, * and #"},
		{"prefix empty", "config gateway 'gw'\n\toption listen '127.0.0.1:5080'\n\toption prefix ''\n", "option 'prefix'"},
		{"emergency as option", "config gateway 'gw'\n\toption listen '127.0.0.1:5080'\n\toption emergency '112'\n", "option 'emergency': must be given with 'list'"},
		{"emergency bad", "config gateway 'gw'\n\toption listen '127.0.0.1:5080'\n\tlist emergency '11 2'\n", "f:3: section gateway 'gw' option 'emergency': \"11 2\""},
		{"incoming not sip", "config gateway 'gw'\n\toption listen '127.0.0.1:5080'\n\toption incoming 'phones@127.0.0.1'\n", "f:3: section gateway 'gw' option 'incoming'"},
		{"incoming host name", "config gateway 'gw'\n\toption listen '127.0.0.1:5080'\n\toption incoming 'sip:phones@router.lan:5060'\n",
			"f:3: section gateway 'gw' option 'incoming': \"sip:phones@router.lan:5060\": host \"router.lan\" is not an IP address"},
		{"pstn_uri other port", "config gateway 'gw'\n\toption listen '192.168.1.1:5080'\nconfig proxy 'k'\n\toption provider_uri 'sip:p.example'\n\toption pstn_uri 'sip:192.168.1.1:5060'\n",
			"f:5: section proxy 'k' option 'pstn_uri': \"sip:192.168.1.1:5060\": port 5060 is not the gateway 'gw' listen port 5080 (line 1)"},
		{"pstn_uri default port", "config gateway 'gw'\n\toption listen '192.168.1.1:5080'\nconfig proxy 'k'\n\toption provider_uri 'sip:p.example'\n\toption pstn_uri 'sip:gw@192.168.1.1'\n",
			"port 5060 is not the gateway 'gw' listen port 5080"},
		{"pstn_uri other host", "config proxy 'k'\n\toption provider_uri 'sip:p.example'\n\toption pstn_uri 'sip:192.168.1.2:5080;transport=udp'\nconfig gateway 'gw'\n\toption listen '192.168.1.1:5080'\n",
			"f:3: section proxy 'k' option 'pstn_uri': \"sip:192.168.1.2:5080;transport=udp\": host 192.168.1.2 is not the gateway 'gw' listen address 192.168.1.1 (line 4)"},
		{"unknown option", "config gateway 'gw'\n\toption listen '127.0.0.1:5080'\n\toption codec 'PCMA'\n", "f:3: section gateway 'gw' option 'codec': unknown option"},
		{"second section", "config gateway 'a'\n\toption listen '127.0.0.1:5080'\nconfig gateway 'b'\n\toption listen '127.0.0.1:5081'\n", "f:3: section gateway 'b': a second \"gateway\" section (the first is on line 1)"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) { wantConfigError(t, tc.src, tc.want) })
	}
}
