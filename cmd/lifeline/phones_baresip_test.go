package main

// baresip (Debian package baresip-core) as a real phone in the rig's LAN:
// driven over its ctrl_tcp module (netstring-framed JSON commands and
// events), its microphone a WAV file of a 1 kHz tone (aufile), what it
// hears dumped to a WAV per call (sndfile), no sound card (aubridge).

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"lifeline/hal/netmon/netnstest"
)

const phoneToneHz = 1000

// baresipEvent is one ctrl_tcp event.
type baresipEvent struct {
	Type      string `json:"type"`
	Class     string `json:"class"`
	PeerURI   string `json:"peeruri"`
	PeerName  string `json:"peerdisplayname"`
	ID        string `json:"id"`
	Param     string `json:"param"`
	Direction string `json:"direction"`
}

// baresip is one running baresip; events arrive on events, command
// responses on resp (the reader goroutine owns the connection's read side
// and ends in t.Cleanup).
type baresip struct {
	dir    string
	conn   net.Conn
	wmu    sync.Mutex
	events chan baresipEvent
	resp   chan string
	out    *logBuffer
}

// startBaresip starts baresip in the rig's LAN as sip:alice@<provider>,
// its outbound proxy the router's Kamailio; regint 0 means no REGISTER at
// start.
func (r *phoneRig) startBaresip(regint int) *baresip {
	t := r.t
	dir := t.TempDir()
	tone := filepath.Join(dir, "tone.wav")
	writeToneWAV(t, tone, phoneToneHz, 30*time.Second)
	const ctrl = "4444"
	cfg := fmt.Sprintf(`poll_method		epoll
sip_listen		%s:5060
audio_player		aubridge,nil
audio_source		aufile,%s
audio_alert		aubridge,nil
audio_srate		8000
audio_channels		1
module_path		/usr/lib/baresip/modules
module			g711.so
module			aufile.so
module			aubridge.so
module			sndfile.so
module_app		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		%s:%s
snd_path		%s
`, lanPhoneIP, tone, lanPhoneIP, ctrl, dir)
	acct := fmt.Sprintf("<sip:alice@%s>;outbound=\"sip:%s:5060\";regint=%d;answermode=manual;audio_codecs=PCMA,PCMU\n",
		netnstest.InternetIP4, lanRouterIP, regint)
	for name, body := range map[string]string{"config": cfg, "accounts": acct} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := &baresip{dir: dir, events: make(chan baresipEvent, 64), resp: make(chan string, 8), out: newLogBuffer()}
	cmd := r.net.Command(r.lan, "baresip", "-f", dir)
	cmd.Stdout, cmd.Stderr = b.out, b.out
	cmd.Stdin = nil
	if err := cmd.Start(); err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for b.conn == nil {
		err := inNetns(r.lan, func() error {
			c, err := net.DialTimeout("tcp4", lanPhoneIP+":"+ctrl, time.Second)
			b.conn = c
			return err
		})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip's ctrl_tcp never answered: %v\n%s", err, b.out)
		}
		select {
		case <-exited:
			t.Fatalf("baresip exited:\n%s", b.out)
		case <-time.After(50 * time.Millisecond):
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.read()
	}()
	t.Cleanup(func() {
		b.conn.Close()
		<-done
	})
	return b
}

// read splits netstrings and files each message as an event or a response.
func (b *baresip) read() {
	br := bufio.NewReader(b.conn)
	for {
		lenStr, err := br.ReadString(':')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(lenStr[:len(lenStr)-1]))
		if err != nil || n < 0 || n > 1<<20 {
			return
		}
		msg := make([]byte, n+1) // and the trailing comma
		if _, err := io.ReadFull(br, msg); err != nil {
			return
		}
		var m struct {
			Event    bool `json:"event"`
			Response bool `json:"response"`
			baresipEvent
			Data string `json:"data"`
		}
		if json.Unmarshal(msg[:n], &m) != nil {
			continue
		}
		if m.Event {
			select {
			case b.events <- m.baresipEvent:
			default:
			}
		} else if m.Response {
			select {
			case b.resp <- m.Data:
			default:
			}
		}
	}
}

// command sends one ctrl_tcp command and returns its response text.
func (b *baresip) command(t *testing.T, cmd, params string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"command": cmd, "params": params, "token": cmd})
	b.wmu.Lock()
	_, err := fmt.Fprintf(b.conn, "%d:%s,", len(body), body)
	b.wmu.Unlock()
	if err != nil {
		t.Fatalf("baresip %s: %v", cmd, err)
	}
	select {
	case r := <-b.resp:
		return r
	case <-time.After(5 * time.Second):
		t.Fatalf("baresip %s: no response\n%s", cmd, b.out)
	}
	return ""
}

// waitEvent returns the next event of type typ; other events are skipped,
// except those in fail, which fail the test.
func (b *baresip) waitEvent(t *testing.T, typ string, d time.Duration, fail ...string) baresipEvent {
	t.Helper()
	tm := time.NewTimer(d)
	defer tm.Stop()
	for {
		select {
		case ev := <-b.events:
			if ev.Type == typ {
				return ev
			}
			for _, f := range fail {
				if ev.Type == f {
					t.Fatalf("baresip: %s (%s) while waiting for %s\nbaresip:\n%s", ev.Type, ev.Param, typ, b.out)
				}
			}
		case <-tm.C:
			t.Fatalf("baresip: no %s within %v\nbaresip:\n%s", typ, d, b.out)
		}
	}
}

// heard returns what baresip decoded in its last call (sndfile's
// dump-*-dec.wav), as 16-bit samples.
func (b *baresip) heard(t *testing.T) []int16 {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(b.dir, "dump-*-dec.wav"))
	if len(m) == 0 {
		t.Fatalf("baresip dumped no received audio in %s", b.dir)
	}
	x, rate, err := readWAV(m[len(m)-1])
	if err != nil || rate != 8000 {
		t.Fatalf("baresip's dump: %v (%d Hz)", err, rate)
	}
	return x
}

// writeToneWAV writes d of a sine at hz, 8 kHz mono S16LE, as aufile wants.
func writeToneWAV(t *testing.T, path string, hz float64, d time.Duration) {
	t.Helper()
	n := int(d.Seconds() * 8000)
	data := make([]byte, 44+2*n)
	copy(data[0:], "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*n))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1)
	binary.LittleEndian.PutUint16(data[22:], 1)
	binary.LittleEndian.PutUint32(data[24:], 8000)
	binary.LittleEndian.PutUint32(data[28:], 16000)
	binary.LittleEndian.PutUint16(data[32:], 2)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*n))
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/8000))
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(v))
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// toneShare is the share of x's energy at hz (Goertzel over 20 ms blocks,
// summed): near 1 for a clean tone, near 0 for silence or noise.
func toneShare(x []int16, hz float64) float64 {
	var at, total float64
	for off := 0; off+toneBlock <= len(x); off += toneBlock {
		p, e := blockPower(x[off:off+toneBlock], hz)
		at += p
		total += e
	}
	if total == 0 {
		return 0
	}
	return at / total
}

const toneBlock = 160 // 20 ms at 8 kHz

// blockPower returns the power of seg at hz and seg's whole energy, on
// the same scale (a pure tone at hz gives p ≈ e).
func blockPower(seg []int16, hz float64) (p, e float64) {
	c := 2 * math.Cos(2*math.Pi*hz/8000)
	var s1, s2 float64
	for _, v := range seg {
		f := float64(v)
		e += f * f
		s0 := f + c*s1 - s2
		s2, s1 = s1, s0
	}
	return 2 * (s1*s1 + s2*s2 - c*s1*s2) / float64(len(seg)), e
}

// dtmfBlocks counts the 20 ms blocks of x in which the two frequencies of
// a DTMF digit (low, high) together carry most of the energy.
func dtmfBlocks(x []int16, low, high float64) int {
	n := 0
	for off := 0; off+toneBlock <= len(x); off += toneBlock {
		seg := x[off : off+toneBlock]
		pl, e := blockPower(seg, low)
		ph, _ := blockPower(seg, high)
		if e > 0 && pl/e > 0.2 && ph/e > 0.2 {
			n++
		}
	}
	return n
}

// modemHeard returns the audio the simulated line heard (the modem's
// 8-bit unsigned linear) as 16-bit samples.
func modemHeard(rec []byte) []int16 {
	s := make([]int16, len(rec))
	for i, v := range rec {
		s[i] = int16(int(v)-128) << 8
	}
	return s
}
