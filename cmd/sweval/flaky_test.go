package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sweval/sweval/benchmarks"
)

// flakyTestPatch adds a test that fails about one time in three.
const flakyTestPatch = `diff --git a/tests/test_flaky.py b/tests/test_flaky.py
new file mode 100644
--- /dev/null
+++ b/tests/test_flaky.py
@@ -0,0 +1,5 @@
+import os
+
+
+def test_sometimes():
+    assert os.urandom(1)[0] % 3 != 0
`

// TestValidateRepeatFlagsAFlakyTest: a bundled instance given a PASS_TO_PASS
// test that fails about one time in three is reported flaky by validate
// --repeat (naming the test), written to the exclusion file, and left out
// by eval --exclude; the untouched instance stays valid.
func TestValidateRepeatFlagsAFlakyTest(t *testing.T) {
	e := setup(t)
	const flaky, steady = "sweval-fixtures__textkit-1", "sweval-fixtures__intervals-2"
	src, err := os.Open(e.tasks)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []string
	sc := bufio.NewScanner(src)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		switch rec["instance_id"] {
		case flaky:
			rec["test_patch"] = rec["test_patch"].(string) + flakyTestPatch
			var p2p []string
			json.Unmarshal([]byte(rec["PASS_TO_PASS"].(string)), &p2p)
			b, _ := json.Marshal(append(p2p, "tests/test_flaky.py::test_sometimes"))
			rec["PASS_TO_PASS"] = string(b)
		case steady:
		default:
			continue
		}
		b, _ := json.Marshal(rec)
		out = append(out, string(b))
	}
	dir := t.TempDir()
	tasks := filepath.Join(dir, "tasks.jsonl")
	if err := os.WriteFile(tasks, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exclusions := filepath.Join(dir, "exclude.jsonl")
	// 12 runs × 2 conditions: the chance the test never flips is ~1e-4.
	stdout, err := e.sweval(t, "validate", "--dataset", tasks, "--repo-cache", e.repoCache, "--base-image", e.image, "--timeout", "60s",
		"--no-progress", "--workers", "2", "--repeat", "12", "--exclusions", exclusions)
	if err == nil {
		t.Fatalf("validate with a flaky instance exited 0:\n%s", stdout)
	}
	t.Logf("\n%s", stdout)
	if !strings.Contains(stdout, "FLAKY") {
		t.Errorf("validate did not report the flaky instance:\n%s", stdout)
	}
	excl, err := benchmarks.LoadExclusions(exclusions)
	if err != nil {
		t.Fatal(err)
	}
	if reason, ok := excl[flaky]; !ok || len(excl) != 1 || !strings.Contains(reason, "tests/test_flaky.py::test_sometimes") {
		t.Fatalf("exclusions %v, want only %s, naming its flaky test", excl, flaky)
	}
	runs := t.TempDir()
	if _, err := e.sweval(t, "eval", "--dataset", tasks, "--predictions", "gold", "--repo-cache", e.repoCache, "--base-image", e.image,
		"--timeout", "60s", "--no-progress", "--output", runs, "--run-id", "excl", "--exclude", exclusions); err != nil {
		t.Fatal(err)
	}
	rep := readReport(t, filepath.Join(runs, "excl"))
	if rep.TotalInstances != 1 || len(rep.ResolvedIDs) != 1 || rep.ResolvedIDs[0] != steady {
		t.Errorf("eval --exclude: %d instances, resolved %v; want only %s", rep.TotalInstances, rep.ResolvedIDs, steady)
	}
}
