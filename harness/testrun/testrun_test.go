package testrun

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
)

var iniconf = filepath.Join("..", "..", "testdata", "doc2repo", "iniconf")

// readDir maps the files under dir (relative, slash paths) to their bytes,
// skipping paths under skip.
func readDir(t *testing.T, dir, skip string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			if e.Name() == "__pycache__" || (skip != "" && rel == skip) {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tarOf(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	m := map[string]entry{}
	for n, b := range files {
		m[n] = entry{data: b, mode: 0o644}
	}
	return writeTar(m)
}

func hiddenTests(t *testing.T) map[string][]byte {
	t.Helper()
	h := map[string][]byte{}
	for n, b := range readDir(t, filepath.Join(iniconf, "reference", "tests"), "") {
		h["tests/"+n] = b
	}
	return h
}

func with(base map[string][]byte, extra map[string]string) map[string][]byte {
	out := map[string][]byte{}
	for n, b := range base {
		out[n] = b
	}
	for n, s := range extra {
		if s == "" {
			delete(out, n)
			continue
		}
		out[n] = []byte(s)
	}
	return out
}

func passed(m map[string]grade.TestStatus) int {
	n := 0
	for _, s := range m {
		if s == grade.Passed {
			n++
		}
	}
	return n
}

// stubInit is an iniconf that implements nothing.
const stubInit = "def parse(*a, **k):\n    raise NotImplementedError\n"

func TestRunAttacks(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test")
	}
	img := testenv.BaseImage(t)
	rt := sandbox.NewDocker(testenv.Docker(t), sandbox.Options{})
	ref := readDir(t, filepath.Join(iniconf, "reference"), "tests")
	partial := readDir(t, filepath.Join(iniconf, "partial"), "")
	stub := with(partial, map[string]string{"iniconf/__init__.py": stubInit})
	// Tampering rides on the partial package: its module imports, so the
	// hidden tests collect and the tampering code runs in the test process.
	pinit := string(partial["iniconf/__init__.py"])
	for _, c := range []struct {
		name      string
		ws        map[string][]byte
		minPassed int
		maxPassed int
		flag      string // "" = no flag allowed
		install   string // substring of the install failure, "" = installs
	}{
		{name: "reference", ws: ref, minPassed: 63, maxPassed: 63},
		{name: "partial", ws: partial, minPassed: 13, maxPassed: 13},
		{name: "stub", ws: stub, maxPassed: 0},
		{name: "report-monkeypatch", ws: with(stub, map[string]string{"iniconf/__init__.py": pinit + `
import _pytest.reports as _r
_orig = _r.TestReport.from_item_and_call
def _f(item, call):
    rep = _orig(item, call)
    rep.outcome = "passed"
    return rep
_r.TestReport.from_item_and_call = staticmethod(_f)
`}), flag: "grade:tamper-"},
		{name: "exit-forging", ws: with(stub, map[string]string{"iniconf/__init__.py": pinit + `
import atexit, os
atexit.register(lambda: os._exit(0))
import builtins
getattr(__import__("b" + "uiltins"), "__import__")("o" + "s").register_at_fork
`}), minPassed: 13, maxPassed: 13}, // the bootstrap exits before atexit hooks: what it earned, nothing more
		{name: "encoded-terminal-patch", ws: with(stub, map[string]string{"iniconf/__init__.py": pinit + `
import importlib, base64
_t = importlib.import_module(base64.b64decode("X3B5dGVzdC5yZXBvcnRz").decode())
_c = getattr(_t, "Test" + "Report")
_o = _c.__init__
def _i(self, *a, **k):
    _o(self, *a, **k)
    self.outcome = "passed"
setattr(_c, "__init__", _i)
`}), flag: "grade:tamper-canary"},
		// The runner's own channels: its status stream, its process and
		// the reports it keeps. The partial package earns its 13 tests and
		// nothing more, unflagged, so the runner saw every file through.
		{name: "runner-forging", ws: with(stub, map[string]string{"iniconf/__init__.py": pinit + `
import os, json, glob, signal
_forged = "sweval-run " + json.dumps({"file": "tests/test_parse.py", "exit": 0, "signal": 0, "timed_out": False, "seconds": 0}) + "\n"
for _fd in glob.glob("/proc/[0-9]*/fd/*"):
    if _fd.split("/")[2] == str(os.getpid()):
        continue
    try:
        with open(_fd, "a") as _f:
            _f.write(_forged)
    except OSError:
        pass
for _s in (signal.SIGSTOP, signal.SIGKILL):
    try:
        os.kill(os.getppid(), _s)
    except OSError:
        pass
for _d in glob.glob("/tmp/.sweval-o/done-*"):
    try:
        open(os.path.join(_d, "records.jsonl"), "w").write("")
    except OSError:
        pass
`}), minPassed: 13, maxPassed: 13},
		// A daemon that outlives its own file and rewrites the records of
		// the files run after it (its own would be caught by the canary):
		// no process survives into the next file.
		// Waits until a test is running (pytest sets PYTEST_CURRENT_TEST),
		// so the canaries may already have failed honestly, then forces
		// every later report to passed: only the runner's watch sees it.
		{name: "late-thread-patch", ws: with(stub, map[string]string{"iniconf/__init__.py": pinit + `
import os, sys, threading, time
def _late():
    while "PYTEST_CURRENT_TEST" not in os.environ:
        time.sleep(0.001)
    _k = sys.modules["_pytest.reports"].TestReport
    _o = _k.__init__
    def _i(self, *a, **k):
        _o(self, *a, **k)
        self.outcome = "passed"
    _k.__init__ = _i
threading.Thread(target=_late, daemon=True).start()
`}), maxPassed: 13, flag: "grade:tamper-runner"},
		{name: "records-daemon", ws: with(stub, map[string]string{"iniconf/__init__.py": pinit + `
import sys, subprocess
subprocess.Popen([sys.executable, "-c", """
import glob, json, os, re, time
mine = max((int(re.search(r"run-(\\d+)", p).group(1)) for p in glob.glob("/tmp/.sweval-o/run-*/records.jsonl")), default=-1)
for _ in range(1200):
    for p in glob.glob("/tmp/.sweval-o/run-*/records.jsonl"):
        if int(re.search(r"run-(\\d+)", p).group(1)) <= mine:
            continue
        try:
            lines = [json.loads(l) for l in open(p)]
            for r in lines:
                if "outcome" in r:
                    r["outcome"] = "passed"
            open(p, "w").write("".join(json.dumps(r) + "\\n" for r in lines))
        except Exception:
            pass
    time.sleep(0.02)
"""], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
`}), minPassed: 13, maxPassed: 13},
		{name: "extra-tests", ws: with(partial, map[string]string{"tests/test_extra.py": "def test_extra():\n    assert True\n", "tests/test_more.py": "def test_more():\n    assert True\n"}), minPassed: 13, maxPassed: 13},
		{name: "root-conftest", ws: with(stub, map[string]string{"conftest.py": `
import pytest
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    o = yield
    r = o.get_result()
    r.outcome = "passed"
`, "pytest.ini": "[pytest]\naddopts = -p no:junitxml\n", "pyproject.toml": string(partial["pyproject.toml"]) + "\n[tool.pytest.ini_options]\naddopts = '-k nothing'\n"}), maxPassed: 0},
		{name: "setup-writes-sitecustomize", ws: with(stub, map[string]string{"setup.py": `
import os, glob, subprocess
for d in glob.glob("/usr/lib/python3*/") + glob.glob("/usr/lib/python3/dist-packages/") + ["/etc/"]:
    try:
        open(os.path.join(d, "sitecustomize.py"), "w").write("import os\n")
    except OSError:
        pass
subprocess.Popen(["sh", "-c", "sleep 1000"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
from setuptools import setup
setup()
`}), maxPassed: 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			out, err := Run(ctx, rt, Plan{Image: img, RunID: "testrun-test", Task: "iniconf", Workspace: tarOf(t, c.ws), Install: true, Hidden: hiddenTests(t), Seed: uint64(len(c.name))})
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out.Log)
			}
			n := passed(out.Tests)
			t.Logf("%s: passed %d, flags %v, install %q, evidence %v, dropped %v", c.name, n, out.Flags, out.Install, out.Evidence, out.Dropped)
			if out.Install != "" && c.install == "" {
				t.Fatalf("install failed: %s\n%s", out.Install, out.Log)
			}
			if n < c.minPassed || n > c.maxPassed {
				t.Errorf("passed %d, want %d..%d\n%s", n, c.minPassed, c.maxPassed, tail(out.Log))
			}
			switch {
			case c.flag == "" && len(out.Flags) > 0:
				t.Errorf("flags %v on %s, want none: %v", out.Flags, c.name, out.Evidence)
			case c.flag != "" && !strings.Contains(strings.Join(out.Flags, " "), c.flag):
				t.Errorf("flags %v, want %s", out.Flags, c.flag)
			}
		})
	}
}

func tail(s string) string {
	if len(s) > 6000 {
		return s[len(s)-6000:]
	}
	return s
}

var _ = tar.TypeReg
var _ = bytes.NewReader

// TestRunBundledReferences: every bundled Doc2Repo reference scores all its
// declared tests with no flag on the separated runner.
func TestRunBundledReferences(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test")
	}
	img := testenv.BaseImage(t)
	rt := sandbox.NewDocker(testenv.Docker(t), sandbox.Options{})
	for _, c := range []struct {
		task     string
		declared int
	}{{"iniconf", 63}, {"unitconv", 73}} {
		t.Run(c.task, func(t *testing.T) {
			dir := filepath.Join("..", "..", "testdata", "doc2repo", c.task, "reference")
			hidden := map[string][]byte{}
			for n, b := range readDir(t, filepath.Join(dir, "tests"), "") {
				hidden["tests/"+n] = b
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			out, err := Run(ctx, rt, Plan{Image: img, RunID: "testrun-test", Task: c.task, Workspace: tarOf(t, readDir(t, dir, "tests")), Install: true, Hidden: hidden, Seed: 7})
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out.Log)
			}
			if n := passed(out.Tests); n != c.declared || len(out.Flags) > 0 || out.Install != "" {
				t.Fatalf("passed %d/%d, flags %v %v, install %q\n%s", n, c.declared, out.Flags, out.Evidence, out.Install, tail(out.Log))
			}
		})
	}
}
