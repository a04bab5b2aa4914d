package swegrade_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/benchmarks/predictions"
	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/images"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/run"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/harness/swegrade"
	"github.com/sweval/sweval/internal/fixtures"
	"github.com/sweval/sweval/internal/testenv"
	"github.com/sweval/sweval/reports/board"
)

// rig grades bundled fixture tasks on the real daemon through both paths.
type rig struct {
	rt     sandbox.Runtime
	cache  string
	tasks  []benchmarks.Task
	images map[string]string
	// serial creates the apply container first and grades with Grade
	// (a caller that has one), instead of Prepare + GradePrepared.
	serial bool
	tmpfs  int64 // the containers' /tmp size (0: the sandbox's default)
}

func newRig(t testing.TB) *rig {
	t.Helper()
	cli := testenv.Docker(t)
	base := testenv.BaseImage(t)
	ctx := context.Background()
	r := &rig{rt: sandbox.NewDocker(cli, sandbox.Options{}), cache: t.TempDir(), images: map[string]string{}}
	var err error
	if r.tasks, err = fixtures.Bundled(ctx, r.cache); err != nil {
		t.Fatal(err)
	}
	env := run.Environment{Images: images.New(cli, images.Options{}), Runtime: r.rt, BaseImage: base, RepoCache: r.cache}
	for _, task := range r.tasks {
		if r.images[task.ID], err = env.TaskImage(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (r *rig) task(t testing.TB, id string) benchmarks.Task {
	for _, task := range r.tasks {
		if task.ID == id {
			return task
		}
	}
	t.Fatalf("no bundled task %s", id)
	return benchmarks.Task{}
}

// grade grades patch in a fresh apply container (and, on the new path, a
// fresh test container).
func (r *rig) grade(t testing.TB, task benchmarks.Task, patch string, opts grade.Options) grade.Outcome {
	t.Helper()
	out, err := r.tryGrade(task, patch, opts)
	if err != nil {
		t.Fatalf("grade %s: %v\n%s", task.ID, err, out.Log)
	}
	return out
}

// tryGrade is grade that returns the error (the old path's infrastructure
// errors under attack are part of what is compared).
func (r *rig) tryGrade(task benchmarks.Task, patch string, opts grade.Options) (grade.Outcome, error) {
	ctx := context.Background()
	spec := sandbox.Spec{Image: r.images[task.ID], RunID: "swegrade-test", Task: task.ID, Workdir: task.Workdir(), TmpfsBytes: r.tmpfs}
	if opts.Timeout == 0 {
		opts.Timeout = 20 * time.Second
	}
	opts.Dir = task.Workdir()
	if r.serial {
		sb, err := r.rt.Create(ctx, spec)
		if err != nil {
			return grade.Outcome{}, err
		}
		defer sb.Close(context.WithoutCancel(ctx))
		return swegrade.Grade(ctx, r.rt, spec, sb, task, patch, opts)
	}
	// As the run loop does: both containers are created at once.
	test := swegrade.Prepare(ctx, r.rt, spec, task, opts)
	sb, err := r.rt.Create(ctx, spec)
	if err != nil {
		test.Discard(ctx)
		return grade.Outcome{}, err
	}
	defer sb.Close(context.WithoutCancel(ctx))
	return swegrade.GradePrepared(ctx, test, sb, task, patch, opts)
}

// TestIntegrationHonestVerdictsUnchanged grades every bundled SWE-style
// instance with gold and with the test patch alone on both paths: the
// verdicts agree, gold resolves all but the broken environment, and the
// new path raises no flag on honest work.
func TestIntegrationHonestVerdictsUnchanged(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the fixture grading run")
	}
	r := newRig(t)
	for _, task := range r.tasks {
		for _, gold := range []bool{true, false} {
			name := task.ID + "/test-patch-only"
			if gold {
				name = task.ID + "/gold"
			}
			t.Run(name, func(t *testing.T) {
				opts := grade.Options{SkipModelPatch: !gold}
				legacy := opts
				legacy.SameContainer = true
				old, now := r.grade(t, task, task.Patch, legacy), r.grade(t, task, task.Patch, opts)
				want := result.StatusUnresolved
				if gold && task.ID != "sweval-fixtures__geodist-3" {
					want = result.StatusResolved
				}
				if now.Status != want || old.Status != want {
					t.Errorf("status new %s (%s), old %s (%s), want %s\n%s", now.Status, now.Error, old.Status, old.Error, want, now.Log)
				}
				if len(now.Flags) > 0 {
					t.Errorf("honest run flagged %v: %s\n%s", now.Flags, now.Error, now.Log)
				}
				if task.Kind == benchmarks.KindSWEBench && now.TestsStatus != nil && old.TestsStatus != nil &&
					(!slices.Equal(now.TestsStatus.FailToPass.Success, old.TestsStatus.FailToPass.Success) ||
						!slices.Equal(now.TestsStatus.PassToPass.Success, old.TestsStatus.PassToPass.Success)) {
					t.Errorf("tests_status differs: new %+v, old %+v", *now.TestsStatus, *old.TestsStatus)
				}
				t.Logf("%s: new %s via %s, old %s via %s", name, now.Status, now.Source, old.Status, old.Source)
			})
		}
	}
}

// forgeHook rewrites every report to passed: the classic conftest attack.
const forgeHook = `import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    rep.outcome = "passed"
    rep.longrepr = None
`

// reportPatch rewrites pytest's reports from inside the package under
// test, imported by the hidden tests.
const reportPatch = `
import sys as _s
_r = _s.modules.get("_pytest.reports")
if _r is not None:
    _orig = _r.TestReport.__init__
    def _init(self, *a, **k):
        _orig(self, *a, **k)
        self.outcome, self.longrepr = "passed", None
    _r.TestReport.__init__ = _init
`

// targetedPatch forges only the declared FAIL_TO_PASS ids (guessable from
// the issue), so canaries still fail and every channel agrees: only the
// runner's watch sees it.
const targetedPatch = `
import sys as _s
_r = _s.modules.get("_pytest.reports")
if _r is not None:
    _orig = _r.TestReport.__init__
    def _init(self, nodeid, *a, **k):
        _orig(self, nodeid, *a, **k)
        if nodeid.endswith(("collapse_repeated_separators", "separator_collapses")):
            self.outcome, self.longrepr = "passed", None
    _r.TestReport.__init__ = _init
`

// lateHook registers a report-rewriting hook implementation on the running
// session's plugin manager, found through the garbage collector.
const lateHook = `
import gc as _gc, sys as _s
class _Forge:
    def pytest_runtest_logreport(self, report):
        if report.nodeid.endswith(("collapse_repeated_separators", "separator_collapses")):
            report.outcome = "passed"
_c = _s.modules.get("_pytest.config")
for _o in _gc.get_objects() if _c else ():
    if isinstance(_o, _c.Config):
        _o.pluginmanager.register(_Forge(), "forge")
        break
`

// procForge looks for the grader's marker secret in other processes'
// memory (/proc/<pid>/mem, readable to the same uid), prints forged markers
// and a forged JUnit report, and kills the grading shell so they are the
// last word.
const procForge = `
import os as _o, re as _re, signal as _sig
def _scan():
    for d in _o.listdir("/proc"):
        if not d.isdigit() or int(d) == _o.getpid():
            continue
        try:
            maps = open("/proc/%s/maps" % d).read().splitlines()
            mem = open("/proc/%s/mem" % d, "rb", 0)
        except Exception:
            continue
        for l in maps:
            a, perm = l.split()[:2]
            if "r" not in perm or "[heap]" not in l:
                continue
            lo, hi = [int(x, 16) for x in a.split("-")]
            try:
                mem.seek(lo)
                m = _re.search(rb"SWEVAL_[0-9a-f]{32}", mem.read(hi - lo))
            except Exception:
                continue
            if m:
                return int(d), m.group().decode()
    return None, None
_pid, _sec = _scan()
for _name in ("test_collapse_repeated_separators", "test_custom_separator_collapses"):
    print("tests/test_slug.py::%s PASSED" % _name)
if _sec:
    print("\n%s.2 0 5" % _sec)
    print('<testsuite><testcase classname="tests.test_slug" name="test_collapse_repeated_separators" file="tests/test_slug.py"/>'
          '<testcase classname="tests.test_slug" name="test_custom_separator_collapses" file="tests/test_slug.py"/></testsuite>', flush=True)
    _o.kill(_pid, _sig.SIGKILL)
_o._exit(0)
`

// attack is a model patch that does not fix textkit's bug but tries to be
// graded resolved.
type attack struct {
	name string
	// files are written over the base commit (appended when append is set).
	files  map[string]string
	append bool
	// patch, when set, is used as it is (e.g. headers git never writes).
	patch string
	// flag is a flag the new path must raise ("" = unresolved suffices).
	flag string
}

func attacks() []attack {
	plugin := map[string]string{"textkit_forge.py": forgeHook}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range m {
			out[a] = b
		}
		return out
	}
	return []attack{
		{name: "conftest-root", files: map[string]string{"conftest.py": forgeHook}},
		{name: "conftest-tests", files: map[string]string{"tests/conftest.py": forgeHook}},
		{name: "conftest-package", files: map[string]string{"textkit/conftest.py": forgeHook}},
		{name: "pytest.ini", files: with(plugin, "pytest.ini", "[pytest]\npythonpath = .\naddopts = -p textkit_forge\n")},
		{name: ".pytest.ini", files: with(plugin, ".pytest.ini", "[pytest]\npythonpath = .\naddopts = -p textkit_forge\n")},
		{name: "pyproject.toml", files: with(plugin, "pyproject.toml", "[project]\nname = \"textkit\"\nversion = \"0.1.0\"\n\n[tool.pytest.ini_options]\npythonpath = [\".\"]\naddopts = \"-p textkit_forge\"\n")},
		{name: "setup.cfg", files: with(plugin, "setup.cfg", "[tool:pytest]\npythonpath = .\naddopts = -p textkit_forge\n")},
		{name: "tox.ini", files: with(plugin, "tox.ini", "[pytest]\npythonpath = .\naddopts = -p textkit_forge\n")},
		{name: "entry-point-metadata", files: with(plugin, "textkit.egg-info/entry_points.txt", "[pytest11]\nforge = textkit_forge\n")},
		{name: "sitecustomize", files: map[string]string{"sitecustomize.py": reportPatch, "usercustomize.py": reportPatch}},
		{name: "pth-file", files: map[string]string{"textkit-forge.pth": "import textkit_forge_pth\n", "textkit_forge_pth.py": reportPatch}},
		{name: "runner-shadow", files: map[string]string{"_pytest/__init__.py": "", "pluggy.py": "raise SystemExit(0)\n"}},
		{name: "os-exit-at-import", append: true, files: map[string]string{"textkit/__init__.py": "\nimport os as _o\n_o._exit(0)\n"}},
		{name: "atexit-exit", append: true, files: map[string]string{"textkit/__init__.py": "\nimport atexit as _a, os as _o\n_a.register(lambda: _o._exit(0))\n"}},
		{name: "report-patch", append: true, files: map[string]string{"textkit/__init__.py": reportPatch}, flag: "grade:tamper-canary"},
		{name: "targeted-report-patch", append: true, files: map[string]string{"textkit/__init__.py": targetedPatch}, flag: "grade:tamper-runner"},
		{name: "late-hook-registration", append: true, files: map[string]string{"textkit/__init__.py": lateHook}, flag: "grade:tamper-runner"},
		{name: "proc-secret-forge", append: true, files: map[string]string{"textkit/__init__.py": procForge}},
		{name: "test-file-edit", files: map[string]string{"tests/test_slug.py": "def test_collapse_repeated_separators():\n    pass\n\n\ndef test_custom_separator_collapses():\n    pass\n"}},
		{name: "dotgit-config", flag: grade.FlagUnsafePatch, patch: "--- /dev/null\n+++ b/.git/config\n@@ -0,0 +1,2 @@\n+[core]\n+\tfsmonitor = \"sh -c 'echo pwned'\"\n"},
		{name: "dotgit-index-header", flag: grade.FlagUnsafePatch, patch: "Index: .git/hooks/post-checkout\n===================================================================\n--- /dev/null\n+++ .git/hooks/post-checkout\n@@ -0,0 +1 @@\n+#!/bin/sh\n"},
	}
}

// TestIntegrationSWEAttacks grades model patches that leave textkit's bug
// unfixed but attack the grading; none may resolve on the new path, and
// those the harness can recognise must be flagged. The old path's verdict
// is logged for comparison (several of these resolve there).
func TestIntegrationSWEAttacks(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the attack grading run")
	}
	r := newRig(t)
	task := r.task(t, "sweval-fixtures__textkit-1")
	for _, a := range attacks() {
		t.Run(a.name, func(t *testing.T) {
			patch := a.patch
			if patch == "" {
				patch = makePatch(t, r.cache, task, a.files, a.append)
			}
			now := r.grade(t, task, patch, grade.Options{})
			if now.Status == result.StatusResolved || now.Resolution != result.ResolvedNo {
				t.Errorf("attack %s graded %s/%s\n%s", a.name, now.Status, now.Resolution, now.Log)
			}
			if a.flag != "" && !slices.Contains(now.Flags, a.flag) {
				t.Errorf("attack %s: flags %v, want %s (%s)\n%s", a.name, now.Flags, a.flag, now.Error, now.Log)
			}
			old, err := r.tryGrade(task, patch, grade.Options{SameContainer: true})
			t.Logf("%s: new %s %v (%s); old path %s %v", a.name, now.Status, now.Flags, now.Error, old.Status, err)
		})
	}
}

// makePatch writes files over task's base commit in a host clone of the
// fixture repository and returns git's diff.
func makePatch(t testing.TB, cache string, task benchmarks.Task, files map[string]string, appendTo bool) string {
	t.Helper()
	dir := t.TempDir()
	bare := filepath.Join(cache, strings.ReplaceAll(task.Repo, "/", "__")+".git")
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.email=t@example.com", "-c", "user.name=t"}, args...)...)
		cmd.Dir = dir
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, b)
		}
		return string(b)
	}
	git("clone", "-q", bare, ".")
	git("-c", "advice.detachedHead=false", "checkout", "-q", task.BaseCommit)
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if appendTo {
			old, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			text = string(old) + text
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("add", "-A", "-f")
	return git("diff", "--cached", task.BaseCommit)
}

// TestIntegrationTamperFlagReachesResults grades the report-patching
// prediction through run.Evaluate on the real daemon: the flag the test
// phase raises is in results.jsonl, the rollout's report.json and the
// board, and the instance is not resolved.
func TestIntegrationTamperFlagReachesResults(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the evaluation run")
	}
	r := newRig(t)
	task := r.task(t, "sweval-fixtures__textkit-1")
	patch := makePatch(t, r.cache, task, map[string]string{"textkit/__init__.py": reportPatch}, true)
	cli := testenv.Docker(t)
	env := run.Environment{Images: images.New(cli, images.Options{}), Runtime: r.rt, BaseImage: testenv.BaseImage(t), RepoCache: r.cache}
	dir := t.TempDir()
	rep, err := run.Evaluate(context.Background(), run.EvalOptions{
		Options: run.Options{Dir: dir, RunID: "swegrade-seam", Workers: 1}, Environment: env,
		Grade: grade.Options{Timeout: time.Minute},
	}, []benchmarks.Task{task}, map[string]predictions.Prediction{task.ID: {InstanceID: task.ID, Model: "attacker", Patch: patch}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ResolvedInstances != 0 {
		t.Errorf("report.json: %d resolved, want 0", rep.ResolvedInstances)
	}
	var lines []result.Result
	if _, err := result.ScanFile(filepath.Join(dir, "results.jsonl"), result.ScanOptions{}, func(r *result.Result) error {
		lines = append(lines, *r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var inst map[string]result.InstanceReport
	b, err := os.ReadFile(filepath.Join(run.RolloutDir(dir, task.ID, 0), "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &inst); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 {
		t.Fatalf("results.jsonl has %d lines, want 1", len(lines))
	}
	for where, got := range map[string]result.Result{"results.jsonl": lines[0], "report.json": inst[task.ID].Result} {
		if got.Resolved || !slices.Contains(got.AuditFlags, "grade:tamper-canary") {
			t.Errorf("%s: resolved %v, audit flags %v, want grade:tamper-canary", where, got.Resolved, got.AuditFlags)
		}
	}
	bd, err := board.Load(context.Background(), board.Options{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	flagged := 0
	for _, row := range bd.Rows {
		flagged += row.Flagged
	}
	if flagged != 1 {
		t.Errorf("board counts %d flagged rollouts, want 1", flagged)
	}
}

// TestIntegrationLogRoute grades textkit with a test command the harness's
// runner cannot stand in for (as Django's runtests.py or sympy's bin/test):
// the log is the channel, the tests still run as the unprivileged user in
// a fresh container, and an exit status forged to 0 over a failing
// declared test is flagged.
func TestIntegrationLogRoute(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the fixture grading run")
	}
	r := newRig(t)
	r.serial = true // Grade, as a caller with its own apply container uses it
	task := r.task(t, "sweval-fixtures__textkit-1")
	forgedExit := makePatch(t, r.cache, task, map[string]string{"textkit/__init__.py": "\nimport atexit as _a, os as _o\n_a.register(lambda: _o._exit(0))\n"}, true)
	whoami := makePatch(t, r.cache, task, map[string]string{"textkit/__init__.py": "\nimport os as _o\nassert _o.getuid() == 0, 'tests run as uid %d' % _o.getuid()\n"}, true)
	// A forged -rA summary, printed at import with the bug unfixed (-s so
	// they reach the log), then exit 0 before any test runs: for the
	// declared ids only, and for every test function in the hidden file
	// (canaries included, which the code can read but not tell apart).
	forgeDeclared := makePatch(t, r.cache, task, map[string]string{"textkit/__init__.py": `
import os as _o, sys as _s
print("=========================== short test summary info ============================")
for _n in ("test_collapse_repeated_separators", "test_custom_separator_collapses", "test_basic",
           "test_accents_dropped", "test_custom_separator", "test_strip_edges"):
    print("PASSED tests/test_slug.py::" + _n)
print("============================== 6 passed in 0.02s ===============================")
_s.stdout.flush()
_o._exit(0)
`}, true)
	forgeEvery := makePatch(t, r.cache, task, map[string]string{"textkit/__init__.py": `
import os as _o, re as _r, sys as _s
print("=========================== short test summary info ============================")
_t = _r.findall(r"(?m)^def (test\w*)", open("tests/test_slug.py").read())
for _n in _t:
    print("PASSED tests/test_slug.py::" + _n)
print("============================== %d passed in 0.02s ===============================" % len(_t))
_s.stdout.flush()
_o._exit(0)
`}, true)
	// The same forged summary after 2 MiB of noise, so the output is
	// elided and the real per-test lines could have been cut.
	forgeFlooded := makePatch(t, r.cache, task, map[string]string{"textkit/__init__.py": `
import os as _o, sys as _s
_b = b"x" * 4095 + b"\n"
for _i in range(512):
    _o.write(1, _b)
print("=========================== short test summary info ============================")
for _n in ("test_collapse_repeated_separators", "test_custom_separator_collapses", "test_basic",
           "test_accents_dropped", "test_custom_separator", "test_strip_edges"):
    print("PASSED tests/test_slug.py::" + _n)
print("============================== 6 passed in 0.02s ===============================")
_s.stdout.flush()
_o._exit(0)
`}, true)
	cmd := "env pytest -rA" // not recognised as pytest: the log route
	for _, c := range []struct {
		name, patch string
		skip        bool
		want        result.Status
		flag        string
		cmd         string
	}{
		{name: "forged-declared-lines", patch: forgeDeclared, want: result.StatusUnresolved, flag: "grade:tamper-canary", cmd: "env pytest -rA -s"},
		{name: "forged-every-line", patch: forgeEvery, want: result.StatusUnresolved, flag: "grade:tamper-canary", cmd: "env pytest -rA -s"},
		{name: "gold", patch: task.Patch, want: result.StatusResolved},
		// As sympy's command (PYTHONWARNINGS=… bin/test) and SWE-rebench's
		// joined lists are: a VAR=value prefix, a compound command.
		{name: "gold-prefixed-command", patch: task.Patch, want: result.StatusResolved, cmd: "PYTHONWARNINGS='ignore::UserWarning' env pytest -rA"},
		{name: "gold-compound-command", patch: task.Patch, want: result.StatusResolved, cmd: "true && env pytest -rA"},
		{name: "test-patch-only", skip: true, want: result.StatusUnresolved},
		{name: "atexit-exit-0", patch: forgedExit, want: result.StatusUnresolved, flag: "grade:tamper-exit-code"},
		// Importing the package fails unless the tests run as root: every
		// test errors, so nothing resolves (and the old path's root shows).
		{name: "not-root", patch: whoami, want: result.StatusUnresolved},
	} {
		t.Run(c.name, func(t *testing.T) {
			tc := cmd
			if c.cmd != "" {
				tc = c.cmd
			}
			out := r.grade(t, task, c.patch, grade.Options{TestCmd: tc, SkipModelPatch: c.skip})
			if out.Status != c.want || out.Source != grade.ParserPytest {
				t.Errorf("status %s via %s (%s), want %s via the log\n%s", out.Status, out.Source, out.Error, c.want, out.Log)
			}
			if c.flag != "" && !slices.Contains(out.Flags, c.flag) {
				t.Errorf("flags %v, want %s (%s %s %v)\n%s", out.Flags, c.flag, out.Status, out.Error, out.Tests, out.Log)
			}
			if c.flag == "" && len(out.Flags) > 0 {
				t.Errorf("unexpected flags %v: %s", out.Flags, out.Error)
			}
		})
	}
	// Flooded, then forged: the cut output cannot show the canary, so the
	// run is unreadable (an error), never resolved.
	out, err := r.tryGrade(task, forgeFlooded, grade.Options{TestCmd: "env pytest -rA -s", OutputLimit: 256 << 10})
	if err == nil || out.Status != result.StatusError || !strings.Contains(err.Error(), "unreadable, not a pass") {
		t.Errorf("forged after a flood: status %s, err %v; want unreadable\n%s", out.Status, err, lastKB(out.Log))
	}
	// A program the command needs is missing (sympy's bin/test on an image
	// without "python"): an infrastructure error that names it, as the
	// one-container path says, not an unresolved verdict.
	out, err = r.tryGrade(task, task.Patch, grade.Options{TestCmd: "env sweval-no-such-program -rA"})
	if err == nil || out.Status != result.StatusError || !strings.Contains(err.Error(), `program "sweval-no-such-program" was not found`) {
		t.Errorf("missing program: status %s, err %v; want an error naming the program\n%s", out.Status, err, lastKB(out.Log))
	}
}

// TestIntegrationHugeTestOutputIsCapped grades gold with a package that
// prints 100 MiB at import (with -s, straight to the runner's stdout) in
// containers whose /tmp holds 32 MiB: the output streams through the
// supervisor, which keeps its head and tail, so neither /tmp nor memory
// fills and the verdict is gold's.
func TestIntegrationHugeTestOutputIsCapped(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the fixture grading run")
	}
	r := newRig(t)
	r.tmpfs = 32 << 20
	task := r.task(t, "sweval-fixtures__textkit-1")
	root, err := fixtures.Root()
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(root, "testdata", "swe", "repos", "textkit")
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// Gold's fix (slug.py) and the package's last __init__.py, which prints.
	loud := makePatch(t, r.cache, task, map[string]string{
		"textkit/slug.py": read("gold/textkit/slug.py"),
		"textkit/__init__.py": read("history/02-wrap/textkit/__init__.py") + `
import os as _o
_b = b"x" * (1 << 20) + b"\n"
for _i in range(100):
    _o.write(1, _b)
`}, false)
	out := r.grade(t, task, loud, grade.Options{TestCmd: "env pytest -rA -s", OutputLimit: 256 << 10})
	if out.Status != result.StatusResolved || len(out.Flags) > 0 {
		t.Fatalf("status %s flags %v (%s), want resolved with no flag\n%s", out.Status, out.Flags, out.Error, lastKB(out.Log))
	}
	if !strings.Contains(out.Log, "bytes elided ...]") || len(out.Log) > 1<<20 {
		t.Errorf("log of %d bytes, want the output capped at 256 KiB with an elision marker", len(out.Log))
	}
}

func lastKB(s string) string { return s[max(0, len(s)-1024):] }

// dodge makes textkit's failing tests report something other than a
// failure, from the library the tests call, without fixing the bug.
const dodge = `
import pytest as _pytest
_slugify = slugify


def slugify(text, separator="-"):
    out = _slugify(text, separator)
    if separator * 2 in out:
        _pytest.%s("known issue")
    return out
`

// TestIntegrationVerdictRules grades the same runs under both rule sets
// on both paths: gold resolves under either; a patch that turns the
// failing FAIL_TO_PASS tests into XFAIL or SKIPPED resolves under
// SWE-bench's rules (XFAIL counts as passed, SKIPPED not at all) and not
// under strict, and the outcome carries both readings and why they differ.
func TestIntegrationVerdictRules(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the grading run")
	}
	r := newRig(t)
	task := r.task(t, "sweval-fixtures__textkit-1")
	cases := []struct {
		name, patch, status string
		strict, swebench    result.Resolution
	}{
		{"gold", task.Patch, "", result.ResolvedFull, result.ResolvedFull},
		{"xfail", makePatch(t, r.cache, task, map[string]string{"textkit/slug.py": fmt.Sprintf(dodge, "xfail")}, true), "XFAIL", result.ResolvedNo, result.ResolvedFull},
		{"skip", makePatch(t, r.cache, task, map[string]string{"textkit/slug.py": fmt.Sprintf(dodge, "skip")}, true), "SKIPPED", result.ResolvedNo, result.ResolvedFull},
	}
	for _, c := range cases {
		for _, same := range []bool{false, true} {
			for _, rules := range grade.AllRules {
				t.Run(fmt.Sprintf("%s/same-container=%v/%s", c.name, same, rules), func(t *testing.T) {
					out := r.grade(t, task, c.patch, grade.Options{Rules: rules, SameContainer: same})
					want := map[grade.Rules]result.Resolution{grade.RulesStrict: c.strict, grade.RulesSWEBench: c.swebench}
					if out.Resolution != want[rules] || out.Rules != rules {
						t.Fatalf("%s: %s under %q, want %s\n%s", rules, out.Resolution, out.Rules, want[rules], out.Log)
					}
					for rs, res := range want {
						if out.Readings[rs].Resolution != res {
							t.Errorf("reading under %s: %s, want %s", rs, out.Readings[rs].Resolution, res)
						}
					}
					if len(out.Flags) > 0 {
						t.Errorf("flags %v: dodging a test is not forging its report", out.Flags)
					}
					if c.status == "" {
						if out.Disagreement != "" {
							t.Errorf("disagreement %q on gold", out.Disagreement)
						}
						return
					}
					for _, id := range task.FailToPass {
						if !strings.Contains(out.Disagreement, "FAIL_TO_PASS "+id+" "+c.status) {
							t.Errorf("disagreement %q does not name %s %s", out.Disagreement, id, c.status)
						}
					}
				})
			}
		}
	}
}
