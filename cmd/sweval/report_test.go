package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/internal/fixtures"
)

// TestReportRegradesARunOffline builds a finished run as `sweval eval`
// leaves it (run.json naming the dataset, results.jsonl, eval.log) whose
// stored verdict came from an older parser rule, and re-grades it with
// `sweval report`: the verdict changes, the change is listed, and a second
// report finds nothing left to change. No container runs.
func TestReportRegradesARunOffline(t *testing.T) {
	root, err := fixtures.Root()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "runs", "old-parser")
	id := "sweval-fixtures__textkit-1"
	meta, _ := json.Marshal(map[string]any{"run_id": "old-parser", "config": map[string]any{"command": "eval",
		"flags": map[string]any{"dataset": filepath.Join(root, "testdata", "swe", "tasks.jsonl"), "test-cmd": ""}}})
	// Stored: unresolved, as an older parser rule that missed this log's
	// summary would have left it.
	stored, _ := json.Marshal(result.Result{RunID: "old-parser", InstanceID: id, Model: "m", Status: result.StatusUnresolved, Resolution: result.ResolvedNo})
	log := `>>>>> Applied model patch with git_apply
+ pytest -rA tests/test_slug.py (as 1000:1000, in a fresh container)
>>>>> Start Test Output
============================= test session starts ==============================
collected 6 items

tests/test_slug.py ......                                                [100%]

=========================== short test summary info ============================
PASSED tests/test_slug.py::test_basic
PASSED tests/test_slug.py::test_accents_dropped
PASSED tests/test_slug.py::test_custom_separator
PASSED tests/test_slug.py::test_strip_edges
PASSED tests/test_slug.py::test_collapse_repeated_separators
PASSED tests/test_slug.py::test_custom_separator_collapses
============================== 6 passed in 0.02s ===============================
>>>>> End Test Output
SWEVAL_TEST_EXIT_CODE=0
`
	for name, data := range map[string]string{
		filepath.Join(dir, "run.json"):                           string(meta),
		filepath.Join(dir, "results.jsonl"):                      string(stored) + "\n",
		filepath.Join(result.RolloutDir(dir, id, 0), "eval.log"): log,
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	report := func() string {
		var out, errb bytes.Buffer
		if err := newApp(&out, &errb).Run([]string{"sweval", "report", dir}); err != nil {
			t.Fatalf("sweval report: %v\n%s", err, errb.String())
		}
		return out.String()
	}
	out := report()
	if !strings.Contains(out, "re-graded 1 of 1 rollouts from their logs; 1 verdict(s) changed") ||
		!strings.Contains(out, id) || !strings.Contains(out, "resolved (RESOLVED_FULL)") {
		t.Fatalf("first report:\n%s", out)
	}
	all, err := result.LoadRun(dir)
	if err != nil || len(all) != 1 || all[0].Status != result.StatusResolved || all[0].Model != "m" {
		t.Fatalf("results after re-grade: %+v (%v)", all, err)
	}
	if out := report(); !strings.Contains(out, "0 verdict(s) changed") {
		t.Errorf("second report:\n%s", out)
	}
}

// TestEvalWithNothingToGradeFails: predictions that match no instance
// (here a wrapper object) end in an error naming the file, not in an
// empty table and exit 0. No container runs.
func TestEvalWithNothingToGradeFails(t *testing.T) {
	root, err := fixtures.Root()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	preds := filepath.Join(dir, "wrapped.json")
	if err := os.WriteFile(preds, []byte(`{"predictions": [{"instance_id": "sweval-fixtures__textkit-1", "model_patch": "x"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err = newApp(&out, &errb).Run([]string{"sweval", "eval", "--dataset", filepath.Join(root, "testdata", "swe", "tasks.jsonl"),
		"--predictions", preds, "--repo-cache", dir, "--output", filepath.Join(dir, "runs"), "--run-id", "nothing"})
	if err == nil || !strings.Contains(err.Error(), "no prediction matches an instance") || !strings.Contains(err.Error(), "wrapped.json") {
		t.Fatalf("err %v, want nothing-to-grade naming the file\n%s", err, errb.String())
	}
}
