package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultStateDir is where the route, status and persisted state live.
const DefaultStateDir = "/var/run/lifeline"

// Files of the state directory.
const (
	RouteFile    = "route"         // one word: sip or pstn
	StatusFile   = "status.json"   // the status, as `lifeline status --json`
	OverrideFile = "override.json" // the override, restored at start
)

// StateDir reads and atomically writes the files of the state directory.
// Its methods are safe for concurrent use when they touch different files;
// the daemon calls them from its loop only.
type StateDir struct{ Path string }

// Ensure creates the directory (mode 0755) if needed.
func (d StateDir) Ensure() error {
	if err := os.MkdirAll(d.Path, 0o755); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	return nil
}

// WriteFile replaces name atomically: a temp file in the same directory is
// written, synced and renamed over the old one, so a reader or a crash sees
// the old or the new content, never a mix.
func (d StateDir) WriteFile(name string, data []byte) error {
	tmp, err := os.CreateTemp(d.Path, "."+name+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(d.Path, name), err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(d.Path, name))
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(d.Path, name), err)
	}
	return nil
}

// WriteJSON writes v as indented JSON with WriteFile.
func (d StateDir) WriteJSON(name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return d.WriteFile(name, append(data, '\n'))
}

// ReadJSON reads name into v. A missing file returns an error satisfying
// errors.Is(err, fs.ErrNotExist).
func (d StateDir) ReadJSON(name string, v any) error {
	data, err := os.ReadFile(filepath.Join(d.Path, name))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(d.Path, name), err)
	}
	return nil
}

// readIfExists returns the content of name, or nil when it does not exist.
func readIfExists(d StateDir, name string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(d.Path, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// LastRoute returns the route persisted by a previous run, if any.
func (d StateDir) LastRoute() (Route, bool) {
	data, err := os.ReadFile(filepath.Join(d.Path, RouteFile))
	if err != nil {
		return "", false
	}
	switch r := Route(strings.TrimSpace(string(data))); r {
	case RouteSIP, RoutePSTN:
		return r, true
	}
	return "", false
}

// LoadOverride returns the persisted override; a missing file is auto.
func (d StateDir) LoadOverride() (Override, error) {
	var o Override
	err := d.ReadJSON(OverrideFile, &o)
	if errors.Is(err, fs.ErrNotExist) {
		return Override{Mode: ModeAuto}, nil
	}
	if err != nil {
		return Override{Mode: ModeAuto}, err
	}
	if _, err := ParseMode(string(o.Mode)); err != nil {
		return Override{Mode: ModeAuto}, fmt.Errorf("%s: %w", filepath.Join(d.Path, OverrideFile), err)
	}
	return o, nil
}
