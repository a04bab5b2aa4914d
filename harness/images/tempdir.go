package images

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Work directory prefixes under Options.TempDir (rootfs trees, build
// contexts), and the file a live owner holds an flock(2) on.
const (
	rootfsPrefix  = "sweval-rootfs-"
	testbedPrefix = "sweval-testbed-"
	ownerFile     = ".sweval-owner"
)

// unownedTempGrace is how old a work directory without an owner file (a
// process killed between creating it and locking) must be to be swept.
const unownedTempGrace = time.Hour

// workDir is a temporary directory this process owns while it is open:
// the kernel drops the lock when the process dies, kill -9 included, so
// the next builder sweeps what a killed one left (see sweepWorkDirs).
type workDir struct {
	Path string
	lock *os.File
}

func newWorkDir(parent, prefix string) (*workDir, error) {
	dir, err := os.MkdirTemp(parent, prefix)
	if err != nil {
		return nil, err
	}
	// Locked under another name, then renamed into place: a sweeper never
	// sees an owner file that is not locked yet (and leaves a directory
	// without one alone for unownedTempGrace).
	pending := filepath.Join(dir, ownerFile+".new")
	f, err := os.OpenFile(pending, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			err = os.Rename(pending, filepath.Join(dir, ownerFile))
		}
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("lock work directory %s: %w", dir, err)
	}
	return &workDir{Path: dir, lock: f}, nil
}

// Remove unmounts what is mounted below (a debootstrap's /proc), removes
// the directory and gives its lock up.
func (w *workDir) Remove() error {
	err := removeRootfs(w.Path)
	w.lock.Close()
	return err
}

// sweepWorkDirs removes the work directories of builders that are gone:
// their owner lock can be taken (or, without an owner file, they are older
// than unownedTempGrace). A live builder's directories are kept.
func sweepWorkDirs(parent string, log *slog.Logger) int {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !(strings.HasPrefix(name, rootfsPrefix) || strings.HasPrefix(name, testbedPrefix)) {
			continue
		}
		dir := filepath.Join(parent, name)
		if !ownerGone(dir) {
			continue
		}
		if err := removeRootfs(dir); err != nil {
			log.Warn("could not remove a killed build's work directory", "dir", dir, "err", err)
			continue
		}
		log.Info("removed a killed build's work directory", "dir", dir)
		n++
	}
	return n
}

func ownerGone(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, ownerFile), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		info, serr := os.Stat(dir)
		return serr == nil && time.Since(info.ModTime()) > unownedTempGrace
	}
	if err != nil {
		return false
	}
	defer f.Close()
	// Held by a live builder: EWOULDBLOCK. Taken here: its owner is dead
	// (closing f releases it again before the removal).
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
