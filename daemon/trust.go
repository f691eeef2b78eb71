package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrUntrusted is wrapped by the errors about a file or directory that a
// user other than root (or the daemon's own user) could have written: a
// hook, the hooks dir or one of its parents, the state dir.
var ErrUntrusted = errors.New("untrusted")

// trustedOwner reports whether uid may own what the daemon runs or trusts:
// root, or the user the daemon runs as.
func trustedOwner(uid uint32) bool {
	return uid == 0 || int(uid) == os.Geteuid()
}

func ownerOf(st fs.FileInfo) uint32 {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return sys.Uid
	}
	return ^uint32(0)
}

// checkTrusted is sshd's StrictModes rule for one file or directory:
// owned by root (or the daemon's user) and writable by nobody else.
// sticky allows a root-owned world-writable sticky directory (/tmp), in
// which nobody can rename or remove what another user owns.
func checkTrusted(path string, st fs.FileInfo, sticky bool) error {
	uid := ownerOf(st)
	if !trustedOwner(uid) {
		return fmt.Errorf("%w: %s is owned by uid %d, not root", ErrUntrusted, path, uid)
	}
	if st.Mode().Perm()&0o022 != 0 {
		if sticky && uid == 0 && st.IsDir() && st.Mode()&fs.ModeSticky != 0 {
			return nil
		}
		return fmt.Errorf("%w: %s is writable by group or others (mode %04o)", ErrUntrusted, path, st.Mode().Perm())
	}
	return nil
}

// checkParents checks every directory above dir, up to /, with the sticky
// allowance.
func checkParents(dir string) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if err := checkTrusted(p, st, true); err != nil {
			return err
		}
		if p == "/" || p == "." {
			return nil
		}
	}
}

// CheckHooksDir refuses a hooks dir that someone other than root could
// fill: the dir must be owned by root (or the daemon's user) and writable
// by nobody else, and so must each directory above it, except that a
// root-owned sticky directory such as /tmp is allowed above it. A missing
// dir is fine (no hooks).
func CheckHooksDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hooks dir %s: %w", dir, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("hooks dir %s: %w", dir, err)
	}
	if err := checkTrusted(real, st, false); err != nil {
		return fmt.Errorf("hooks dir %s: %w", dir, err)
	}
	if err := checkParents(real); err != nil {
		return fmt.Errorf("hooks dir %s: %w", dir, err)
	}
	return nil
}

// CheckHook refuses a hook that someone other than root could have
// written: the file (after symbolic links) must be owned by root (or the
// daemon's user) and writable by nobody else; a link's target must lie in
// a directory that passes CheckHooksDir.
func CheckHook(path string) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("hook %s: %w", path, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("hook %s: %w", path, err)
	}
	if err := checkTrusted(real, st, false); err != nil {
		return fmt.Errorf("hook %s: %w", path, err)
	}
	if real != path {
		if err := CheckHooksDir(filepath.Dir(real)); err != nil {
			return fmt.Errorf("hook %s: %w", path, err)
		}
	}
	return nil
}

// CheckHooks is what `lifeline check` says about the hooks: the dir and
// every hook in it that would run, with the first one refused.
func CheckHooks(dir string) error {
	if err := CheckHooksDir(dir); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	hooks, err := listHooks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hooks dir %s: %w", dir, err)
	}
	for _, p := range hooks {
		if err := CheckHook(p); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	return nil
}
