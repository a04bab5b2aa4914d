package doc2repo

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/sandbox"
)

// Calibration is what the reference really passes in the task's
// environment.
type Calibration struct {
	InstanceID string `json:"instance_id"`
	// Passed is the declared set (DeNovoSWE's passed_ptp).
	Passed []string `json:"passed"`
	// Excluded failed, errored or skipped on the reference (failed_ptp).
	Excluded []string `json:"excluded"`
	// Declared is the manifest's declared_tests.
	Declared int `json:"declared_tests"`
	// Mismatch describes disagreement with the manifest ("" = none).
	Mismatch string `json:"mismatch,omitempty"`
	Install  string `json:"install,omitempty"`
	Log      string `json:"-"`
}

// Calibrate runs the hidden tests against the task's reference directory.
// Apply the result to the task with Apply before grading rollouts.
func Calibrate(ctx context.Context, rt sandbox.Runtime, task *benchmarks.Task, opts Options) (Calibration, error) {
	cal := Calibration{InstanceID: task.ID}
	d := task.Doc2Repo
	if d == nil {
		return cal, fmt.Errorf("calibrate %s: not a Doc2Repo task", task.ID)
	}
	cal.Declared = d.DeclaredTests
	if d.Reference == "" {
		return cal, fmt.Errorf("calibrate %s: the task names no reference directory", task.ID)
	}
	archive, err := TarDir(d.Reference)
	if err != nil {
		return cal, fmt.Errorf("calibrate %s: %w", task.ID, err)
	}
	// Score against every test that runs: the declared ids are what we
	// are measuring.
	probe := *task
	pd := *d
	pd.DeclaredIDs, pd.ExcludedIDs = nil, nil
	probe.Doc2Repo = &pd
	res, rep, err := Grade(ctx, rt, &probe, Submission{Archive: archive}, opts)
	cal.Log, cal.Install = rep.Log, rep.Install
	if err != nil {
		return cal, fmt.Errorf("calibrate %s: %w", task.ID, err)
	}
	if rep.Install != "" {
		return cal, fmt.Errorf("calibrate %s: the reference does not install in its environment: %s", task.ID, rep.Install)
	}
	if len(rep.Tests) == 0 {
		return cal, fmt.Errorf("calibrate %s: no test ran on the reference (%s): see the log", task.ID, res.Error)
	}
	for id, st := range rep.Tests {
		if st == grade.Passed {
			cal.Passed = append(cal.Passed, id)
		} else {
			cal.Excluded = append(cal.Excluded, id)
		}
	}
	sort.Strings(cal.Passed)
	sort.Strings(cal.Excluded)
	var notes []string
	if d.DeclaredTests > 0 && d.DeclaredTests != len(cal.Passed) {
		notes = append(notes, fmt.Sprintf("manifest declares %d tests, the reference passes %d (%d fail or skip)", d.DeclaredTests, len(cal.Passed), len(cal.Excluded)))
	}
	if len(d.DeclaredIDs) > 0 {
		pass := map[string]bool{}
		for _, id := range cal.Passed {
			pass[id] = true
		}
		var missing []string
		for _, id := range d.DeclaredIDs {
			if !pass[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			notes = append(notes, fmt.Sprintf("%d declared ids do not pass on the reference: %s", len(missing), strings.Join(first(missing, 5), ", ")))
		}
	}
	cal.Mismatch = strings.Join(notes, "; ")
	return cal, nil
}

// Apply makes cal the task's declared set.
func (c Calibration) Apply(task *benchmarks.Task) {
	task.Doc2Repo.DeclaredIDs = append([]string(nil), c.Passed...)
	task.Doc2Repo.ExcludedIDs = append([]string(nil), c.Excluded...)
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// TarDir archives a host directory (without .git and caches) as a
// workspace archive.
func TarDir(root string) ([]byte, error) {
	var files []sandbox.File
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if e.IsDir() {
			if skipRefDir(e.Name()) {
				return filepath.SkipDir
			}
			files = append(files, sandbox.File{Name: filepath.ToSlash(rel), Mode: fs.ModeDir | 0o755})
			return nil
		}
		if !e.Type().IsRegular() {
			return nil
		}
		files = append(files, sandbox.File{Name: filepath.ToSlash(rel), Path: p, Mode: 0o644})
		return nil
	})
	var buf bytes.Buffer
	if err == nil {
		err = sandbox.WriteFiles(&buf, files...)
	}
	if err != nil {
		return nil, fmt.Errorf("archive %s: %w", root, err)
	}
	return buf.Bytes(), nil
}

// skipRefDir: directories of a reference that are not its source (VCS,
// caches, build output).
func skipRefDir(name string) bool {
	switch name {
	case ".git", "__pycache__", ".pytest_cache", "build", "dist":
		return true
	}
	return strings.HasSuffix(name, ".egg-info")
}

// Capture takes the agent's workspace from a rollout's sandbox: the diff
// against the baseline (first) commit, binary files included as git
// binary patches, and a tar of the workspace without .git.
func Capture(ctx context.Context, sb sandbox.Sandbox, workdir string) (Submission, error) {
	var sub Submission
	if workdir == "" {
		workdir = DefaultWorkdir
	}
	r, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: []string{"bash", "-c",
		`cd "$1" && git add -A >/dev/null 2>&1 && git diff --cached --binary "$(git rev-list --max-parents=0 HEAD | tail -1)"`, "capture", workdir},
		OutputLimit: 256 << 20})
	if err != nil {
		return sub, fmt.Errorf("capture workspace diff: %w", err)
	}
	if r.ExitCode == 0 && r.Elided == 0 {
		sub.Patch = string(r.Output)
	}
	rc, err := sb.CopyOut(ctx, workdir)
	if err != nil {
		return sub, fmt.Errorf("capture workspace archive: %w", err)
	}
	defer rc.Close()
	// CopyOut roots the tar at the directory's base name: strip it.
	archive, err := stripTop(rc)
	if err != nil {
		return sub, fmt.Errorf("capture workspace archive: %w", err)
	}
	sub.Archive = archive
	return sub, nil
}
