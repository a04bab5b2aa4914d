package result

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Store appends results to a results.jsonl file. Each result is one line
// written with a single write(2) on an O_APPEND descriptor and fsynced
// before Append returns, so a crash leaves at most one torn final line,
// which OpenStore cuts off on the next start.
type Store struct {
	mu   sync.Mutex
	f    *os.File
	path string
	done map[Key]Result
}

// OpenStore opens (creating if needed) the results file at path and loads
// the results already in it, so a resumed run can skip them. A torn last
// line from a killed run is truncated away; a corrupt line in the middle
// is an error naming the line.
func OpenStore(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create results directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open results file: %w", err)
	}
	s := &Store{f: f, path: path, done: map[Key]Result{}}
	if err := s.load(); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) load() error {
	data, err := io.ReadAll(s.f)
	if err != nil {
		return fmt.Errorf("read %s: %w", s.path, err)
	}
	// A final line without its newline was cut by a crash mid-write.
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		if err := s.f.Truncate(int64(i + 1)); err != nil {
			return fmt.Errorf("truncate torn last line of %s: %w", s.path, err)
		}
		data = data[:i+1]
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<30)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("%s:%d: corrupt result line (move the file aside to start over): %w", s.path, line, err)
		}
		s.done[r.Key()] = r
	}
	return sc.Err()
}

// Done reports whether the rollout already has a result.
func (s *Store) Done(k Key) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.done[k]
	return ok
}

// Result returns the stored result of k.
func (s *Store) Result(k Key) (Result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.done[k]
	return r, ok
}

// Results returns every stored result, one per key (the last one written
// wins if a key was ever written twice).
func (s *Store) Results() []Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Result, 0, len(s.done))
	for _, r := range s.done {
		out = append(out, r)
	}
	return out
}

// Append writes r as one line and fsyncs. Appending a key that is already
// stored is refused so a resumed run can never report an instance twice.
func (s *Store) Append(r Result) error {
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode result %s/%d: %w", r.InstanceID, r.Rollout, err)
	}
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.done[r.Key()]; ok {
		return fmt.Errorf("result for %s rollout %d already stored: %w", r.InstanceID, r.Rollout, ErrDuplicate)
	}
	if _, err := s.f.Write(line); err != nil {
		return fmt.Errorf("append to %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", s.path, err)
	}
	s.done[r.Key()] = r
	return nil
}

// Close closes the file.
func (s *Store) Close() error { return s.f.Close() }

// ErrDuplicate is returned when a rollout's result is appended twice.
var ErrDuplicate = errors.New("duplicate result")

// WriteFileAtomic writes data to path via a temporary file in the same
// directory, fsync and rename, so readers never see a partial file.
func WriteFileAtomic(path string, data []byte) error {
	f, err := CreateAtomic(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// AtomicFile is a buffered temporary file beside its destination that
// Commit fsyncs and renames into place: a reader sees the old file or the
// whole new one, never half of it (results, reports, SFT files).
type AtomicFile struct {
	path string
	tmp  *os.File
	*bufio.Writer
	done bool
}

// CreateAtomic starts writing path atomically. Call Commit to publish the
// file; Abort (safe after Commit, so it can be deferred) removes the
// temporary file otherwise.
func CreateAtomic(path string) (*AtomicFile, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &AtomicFile{path: path, tmp: tmp, Writer: bufio.NewWriterSize(tmp, 1<<20)}, nil
}

// Commit flushes, fsyncs and renames the file into place.
func (f *AtomicFile) Commit() error {
	if f.done {
		return fmt.Errorf("write %s: already committed or aborted", f.path)
	}
	f.done = true
	defer os.Remove(f.tmp.Name()) // a no-op once renamed
	if err := f.Flush(); err != nil {
		f.tmp.Close()
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := f.tmp.Sync(); err != nil {
		f.tmp.Close()
		return fmt.Errorf("fsync %s: %w", f.path, err)
	}
	if err := f.tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := os.Rename(f.tmp.Name(), f.path); err != nil {
		return fmt.Errorf("rename into %s: %w", f.path, err)
	}
	return nil
}

// Abort drops the temporary file unless Commit already ran.
func (f *AtomicFile) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.tmp.Close()
	os.Remove(f.tmp.Name())
}

// WriteJSONAtomic is WriteFileAtomic of v's indented JSON.
func WriteJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return WriteFileAtomic(path, append(data, '\n'))
}
