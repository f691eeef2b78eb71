package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const nobody = 65534

// untrustedTree builds, under a fresh dir, the layouts of issue 15.9: who
// owns and who may write the hooks dir, its parent and the hook.
func TestCheckHooksStrictModes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: files owned by another user are made with chown")
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, parent, hooks, hook string)
		want  string // "" for trusted
	}{
		{"root 0755 dir and 0755 hook", func(t *testing.T, parent, hooks, hook string) {}, ""},
		{"world-writable hooks dir", func(t *testing.T, parent, hooks, hook string) { os.Chmod(hooks, 0o777) }, "hooks.d is writable by group or others"},
		{"group-writable hooks dir", func(t *testing.T, parent, hooks, hook string) { os.Chmod(hooks, 0o775) }, "writable by group or others (mode 0775)"},
		{"sticky world-writable hooks dir", func(t *testing.T, parent, hooks, hook string) { os.Chmod(hooks, 0o777|os.ModeSticky) }, "writable by group or others"},
		{"hooks dir owned by nobody", func(t *testing.T, parent, hooks, hook string) { os.Chown(hooks, nobody, nobody) }, "owned by uid 65534"},
		{"world-writable parent", func(t *testing.T, parent, hooks, hook string) { os.Chmod(parent, 0o777) }, "is writable by group or others (mode 0777)"},
		{"sticky root parent, like /tmp", func(t *testing.T, parent, hooks, hook string) { os.Chmod(parent, 0o777|os.ModeSticky) }, ""},
		{"sticky parent owned by nobody", func(t *testing.T, parent, hooks, hook string) {
			os.Chmod(parent, 0o777|os.ModeSticky)
			os.Chown(parent, nobody, nobody)
		}, "owned by uid 65534"},
		{"0777 hook", func(t *testing.T, parent, hooks, hook string) { os.Chmod(hook, 0o777) }, "10-hook is writable by group or others"},
		{"hook owned by nobody", func(t *testing.T, parent, hooks, hook string) { os.Chown(hook, nobody, nobody) }, "10-hook is owned by uid 65534"},
		{"link to a hook in a world-writable dir", func(t *testing.T, parent, hooks, hook string) {
			open := filepath.Join(parent, "open")
			os.Mkdir(open, 0o777)
			os.Chmod(open, 0o777)
			os.WriteFile(filepath.Join(open, "evil"), []byte("#!/bin/sh\n"), 0o755)
			os.Remove(hook)
			os.Symlink(filepath.Join(open, "evil"), hook)
		}, "open is writable by group or others"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := filepath.Join(t.TempDir(), "etc")
			hooks := filepath.Join(parent, "hooks.d")
			if err := os.MkdirAll(hooks, 0o755); err != nil {
				t.Fatal(err)
			}
			os.Chmod(parent, 0o755)
			hook := filepath.Join(hooks, "10-hook")
			writeHook(t, hooks, "10-hook", "#!/bin/sh\necho ran\n")
			c.setup(t, parent, hooks, hook)
			err := CheckHooks(hooks)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrUntrusted)):
				t.Fatalf("err = %v, want one saying %q", err, c.want)
			}
			if ran := runOnce(t, hooks); ran != (c.want == "") {
				t.Fatalf("hook ran: %v, want %v", ran, c.want == "")
			}
		})
	}
	if err := CheckHooks(filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Fatalf("a missing hooks dir is no hooks: %v", err)
	}
}

// runOnce runs the hooks of dir for one event and reports whether any ran
// (each hook in the cases above says "ran"); a refusal is logged.
func runOnce(t *testing.T, dir string) bool {
	t.Helper()
	var buf syncBuffer
	h := NewHookRunner(dir, 5*time.Second, slogTo(&buf))
	h.Notify(HookEvent{Event: "route"})
	h.Notify(HookEvent{Event: "route"})
	h.Close(context.Background())
	log := buf.String()
	if strings.Count(log, "hook refused") > 1 {
		t.Errorf("refusal logged more than once:\n%s", log)
	}
	ran := strings.Contains(log, "line=ran")
	refused := strings.Contains(log, "hook refused, not run")
	if ran == refused {
		t.Errorf("ran %v, refused %v:\n%s", ran, refused, log)
	}
	return !refused
}
