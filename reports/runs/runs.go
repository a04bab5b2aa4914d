package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/scaffolds/trajectory"
)

// ResultsFiles are the results files of a run path: a bare file alone, or
// every results file of a run directory (results.jsonl and each shard's,
// result.ResultFiles), which readers take the union of.
func ResultsFiles(dirOrFile string) ([]string, error) {
	if st, err := os.Stat(dirOrFile); err == nil && !st.IsDir() {
		return []string{dirOrFile}, nil
	}
	files, err := result.ResultFiles(dirOrFile)
	if err == nil && len(files) == 0 {
		err = fs.ErrNotExist
	}
	if err != nil {
		return nil, fmt.Errorf("%s has no results.jsonl: is it a run directory (runs/<run_id>)? %w", dirOrFile, err)
	}
	return files, nil
}

// RunDir is the run directory of a run path (the directory of a bare file).
func RunDir(dirOrFile string) string {
	if st, err := os.Stat(dirOrFile); err == nil && !st.IsDir() {
		return filepath.Dir(dirOrFile)
	}
	return dirOrFile
}

// Stats counts what a scan read.
type Stats struct {
	Files, Lines, BadLines int
	Bytes                  int64
}

// Options tune Each.
type Options struct {
	// SkipTestsStatus: see result.ScanOptions.
	SkipTestsStatus bool
	// SkipFeatures: see result.ScanOptions.
	SkipFeatures bool
	// Workers decode in parallel (default: GOMAXPROCS, at most 4; 1 =
	// serial). Results still arrive in file order.
	Workers int
	// OnBadLine receives skipped lines; nil logs them via Logger.
	OnBadLine func(*result.LineError)
	Logger    *slog.Logger
}

// Each streams every result of every run, in order, to fn with the run
// directory it came from. The *Result is reused: copy what you keep.
func Each(ctx context.Context, paths []string, opts Options, fn func(runDir string, r *result.Result) error) (Stats, error) {
	var st Stats
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if len(paths) == 0 {
		return st, errors.New("no run directories given: pass one or more runs/<run_id> directories")
	}
	for _, p := range paths {
		files, err := ResultsFiles(p)
		if err != nil {
			return st, err
		}
		dir := RunDir(p)
		// A sharded run's files must not share a rollout: track keys only
		// then, so the common single-file scan stays allocation-free.
		var from map[result.Key]string
		if len(files) > 1 {
			from = map[result.Key]string{}
		}
		for _, file := range files {
			if err := eachInFile(ctx, file, dir, opts, log, &st, from, fn); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

func eachInFile(ctx context.Context, file, dir string, opts Options, log *slog.Logger, st *Stats, from map[result.Key]string, fn func(runDir string, r *result.Result) error) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open results: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		st.Bytes += fi.Size()
	}
	onBad := opts.OnBadLine
	if onBad == nil {
		onBad = func(e *result.LineError) { log.Warn("skipping bad result line", "err", e) }
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = min(runtime.GOMAXPROCS(0), 4)
	}
	s := result.NewScanner(f, result.ScanOptions{File: file, SkipTestsStatus: opts.SkipTestsStatus, SkipFeatures: opts.SkipFeatures,
		OnBadLine: onBad, Workers: workers})
	n := 0
	err = s.Scan(func(r *result.Result) error {
		n++
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if from != nil {
			if first, ok := from[r.Key()]; ok && first != file {
				return &result.DuplicateError{Key: r.Key(), First: first, Also: file}
			}
			from[r.Key()] = file
		}
		return fn(dir, r)
	})
	st.Files++
	st.Lines += s.Lines()
	st.BadLines += s.BadLines()
	return err
}

// RolloutDir is where a rollout's files live (result.RolloutDir).
func RolloutDir(runDir, instanceID string, rollout int) string {
	return result.RolloutDir(runDir, instanceID, rollout)
}

// LoadTrajectory reads a rollout's trajectory.json.
func LoadTrajectory(runDir, instanceID string, rollout int) (*trajectory.Trajectory, error) {
	path := filepath.Join(RolloutDir(runDir, instanceID, rollout), "trajectory.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read trajectory: %w", err)
	}
	var t trajectory.Trajectory
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("%s: decode trajectory: %w", path, err)
	}
	return &t, nil
}

// Success is the binary outcome used for pass@k, resolved rates and bands:
// resolved (SWE-style) or every declared test passed (Doc2Repo strict).
func Success(r *result.Result) bool { return r.Resolved || r.Strict }

// Score is the graded score of a rollout: the pass fraction, which the
// grader sets to 1/0 for SWE-style tasks. Rollouts that only say resolved
// (imported reports) score 1.
func Score(r *result.Result) float64 {
	if r.PassFraction == 0 && Success(r) {
		return 1
	}
	return r.PassFraction
}
