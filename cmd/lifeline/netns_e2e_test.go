package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"lifeline/hal/netmon/netnstest"
)

// The real binary on the generic board inside a network namespace: the WAN
// is one end of a veth pair whose other end is "the internet". Carrier loss,
// a deleted default route, a removed address and the interface deleted and
// re-created all switch the route, and it comes back after failback_hold.
func TestE2ENetnsGenericBoard(t *testing.T) {
	p, e := netnsGeneric(t)

	steps := []struct {
		name, reason string
		fail, heal   func()
	}{
		{"carrier loss", "WAN link down",
			func() { p.In(p.Internet, "link", "set", netnstest.Peer, "down") },
			func() { p.In(p.Internet, "link", "set", netnstest.Peer, "up") }},
		{"default route deleted", "no default route via WAN",
			func() {
				p.In(p.Router, "route", "del", "default")
				p.In(p.Router, "-6", "route", "del", "default")
			},
			func() {
				p.In(p.Router, "route", "add", "default", "via", netnstest.InternetIP4)
				p.In(p.Router, "-6", "route", "add", "default", "via", netnstest.InternetIP6)
			}},
		{"address removed", "no address on WAN",
			func() { p.In(p.Router, "addr", "flush", "dev", netnstest.WAN) },
			func() {
				// The IPv6 default route outlives the flush; replace is idempotent.
				p.In(p.Router, "addr", "add", netnstest.RouterIP4+"/24", "dev", netnstest.WAN)
				p.In(p.Router, "-6", "addr", "add", netnstest.RouterIP6+"/64", "dev", netnstest.WAN, "nodad")
				p.In(p.Router, "route", "replace", "default", "via", netnstest.InternetIP4)
				p.In(p.Router, "-6", "route", "replace", "default", "via", netnstest.InternetIP6)
			}},
		{"interface deleted and re-created", "WAN link down",
			func() { p.In(p.Router, "link", "del", netnstest.WAN) },
			func() {
				p.CreateWAN()
				p.In(p.Internet, "addr", "add", netnstest.InternetIP4+"/24", "dev", netnstest.Peer)
				p.In(p.Internet, "addr", "add", netnstest.InternetIP6+"/64", "dev", netnstest.Peer, "nodad")
				p.In(p.Internet, "link", "set", netnstest.Peer, "up")
				p.ConfigureWAN()
			}},
	}
	for _, s := range steps {
		s.fail()
		st := e.waitFor(s.name+" → pstn", routeIs("pstn"))
		if !strings.Contains(st["reason"].(string), s.reason) {
			t.Fatalf("%s: reason %q, want %q", s.name, st["reason"], s.reason)
		}
		s.heal()
		e.waitFor(s.name+" healed → sip", routeIs("sip"))
	}
	if !strings.Contains(e.stderr.String(), "present=false") {
		t.Errorf("deletion of the WAN interface not logged:\n%s", e.stderr)
	}
}

// The real binary probes a real Kamailio in the internet namespace: a
// provider that silently drops SIP (nftables, input hook) switches the
// route after down_after lost probes; it fails back once SIP flows again.
func TestE2ENetnsProviderKamailio(t *testing.T) {
	p := netnstest.NewPair(t)
	for _, cmd := range []string{"kamailio", "nft"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Skipf("needs %s (Debian packages kamailio, nftables): not on PATH", cmd)
		}
	}
	kcfg, _ := filepath.Abs("../../hal/sipprobe/testdata/kamailio.cfg")
	kdir := t.TempDir()
	k := p.Command(p.Internet, "kamailio", "-f", kcfg, "-DD", "-E", "-m", "16", "-M", "4", "-Y", kdir, "-w", kdir,
		"-l", "udp:"+netnstest.InternetIP4+":5060")
	kout := newLogBuffer()
	k.Stdout, k.Stderr = kout, kout
	k.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := k.Start(); err != nil {
		t.Fatal(err)
	}
	kdone := make(chan struct{})
	go func() { k.Wait(); close(kdone) }()
	t.Cleanup(func() {
		syscall.Kill(-k.Process.Pid, syscall.SIGKILL)
		<-kdone
	})

	e := newE2E(t, "1s")
	e.wrap = []string{"ip", "netns", "exec", p.Router}
	e.board = "generic"
	e.writeConfig(fmt.Sprintf(`config lifeline 'main'
	option wan_interface '%s'
	option failback_hold '1s'
	option hooks_dir '%s'
config provider 'sip'
	option host '%s'
	option interval '200ms'
	option down_after '3'
`, netnstest.WAN, filepath.Join(e.dir, "hooks.d"), netnstest.InternetIP4))
	e.start()
	// Kamailio takes a moment to start: wait for an answered probe.
	e.waitFor("provider answering", func(st map[string]any) bool {
		rtt, ok := field(st, "wan.rtt_ms").(float64)
		return ok && rtt > 0 && field(st, "wan.provider_losses") == 0.0 && st["route"] == "sip"
	})

	nft := func(script string) {
		c := p.Command(p.Internet, "nft", "-f", "-")
		c.Stdin = strings.NewReader(script)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("nft: %v: %s", err, out)
		}
	}
	nft("table inet lifeline_e2e {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tudp dport 5060 drop\n\t}\n}\n")
	st := e.waitFor("pstn after the provider fell silent", routeIs("pstn"))
	if !strings.Contains(st["reason"].(string), "provider not answering") {
		t.Fatalf("reason = %v", st["reason"])
	}
	nft("delete table inet lifeline_e2e\n")
	e.waitFor("sip once SIP flows again", routeIs("sip"))
}
