package grade

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/sweval/sweval/benchmarks"
)

func TestBuildEvalScript(t *testing.T) {
	tp := "diff --git a/tests/test_x.py b/tests/test_x.py\n--- a/tests/test_x.py\n+++ b/tests/test_x.py\n@@ -1 +1 @@\n-a\n+b\n" +
		"diff --git a/tests/test_new $(id).py b/tests/test_new $(id).py\nnew file mode 100644\n--- /dev/null\n+++ b/tests/test_new $(id).py\n@@ -0,0 +1 @@\n+x\n"
	s, err := BuildEvalScript(ScriptInput{
		Dir: "/testbed", BaseCommit: "abc123", TestPatch: tp, TestPatchPath: "/tmp/sweval-grade/t.diff",
		Spec: DefaultSpec, JUnitPath: "/tmp/sweval-grade/j.xml",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"git_ checkout abc123 -- tests/test_x.py",
		"rm -rf -- 'tests/test_new $(id).py'",
		"git_ apply --verbose /tmp/sweval-grade/t.diff || {",
	} {
		if !strings.Contains(s.Prepare, want) {
			t.Errorf("Prepare lacks %q:\n%s", want, s.Prepare)
		}
	}
	if want := "pytest -rA --junitxml=/tmp/sweval-grade/j.xml -o junit_family=xunit1 tests/test_x.py 'tests/test_new $(id).py'"; s.TestCommand != want {
		t.Errorf("TestCommand = %s\nwant %s", s.TestCommand, want)
	}
	if strings.Contains(s.Reset, "apply") || !strings.Contains(s.Reset, "rm -rf -- 'tests/test_new $(id).py'") {
		t.Errorf("Reset:\n%s", s.Reset)
	}
	full := s.Full()
	for _, want := range []string{StartTestOutput, EndTestOutput, "SWEVAL_TEST_EXIT_CODE=$?"} {
		if !strings.Contains(full, want) {
			t.Errorf("Full lacks %q", want)
		}
	}
}

func TestBuildEvalScriptVariants(t *testing.T) {
	tp := "diff --git a/tests/auth_tests/test_validators.py b/tests/auth_tests/test_validators.py\n--- a/tests/auth_tests/test_validators.py\n+++ b/tests/auth_tests/test_validators.py\n@@ -1 +1 @@\n-a\n+b\n"
	dj, err := ResolveSpec(benchmarks.Task{ID: "django__django-11099", Repo: "django/django", Version: "3.0"}, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := BuildEvalScript(ScriptInput{BaseCommit: "b", TestPatch: tp, TestPatchPath: "/p", Spec: dj, JUnitPath: "/j.xml"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1 auth_tests.test_validators"; s.TestCommand != want {
		t.Errorf("django: %s", s.TestCommand)
	}
	if !strings.Contains(s.Test, "export LANG=en_US.UTF-8") {
		t.Errorf("django env missing:\n%s", s.Test)
	}
	// {tests} placeholder and a task's own test_cmd / log_parser.
	task := benchmarks.Task{ID: "x", Repo: "o/r", Install: &benchmarks.InstallConfig{TestCmd: "python -m pytest -q {tests} -rA", LogParser: "parse_log_pytest_v2"}}
	sp, err := ResolveSpec(task, "")
	if err != nil || sp.Parser != ParserPytest {
		t.Fatalf("ResolveSpec: %+v %v", sp, err)
	}
	s, _ = BuildEvalScript(ScriptInput{BaseCommit: "b", TestPatch: tp, TestPatchPath: "/p", Spec: sp, JUnitPath: "/j.xml"})
	if want := "python -m pytest -q --junitxml=/j.xml -o junit_family=xunit1 tests/auth_tests/test_validators.py -rA"; s.TestCommand != want {
		t.Errorf("placeholder: %s", s.TestCommand)
	}
	// CLI override beats the task.
	sp, _ = ResolveSpec(task, "make test")
	if sp.TestCmd != "make test" {
		t.Errorf("override: %+v", sp)
	}
	// Bad log_parser names the task and field.
	_, err = ResolveSpec(benchmarks.Task{ID: "bad-1", Install: &benchmarks.InstallConfig{LogParser: "cobol"}}, "")
	if err == nil || !strings.Contains(err.Error(), "bad-1") || !strings.Contains(err.Error(), "install_config.log_parser") {
		t.Errorf("bad parser error: %v", err)
	}
	// Paths that leave the repository are refused.
	evil := "diff --git a/../../etc/passwd b/../../etc/passwd\n--- a/../../etc/passwd\n+++ b/../../etc/passwd\n"
	if _, err := BuildEvalScript(ScriptInput{BaseCommit: "b", TestPatch: evil, Spec: DefaultSpec}); err == nil {
		t.Error("path traversal accepted")
	}
}

func TestSpecTable(t *testing.T) {
	if len(KnownRepos()) != 12 {
		t.Errorf("%d repos in the table, want the 12 SWE-bench Lite/Verified ones", len(KnownRepos()))
	}
	if s := SpecFor("sympy/sympy", "1.7"); !strings.Contains(s.TestCmd, "bin/test -C --verbose") || s.Parser != ParserSympy {
		t.Errorf("sympy: %+v", s)
	}
	if s := SpecFor("django/django", "1.9"); strings.Contains(s.TestCmd, "--parallel") {
		t.Errorf("django 1.9: %+v", s)
	}
	if s := SpecFor("sweval-fixtures/calc", ""); s.TestCmd != "pytest -rA" || s.Parser != ParserPytest {
		t.Errorf("default: %+v", s)
	}
}

func TestDropBinary(t *testing.T) {
	text := "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n"
	bin1 := "diff --git a/img.png b/img.png\nnew file mode 100644\nindex 0000000..1111111\nBinary files /dev/null and b/img.png differ\n"
	bin2 := "diff --git a/blob.bin b/blob.bin\nindex 1111111..2222222 100644\nGIT binary patch\nliteral 4\nLcmZ?wbN>Nd\n\nliteral 0\nKcmV+b0RR6000031\n\n"
	sub := "diff --git a/vendor/x b/vendor/x\nnew file mode 160000\nindex 0000000..3333333\n--- /dev/null\n+++ b/vendor/x\n@@ -0,0 +1 @@\n+Subproject commit 3333333\n"
	// A text file whose content mentions the markers is kept.
	tricky := "diff --git a/notes.txt b/notes.txt\n--- a/notes.txt\n+++ b/notes.txt\n@@ -1 +1,2 @@\n x\n+Binary files a and b differ\n"
	tests := []struct{ in, want string }{
		{"", ""},
		{text, text},
		{bin1, ""},
		{text + bin1 + text, text + text},
		{bin2 + text, text},
		{text + sub, text},
		{tricky + bin2, tricky},
	}
	for i, tc := range tests {
		if got := DropBinary(tc.in); got != tc.want {
			t.Errorf("case %d: got\n%s\nwant\n%s", i, got, tc.want)
		}
	}
}

// Pre-test commands run in the shell the tests run in: an export reaches
// the test command, a failing command stops with exit 99 and its output.
func TestPreTestScript(t *testing.T) {
	cases := []struct {
		name string
		cmds []string
		code int
		want string
	}{
		{"exports reach the tests", []string{"export SWEVAL_LOCALE='en_US.UTF-8'", "  ", "cd /"}, 0, "locale=en_US.UTF-8 in /"},
		{"a failure stops", []string{"false", "echo not reached"}, 99, "sweval: the pre-test command failed (exit 1)"},
		{"quoting survives", []string{`printf '%s\n' "it's \"quoted\" \$HOME"`}, 0, `it's "quoted" $HOME`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			script := PreTestScript(c.cmds) + `echo "locale=${SWEVAL_LOCALE:-} in $PWD"` + "\n"
			out, err := exec.Command("bash", "-c", script).CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.code || !strings.Contains(string(out), c.want) {
				t.Errorf("exit %d, output %q; want exit %d and %q", code, out, c.code, c.want)
			}
		})
	}
}
