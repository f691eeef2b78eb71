package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// DefaultStateDir is where the route, status and persisted state live.
const DefaultStateDir = "/var/run/lifeline"

// DefaultPersistDir keeps what must survive a power cycle (the override)
// when the state dir is the default one, on tmpfs.
const DefaultPersistDir = "/etc/lifeline"

// Files of the state directory.
const (
	RouteFile    = "route"         // one word: sip or pstn
	StatusFile   = "status.json"   // the status, as `lifeline status --json`
	OverrideFile = "override.json" // the override, restored at start (in the persist dir)
)

// maxStateFile bounds what is read back from a state file.
const maxStateFile = 64 << 10

// StateDir reads and atomically writes the files of one directory: the
// state dir or the persist dir. It holds the directory open and opens its
// files relative to it (openat) with O_NOFOLLOW, so no symbolic link leads
// out of it, and it reads only regular files owned by root or the daemon's user:
// anything else is reported as ErrUntrusted and ignored by the callers.
// Its methods are safe for concurrent use; the daemon calls them from its
// loop only.
type StateDir struct {
	Path string
	dir  *os.File // the directory, opened once; nil after Close
}

// OpenStateDir opens path, creating it (mode 0755) if needed. It refuses
// a directory that another user could write (see checkTrusted: owned by
// root or the daemon's user, not writable by group or others; every
// directory above it likewise, or root-owned and sticky like /tmp), so
// nobody can plant or replace the files Lifeline trusts.
func OpenStateDir(path string) (*StateDir, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("state dir %s: %w", path, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("state dir %s: %w", path, err)
	}
	if st, err := os.Lstat(abs); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		if err := checkTrusted(abs, st, false); err != nil {
			return nil, fmt.Errorf("state dir %s: %w", path, err)
		}
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("state dir %s: %w", path, err)
	}
	dir, err := os.Open(real)
	if err != nil {
		return nil, fmt.Errorf("state dir %s: %w", path, err)
	}
	// Checked on the opened directory: a rename after the check does not
	// change what is used.
	st, err := dir.Stat()
	if err == nil && !st.IsDir() {
		err = fmt.Errorf("%s: not a directory", real)
	}
	if err == nil {
		err = checkTrusted(real, st, false)
	}
	if err == nil {
		err = checkParents(real)
	}
	if err != nil {
		dir.Close()
		return nil, fmt.Errorf("state dir %s: %w", path, err)
	}
	return &StateDir{Path: path, dir: dir}, nil
}

// Close releases the directory. It is idempotent.
func (d *StateDir) Close() error {
	if d == nil || d.dir == nil {
		return nil
	}
	err := d.dir.Close()
	d.dir = nil
	return err
}

// openat opens name, a plain name in the directory (no slash), never
// through a symbolic link (ELOOP instead).
func (d *StateDir) openat(name string, flags int, perm uint32) (*os.File, error) {
	if strings.ContainsRune(name, '/') || name == ".." || name == "." {
		return nil, &fs.PathError{Op: "open", Path: d.path(name), Err: fs.ErrInvalid}
	}
	fd, err := syscall.Openat(int(d.dir.Fd()), name, flags|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, perm)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.path(name), Err: err}
	}
	return os.NewFile(uintptr(fd), d.path(name)), nil
}

func (d *StateDir) path(name string) string { return filepath.Join(d.Path, name) }

// WriteFile replaces name atomically: a temp file in the same directory is
// written, synced and renamed over the old one, so a reader or a crash sees
// the old or the new content, never a mix.
func (d *StateDir) WriteFile(name string, data []byte) error {
	// O_EXCL makes a clash an error, never a shared file; the dir is
	// ours alone, so a random suffix is only against our own leftovers.
	tmp := "." + name + ".tmp" + strconv.FormatUint(rand.Uint64(), 36)
	f, err := d.openat(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", d.path(name), err)
	}
	dirfd := int(d.dir.Fd())
	if _, err = f.Write(data); err == nil {
		err = f.Chmod(0o644) // whatever the umask
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syscall.Renameat(dirfd, tmp, dirfd, name)
	}
	if err != nil {
		syscall.Unlinkat(dirfd, tmp)
		return fmt.Errorf("write %s: %w", d.path(name), err)
	}
	return nil
}

// ReadFile returns the content of name: a regular file (not a link) owned
// by root or the daemon's user, of at most 64 KiB. A missing file returns
// an error satisfying errors.Is(err, fs.ErrNotExist); a file another user
// planted, one satisfying errors.Is(err, ErrUntrusted).
func (d *StateDir) ReadFile(name string) ([]byte, error) {
	f, err := d.openat(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%w: %s is a symbolic link", ErrUntrusted, d.path(name))
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readRegular(f, d.path(name), maxStateFile, func(st fs.FileInfo) error {
		return checkTrusted(d.path(name), st, false)
	})
	if errors.Is(err, errNotRegular) {
		err = fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	return data, err
}

// WriteJSON writes v as indented JSON with WriteFile.
func (d *StateDir) WriteJSON(name string, v any) error {
	return d.WriteFile(name, encodeJSON(v))
}

func encodeJSON(v any) []byte {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // only the daemon's own types, which always encode
	}
	return append(data, '\n')
}

// readIfExists returns the content of name, or nil when it does not exist.
func readIfExists(d *StateDir, name string) ([]byte, error) {
	data, err := d.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// LastRoute returns the route persisted by a previous run, if any. A file
// that cannot be trusted is reported as an error and not used.
func (d *StateDir) LastRoute() (Route, bool, error) {
	data, err := readIfExists(d, RouteFile)
	if err != nil || data == nil {
		return "", false, err
	}
	switch r := Route(strings.TrimSpace(string(data))); r {
	case RouteSIP, RoutePSTN:
		return r, true, nil
	}
	return "", false, fmt.Errorf("%s: not sip or pstn", d.path(RouteFile))
}

// LoadOverride returns the persisted override; a missing file is auto.
func (d *StateDir) LoadOverride() (Override, error) {
	data, err := d.ReadFile(OverrideFile) // missing: errors.Is(err, fs.ErrNotExist)
	if err != nil {
		return Override{Mode: ModeAuto}, err
	}
	o, err := decodeOverride(data)
	if err != nil {
		return Override{Mode: ModeAuto}, fmt.Errorf("%s: %w", d.path(OverrideFile), err)
	}
	if _, err := ParseMode(string(o.Mode)); err != nil {
		return Override{Mode: ModeAuto}, fmt.Errorf("%s: %w", d.path(OverrideFile), err)
	}
	return o, nil
}
