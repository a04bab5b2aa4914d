package doc2repo

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
	refpkg "github.com/sweval/sweval/leakage/fixture"
)

func TestScoreNeverRunCountsAsFailed(t *testing.T) {
	d := &benchmarks.Doc2Repo{DeclaredTests: 4, DeclaredIDs: []string{"a", "b", "c", "d", "x"}, ExcludedIDs: []string{"x"}}
	var rep Report
	score(d, map[string]grade.TestStatus{"a": grade.Passed, "b": grade.Failed, "c": grade.Skipped, "x": grade.Passed, "extra": grade.Passed}, &rep)
	if rep.Declared != 4 || len(rep.Passed) != 1 || len(rep.Failed) != 3 || len(rep.NotRun) != 1 || rep.NotRun[0] != "d" || len(rep.Ignored) != 1 || rep.Ignored[0] != "extra" {
		t.Fatalf("report %+v", rep)
	}
	// Count-only: more tests running than declared is reported, not capped.
	d = &benchmarks.Doc2Repo{DeclaredTests: 2}
	rep = Report{}
	score(d, map[string]grade.TestStatus{"a": grade.Passed, "b": grade.Passed, "c": grade.Passed}, &rep)
	if rep.Declared != 2 || len(rep.Passed) != 3 || !strings.Contains(rep.Mismatch, "3 tests ran but 2 are declared") {
		t.Fatalf("report %+v", rep)
	}
}

func TestFilterTarDropsLinksAndEscapes(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "ok.py", Typeflag: tar.TypeReg, Size: 2, Mode: 0o644},
		{Name: "../escape.py", Typeflag: tar.TypeReg, Size: 2, Mode: 0o644},
		{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/usr/lib/python3/dist-packages"},
		{Name: ".git/config", Typeflag: tar.TypeReg, Size: 2, Mode: 0o644},
		{Name: "img.bin", Typeflag: tar.TypeReg, Size: 2, Mode: 0o644},
	} {
		tw.WriteHeader(h)
		if h.Size > 0 {
			tw.Write([]byte("x\n"))
		}
	}
	tw.Close()
	out, n, err := filterTar(buf.Bytes(), nil)
	if err != nil || n != 2 {
		t.Fatalf("filterTar: n=%d err=%v", n, err)
	}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Name != "ok.py" && h.Name != "img.bin" {
			t.Errorf("kept %s", h.Name)
		}
	}
	if got := binaryPaths("diff --git a/img.bin b/img.bin\nnew file mode 100644\nindex 0000000..e69de29\nBinary files /dev/null and b/img.bin differ\n"); !got["img.bin"] {
		t.Fatalf("binaryPaths = %v", got)
	}
}

// writeRef writes the reference (or a variant) into a temp dir.
func writeRef(t *testing.T, dir string, sets ...map[string]string) {
	t.Helper()
	for _, set := range sets {
		for n, body := range set {
			p := filepath.Join(dir, n)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func task(t *testing.T) *benchmarks.Task {
	ref := filepath.Join(t.TempDir(), "reference")
	writeRef(t, ref, refpkg.Source, refpkg.Tests)
	return &benchmarks.Task{ID: "mini-lib", Kind: benchmarks.KindDoc2Repo, Doc2Repo: &benchmarks.Doc2Repo{
		Spec: "# mini-lib\nIntervals and text statistics.\n", Reference: ref, Tests: []string{"tests"},
		DeclaredTests: refpkg.Count(), Package: refpkg.Dist, Image: testenv.BaseImage(t), Workdir: "/testbed",
	}}
}

// diffAgainstBaseline builds what Capture would: the baseline holds the
// spec; the agent's files are the diff (binary files marked, not carried).
func diffAgainstBaseline(t *testing.T, spec string, files map[string]string) string {
	dir := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	writeRef(t, dir, map[string]string{"SPEC.md": spec})
	git("init", "-q")
	git("add", "-A")
	git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "baseline")
	plain := map[string]string{}
	for k, v := range files {
		if name, ok := strings.CutPrefix(k, "symlink:"); ok {
			if err := os.Symlink(v, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		plain[k] = v
	}
	writeRef(t, dir, plain)
	git("add", "-A")
	return git("diff", "--cached", "HEAD")
}

func partialFiles() map[string]string {
	files := map[string]string{}
	for k, v := range refpkg.Source {
		files[k] = v
	}
	// Two features missing: merging (breaks 2 tests) and readability (1).
	iv := files["mini_lib/intervals.py"]
	i := strings.Index(iv, "def merge_intervals")
	files["mini_lib/intervals.py"] = iv[:i] + "def merge_intervals(intervals):\n    return list(intervals)\n\n\ndef total_length(intervals):\n    return 0\n"
	ts := files["mini_lib/textstats.py"]
	j := strings.Index(ts, "def readability_score")
	files["mini_lib/textstats.py"] = ts[:j] + "def readability_score(text):\n    return 0.0\n"
	// Attempts to earn more than that: its own conftest forcing passes,
	// a pytest.ini deselecting, tests of its own.
	files["conftest.py"] = "import pytest\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n    outcome = yield\n    rep = outcome.get_result()\n    rep.outcome = 'passed'\n"
	files["pytest.ini"] = "[pytest]\naddopts = -k 'not merge'\n"
	files["tests/test_own.py"] = "def test_mine():\n    assert True\n"
	return files
}

func TestGradeAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test")
	}
	tk := task(t)
	rt := sandbox.NewDocker(testenv.Docker(t), sandbox.Options{})
	ctx := context.Background()
	declared := refpkg.Count()

	refArchive, err := TarDir(tk.Doc2Repo.Reference)
	if err != nil {
		t.Fatal(err)
	}
	partial := partialFiles()
	partial["mini_lib/blob.bin"] = "\x00\x01binary\x00"
	var pbuf bytes.Buffer
	tw := tar.NewWriter(&pbuf)
	for n, b := range partial {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write([]byte(b))
	}
	tw.Close()
	withLink := map[string]string{"symlink:vendor": "/usr/lib/python3/dist-packages"}
	for k, v := range partial {
		withLink[k] = v
	}
	partialDiff := diffAgainstBaseline(t, tk.Doc2Repo.Spec, withLink)
	if !strings.Contains(partialDiff, "Binary files") {
		t.Fatalf("fixture: the diff should mark blob.bin binary:\n%.400s", partialDiff)
	}

	cases := []struct {
		name       string
		sub        Submission
		wantPassed int
		wantStatus result.Status
		applied    string
	}{
		{"reference", Submission{Archive: refArchive}, declared, result.StatusResolved, "archive"},
		{"empty", Submission{}, 0, result.StatusEmptyPatch, ""},
		{"partial", Submission{Patch: partialDiff, Archive: pbuf.Bytes()}, declared - 3, result.StatusUnresolved, "patch+archive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, rep, err := Grade(ctx, rt, tk, c.sub, Options{RunID: "doc2repo-test"})
			if err != nil {
				t.Fatalf("grade: %v\n%s", err, rep.Log)
			}
			t.Logf("%s: %d/%d strict=%v status=%s removed=%v mismatch=%q", c.name, res.Passed, res.Declared, res.Strict, res.Status, rep.Removed, rep.Mismatch)
			if res.Declared != declared || res.Passed != c.wantPassed || res.Status != c.wantStatus {
				t.Fatalf("got %d/%d status %s, want %d/%d %s\n%s", res.Passed, res.Declared, res.Status, c.wantPassed, declared, c.wantStatus, rep.Log)
			}
			if want := float64(c.wantPassed) / float64(declared); res.PassFraction != want {
				t.Fatalf("pass fraction %v, want %v", res.PassFraction, want)
			}
			if res.Strict != (c.wantPassed == declared) {
				t.Fatalf("strict = %v", res.Strict)
			}
			if rep.Applied != c.applied {
				t.Fatalf("applied = %q, want %q", rep.Applied, c.applied)
			}
			switch c.name {
			case "reference":
				if res.PassFraction != 1 {
					t.Fatal("reference does not score 1.0")
				}
			case "empty":
				if res.PassFraction != 0 || !strings.Contains(res.Error, "nothing to install") {
					t.Fatalf("empty: fraction %v error %q", res.PassFraction, res.Error)
				}
			case "partial":
				if !(res.PassFraction > 0 && res.PassFraction < 1) {
					t.Fatalf("partial fraction %v not strictly between 0 and 1", res.PassFraction)
				}
				for _, want := range []string{"./conftest.py", "./pytest.ini", "./tests", "./vendor"} {
					if !strings.Contains(strings.Join(rep.Removed, " "), want) {
						t.Errorf("%s not removed: %v", want, rep.Removed)
					}
				}
				if !strings.Contains(rep.Log, "workspace archive: 1 file(s)") {
					t.Errorf("binary file not brought in from the archive:\n%s", rep.Log)
				}
			}
		})
	}
}

func TestCalibrate(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test")
	}
	tk := task(t)
	tk.Doc2Repo.DeclaredTests = refpkg.Count() + 2 // a published count that is off
	rt := sandbox.NewDocker(testenv.Docker(t), sandbox.Options{})
	cal, err := Calibrate(context.Background(), rt, tk, Options{RunID: "doc2repo-test"})
	if err != nil {
		t.Fatalf("calibrate: %v\n%s", err, cal.Log)
	}
	if len(cal.Passed) != refpkg.Count() || len(cal.Excluded) != 0 {
		t.Fatalf("calibration passed %d excluded %d, want %d/0", len(cal.Passed), len(cal.Excluded), refpkg.Count())
	}
	if !strings.Contains(cal.Mismatch, "manifest declares 15 tests, the reference passes 13") {
		t.Fatalf("mismatch = %q", cal.Mismatch)
	}
	if !strings.HasPrefix(cal.Passed[0], "tests/test_intervals.py::") {
		t.Fatalf("ids not pytest node ids: %v", cal.Passed[:2])
	}
	cal.Apply(tk)
	if len(tk.Doc2Repo.DeclaredIDs) != refpkg.Count() {
		t.Fatal("Apply did not set the declared ids")
	}
}

// TestPlainPytest: only a bare pytest over exactly the hidden test paths,
// with output-only flags, is graded by the separated runner.
func TestPlainPytest(t *testing.T) {
	tests := []string{"tests"}
	for cmd, want := range map[string]bool{
		"python3 -m pytest -rA tests":          true,
		"pytest -q --tb=short tests/":          true,
		"python -m pytest tests -v":            true,
		"python3 -m pytest -rA tests/unit":     false, // a subset
		"python3 -m pytest tests -x":           false, // changes what runs
		"python3 -m pytest tests/test_a.py::t": false,
		"python3 -m pytest -rA tests && true":  false,
		"python3 -m pytest -rA":                false,
		"tox -e py":                            false,
		"python3 -m pytest -p mine tests":      false,
	} {
		if got := plainPytest([]string{cmd}, tests); got != want {
			t.Errorf("%q: plain %v, want %v", cmd, got, want)
		}
	}
	if plainPytest([]string{"python3 -m pytest tests"}, nil) {
		t.Error("no hidden test paths: not plain")
	}
}
