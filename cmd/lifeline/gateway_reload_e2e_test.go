package main

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"lifeline/hal/kamailio/siprig"
)

// sipOptions sends one OPTIONS to the gateway at 127.0.0.1:port and returns
// the status line of its answer, or an error when none comes.
func sipOptions(t *testing.T, port int) (string, error) {
	t.Helper()
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().(*net.UDPAddr)
	req := fmt.Sprintf("OPTIONS sip:127.0.0.1:%d SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-reload-%d\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:test@127.0.0.1>;tag=t1\r\nTo: <sip:127.0.0.1:%d>\r\n"+
		"Call-ID: reload-%d@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		port, local.Port, time.Now().UnixNano(), port, time.Now().UnixNano())
	if _, err := c.Write([]byte(req)); err != nil {
		return "", err
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	return line, nil
}

// A reload whose new gateway cannot start is refused and leaves the running
// gateway serving: an `incoming` with a host name (which check used to
// accept and gateway start refused, after the old gateway was gone) and a
// listen address this machine does not have. check refuses the first, as
// start does.
func TestE2EGatewayReloadKeepsRunningGateway(t *testing.T) {
	e, sim := newGatewayE2E(t)
	port := siprig.FreePort(t)
	good := fmt.Sprintf(gwE2EConfig, filepath.Join(e.dir, "hooks.d"), sim.Path(), port)
	e.writeConfig(good)
	e.start()
	e.waitLog("SIP-to-line gateway")
	if line, err := sipOptions(t, port); err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("OPTIONS before the reload: %q, %v", line, err)
	}
	for i, tc := range []struct{ name, cfg, why string }{
		{"incoming with a host name", good + "\toption incoming 'sip:phones@router.lan:5060'\n", `is not an IP address (the gateway does no DNS)`},
		{"listen address not on this machine", strings.Replace(good, "127.0.0.1:", "192.0.2.1:", 1), "listen 192.0.2.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.writeConfig(tc.cfg)
			if i == 0 {
				if _, errs, code := e.cli("check", "-c", e.cfg, "--board", "generic"); code != 1 || !strings.Contains(errs, tc.why) {
					t.Errorf("check: exit %d, %q; want exit 1 with %q", code, errs, tc.why)
				}
				if _, errs, code := e.cli("run", "-c", e.cfg, "--board", "generic", "--state-dir", t.TempDir(), "--socket", filepath.Join(t.TempDir(), "s")); code != 1 || !strings.Contains(errs, tc.why) {
					t.Errorf("run: exit %d, %q; want exit 1 with %q", code, errs, tc.why)
				}
			}
			e.cmd.Process.Signal(syscall.SIGHUP)
			waitLogCount(t, e.stderr, "reload refused, keeping the running configuration", i+1)
			if !strings.Contains(e.stderr.String(), tc.why) {
				t.Errorf("the refusal does not say why (%q):\n%s", tc.why, e.stderr)
			}
			if line, err := sipOptions(t, port); err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
				t.Fatalf("OPTIONS after the refused reload: %q, %v; the running gateway is gone\n%s", line, err, e.stderr)
			}
		})
	}
	if st := e.status(); field(st, "line.state") == nil {
		t.Fatalf("status after the refused reloads: %v", st)
	}
}
