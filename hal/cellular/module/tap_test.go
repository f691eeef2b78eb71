package module

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"lifeline/hal/cellular/profiles"
)

// chunkPort hands out one scripted chunk per Read and records writes.
type chunkPort struct {
	chunks  []string
	written bytes.Buffer
}

func (p *chunkPort) Read(b []byte) (int, error) {
	if len(p.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.chunks[0])
	p.chunks[0] = p.chunks[0][n:]
	if p.chunks[0] == "" {
		p.chunks = p.chunks[1:]
	}
	return n, nil
}
func (p *chunkPort) Write(b []byte) (int, error) { return p.written.Write(b) }
func (p *chunkPort) Close() error                { return nil }
func (p *chunkPort) SetDTR(bool) error           { return nil }

func readAll(t *tap) string {
	var out bytes.Buffer
	b := make([]byte, 7) // small reads: lines cross them
	for {
		n, err := t.Read(b)
		out.Write(b[:n])
		if err != nil {
			return out.String()
		}
	}
}

func loadProfile(tb testing.TB, name string) *profiles.Profile {
	tb.Helper()
	p, err := profiles.Load(name)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestTapKeepsStaleFinalsFromTheEngine(t *testing.T) {
	p := loadProfile(t, "huawei-e1550")
	for _, tc := range []struct {
		name        string
		outstanding bool
		want        string
	}{
		{"no command outstanding", false, "^CEND:1,5,104,16\r\n"},
		{"ATD outstanding", true, "^CEND:1,5,104,16\r\nNO CARRIER\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := newTap(&chunkPort{chunks: []string{"\r\n^CEND:1,5,104,16\r\n\r\nNO CA", "RRIER\r\n"}}, p, func(string) {})
			if tc.outstanding {
				tp.Write([]byte("ATD5551234;\r"))
			}
			if got := readAll(tp); got != tc.want {
				t.Errorf("engine got %q, want %q", got, tc.want)
			}
			var urcs []string
			for len(tp.out) > 0 {
				urcs = append(urcs, (<-tp.out).line)
			}
			if strings.Join(urcs, "|") != "^CEND:1,5,104,16|NO CARRIER" {
				t.Errorf("session got %q", urcs)
			}
		})
	}
}

func TestTapPromptAndCMT(t *testing.T) {
	p := loadProfile(t, "quectel-ec25")
	port := &chunkPort{chunks: []string{"\r\n>", " ", "\r\n+CMGS: 7\r\n\r\nOK\r\n", "\r\n+CMT: ,23\r\n0791\r\n", "\r\n+CREG: 2,1\r\n\r\n+CREG: 5\r\n"}}
	tp := newTap(port, p, func(string) {})
	tp.Write([]byte("AT+CMGS=23\r"))
	tp.arm([]byte("0011\x1a"))
	readAll(tp)
	if got := port.written.String(); got != "AT+CMGS=23\r0011\x1a" {
		t.Errorf("written %q (the body once, at the prompt)", got)
	}
	var urcs []urc
	for len(tp.out) > 0 {
		urcs = append(urcs, <-tp.out)
	}
	if len(urcs) != 2 || urcs[0] != (urc{line: "+CMT: ,23", body: "0791"}) || urcs[1].line != "+CREG: 5" {
		t.Errorf("URCs %+v (the +CREG read reply is not one)", urcs)
	}
}

// FuzzTap feeds arbitrary module output in arbitrary chunks: the tap never
// panics, passes the engine only whole lines, and never answers a prompt
// with more than one write.
func FuzzTap(f *testing.F) {
	p := loadProfile(f, "quectel-ec25")
	f.Add("\r\nRING\r\n+CLIP: \"123\",129\r\n", 3)
	f.Add("\r\n> \r\n+CMGS: 1\r\nOK\r\n", 1)
	f.Add("\r\n+CMT: ,23\r\n", 5)
	f.Add("+QIND: \"ccinfo\",1,0,-1,0,0,\"1\",129\r\nBUSY\r\n", 2)
	f.Fuzz(func(t *testing.T, s string, cut int) {
		if cut <= 0 {
			cut = 1
		}
		var chunks []string
		for len(s) > 0 {
			n := min(cut, len(s))
			chunks = append(chunks, s[:n])
			s = s[n:]
		}
		port := &chunkPort{chunks: chunks}
		tp := newTap(port, p, func(string) {})
		got := readAll(tp)
		if got != "" && !strings.HasSuffix(got, "\r\n") {
			t.Errorf("partial line passed: %q", got)
		}
		if port.written.Len() > 0 && !bytes.Equal(port.written.Bytes()[:1], []byte{0x1B}) {
			t.Errorf("wrote %q with nothing armed", port.written.Bytes())
		}
	})
}
