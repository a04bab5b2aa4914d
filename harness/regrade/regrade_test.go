package regrade

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/result"
)

// evalLog is an eval.log as the grader writes it, around the test output.
func evalLog(output string, code int) string {
	return `>>>>> Applying patches
>>>>> Applied model patch with git_apply
+ pytest -rA tests/test_slug.py (as 1000:1000, in a fresh container)
>>>>> Start Test Output
` + output + `>>>>> End Test Output
SWEVAL_TEST_EXIT_CODE=` + map[int]string{0: "0", 1: "1"}[code] + "\n"
}

const summary = `============================= test session starts ==============================
collected 3 items

tests/test_slug.py ...                                                   [100%]
=========================== short test summary info ============================
PASSED tests/test_slug.py::test_basic
PASSED tests/test_slug.py::test_sep[a b]
PASSED tests/test_slug.py::test_edges
============================== 3 passed in 0.02s ===============================
`

// forgedInside prints a fake end marker and summary inside the output,
// before the real summary that reports a failure.
const forgedInside = `>>>>> End Test Output
=========================== short test summary info ============================
PASSED tests/test_slug.py::test_sep[a b]
============================== 1 passed in 0.01s ===============================
` + `=========================== short test summary info ============================
PASSED tests/test_slug.py::test_basic
FAILED tests/test_slug.py::test_sep[a b] - assert 1 == 2
PASSED tests/test_slug.py::test_edges
========================= 1 failed, 2 passed in 0.02s ==========================
`

func TestRunRegradesFromStoredLogs(t *testing.T) {
	dir := t.TempDir()
	task := func(id string) benchmarks.Task {
		return benchmarks.Task{ID: id, Repo: "sweval-fixtures/textkit", FailToPass: []string{"tests/test_slug.py::test_sep[a b]"},
			PassToPass: []string{"tests/test_slug.py::test_basic", "tests/test_slug.py::test_edges"}}
	}
	tasks := []benchmarks.Task{task("fixed"), task("tampered"), task("errored"), task("fails"), task("nolog"), {ID: "d2r", Kind: benchmarks.KindDoc2Repo}}
	// The stored verdicts: what a parser that cut ids at the first space
	// (SWE-bench's) made of the logs: the parametrized FAIL_TO_PASS id
	// was never seen, so "fixed" was unresolved.
	unresolved := result.Result{RunID: "r", Status: result.StatusUnresolved, Resolution: result.ResolvedPartial}
	rs := []result.Result{
		withID(unresolved, "fixed"),
		func() result.Result {
			r := withID(unresolved, "tampered")
			r.AuditFlags = []string{"grade:tamper-canary"}
			return r
		}(),
		func() result.Result {
			r := withID(unresolved, "errored")
			r.Status, r.Error = result.StatusError, "sandbox died"
			return r
		}(),
		func() result.Result { r := withID(unresolved, "fails"); r.Resolution = result.ResolvedNo; return r }(),
		withID(unresolved, "nolog"),
		withID(unresolved, "d2r"),
		withID(unresolved, "unknown"),
	}
	var lines []string
	for _, r := range rs {
		b, _ := json.Marshal(r)
		lines = append(lines, string(b))
	}
	write(t, filepath.Join(dir, "results.jsonl"), strings.Join(lines, "\n")+"\n")
	for id, log := range map[string]string{"fixed": evalLog(summary, 0), "tampered": evalLog(summary, 0), "errored": evalLog(summary, 0), "fails": evalLog(forgedInside, 1)} {
		write(t, filepath.Join(result.RolloutDir(dir, id, 0), "eval.log"), log)
	}

	now := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	dry, err := Run(dir, tasks, Options{DryRun: true, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Changes) != 1 || fileExists(filepath.Join(dir, FileName)) {
		t.Fatalf("dry run: %d changes, regrade.jsonl written %v; want 1 change, nothing written", len(dry.Changes), fileExists(filepath.Join(dir, FileName)))
	}
	sum, err := Run(dir, tasks, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rollouts != 7 || sum.Regraded != 2 {
		t.Errorf("rollouts %d regraded %d, want 7 and 2 (kept: %v)", sum.Rollouts, sum.Regraded, sum.Kept)
	}
	for _, why := range []string{"flagged for tampering", "status error", "no eval.log", "Doc2Repo (graded from the runner's records)", "not in the dataset"} {
		if sum.Kept[why] != 1 {
			t.Errorf("kept[%q] = %d, want 1 (%v)", why, sum.Kept[why], sum.Kept)
		}
	}
	if len(sum.Changes) != 1 || sum.Changes[0].InstanceID != "fixed" || sum.Changes[0].Old.Status != result.StatusUnresolved || sum.Changes[0].New.Status != result.StatusResolved {
		t.Fatalf("changes %+v, want fixed: unresolved -> resolved", sum.Changes)
	}
	// The results, the rollout's report.json, the run's report.json and
	// regrade.json all say so.
	got, err := result.LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]result.Status{}
	for _, r := range got {
		status[r.InstanceID] = r.Status
	}
	want := map[string]result.Status{"fixed": result.StatusResolved, "tampered": result.StatusUnresolved, "errored": result.StatusError,
		"fails": result.StatusUnresolved, "nolog": result.StatusUnresolved, "d2r": result.StatusUnresolved, "unknown": result.StatusUnresolved}
	for id, s := range want {
		if status[id] != s {
			t.Errorf("%s: %s after re-grade, want %s", id, status[id], s)
		}
	}
	var rep struct {
		Resolved []string `json:"resolved_ids"`
		Errors   []string `json:"error_ids"`
	}
	readJSON(t, filepath.Join(dir, "report.json"), &rep)
	if !slices.Equal(rep.Resolved, []string{"fixed"}) || !slices.Equal(rep.Errors, []string{"errored"}) {
		t.Errorf("report.json resolved %v errors %v", rep.Resolved, rep.Errors)
	}
	var inst map[string]struct {
		Resolved bool `json:"resolved"`
	}
	readJSON(t, filepath.Join(result.RolloutDir(dir, "fixed", 0), "report.json"), &inst)
	if !inst["fixed"].Resolved {
		t.Errorf("rollout report.json: %+v, want fixed resolved", inst)
	}
	var rec Summary
	readJSON(t, filepath.Join(dir, FileName), &rec)
	if len(rec.Changes) != 1 || rec.Changes[0].Old.Resolution != result.ResolvedPartial || !rec.At.Equal(now) {
		t.Errorf("regrade.jsonl: %+v", rec)
	}
	// A second re-grade changes nothing and keeps the first one's record.
	if _, err := Run(dir, tasks, Options{Now: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, FileName))
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 2 || !strings.Contains(lines[0], `"resolution":"RESOLVED_PARTIAL"`) {
		t.Errorf("regrade.jsonl after two re-grades:\n%s", b)
	}
}

func TestTestOutput(t *testing.T) {
	for _, c := range []struct {
		name, log, want string
		code            int
		ok              bool
	}{
		{"plain", evalLog("a\nb\n", 1), "a\nb\n", 1, true},
		{"marker inside", evalLog(">>>>> End Test Output\nx\n", 0), ">>>>> End Test Output\nx\n", 0, true},
		{"no test run", ">>>>> Applying patches\npatch does not apply\n", "", 0, false},
	} {
		out, code, ok := TestOutput(c.log)
		if out != c.want || ok != c.ok || (ok && (code == nil || *code != c.code)) {
			t.Errorf("%s: TestOutput = %q, %v, %v; want %q, %d, %v", c.name, out, code, ok, c.want, c.code, c.ok)
		}
	}
}

func withID(r result.Result, id string) result.Result {
	r.InstanceID = id
	return r
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
