package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"time"
)

// ErrNotDurable is returned by SetOverride when the override is in effect
// but could not be written where it survives a restart.
var ErrNotDurable = errors.New("override not saved")

// stateRetry is how often failed state writes are tried again.
const stateRetry = 5 * time.Second

// storage remembers the state writes that failed, to retry them and to
// report them in the status. Owned by the daemon's goroutine.
type storage struct {
	unsaved map[string]pendingWrite // by full path
	retryAt time.Time               // zero when nothing is unsaved
	lastErr string
}

type pendingWrite struct {
	dir  *StateDir
	name string
	data []byte
	err  error
}

func newStorage() storage { return storage{unsaved: map[string]pendingWrite{}} }

func (s *storage) nextRetry() (time.Time, bool) { return s.retryAt, !s.retryAt.IsZero() }

func (s *storage) status() StorageStatus {
	st := StorageStatus{OK: len(s.unsaved) == 0, Unsaved: []string{}, Error: s.lastErr}
	for k := range s.unsaved {
		st.Unsaved = append(st.Unsaved, k)
	}
	sort.Sort(sort.StringSlice(st.Unsaved))
	return st
}

// openDirs opens the state dir and the persist dir.
func (d *Daemon) openDirs() error {
	var err error
	if d.dir, err = OpenStateDir(d.opts.StateDir); err != nil {
		return err
	}
	d.persist = d.dir
	if p := d.opts.PersistDir; p != "" && p != d.opts.StateDir {
		if d.persist, err = OpenStateDir(p); err != nil {
			d.dir.Close()
			return fmt.Errorf("persist dir: %w", err)
		}
	}
	return nil
}

func (d *Daemon) closeDirs() {
	d.persist.Close()
	d.dir.Close()
}

// loadOverride reads the override from the persist dir, else from the
// state dir (where versions before the persist dir kept it).
func (d *Daemon) loadOverride() Override {
	ov, err := d.persist.LoadOverride()
	if errors.Is(err, fs.ErrNotExist) && d.persist != d.dir {
		ov, err = d.dir.LoadOverride()
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		d.log.Warn("persisted override ignored, using auto", "err", err)
	}
	return ov
}

// save writes name in dir; a failure is logged (once per file until it
// succeeds), shown in the status and retried every stateRetry with the
// latest content. It reports whether the write succeeded.
func (d *Daemon) save(dir *StateDir, name string, data []byte) bool {
	s := &d.store
	key := dir.path(name)
	err := dir.WriteFile(name, data)
	_, known := s.unsaved[key]
	if err != nil {
		if !known {
			d.log.Error("cannot write state, will retry", "err", err, "every", stateRetry)
		}
		s.unsaved[key] = pendingWrite{dir: dir, name: name, data: data, err: err}
		s.lastErr = err.Error()
		if s.retryAt.IsZero() {
			s.retryAt = d.clk.Now().Add(stateRetry)
		}
		return false
	}
	if known {
		delete(s.unsaved, key)
		d.log.Info("state written after earlier failures", "file", key)
		if len(s.unsaved) == 0 {
			s.retryAt, s.lastErr = time.Time{}, ""
		}
	}
	return true
}

// retryWrites tries the failed writes again once they are due, then
// refreshes the status, which reports them.
func (d *Daemon) retryWrites() {
	s := &d.store
	if s.retryAt.IsZero() || d.clk.Now().Before(s.retryAt) {
		return
	}
	s.retryAt = d.clk.Now().Add(stateRetry)
	keys := make([]string, 0, len(s.unsaved))
	for k := range s.unsaved {
		keys = append(keys, k)
	}
	sort.Sort(sort.StringSlice(keys))
	for _, k := range keys {
		if p, ok := s.unsaved[k]; ok {
			d.save(p.dir, p.name, p.data)
		}
	}
	d.writeStatus()
}
