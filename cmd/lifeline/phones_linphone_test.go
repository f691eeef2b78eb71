package main

// linphone (Debian package linphone-cli) as a real phone in the rig's LAN:
// linphonec driven on its standard input, its console lines read as
// events; "soundcard use files" with a WAV of a 1 kHz tone as microphone
// (play) and a WAV of what it hears (record).

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"lifeline/hal/netmon/netnstest"
)

const linphonePort = "5062"

// linphone is one running linphonec; lines delivers its console output
// (the reader goroutine ends with the process).
type linphone struct {
	dir   string
	rec   string
	stdin io.WriteCloser
	wmu   sync.Mutex
	lines chan string
	out   *logBuffer
}

// startLinphone starts linphonec in the rig's LAN as sip:carol@<provider>,
// its outbound proxy the router's Kamailio, without registering.
func (r *phoneRig) startLinphone() *linphone {
	t := r.t
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(filepath.Join(home, ".local", "share", "linphone"), 0o755); err != nil {
		t.Fatal(err)
	}
	tone := filepath.Join(dir, "tone.wav")
	writeToneWAV(t, tone, phoneToneHz, 30*time.Second)
	rc := fmt.Sprintf(`[sip]
sip_port=%s
sip_tcp_port=-1
sip_tls_port=-1
default_proxy=0
contact="carol" <sip:carol@%s>
inc_timeout=60

[proxy_0]
reg_proxy=<sip:%s:5060;transport=udp>
reg_route=<sip:%s:5060;lr>
reg_identity="carol" <sip:carol@%s>
reg_sendregister=0
reg_expires=3600

[rtp]
audio_rtp_port=7078

[sound]
echocancellation=0

[video]
enabled=0
`, linphonePort, lanPhoneIP, lanRouterIP, lanRouterIP, netnstest.InternetIP4)
	cfg := filepath.Join(dir, "linphonerc")
	if err := os.WriteFile(cfg, []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}
	l := &linphone{dir: dir, rec: filepath.Join(dir, "heard.wav"), lines: make(chan string, 256), out: newLogBuffer()}
	cmd := r.net.Command(r.lan, "linphonec", "-c", cfg, "-d", "0")
	cmd.Env = append(os.Environ(), "HOME="+home)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = l.out
	if l.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start linphonec: %v", err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "linphonec>"))
			fmt.Fprintln(l.out, line)
			select {
			case l.lines <- line:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-read
		_ = cmd.Wait()
	})
	l.command(t, "soundcard use files")
	l.waitLine(t, regexp.MustCompile(`Using wav files`), 20*time.Second)
	l.command(t, "play "+tone)
	l.command(t, "record "+l.rec)
	return l
}

// command writes one console command.
func (l *linphone) command(t *testing.T, c string) {
	t.Helper()
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if _, err := io.WriteString(l.stdin, c+"\n"); err != nil {
		t.Fatalf("linphonec %q: %v", c, err)
	}
}

// waitLine returns the first console line matching re.
func (l *linphone) waitLine(t *testing.T, re *regexp.Regexp, d time.Duration) string {
	t.Helper()
	tm := time.NewTimer(d)
	defer tm.Stop()
	for {
		select {
		case line := <-l.lines:
			if re.MatchString(line) {
				return line
			}
		case <-tm.C:
			t.Fatalf("linphonec: no line matching %q within %v\nlinphonec:\n%s", re, d, l.out)
		}
	}
}

// heard returns what linphone recorded of its last call, at 8 kHz.
func (l *linphone) heard(t *testing.T) []int16 {
	t.Helper()
	s, rate, err := readWAV(l.rec)
	if err != nil {
		t.Fatalf("linphone's recording: %v", err)
	}
	for rate > 8000 && rate%8000 == 0 { // decimate: only the 1 kHz tone matters
		k := rate / 8000
		d := make([]int16, 0, len(s)/k)
		for i := 0; i < len(s); i += k {
			d = append(d, s[i])
		}
		s, rate = d, 8000
	}
	if rate != 8000 {
		t.Fatalf("linphone recorded at %d Hz", rate)
	}
	return s
}

// readWAV reads a 16-bit PCM WAV (first channel) and its sample rate.
func readWAV(path string) ([]int16, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%s: not a WAV file", path)
	}
	rate, channels := 0, 1
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8 : min(off+8+size, len(b))]
		switch id {
		case "fmt ":
			if len(body) < 16 || binary.LittleEndian.Uint16(body[14:]) != 16 {
				return nil, 0, fmt.Errorf("%s: not 16-bit PCM", path)
			}
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
		case "data":
			if rate == 0 || channels < 1 {
				return nil, 0, fmt.Errorf("%s: data before fmt", path)
			}
			s := make([]int16, 0, len(body)/2/channels)
			for i := 0; i+2*channels <= len(body); i += 2 * channels {
				s = append(s, int16(binary.LittleEndian.Uint16(body[i:])))
			}
			return s, rate, nil
		}
		off += 8 + size + size%2
	}
	return nil, 0, fmt.Errorf("%s: no data chunk", path)
}

// TestE2EPhonesLinphone: linphone on the LAN behind Kamailio and the real
// binary, as TestE2EPhonesBaresip does with baresip: a call over the line
// with audio checked both ways that the phone ends, a paused call, a call
// from the line showing the caller's number that the line ends, and digits
// keyed on the line received as RFC 4733 events.
func TestE2EPhonesLinphone(t *testing.T) {
	r := newPhoneRig(t, "carol@"+lanPhoneIP+":"+linphonePort, "linphonec")
	e, sim := r.e, r.sim
	e.mustCLI("override", "pstn")
	e.waitFor("route pstn", routeIs("pstn"))
	r.waitNextHop(r.gwURI)
	phone := r.startLinphone()
	connected := regexp.MustCompile(`^Call \d+ .* connected`)
	ended := regexp.MustCompile(`^Call \d+ .* (ended|error)`)

	t.Run("outgoing over the line: audio both ways, the phone hangs up", func(t *testing.T) {
		phone.command(t, "call sip:5551234@"+netnstest.InternetIP4)
		phone.waitLine(t, connected, 15*time.Second)
		r.lineInCall(t, "5551234")
		r.lineHearsTone(t, len(sim.Recorded()))
		phone.command(t, "terminate")
		phone.waitLine(t, ended, 10*time.Second)
		r.lineIdle(t, "5551234")
		if share := toneShare(phone.heard(t), phoneToneHz); share < 0.5 {
			t.Fatalf("linphone heard its tone echoed by the line at %.2f of the energy", share)
		}
	})

	t.Run("pause, resume and a transfer attempt keep the call", func(t *testing.T) {
		phone.command(t, "call sip:5550000@"+netnstest.InternetIP4)
		phone.waitLine(t, connected, 15*time.Second)
		r.lineInCall(t, "5550000")
		mark := r.lineHearsTone(t, len(sim.Recorded()))
		phone.command(t, "pause")
		phone.waitLine(t, regexp.MustCompile(`(?i)paused`), 10*time.Second)
		phone.command(t, "resume")
		phone.waitLine(t, regexp.MustCompile(`(?i)resum|connected`), 10*time.Second)
		mark = r.lineHearsTone(t, mark)
		phone.command(t, "transfer sip:5550001@"+netnstest.InternetIP4)
		r.lineHearsTone(t, mark)
		for len(phone.lines) > 0 {
			if line := <-phone.lines; ended.MatchString(line) {
				t.Fatalf("linphone lost the call: %q\nlinphonec:\n%s\n%s", line, phone.out, r.logs())
			}
		}
		phone.command(t, "terminate")
		phone.waitLine(t, ended, 10*time.Second)
		r.lineIdle(t, "5550000")
	})

	t.Run("incoming with the caller's number, the line hangs up", func(t *testing.T) {
		if err := sim.Ring("+4930123456"); err != nil {
			t.Fatal(err)
		}
		line := phone.waitLine(t, regexp.MustCompile(`Receiving new incoming call`), 15*time.Second)
		if !strings.Contains(line, "4930123456") {
			t.Fatalf("linphone shows the caller as %q", line)
		}
		phone.command(t, "answer")
		phone.waitLine(t, connected, 10*time.Second)
		r.lineInCall(t, "")
		if !sim.InCall() {
			t.Fatal("the line is not in the call the phone answered")
		}
		if err := sim.HangupRemote(); err != nil {
			t.Fatal(err)
		}
		phone.waitLine(t, ended, 10*time.Second)
		r.lineIdle(t, "")
	})

	// Digits the line's far end keys reach linphone as RFC 4733
	// telephone-events: linphonec prints "Receiving tone 7 from ...".
	t.Run("DTMF from the line to the phone", func(t *testing.T) {
		phone.command(t, "call sip:5552222@"+netnstest.InternetIP4)
		phone.waitLine(t, connected, 15*time.Second)
		r.lineInCall(t, "5552222")
		const digits = "7#"
		r.lineKeys(t, digits)
		for _, d := range digits {
			phone.waitLine(t, regexp.MustCompile(`^Receiving tone `+regexp.QuoteMeta(string(d))+` from`), 10*time.Second)
		}
		phone.command(t, "terminate")
		phone.waitLine(t, ended, 10*time.Second)
		r.lineIdle(t, "5552222")
	})
}
