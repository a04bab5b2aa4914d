package regrade

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
	"time"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/result"
)

// Options configure a re-grade.
type Options struct {
	// TestCmd and LogParser override the task's, as the run's own
	// --test-cmd and --log-parser did.
	TestCmd, LogParser string
	// Rules say how the outcomes become verdicts (--verdicts); zero is
	// strict.
	Rules grade.Rules
	// DryRun reports the changes without writing anything.
	DryRun bool
	// Now stamps regrade.json.
	Now time.Time
}

// Change is one rollout whose verdict the re-grade changed.
type Change struct {
	InstanceID string        `json:"instance_id"`
	Rollout    int           `json:"rollout"`
	Old        StoredVerdict `json:"old"`
	New        StoredVerdict `json:"new"`
}

// StoredVerdict is the part of a result a re-grade may rewrite.
type StoredVerdict struct {
	Status      result.Status       `json:"status"`
	Resolved    bool                `json:"resolved"`
	Resolution  result.Resolution   `json:"resolution,omitempty"`
	TestsStatus *result.TestsStatus `json:"tests_status,omitempty"`
	Error       string              `json:"error,omitempty"`
}

func storedOf(r result.Result) StoredVerdict {
	return StoredVerdict{Status: r.Status, Resolved: r.Resolved, Resolution: r.Resolution, TestsStatus: r.TestsStatus, Error: r.Error}
}

// Summary is what a re-grade did.
type Summary struct {
	RunDir   string    `json:"run_dir"`
	At       time.Time `json:"at"`
	Rollouts int       `json:"rollouts"`
	Regraded int       `json:"regraded"`
	// Kept counts the rollouts left as they were, by reason.
	Kept    map[string]int `json:"kept"`
	Changes []Change       `json:"changes"`
}

// FileName is the record of a run directory's re-grades, one Summary
// (with the old and new verdict of every change) per line, oldest first.
const FileName = "regrade.jsonl"

// Run re-grades every rollout of runDir (all shards' results files) whose
// task is in tasks, rewrites the results files, the rollouts' report.json
// and the run's report.json atomically (unless opts.DryRun), and appends
// its Summary, with the old and new verdict of each change, to
// regrade.jsonl. The caller
// holds the run's writer lock.
func Run(runDir string, tasks []benchmarks.Task, opts Options) (Summary, error) {
	byID := make(map[string]benchmarks.Task, len(tasks))
	for _, t := range tasks {
		byID[t.ID] = t
	}
	sum := Summary{RunDir: runDir, At: opts.Now, Kept: map[string]int{}, Changes: []Change{}}
	files, err := result.ResultFiles(runDir)
	if err != nil {
		return sum, err
	}
	if len(files) == 0 {
		return sum, fmt.Errorf("%s: no results file: is it a sweval run directory?", runDir)
	}
	var all []result.Result
	rewrites := map[string][]result.Result{}
	for _, f := range files {
		var rs []result.Result
		sc, err := result.ScanFile(f, result.ScanOptions{}, func(r *result.Result) error {
			rs = append(rs, *r)
			return nil
		})
		if err != nil {
			return sum, err
		}
		if sc.BadLines() > 0 {
			return sum, fmt.Errorf("%s: %d unreadable line(s): fix or remove them before re-grading (nothing was changed)", f, sc.BadLines())
		}
		for i := range rs {
			sum.Rollouts++
			nr, why, err := regradeOne(runDir, rs[i], byID, opts)
			if err != nil {
				return sum, err
			}
			if why != "" {
				sum.Kept[why]++
				continue
			}
			sum.Regraded++
			if old, now := storedOf(rs[i]), storedOf(nr); !sameVerdict(old, now) {
				sum.Changes = append(sum.Changes, Change{InstanceID: nr.InstanceID, Rollout: nr.Rollout, Old: old, New: now})
			}
			rs[i] = nr
		}
		rewrites[f] = rs
		all = append(all, rs...)
	}
	if opts.DryRun {
		return sum, nil
	}
	for _, f := range files {
		var buf bytes.Buffer
		for _, r := range rewrites[f] {
			b, err := json.Marshal(r)
			if err != nil {
				return sum, err
			}
			buf.Write(b)
			buf.WriteByte('\n')
		}
		if err := result.WriteFileAtomic(f, buf.Bytes()); err != nil {
			return sum, err
		}
	}
	changed := map[result.Key]bool{}
	for _, c := range sum.Changes {
		changed[result.Key{InstanceID: c.InstanceID, Rollout: c.Rollout}] = true
	}
	for _, r := range all {
		if !changed[r.Key()] {
			continue
		}
		if err := result.WriteJSONAtomic(filepath.Join(result.RolloutDir(runDir, r.InstanceID, r.Rollout), "report.json"), result.NewInstanceReport(r)); err != nil {
			return sum, err
		}
	}
	if err := rewriteRunReport(runDir, all); err != nil {
		return sum, err
	}
	return sum, appendSummary(filepath.Join(runDir, FileName), sum)
}

// appendSummary adds sum to the re-grade history, atomically.
func appendSummary(path string, sum Summary) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
		old = append(old, '\n')
	}
	line, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	return result.WriteFileAtomic(path, append(append(old, line...), '\n'))
}

// regradeOne re-scores r from its eval.log; why says why it was kept as
// it was instead.
func regradeOne(runDir string, r result.Result, tasks map[string]benchmarks.Task, opts Options) (_ result.Result, why string, _ error) {
	task, ok := tasks[r.InstanceID]
	switch {
	case !ok:
		return r, "not in the dataset", nil
	case task.Kind == benchmarks.KindDoc2Repo:
		return r, "Doc2Repo (graded from the runner's records)", nil
	case r.Status != result.StatusResolved && r.Status != result.StatusUnresolved:
		return r, "status " + string(r.Status), nil
	case r.Error == "timeout":
		return r, "timed out", nil
	case slices.ContainsFunc(r.AuditFlags, func(f string) bool { return strings.HasPrefix(f, "grade:tamper") }):
		return r, "flagged for tampering", nil
	}
	logPath := filepath.Join(result.RolloutDir(runDir, r.InstanceID, r.Rollout), "eval.log")
	b, err := os.ReadFile(logPath)
	if os.IsNotExist(err) {
		return r, "no eval.log", nil
	}
	if err != nil {
		return r, "", fmt.Errorf("%s: %w", logPath, err)
	}
	output, code, ok := TestOutput(string(b))
	if !ok {
		return r, "no test output in eval.log", nil
	}
	spec, err := grade.ResolveSpec(task, opts.TestCmd)
	if err != nil {
		return r, "", fmt.Errorf("%s (rollout %d): %w", r.InstanceID, r.Rollout, err)
	}
	if opts.LogParser != "" {
		if spec.Parser, err = grade.CanonicalParser(opts.LogParser); err != nil {
			return r, "", err
		}
	}
	tests := grade.ParseLog(spec, output)
	if len(tests) == 0 {
		return r, "test output parses to no test", nil
	}
	out := grade.Outcome{TestExitCode: code}
	grade.ScoreTests(&out, task, spec, tests, opts.Rules)
	nr := r
	nr.Status = out.Status
	nr.Resolved = out.Status == result.StatusResolved
	nr.Resolution, nr.TestsStatus = out.Resolution, out.TestsStatus
	nr.VerdictRules, nr.Verdicts, nr.VerdictDisagreement = string(out.Rules), out.ResolutionByRules(), out.Disagreement
	nr.PassFraction, nr.Strict = 0, false
	if nr.Resolved {
		nr.PassFraction, nr.Strict = 1, true
		nr.Error = ""
	}
	return nr, "", nil
}

// exitRE is the exit code line the grader writes after the test output.
var exitRE = regexp.MustCompile(`(?m)^SWEVAL_TEST_EXIT_CODE=(-?\d+)$`)

// TestOutput cuts the test command's output out of an eval.log: from the
// grader's first start marker to its last end marker (the code under test
// may print marker lines of its own inside), with the exit code after it.
func TestOutput(log string) (output string, code *int, ok bool) {
	startLine := grade.StartTestOutput + "\n"
	i := strings.Index(log, "\n"+startLine)
	if i < 0 {
		if !strings.HasPrefix(log, startLine) {
			return "", nil, false
		}
		i = -1
	}
	body := log[i+1+len(startLine):]
	j := strings.LastIndex(body, grade.EndTestOutput+"\n")
	if j < 0 || (j > 0 && body[j-1] != '\n') {
		return "", nil, false
	}
	if m := exitRE.FindStringSubmatch(body[j:]); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			code = &n
		}
	}
	return body[:j], code, true
}

// sameVerdict compares what a verdict decides (a re-grade also fills the
// per-test lists, which is not a change of verdict).
func sameVerdict(a, b StoredVerdict) bool {
	return a.Status == b.Status && a.Resolved == b.Resolved && a.Resolution == b.Resolution
}

// rewriteRunReport recomputes report.json over the same instances the
// run's own report counted (its completed and incomplete ids), or over
// the results' instances when it has none.
func rewriteRunReport(runDir string, all []result.Result) error {
	path := filepath.Join(runDir, "report.json")
	var old struct {
		RunID      string   `json:"run_id"`
		Completed  []string `json:"completed_ids"`
		Incomplete []string `json:"incomplete_ids"`
	}
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &old) // a missing or odd report is rebuilt from the results
	}
	want := append(append([]string{}, old.Completed...), old.Incomplete...)
	fromResults := len(want) == 0
	runID := old.RunID
	for _, r := range all {
		if fromResults {
			want = append(want, r.InstanceID)
		}
		if runID == "" {
			runID = r.RunID
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)
	return result.WriteJSONAtomic(path, result.Summarize(runID, want, all))
}
