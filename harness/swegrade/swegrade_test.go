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
