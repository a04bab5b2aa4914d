package swegrade

import (
	"slices"
	"testing"
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

func TestIntegrity(t *testing.T) {
	recs := []byte(`{"id": "t.py::a", "when": "call", "outcome": "passed", "xfail": false}
{"integrity": "TestReport.__init__"}
not json
{"integrity": "hook pytest_runtest_logreport: forge"}
{"exit": 1}
`)
	got := integrity(recs)
	want := []string{"TestReport.__init__", "hook pytest_runtest_logreport: forge"}
	if !slices.Equal(got, want) {
		t.Errorf("integrity = %q, want %q", got, want)
	}
	if got := integrity([]byte(`{"exit": 1}`)); len(got) != 0 {
		t.Errorf("integrity of a clean run = %q", got)
	}
}
