package daemon

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"lifeline/hal/gateway/dialplan"
)

// Defaults of the gateway's policy options.
const (
	DefaultCallsPerMinute  = 10
	DefaultMaxCallDuration = 4 * time.Hour
)

// GatewayPolicy is who may use the gateway and what it dials: the
// options of the gateway section beyond its sockets.
type GatewayPolicy struct {
	// E.164 numbers ("+4930…") are dialled nationally (NationalPrefix
	// and the rest) for CountryCode, internationally (InternationalPrefix
	// and the digits) otherwise.
	CountryCode         string // "" : every E.164 number dialled internationally
	InternationalPrefix string // default "00"
	NationalPrefix      string // default "0"; "" for a country without one
	// Allow and Block are the dial plan (see the README): the longest
	// matching pattern decides; Block defaults to dialplan.DefaultBlock
	// (international, 0900, 0137, 118), 'none' empties it.
	Allow, Block []string
	// AllowSource are the addresses and networks that may place calls
	// besides loopback, the gateway's own address and incoming's host.
	AllowSource    []netip.Prefix
	CallsPerMinute int           // 0: no bound
	MaxDuration    time.Duration // 0: no bound
	// AuthUser and AuthPassword, when set, make every call but an
	// emergency call authenticate with SIP digest (realm "lifeline").
	AuthUser, AuthPassword string
}

// Numbering is the policy's dialplan.Numbering (without the prefix).
func (p GatewayPolicy) Numbering() dialplan.Numbering {
	return dialplan.Numbering{CountryCode: p.CountryCode, InternationalPrefix: p.InternationalPrefix, NationalPrefix: p.NationalPrefix}
}

// gatewayPolicy reads the policy options of the gateway section.
func (r *reader) gatewayPolicy() GatewayPolicy {
	p := GatewayPolicy{}
	p.CountryCode = r.str("country_code", "", digits(1, 3))
	p.InternationalPrefix = r.str("international_prefix", dialplan.DefaultInternationalPrefix, digits(1, 4))
	p.NationalPrefix = r.str("national_prefix", dialplan.DefaultNationalPrefix, digits(0, 4))
	p.Allow = r.list("allow", dialplan.CheckPattern)
	block := r.list("block", func(v string) error {
		if v == "none" {
			return nil
		}
		return dialplan.CheckPattern(v)
	})
	switch {
	case block == nil:
		p.Block = dialplan.DefaultBlock(p.Numbering())
	case len(block) == 1 && block[0] == "none":
		p.Block = []string{}
	default:
		if slices.Contains(block, "none") {
			r.errAt(r.sec.Option("block").Line, "block", "'none' must be the only value")
		}
		p.Block = block
	}
	for _, v := range r.list("allow_source", func(v string) error { _, err := parseSource(v); return err }) {
		pfx, _ := parseSource(v)
		p.AllowSource = append(p.AllowSource, pfx)
	}
	p.CallsPerMinute = r.integer("calls_per_minute", DefaultCallsPerMinute, 0, 1000)
	p.MaxDuration = r.dur("max_duration", DefaultMaxCallDuration, 0, 7*24*time.Hour)
	p.AuthUser = r.str("auth_user", "", func(v string) error {
		if v == "" || len(v) > 64 || strings.ContainsAny(v, "\"\\:@ \t") {
			return errors.New("want a user name of at most 64 characters without quotes, backslashes, ':', '@' or spaces")
		}
		return nil
	})
	p.AuthPassword = r.str("auth_password", "", func(v string) error {
		if v == "" || len(v) > 128 {
			return errors.New("want a password of 1 to 128 characters")
		}
		return nil
	})
	if (p.AuthUser == "") != (p.AuthPassword == "") && r.err == nil {
		missing := "auth_password"
		if p.AuthUser == "" {
			missing = "auth_user"
		}
		r.errAt(r.sec.Line, missing, "is required with %s", map[string]string{"auth_user": "auth_password", "auth_password": "auth_user"}[missing])
	}
	return p
}

// parseSource accepts an address ("192.168.1.10") or a network
// ("192.168.1.0/24", "fd00::/8").
func parseSource(v string) (netip.Prefix, error) {
	bad := errors.New("not an IP address or network (e.g. 192.168.1.10 or 192.168.1.0/24)")
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil || p.Addr().Zone() != "" {
			return netip.Prefix{}, bad
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" || a.IsUnspecified() {
		return netip.Prefix{}, bad
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// digits checks a string of lo to hi decimal digits.
func digits(lo, hi int) func(string) error {
	return func(v string) error {
		if len(v) < lo || len(v) > hi || strings.Trim(v, "0123456789") != "" {
			return fmt.Errorf("want %d to %d digits", lo, hi)
		}
		return nil
	}
}
