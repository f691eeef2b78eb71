package daemon

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseConfigNotify(t *testing.T) {
	const head = "config notify 'sms'\n"
	t.Run("absent", func(t *testing.T) {
		c, err := ParseConfig("n", []byte("config lifeline 'main'\n"))
		if err != nil || c.Notify != nil {
			t.Fatalf("notify = %+v, %v; want nil", c.Notify, err)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		c, err := ParseConfig("n", []byte(head+"\tlist number '+49 170 123-4567'\n"))
		if err != nil {
			t.Fatal(err)
		}
		n := c.Notify
		if n.Name != "sms" || n.Line != 1 || n.RouterName != "" || !slices.Equal(n.Numbers, []string{"+491701234567"}) ||
			!slices.Equal(n.Events, []string{"powerout", "mainsback", "lowbattery", "shutdown", "route", "line"}) ||
			n.Burst != 5 || n.MinInterval != 10*time.Minute || n.Remote || n.RemoteFrom != nil || n.RemoteSecret != "" {
			t.Fatalf("notify = %+v", n)
		}
		if _, ok := n.HandlerConfig(); ok {
			t.Fatal("remote override on by default")
		}
	})
	t.Run("everything", func(t *testing.T) {
		c, err := ParseConfig("n", []byte(head+`	option name 'Büro gw1'
	list number '+491701234567'
	list number '01511234567'
	list event 'powerout'
	list event 'shutdown'
	option max_burst '3'
	option min_interval '30m'
	option remote '1'
	list remote_from '+49 (170) 1234567'
	option remote_secret 'correct-horse'
`))
		if err != nil {
			t.Fatal(err)
		}
		n := c.Notify
		if nc := n.NotifierConfig(); nc.Name != "Büro gw1" || nc.Burst != 3 || nc.MinInterval != 30*time.Minute || len(nc.Numbers) != 2 || len(nc.Kinds) != 2 {
			t.Fatalf("notifier config = %+v", nc)
		}
		if hc, ok := n.HandlerConfig(); !ok || hc.Secret != "correct-horse" || !slices.Equal(hc.Allowed, []string{"+491701234567"}) || hc.Name != "Büro gw1" {
			t.Fatalf("handler config = %+v, %v", hc, ok)
		}
		if n.RouterName != "Büro gw1" || !slices.Equal(n.Numbers, []string{"+491701234567", "01511234567"}) ||
			!slices.Equal(n.Events, []string{"powerout", "shutdown"}) || n.Burst != 3 || n.MinInterval != 30*time.Minute ||
			!n.Remote || !slices.Equal(n.RemoteFrom, []string{"+491701234567"}) || n.RemoteSecret != "correct-horse" {
			t.Fatalf("notify = %+v", n)
		}
	})
	t.Run("remote only", func(t *testing.T) {
		c, err := ParseConfig("n", []byte(head+"\toption remote '1'\n\tlist remote_from '+491701234567'\n\toption remote_secret '12345678'\n"))
		if err != nil || !c.Notify.Remote || c.Notify.Numbers != nil {
			t.Fatalf("notify = %+v, %v", c.Notify, err)
		}
	})
	const num = "\tlist number '+491701234567'\n"
	for _, tc := range []struct{ name, src, want string }{
		{"no number", "", "f:1: section notify 'sms' option 'number': at least one number is required (or remote '1')"},
		{"bad number", "\tlist number 'mum'\n", "f:2: section notify 'sms' option 'number': \"mum\": not a phone number"},
		{"short number", "\tlist number '+1'\n", "option 'number': \"+1\": not a phone number"},
		{"number as option", "\toption number '+491701234567'\n", "option 'number': must be given with 'list'"},
		{"unknown event", num + "\tlist event 'mains_lost'\n", "f:3: section notify 'sms' option 'event': \"mains_lost\": want one of route, override, line, powerout"},
		{"burst zero", num + "\toption max_burst '0'\n", "option 'max_burst': \"0\": out of range 1..100"},
		{"interval", num + "\toption min_interval 'often'\n", "option 'min_interval'"},
		{"name control", num + "\toption name 'a\tb'\n", "option 'name'"},
		{"remote bad", num + "\toption remote 'maybe'\n", "option 'remote': \"maybe\": want 1 or 0"},
		{"remote without from", num + "\toption remote '1'\n\toption remote_secret '12345678'\n", "f:1: section notify 'sms' option 'remote_from': at least one number is required with remote '1'"},
		{"remote without secret", num + "\toption remote '1'\n\tlist remote_from '+491701234567'\n", "option 'remote_secret': is required with remote '1'"},
		{"secret short", num + "\toption remote_secret 'abc1234'\n", "f:3: section notify 'sms' option 'remote_secret': too short (7 characters): want at least 8"},
		{"secret space", num + "\toption remote_secret 'abc 12345'\n", "option 'remote_secret': want at most 64 characters without spaces"},
		{"bad remote_from", num + "\tlist remote_from 'boss'\n", "option 'remote_from': \"boss\": not a phone number"},
		{"unknown option", num + "\toption numbers '1'\n", "f:3: section notify 'sms' option 'numbers': unknown option"},
		{"second section", num + head + num, "f:3: section notify 'sms': a second \"notify\" section (the first is on line 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantConfigError(t, head+tc.src, tc.want) })
	}
}

// TestParseConfigNotifySecretNotEchoed: a refused secret never appears in
// the error (errors are logged).
func TestParseConfigNotifySecretNotEchoed(t *testing.T) {
	for _, secret := range []string{"hunter2", "hunter2 hunter2"} {
		_, err := ParseConfig("f", []byte("config notify 'sms'\n\tlist number '+491701234567'\n\toption remote_secret '"+secret+"'\n"))
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("secret %q: err = %v", secret, err)
		}
	}
}

// FuzzParseConfigNotify: whatever a notify section holds, an accepted one
// has sendable numbers, a secret of at least MinRemoteSecret characters
// when remote is on, and known events.
func FuzzParseConfigNotify(f *testing.F) {
	f.Add("\tlist number '+49 170 1234567'\n\tlist event 'route'\n")
	f.Add("\toption remote '1'\n\tlist remote_from '0170-1234567'\n\toption remote_secret 'abcdefgh'\n\toption name 'gw'\n")
	f.Add("\tlist number '(030) 12.34'\n\toption max_burst '1'\n\toption min_interval '0'\n")
	f.Fuzz(func(t *testing.T, body string) {
		c, err := ParseConfig("fuzz", []byte("config notify 'sms'\n"+body))
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error not wrapping ErrConfig: %v", err)
			}
			return
		}
		n := c.Notify
		if n == nil {
			t.Fatal("notify section accepted but not kept")
		}
		for _, num := range append(slices.Clone(n.Numbers), n.RemoteFrom...) {
			if d := strings.TrimPrefix(num, "+"); len(d) < 3 || strings.Trim(d, "0123456789") != "" {
				t.Fatalf("number %q accepted", num)
			}
		}
		if n.Remote && (len(n.RemoteSecret) < MinRemoteSecret || len(n.RemoteFrom) == 0) {
			t.Fatalf("remote accepted with %d-character secret and %d numbers", len(n.RemoteSecret), len(n.RemoteFrom))
		}
		if !n.Remote && len(n.Numbers) == 0 || n.Burst < 1 || len(n.Events) == 0 {
			t.Fatalf("notify accepted: %+v", n)
		}
	})
}

// TestNotifySectionDocumented: the notify sections of the README's
// configuration reference and of the shipped config (commented out there)
// parse as they are written.
func TestNotifySectionDocumented(t *testing.T) {
	for _, file := range []string{"../README.md", "../scripts/openwrt/lifeline/files/lifeline.config"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var sec []string
		for _, l := range strings.Split(string(data), "\n") {
			l = strings.TrimPrefix(l, "#")
			if strings.HasPrefix(l, "config notify ") || len(sec) > 0 && strings.HasPrefix(l, "\t") {
				sec = append(sec, l)
			} else if len(sec) > 0 {
				break
			}
		}
		if len(sec) < 3 {
			t.Fatalf("%s: no notify section found", file)
		}
		c, err := ParseConfig(file, []byte(strings.Join(sec, "\n")+"\n"))
		if err != nil || c.Notify == nil || len(c.Notify.Numbers) == 0 {
			t.Fatalf("%s: notify = %+v, %v", file, c.Notify, err)
		}
	}
}
