package swegrade

import (
	"testing"

	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/testrun"
)

func TestPytestCommand(t *testing.T) {
	for _, c := range []struct {
		cmd, prefix, rest string
		cwd, ok           bool
	}{
		{cmd: "pytest -rA", rest: "-rA", ok: true},
		{cmd: "pytest --no-header -rA", rest: "--no-header -rA", ok: true},
		{cmd: "pytest -rA -vv -o console_output_style=classic --tb=no", rest: "-rA -vv -o console_output_style=classic --tb=no", ok: true},
		{cmd: "LC_ALL=C pytest -rA", prefix: "LC_ALL=C ", rest: "-rA", ok: true},
		{cmd: "python -m pytest -rA", rest: "-rA", cwd: true, ok: true},
		{cmd: "python3 -m pytest", cwd: true, ok: true},
		{cmd: "./tests/runtests.py --verbosity 2"},
		{cmd: "tox --current-env -epy39 -v --"},
		{cmd: "PYTHONWARNINGS='ignore::UserWarning' bin/test -C --verbose"},
		{cmd: "pytest {tests} -rA"}, // a placeholder the runner does not rewrite
	} {
		prefix, rest, cwd, ok := pytestCommand(c.cmd)
		if prefix != c.prefix || rest != c.rest || cwd != c.cwd || ok != c.ok {
			t.Errorf("pytestCommand(%q) = %q, %q, %v, %v; want %q, %q, %v, %v", c.cmd, prefix, rest, cwd, ok, c.prefix, c.rest, c.cwd, c.ok)
		}
	}
}

// TestPlantedStatusInParsedLogs finds planted tests in real log formats:
// sympy's bin/test --verbose names them bare, pytest's -rA by node id.
func TestPlantedStatusInParsedLogs(t *testing.T) {
	sympyLog := `============================= test process starts ==============================
executable:         /usr/bin/python  (3.11.2-final-0) [CPython]
sympy/core/tests/test_basic.py[3] 
test__aresame ok
test_separator_mixed_reduce F
test_structure_basic ok                                                       [FAIL]

________________________________________________________________________________
___ sympy/core/tests/test_basic.py:test_separator_mixed_reduce ___
Traceback (most recent call last):
AssertionError
`
	pytestLog := `=========================== short test summary info ============================
PASSED tests/test_slug.py::test_basic
FAILED tests/test_slug.py::test_edges_dropped - assert 137 == 142
============================== 1 failed, 1 passed in 0.02s ===============================
`
	for _, c := range []struct {
		name   string
		tests  map[string]grade.TestStatus
		pl     testrun.Planted
		want   grade.TestStatus
		wantOK bool
	}{
		{"sympy canary", grade.ParseSympy(sympyLog), testrun.Planted{File: "sympy/core/tests/test_basic.py", Name: "test_separator_mixed_reduce"}, grade.Failed, true},
		{"sympy control", grade.ParseSympy(sympyLog), testrun.Planted{File: "sympy/core/tests/test_basic.py", Name: "test_structure_basic", Kind: testrun.Control}, grade.Passed, true},
		{"sympy missing", grade.ParseSympy(sympyLog), testrun.Planted{File: "sympy/core/tests/test_basic.py", Name: "test_absent"}, "", false},
		{"pytest canary", grade.ParsePytest(pytestLog), testrun.Planted{File: "tests/test_slug.py", Name: "test_edges_dropped"}, grade.Failed, true},
		{"pytest prefix is not a match", grade.ParsePytest(pytestLog), testrun.Planted{File: "tests/test_slug.py", Name: "test_edges"}, "", false},
	} {
		got, ok := plantedStatus(c.tests, c.pl)
		if got != c.want || ok != c.wantOK {
			t.Errorf("%s: plantedStatus = %q, %v; want %q, %v (parsed %v)", c.name, got, ok, c.want, c.wantOK, c.tests)
		}
	}
}

func TestWorkspacePath(t *testing.T) {
	for _, c := range []struct {
		name, want string
		ok         bool
	}{
		{"calc/_gen.py", "calc/_gen.py", true},
		{"./calc/_gen.so", "calc/_gen.so", true},
		{"a/../b.py", "b.py", true},
		{"../etc/passwd", "", false},
		{"/etc/passwd", "", false},
		{"..", "", false},
		{".", "", false},
		{"./.git/config", "", false},
		{".git", "", false},
		{".github/workflows/ci.yml", ".github/workflows/ci.yml", true},
	} {
		got, ok := workspacePath(c.name)
		if got != c.want || ok != c.ok {
			t.Errorf("workspacePath(%q) = %q, %v; want %q, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// TestMergeInstalled: what an install wrote reaches the tests only where
// the model patch's own files could, and never over the test patch.
func TestMergeInstalled(t *testing.T) {
	app := grade.Applied{
		Files:     map[string][]byte{"pkg/mod.py": []byte("fixed"), "tests/test_mod.py": []byte("hidden")},
		Exec:      map[string]bool{},
		Removed:   []string{"pkg/old.py", "pkg/_ext.so"},
		TestFiles: []string{"tests/test_mod.py"},
	}
	got := installed{
		files: map[string][]byte{
			"pkg/_ext.so":            []byte("ELF"),
			"pkg/_version.py":        []byte("v"),
			"pkg/mod.py":             []byte("rebuilt"),
			"tests/test_mod.py":      []byte("forged"),
			"conftest.py":            []byte("forged"),
			"pkg.egg-info/PKG-INFO":  []byte("meta"),
			"pkg/__pycache__/m.pyc":  []byte("bytecode"),
			"setup.cfg":              []byte("[tool:pytest]"),
			"src/zz_forge.pth":       []byte("import os"),
			"pytest/__init__.py":     []byte("shadow"),
			"pkg/sitecustomize.py":   []byte("hook"),
			"docs/_build/index.html": []byte("html"),
		},
		exec: map[string]bool{"pkg/_ext.so": true},
	}
	carried, dropped := mergeInstalled(&app, got, map[string]bool{"tests/test_mod.py": true})
	if carried != 4 {
		t.Errorf("carried %d, want 4 (dropped %v)", carried, dropped)
	}
	for p, want := range map[string]string{"pkg/_ext.so": "ELF", "pkg/_version.py": "v", "pkg/mod.py": "rebuilt", "tests/test_mod.py": "hidden", "docs/_build/index.html": "html"} {
		if string(app.Files[p]) != want {
			t.Errorf("%s = %q, want %q", p, app.Files[p], want)
		}
	}
	for _, p := range []string{"conftest.py", "pkg.egg-info/PKG-INFO", "pkg/__pycache__/m.pyc", "setup.cfg", "src/zz_forge.pth", "pytest/__init__.py", "pkg/sitecustomize.py"} {
		if _, ok := app.Files[p]; ok {
			t.Errorf("%s reached the tests", p)
		}
	}
	if !app.Exec["pkg/_ext.so"] {
		t.Error("pkg/_ext.so lost its mode")
	}
	if len(app.Removed) != 1 || app.Removed[0] != "pkg/old.py" {
		t.Errorf("removed %v, want [pkg/old.py] (the rebuilt extension is back)", app.Removed)
	}
}
