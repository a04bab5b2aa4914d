package doc2repo

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sweval/sweval/harness/run"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
	refpkg "github.com/sweval/sweval/leakage/fixture"
)

// TestCalibrationKey: the key follows the content (reference, hidden
// tests, image), not the task's id.
func TestCalibrationKey(t *testing.T) {
	tk := task(t)
	key := func() string {
		k, err := CalibrationKey(tk, "img@sha256:1")
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k0 := key()
	tk.ID = "mini-lib__copy"
	if key() != k0 {
		t.Fatal("a renamed copy of the task has another calibration key")
	}
	if k, _ := CalibrationKey(tk, "img@sha256:2"); k == k0 {
		t.Fatal("another environment image has the same key")
	}
	test := filepath.Join(tk.Doc2Repo.Reference, "tests", "test_intervals.py")
	if err := os.WriteFile(test, []byte(refpkg.Tests["tests/test_intervals.py"]+"\ndef test_new():\n    pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if key() == k0 {
		t.Fatal("a changed hidden test has the same key")
	}
}

// TestAutomaticCalibration: a task naming no declared ids, with a wrong
// declared count, is calibrated on its reference in a real container the
// first time, scored on those ids only (never above 1), and the second
// Hooks over the same cache directory reuses the calibration.
func TestAutomaticCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test")
	}
	tk := task(t)
	tk.Doc2Repo.DeclaredTests = refpkg.Count() + 5 // a published count that is off
	img := testenv.BaseImage(t)
	rt := sandbox.NewDocker(testenv.Docker(t), sandbox.Options{})
	dir := t.TempDir()
	ref, err := TarDir(tk.Doc2Repo.Reference)
	if err != nil {
		t.Fatal(err)
	}
	score := func(h *Hooks, sub run.Submission) (float64, int, int, Report) {
		t.Helper()
		v, err := h.Score(context.Background(), run.Worker{}, img, *tk, sub)
		if err != nil {
			t.Fatalf("score: %v\n%s", err, v.Log)
		}
		var rep Report
		if err := json.Unmarshal(v.Files["tests.json"], &rep); err != nil {
			t.Fatal(err)
		}
		return v.PassFraction, v.Passed, v.Declared, rep
	}
	h := NewHooks(rt, HooksOptions{RunID: "doc2repo-autocal", CalibrationDir: dir})
	frac, passed, declared, rep := score(h, run.Submission{Archive: ref})
	t.Logf("reference: %d/%d (%.2f) %s", passed, declared, frac, rep.Calibration)
	if frac != 1 || passed != refpkg.Count() || declared != refpkg.Count() || !strings.Contains(rep.Calibration, "measured") {
		t.Fatalf("reference scored %d/%d (%.2f), calibration %q", passed, declared, frac, rep.Calibration)
	}
	if tk.Doc2Repo.DeclaredIDs != nil {
		t.Fatal("Score changed the caller's task")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("cache holds %v", files)
	}
	// A fresh process (new Hooks) over the same directory: no second
	// calibration; the stub earns nothing against the declared ids.
	h2 := NewHooks(rt, HooksOptions{RunID: "doc2repo-autocal", CalibrationDir: dir})
	stub := diffAgainstBaseline(t, tk.Doc2Repo.Spec, map[string]string{
		"setup.py":             "from setuptools import setup\nsetup(name='mini-lib', version='0', packages=['mini_lib'])\n",
		"mini_lib/__init__.py": "",
	})
	frac, passed, declared, rep = score(h2, run.Submission{Patch: stub})
	t.Logf("stub: %d/%d (%.2f) %s", passed, declared, frac, rep.Calibration)
	if frac != 0 || declared != refpkg.Count() || !strings.Contains(rep.Calibration, "cached") {
		t.Fatalf("stub scored %d/%d (%.2f), calibration %q", passed, declared, frac, rep.Calibration)
	}
}
