package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func openFDs(t *testing.T, pid int) int {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// A flood of idle clients on the control socket under a low descriptor
// limit (issue 15.10): the daemon serves a bounded number of them, so the
// provider probe and the state writes keep their descriptors (the route
// stays sip, status.json keeps being rewritten) and, once the flood is
// gone, the socket answers again.
func TestE2EControlSocketFlood(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("prlimit (util-linux) not installed")
	}
	e := newE2E(t, "1s")
	e.wrap = []string{"prlimit", "--nofile=64:64", "--"}
	e.start()
	e.waitFor("provider probed", func(st map[string]any) bool { return field(st, "wan.rtt_ms") != nil })
	pid := e.cmd.Process.Pid
	base := openFDs(t, pid)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 200 {
		c, err := net.Dial("unix", e.sock)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	deadline := time.Now().Add(15 * time.Second)
	for openFDs(t, pid) < base+16 {
		if time.Now().After(deadline) {
			t.Fatalf("daemon holds %d descriptors, %d before the flood", openFDs(t, pid), base)
		}
		time.Sleep(10 * time.Millisecond) // another process's descriptors have no event to wait on
	}
	// The probe goes on: ten rewrites of status.json (each probe's RTT
	// changes it), all with the provider up and the route sip.
	statusFile := filepath.Join(e.state, "status.json")
	last, _ := os.ReadFile(statusFile)
	for seen := 0; seen < 10; {
		if time.Now().After(deadline.Add(15 * time.Second)) {
			t.Fatalf("status.json rewritten %d times during the flood; log:\n%s", seen, e.stderr)
		}
		data, _ := os.ReadFile(statusFile)
		if string(data) == string(last) {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		last = data
		var st map[string]any
		if json.Unmarshal(data, &st) != nil {
			continue
		}
		seen++
		if st["route"] != "sip" || field(st, "wan.provider") != "up" {
			t.Fatalf("during the flood: route %v, provider %v; log:\n%s", st["route"], field(st, "wan.provider"), e.stderr)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	e.waitFor("socket answers after the flood", routeIs("sip"))
}
