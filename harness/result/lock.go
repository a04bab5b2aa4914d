package result

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// LockOwner says who writes a run directory (or one shard of it).
type LockOwner struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
}

func (o LockOwner) String() string {
	return fmt.Sprintf("pid %d on %s since %s", o.PID, o.Host, o.Started.Format(time.RFC3339))
}

// Lock is held by the one process that appends to a results file. It is an
// flock(2) on a file beside it, so the kernel drops it when its owner dies
// (kill -9 included): a dead owner's lock is taken over without a sweep.
type Lock struct {
	f *os.File
}

// HeldError reports a lock another live process holds.
type HeldError struct {
	Path  string
	Owner LockOwner
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is held by %s: another sweval process is writing this run; wait for it to finish, stop it, or use another --run-id", e.Path, e.Owner)
}

// AcquireLock takes the writer lock at path without waiting, recording the
// caller as its owner. A *HeldError names the live owner otherwise.
func AcquireLock(path string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			var owner LockOwner
			data, _ := os.ReadFile(path)
			_ = json.Unmarshal(data, &owner)
			return nil, &HeldError{Path: path, Owner: owner}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	data, _ := json.Marshal(LockOwner{PID: os.Getpid(), Host: host, Started: time.Now().UTC()})
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(append(data, '\n'), 0)
		if err == nil {
			err = f.Sync()
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("record owner in %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Release gives the lock up. The file stays: removing it would let a
// waiting process lock a file that a third one then recreates.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// SweepTemp removes the temporary files a killed atomic write left in dir
// and below (WriteFileAtomic's "*.tmp*" siblings), returning how many.
func SweepTemp(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() && isAtomicTemp(d.Name()) {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// isAtomicTemp matches the names WriteFileAtomic gives its temporaries:
// "." + the target's name + ".tmp" + a random suffix.
func isAtomicTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp")
}
