package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Hooks and the shutdown command are started with os.StartProcess rather
// than os/exec: the daemon needs none of exec's copying goroutines (hooks
// write to a pipe of their own) and os/exec costs about 40 KB of a mipsle
// binary. These helpers do the little of exec that is used.

// errNotFound is exec.ErrNotFound's text: a command name not found in PATH.
var errNotFound = errors.New("executable file not found in $PATH")

// lookPath resolves a command name as exec.LookPath does for a name without
// a slash: the first regular, executable file of that name in a PATH
// directory (the daemon's own PATH). Relative PATH entries are skipped, as
// exec refuses what they find (exec.ErrDot). A name with a slash is used as
// it is.
func lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &os.PathError{Op: "exec", Path: name, Err: errNotFound}
}

// startProcess starts the program at path with argv (argv[0] the name it
// was called by), the environment env and
// the working directory dir, stdin from /dev/null and stdout and stderr to
// out (/dev/null when nil), in a session of its own when setsid.
func startProcess(path string, argv []string, dir string, env []string, out *os.File, setsid bool) (*os.Process, error) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	if out == nil {
		w, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		defer w.Close()
		out = w
	}
	return os.StartProcess(path, argv, &os.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: []*os.File{null, out, out},
		Sys:   &syscall.SysProcAttr{Setsid: setsid},
	})
}

// waitProcess waits for p and returns nil when it exited with status 0,
// else an error worded as exec's ("exit status 3", "signal: killed").
func waitProcess(p *os.Process) error {
	st, err := p.Wait()
	if err != nil {
		return err
	}
	if !st.Success() {
		return errors.New(st.String())
	}
	return nil
}
