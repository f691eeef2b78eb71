package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestLookPath(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	writeScript(t, filepath.Join(dir, "poweroff"), "exit 0")
	if err := os.WriteFile(filepath.Join(other, "poweroff"), []byte("not executable"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(other, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, cmd, want string
		wantErr               bool
	}{
		{"found after a non-executable file", other + ":" + dir, "poweroff", filepath.Join(dir, "poweroff"), false},
		{"relative entries skipped", ".:" + dir, "poweroff", filepath.Join(dir, "poweroff"), false},
		{"directory is not a command", other, "adir", "", true},
		{"not in PATH", other, "poweroff", "", true},
		{"empty PATH", "", "poweroff", "", true},
		{"a path is used as it is", "", "/sbin/halt", "/sbin/halt", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			got, err := lookPath(tt.cmd)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("lookPath(%q) = %q, %v; want %q, error %v", tt.cmd, got, err, tt.want, tt.wantErr)
			}
			if err != nil && (!errors.Is(err, errNotFound) || !strings.Contains(err.Error(), `exec `+tt.cmd+`: executable file not found in $PATH`)) {
				t.Errorf("error %q does not name the command and PATH", err)
			}
		})
	}
}

// TestStartProcess: argv[0] is the name called by, the environment and
// directory are the given ones, stdin is empty, stdout and stderr go to
// out, and a failure reads as exec's "exit status N".
func TestStartProcess(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "hook")
	writeScript(t, script, `echo "arg=$1 env=$LIFELINE_X pwd=$(pwd)"; read -r line && echo "stdin=$line"; echo err >&2; exit 3`)
	out := filepath.Join(dir, "out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProcess(script, []string{"myname", "a1"}, "/", []string{"LIFELINE_X=x"}, f, true)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := waitProcess(p); err == nil || err.Error() != "exit status 3" {
		t.Errorf("wait: %v, want exit status 3", err)
	}
	b, _ := os.ReadFile(out)
	if want := "arg=a1 env=x pwd=/\nerr\n"; string(b) != want {
		t.Errorf("output %q, want %q", b, want)
	}

	// argv[0] is the name the program was called by, not its path.
	f, err = os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	p, err = startProcess("/bin/cat", []string{"mycat", "/proc/self/cmdline"}, "", nil, f, false)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := waitProcess(p); err != nil {
		t.Errorf("success: %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "mycat\x00/proc/self/cmdline\x00" {
		t.Errorf("cmdline %q", b)
	}
	if _, err := startProcess(filepath.Join(dir, "missing"), []string{"missing"}, "", nil, nil, false); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing program: %v", err)
	}
}
