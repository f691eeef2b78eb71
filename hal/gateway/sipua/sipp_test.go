package sipua

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"lifeline/hal/sip"

	"lifeline/hal/kamailio/siprig"
)

// The SIPp tests run the sipp binary (Debian package sip-tester) against
// this UA on loopback: an INVITE/200/ACK/BYE each way, once with SIPp's
// built-in scenarios and once with a Record-Route (;lr) that the ACK and
// BYE must carry as Route. They skip without sipp or with -short.

func needSIPp(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("SIPp interop skipped with -short")
	}
	p, err := exec.LookPath("sipp")
	if err != nil {
		t.Skip("needs sipp (Debian package sip-tester)")
	}
	return p
}

// runSIPp runs sipp with args (scenario first) and fails the test on a
// non-zero exit, showing its output.
func runSIPp(t *testing.T, ctx context.Context, bin string, scenario string, args ...string) error {
	t.Helper()
	dir := t.TempDir()
	all := []string{"-nostdin", "-m", "1", "-timeout", "20s", "-timeout_error", "-i", "127.0.0.1", "-trace_err",
		"-error_file", filepath.Join(dir, "err.log")}
	if filepath.Ext(scenario) == ".xml" {
		all = append(all, "-sf", scenario)
	} else {
		all = append(all, "-sn", scenario)
	}
	cmd := exec.CommandContext(ctx, bin, append(all, args...)...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		errs, _ := os.ReadFile(filepath.Join(dir, "err.log"))
		t.Logf("sipp %v: %v\n%s\n%s", args, err, errs, lastBytes(out.Bytes(), 3000))
	}
	return err
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func writeScenario(t *testing.T, xml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "scenario.xml")
	if err := os.WriteFile(p, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sippCallerRR calls us with a Record-Route pointing at itself; our BYE
// must come with that Route.
const sippCallerRR = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller with record-route, callee hangs up">
  <send retrans="500"><![CDATA[
INVITE sip:5551234@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:5551234@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Record-Route: <sip:[local_ip]:[local_port];lr>
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv request="BYE">
    <action>
      <ereg regexp="Route: &lt;sip:127.0.0.1:[0-9]+;lr&gt;" search_in="msg" check_it="true" assign_to="route"/>
      <ereg regexp="BYE sip:sipp@127.0.0.1:[0-9]+ SIP/2.0" search_in="msg" check_it="true" assign_to="ruri"/>
    </action>
  </recv>
  <Reference variables="route,ruri"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>
`

// sippCalleeRR answers our INVITE with a Record-Route pointing at itself
// and hangs up; our ACK must carry the Route.
const sippCalleeRR = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="callee with record-route, caller hangs up">
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Record-Route: <sip:[local_ip]:[local_port];lr>
Contact: <sip:sipp@[local_ip]:[local_port]>
Content-Length: 0

]]></send>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Record-Route: <sip:[local_ip]:[local_port];lr>
Contact: <sip:sipp@[local_ip]:[local_port]>
Content-Length: 0

]]></send>
  <recv request="ACK">
    <action>
      <ereg regexp="Route: &lt;sip:127.0.0.1:[0-9]+;lr&gt;" search_in="msg" check_it="true" assign_to="route"/>
    </action>
  </recv>
  <Reference variables="route"/>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>
`

// TestSIPpCallsUs: SIPp's UAC calls this UA's UAS; SIPp hangs up (its
// built-in uac scenario) or we do (along its Record-Route).
func TestSIPpCallsUs(t *testing.T) {
	bin := needSIPp(t)
	for _, tc := range []struct {
		name, scenario string
		weHangUp       bool
	}{
		{"built-in uac, SIPp hangs up", "uac", false},
		{"record-route, we hang up", sippCallerRR, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// SIPp exits on sending its last message, which may be before
			// the handler has read it (our BYE's 200): the test waits for
			// the handler, not for SIPp alone, before ending ctx.
			handled := make(chan struct{})
			handlerDone := sync.OnceFunc(func() { close(handled) })
			_, addr := startUDP(t, map[sip.Method]func(*ServerTx){sip.INVITE: func(tx *ServerTx) {
				defer handlerDone()
				tx.Respond(100, "Trying", nil)
				tx.Respond(180, "Ringing", nil)
				tx.Respond(200, "OK", nil)
				d := tx.Dialog()
				if tc.weHangUp {
					if err := d.Bye(ctx); err != nil {
						t.Errorf("Bye: %v", err)
					}
					return
				}
				select {
				case <-d.Done():
				case <-ctx.Done():
					t.Error("SIPp's BYE never ended the dialog")
				}
			}})
			scen := tc.scenario
			if !tc.weHangUp {
				scen = "uac"
			} else {
				scen = writeScenario(t, tc.scenario)
			}
			if err := runSIPp(t, ctx, bin, scen, "-p", strconv.Itoa(siprig.FreePort(t)), addr.String()); err != nil {
				t.Fatalf("sipp: %v", err)
			}
			select {
			case <-handled:
			case <-ctx.Done():
				t.Fatal("the INVITE handler never returned")
			}
		})
	}
}

// TestSIPpWeCall: this UA calls SIPp's UAS (built-in uas: it answers and
// waits for our BYE; or the record-routing scenario).
func TestSIPpWeCall(t *testing.T) {
	bin := needSIPp(t)
	for _, tc := range []struct{ name, scenario string }{
		{"built-in uas", "uas"},
		{"record-route", sippCalleeRR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ua, _ := startUDP(t, nil)
			port := siprig.FreePort(t)
			scen := tc.scenario
			if scen != "uas" {
				scen = writeScenario(t, scen)
			}
			sippErr := make(chan error, 1)
			go func() { sippErr <- runSIPp(t, ctx, bin, scen, "-p", strconv.Itoa(port)) }()
			ci, err := ua.Invite(ctx, sip.URI{Scheme: "sip", User: "sipp", Host: "127.0.0.1", Port: port},
				sip.Address{URI: sip.URI{Scheme: "sip", User: "5550100", Host: "127.0.0.1"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for r := range ci.Responses() {
				got = append(got, r.Status)
			}
			if d := ci.Dialog(); d == nil {
				t.Errorf("no dialog: responses %v, err %v", got, ci.Err())
			} else if err := d.Bye(ctx); err != nil {
				t.Errorf("Bye: %v", err)
			}
			if err := <-sippErr; err != nil {
				t.Fatalf("sipp: %v", err)
			}
		})
	}
}
