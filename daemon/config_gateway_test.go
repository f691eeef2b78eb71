package daemon

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestParseConfigGatewayPolicy(t *testing.T) {
	const head = "config gateway 'gw'\n\toption listen '127.0.0.1:5080'\n"
	t.Run("defaults", func(t *testing.T) {
		c, err := ParseConfig("g", []byte(head))
		if err != nil {
			t.Fatal(err)
		}
		p := c.Gateway.GatewayPolicy
		if p.CountryCode != "" || p.InternationalPrefix != "00" || p.NationalPrefix != "0" || p.Allow != nil ||
			!slices.Equal(p.Block, []string{"00", "0900", "0137", "118"}) || p.AllowSource != nil ||
			p.CallsPerMinute != 10 || p.MaxDuration != 4*time.Hour {
			t.Fatalf("policy = %+v", p)
		}
	})
	t.Run("everything", func(t *testing.T) {
		c, err := ParseConfig("g", []byte(head+`	option country_code '1'
	option international_prefix '011'
	option national_prefix ''
	list allow '0113'
	list block '011'
	list block '1900'
	list allow_source '192.168.1.0/24'
	list allow_source '192.168.2.7'
	list allow_source 'fd00::/8'
	option calls_per_minute '0'
	option max_duration '0'
	option auth_user 'kamailio'
	option auth_password 's3cret'
`))
		if err != nil {
			t.Fatal(err)
		}
		p := c.Gateway.GatewayPolicy
		want := []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("192.168.2.7/32"), netip.MustParsePrefix("fd00::/8")}
		if p.CountryCode != "1" || p.InternationalPrefix != "011" || p.NationalPrefix != "" || !slices.Equal(p.Allow, []string{"0113"}) ||
			!slices.Equal(p.Block, []string{"011", "1900"}) || !slices.Equal(p.AllowSource, want) || p.CallsPerMinute != 0 || p.MaxDuration != 0 ||
			p.AuthUser != "kamailio" || p.AuthPassword != "s3cret" {
			t.Fatalf("policy = %+v", p)
		}
		if n := p.Numbering(); n.CountryCode != "1" || n.InternationalPrefix != "011" || n.NationalPrefix != "" {
			t.Fatalf("numbering = %+v", n)
		}
	})
	t.Run("block none", func(t *testing.T) {
		c, err := ParseConfig("g", []byte(head+"\tlist block 'none'\n"))
		if err != nil {
			t.Fatal(err)
		}
		if b := c.Gateway.Block; b == nil || len(b) != 0 {
			t.Fatalf("block = %#v, want empty", b)
		}
	})
	for _, tc := range []struct{ name, src, want string }{
		{"country code letters", "\toption country_code 'DE'\n", "f:3: section gateway 'gw' option 'country_code': \"DE\": want 1 to 3 digits"},
		{"country code plus", "\toption country_code '+49'\n", "option 'country_code'"},
		{"international empty", "\toption international_prefix ''\n", "option 'international_prefix'"},
		{"national letters", "\toption national_prefix 'O'\n", "option 'national_prefix'"},
		{"block pattern", "\tlist block '0900?'\n", "f:3: section gateway 'gw' option 'block': \"0900?\": want digits"},
		{"block none and more", "\tlist block 'none'\n\tlist block '00'\n", "option 'block': 'none' must be the only value"},
		{"allow as option", "\toption allow '00'\n", "option 'allow': must be given with 'list'"},
		{"source host name", "\tlist allow_source 'kamailio.lan'\n", "f:3: section gateway 'gw' option 'allow_source': \"kamailio.lan\": not an IP address or network"},
		{"source any", "\tlist allow_source '0.0.0.0'\n", "option 'allow_source'"},
		{"calls per minute", "\toption calls_per_minute '-1'\n", "option 'calls_per_minute'"},
		{"max duration", "\toption max_duration 'long'\n", "option 'max_duration'"},
		{"auth user alone", "\toption auth_user 'kamailio'\n", "f:1: section gateway 'gw' option 'auth_password': is required with auth_user"},
		{"auth password alone", "\toption auth_password 's3cret'\n", "option 'auth_user': is required with auth_password"},
		{"auth user with a quote", "\toption auth_user 'a\"b'\n\toption auth_password 'x'\n", "option 'auth_user'"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantConfigError(t, head+tc.src, tc.want) })
	}
}

// TestParseConfigProviderPort (issue 14 item 9): without a port option the
// provider is found by SRV (Port 0); an explicit port is kept; 0 is not a
// port to write.
func TestParseConfigProviderPort(t *testing.T) {
	c, err := ParseConfig("p", []byte("config provider 'sip'\n\toption host 'example.net'\n"))
	if err != nil || c.Provider.Port != 0 {
		t.Fatalf("no port: %+v, %v; want Port 0 (SRV)", c, err)
	}
	if c := DefaultConfig(); c.Provider.Port != 0 {
		t.Fatalf("default port %d, want 0 (SRV)", c.Provider.Port)
	}
	c, err = ParseConfig("p", []byte("config provider 'sip'\n\toption host 'example.net'\n\toption port '5062'\n"))
	if err != nil || c.Provider.Port != 5062 {
		t.Fatalf("port 5062: %+v, %v", c, err)
	}
	wantConfigError(t, "config provider 'sip'\n\toption host 'example.net'\n\toption port '0'\n", "option 'port': \"0\": out of range 1..65535")
}
