package result

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ResultsName is an unsharded run's results file.
const ResultsName = "results.jsonl"

// Shard is one part of a run split across processes or nodes: shard Index
// (0-based) of Count. The zero value is the whole run.
type Shard struct {
	Index, Count int
}

// ParseShard reads "I/N" (1-based, as Slurm's array indices are usually
// written: 1/4 … 4/4) or "" for the whole run.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return Shard{}, fmt.Errorf("--shard %q: want I/N with 1 ≤ I ≤ N, e.g. 2/4", s)
	}
	return Shard{Index: i - 1, Count: n}, nil
}

// Whole reports whether s is the unsharded run.
func (s Shard) Whole() bool { return s.Count <= 1 }

func (s Shard) String() string {
	if s.Whole() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index+1, s.Count)
}

// FileName is the results file the shard appends to: results.jsonl for
// the whole run, results.shard-I-of-N.jsonl otherwise, so no two
// processes (or hosts, on NFS) ever append to one file.
func (s Shard) FileName() string {
	if s.Whole() {
		return ResultsName
	}
	return fmt.Sprintf("results.shard-%d-of-%d.jsonl", s.Index+1, s.Count)
}

// Owns reports whether the job at position i of the run's jobs, in their
// canonical order, belongs to the shard: round-robin, so shards stay within
// one job of each other and the split is the same on every resume.
func (s Shard) Owns(i int) bool { return s.Whole() || i%s.Count == s.Index }

var shardFile = regexp.MustCompile(`^results\.shard-(\d+)-of-(\d+)\.jsonl$`)

// ResultFiles lists the results files of a run directory: results.jsonl
// (when present) and every shard's file, in a stable order. Readers take
// the union; DuplicateError reports a rollout found in two of them.
func ResultFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read run directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && (e.Name() == ResultsName || shardFile.MatchString(e.Name())) {
			names = append(names, e.Name())
		}
	}
	slices.SortFunc(names, func(a, b string) int { return compareShardNames(a, b) })
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(dir, n)
	}
	return out, nil
}

// compareShardNames orders results.jsonl first, then shards by count and
// index as numbers (shard 10 after shard 9).
func compareShardNames(a, b string) int {
	key := func(n string) [2]int {
		m := shardFile.FindStringSubmatch(n)
		if m == nil {
			return [2]int{0, 0}
		}
		i, _ := strconv.Atoi(m[1])
		c, _ := strconv.Atoi(m[2])
		return [2]int{c, i}
	}
	ka, kb := key(a), key(b)
	if ka[0] != kb[0] {
		return ka[0] - kb[0]
	}
	return ka[1] - kb[1]
}

// DuplicateError is a rollout recorded in two results files of one run:
// two writers ran the same rollout (e.g. a run resharded while a shard was
// still running). Readers refuse the run rather than count it twice.
type DuplicateError struct {
	Key         Key
	First, Also string // the files holding it
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("%s rollout %d is recorded in both %s and %s: two writers ran it; keep one line (delete the other) and read the run again",
		e.Key.InstanceID, e.Key.Rollout, e.First, e.Also)
}

func (e *DuplicateError) Unwrap() error { return ErrDuplicate }

// OpenRunStore opens the results file of one shard of the run in dir for
// appending (see OpenStore) and loads, read-only, what every other results
// file of the run holds, so Done and Results see the whole run: a rollout
// done by another shard (or before the run was sharded) is never redone.
func OpenRunStore(dir string, shard Shard) (*Store, error) {
	own := filepath.Join(dir, shard.FileName())
	s, err := OpenStore(own)
	if err != nil {
		return nil, err
	}
	files, err := ResultFiles(dir)
	if err != nil {
		s.Close()
		return nil, err
	}
	from := map[Key]string{}
	for k := range s.done {
		from[k] = own
	}
	for _, file := range files {
		if file == own {
			continue
		}
		rs, err := readResults(file)
		if err != nil {
			s.Close()
			return nil, err
		}
		for _, r := range rs {
			if first, ok := from[r.Key()]; ok {
				s.Close()
				return nil, &DuplicateError{Key: r.Key(), First: first, Also: file}
			}
			from[r.Key()] = file
			s.done[r.Key()] = r
		}
	}
	return s, nil
}

// LoadRun reads every results file of the run in dir (the union of its
// shards), refusing a rollout recorded in two files.
func LoadRun(dir string) ([]Result, error) {
	files, err := ResultFiles(dir)
	if err != nil {
		return nil, err
	}
	var out []Result
	type seen struct {
		file string
		at   int
	}
	from := map[Key]seen{}
	for _, file := range files {
		rs, err := readResults(file)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			first, ok := from[r.Key()]
			switch {
			case ok && first.file != file:
				return nil, &DuplicateError{Key: r.Key(), First: first.file, Also: file}
			case ok: // written twice into one file by an old version: the later line wins, as in the store
				out[first.at] = r
			default:
				from[r.Key()] = seen{file, len(out)}
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// readResults decodes a results file without touching it (another shard
// may be appending: a torn last line is simply not read yet).
func readResults(path string) ([]Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		data = data[:i+1]
	}
	var out []Result
	for n, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r Result
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("%s:%d: corrupt result line (move the file aside to start over): %w", path, n+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}
