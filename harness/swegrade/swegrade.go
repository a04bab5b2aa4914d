package swegrade

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/harness/testrun"
)

// User is the uid:gid the tests run as (testrun's).
const User = testrun.User

// Fixed paths of the test container.
const (
	outDir  = "/tmp/.sweval-o" // root-made 0777: the records and JUnit report
	homeDir = "/tmp/.sweval-home"
)

// layoutTimeout bounds the root steps of the test phase.
const layoutTimeout = 5 * time.Minute

// Grade grades patch for task. sb is a fresh container of the task's image
// for the apply phase; the tests run in another one that rt creates from
// testSpec (the same image, worker cpuset and labels), started while the
// patch is applied and closed before Grade returns. The caller closes sb. With opts.SameContainer, or for an OpenSWE
// row with its own eval script, it is grade.Grade in sb (the old path).
// The error contract is grade.Grade's.
func Grade(ctx context.Context, rt sandbox.Runtime, testSpec sandbox.Spec, sb sandbox.Sandbox, task benchmarks.Task, patch string, opts grade.Options) (grade.Outcome, error) {
	if opts.SameContainer || task.Kind == benchmarks.KindOpenSWE && strings.TrimSpace(task.EvalScript) != "" {
		return grade.Grade(ctx, sb, task, patch, opts)
	}
	if opts.Dir == "" {
		opts.Dir = "/testbed"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = grade.DefaultTimeout
	}
	// The test container starts while the patch is applied: it is fresh
	// and holds nothing of the apply phase until the changed files go in.
	testSpec.ReadOnly = false // the applied files are laid in as root first
	created := make(chan createResult, 1)
	go func() {
		tsb, err := rt.Create(ctx, testSpec)
		created <- createResult{tsb, err}
	}()
	app, out, done, err := grade.ApplyPhase(ctx, sb, task, patch, opts)
	c := <-created
	if c.sb != nil {
		defer c.sb.Close(context.WithoutCancel(ctx))
	}
	if !done {
		return out, err
	}
	if c.err != nil {
		return grade.Infra(out, fmt.Errorf("task %s: create the test container: %w", task.ID, c.err))
	}
	return testPhase(ctx, c.sb, task, app, opts, out)
}

type createResult struct {
	sb  sandbox.Sandbox
	err error
}

// runPlan is how the test phase runs one task.
type runPlan struct {
	pytest  bool
	cmdLine string // bash text; $1 is the bootstrap, $2 the output directory
	planted []testrun.Planted
	files   map[string][]byte
}

func testPhase(ctx context.Context, tsb sandbox.Sandbox, task benchmarks.Task, app grade.Applied, opts grade.Options, out grade.Outcome) (grade.Outcome, error) {
	var log strings.Builder
	log.WriteString(out.Log)
	plan, err := makePlan(app, task.Repo, opts)
	if err != nil {
		return grade.Infra(out, fmt.Errorf("task %s: %w", task.ID, err))
	}
	if err := layOut(ctx, tsb, app, plan, opts.Dir, &log); err != nil {
		out.Log = log.String()
		return grade.Infra(out, fmt.Errorf("task %s: %w", task.ID, err))
	}
	env := append([]string{"HOME=" + homeDir, "PYTHONDONTWRITEBYTECODE=1"}, app.Spec.Env...)
	res, err := tsb.Exec(ctx, sandbox.ExecRequest{
		Cmd: []string{"bash", "-c", plan.cmdLine, "sweval", bootstrap, outDir},
		Dir: opts.Dir, Env: env, User: User,
		Timeout: opts.Timeout, OutputLimit: opts.OutputLimit,
	})
	if err != nil {
		out.Log = log.String()
		return grade.Infra(out, fmt.Errorf("task %s: run the tests: %w", task.ID, err))
	}
	code := res.ExitCode
	out.TestExitCode, out.TimedOut, out.TestDuration = &code, res.TimedOut, res.Duration
	fmt.Fprintf(&log, "+ %s (as %s, in a fresh container)\n%s\n", app.Script.TestCommand, User, grade.StartTestOutput)
	log.Write(res.Output)
	if len(res.Output) > 0 && !bytes.HasSuffix(res.Output, []byte("\n")) {
		log.WriteByte('\n')
	}
	fmt.Fprintf(&log, "%s\nSWEVAL_TEST_EXIT_CODE=%d\n", grade.EndTestOutput, code)
	finish := func(o grade.Outcome, err error) (grade.Outcome, error) {
		o.Log = log.String()
		return o, err
	}
	switch {
	case res.TimedOut:
		out.Status, out.Error = result.StatusUnresolved, "timeout"
		return finish(out, nil)
	case res.OOMKilled:
		out.Status, out.Error = result.StatusUnresolved, "test run killed: out of memory"
		return finish(out, nil)
	}
	if !plan.pytest {
		return finish(logRoute(out, task, app, res, &log))
	}
	recs, rerr, junit, jerr := readRun(ctx, tsb)
	var tro testrun.Outcome
	testrun.Check("the test run", res, recs, rerr, junit, jerr, plan.planted, &tro)
	out.Source = "plugin"
	for _, b := range integrity(recs) {
		tro.Flags = appendOnce(tro.Flags, "grade:tamper-runner")
		tro.Evidence = append(tro.Evidence, "runner: changed during the run: "+b)
	}
	if tro.Tampered() {
		out.Flags = append(out.Flags, tro.Flags...)
		fmt.Fprintf(&log, ">>>>> Tampering: %s\n", strings.Join(tro.Evidence, "; "))
		grade.ScoreTests(&out, task, app.Spec, nil)
		out.Status, out.Resolution = result.StatusUnresolved, result.ResolvedNo
		out.Error = "grading detected tampering: " + strings.Join(tro.Evidence, "; ")
		return finish(out, nil)
	}
	if len(tro.Tests) == 0 && (code == 126 || code == 127 || code == 4) {
		// 126/127: no interpreter; 4: pytest refused the command line.
		return finish(grade.Infra(out, fmt.Errorf("task %s: the test runner could not start (exit %d): %s", task.ID, code, lastLines(res.Output, 5))))
	}
	grade.ScoreTests(&out, task, app.Spec, tro.Tests)
	return finish(out, nil)
}

// logRoute scores a run whose printed log is the only channel (a test
// command that is not pytest), cross-checked with the exit code observed
// through exec: exit 0 while a declared test is reported failing means
// the exit status was forged.
func logRoute(out grade.Outcome, task benchmarks.Task, app grade.Applied, res sandbox.ExecResult, log *strings.Builder) (grade.Outcome, error) {
	tests := grade.ParseLog(app.Spec, string(res.Output))
	out.Source = app.Spec.Parser
	grade.ScoreTests(&out, task, app.Spec, tests)
	if res.ExitCode == 0 && out.TestsStatus != nil {
		var failing []string
		for _, id := range append(append([]string{}, out.TestsStatus.FailToPass.Failure...), out.TestsStatus.PassToPass.Failure...) {
			if s, ok := out.Tests[id]; ok && (s == grade.Failed || s == grade.Error) {
				failing = append(failing, id)
			}
		}
		if len(failing) > 0 {
			out.Flags = append(out.Flags, "grade:tamper-exit-code")
			ev := fmt.Sprintf("exit-code: exit 0 observed, but the log reports %d declared test(s) failing (%s)", len(failing), strings.Join(failing[:min(3, len(failing))], ", "))
			fmt.Fprintf(log, ">>>>> Tampering: %s\n", ev)
			out.Status, out.Resolution, out.Error = result.StatusUnresolved, result.ResolvedNo, "grading detected tampering: "+ev
		}
	}
	return out, nil
}

// makePlan chooses the runner and plants the canaries.
func makePlan(app grade.Applied, repo string, opts grade.Options) (runPlan, error) {
	plan := runPlan{files: map[string][]byte{}}
	for p, b := range app.Files {
		plan.files[p] = b
	}
	cmd := app.Script.TestCommand
	prefix, rest, cwdOnPath, ok := pytestCommand(app.Spec.TestCmd)
	if !ok || opts.NoJUnit {
		// Not pytest: the task's command as it is, its log the channel.
		plan.cmdLine = "exec " + cmd + "\n"
		return plan, nil
	}
	plan.pytest = true
	var seed [8]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails
	s := binary.LittleEndian.Uint64(seed[:])
	rng := mrand.New(mrand.NewPCG(s, s^0x5eeda1))
	for _, d := range app.Script.Directives {
		b, ok := plan.files[d]
		if !ok || !strings.HasSuffix(d, ".py") {
			continue
		}
		nb, planted := testrun.Plant(rng, d, b)
		plan.files[d] = nb
		plan.planted = append(plan.planted, planted...)
	}
	cwd, watch := "-", "+"
	if cwdOnPath {
		cwd = "+"
	}
	if repo == "pytest-dev/pytest" {
		// The runner is the code under test: its own tests patch it.
		watch = "-"
	}
	// The interpreter is the one the task's pytest runs on (its shebang),
	// root's like the script itself.
	var c strings.Builder
	c.WriteString(`PY=python3; P=$(command -v pytest 2>/dev/null) && L=$(head -n1 -- "$P") && case $L in '#!'*) PY=${L#\#!};; esac` + "\n")
	fmt.Fprintf(&c, "exec %s$PY -I -B -c \"$1\" \"$2\" %s %s %s -p no:cacheprovider --maxfail=0 -o junit_family=xunit1 --junitxml=\"$2/junit.xml\" %s\n",
		prefix, cwd, watch, rest, grade.QuoteAll(app.Script.Directives))
	plan.cmdLine = c.String()
	return plan, nil
}

// pytestCommand splits a pytest command line into its VAR=value prefix and
// its options, so the harness's runner can stand in for the pytest word;
// cwdOnPath is set for `python -m pytest` (which puts the cwd on sys.path).
func pytestCommand(cmd string) (prefix, rest string, cwdOnPath, ok bool) {
	if !grade.IsPytestCommand(cmd) || strings.Contains(cmd, "{tests}") {
		return "", "", false, false
	}
	f := strings.Fields(cmd)
	i := 0
	for i < len(f) && strings.Contains(f[i], "=") && !strings.HasPrefix(f[i], "-") {
		i++
	}
	if i > 0 {
		prefix = strings.Join(f[:i], " ") + " "
	}
	n := 1
	if f[i] == "python" || f[i] == "python3" {
		n, cwdOnPath = 3, true
	}
	return prefix, strings.Join(f[i+n:], " "), cwdOnPath, true
}

// bootstrap is the test process's main: `python -I -B -c bootstrap <out
// dir> <cwd +|-> <watch +|-> <pytest args...>`. Isolated mode ignores PYTHON* and keeps the
// cwd off sys.path ("+" puts it back, as `python -m pytest` does);
// PYTEST_ADDOPTS and PYTEST_PLUGINS go; the reporting plugin goes in as an
// object, and with watch "+" a second one that snapshots, before any code
// of the repository is imported, the classes and runner functions
// reporting rests on and, at session start, the hook implementations of
// the reporting hooks, and records every change it sees at each report.
// The code under test shares the process, so this raises the bar for a
// forgery aimed at known test ids (which canaries cannot see) rather than
// closing it. The exit code the harness reads is the process's, observed
// through exec, not this script's record of it.
var bootstrap = `
import os, sys, json
out, cwd, watch = sys.argv[1:4]
watch = watch == "+"
args = sys.argv[4:]
for k in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS"):
    os.environ.pop(k, None)
if cwd == "+":
    sys.path.insert(0, os.getcwd())
import pytest
import _pytest.reports, _pytest.runner, _pytest.python, _pytest.junitxml, _pytest.main, pluggy
rec = open(os.path.join(out, "records.jsonl"), "w", buffering=1)
` + testrun.ReportPlugin + `
# Before any code of the repository is imported: what reporting rests on.
# A change to any of it, or a hook implementation added after the session
# started, is recorded (the harness flags grade:tamper-runner).
_watched = [_pytest.reports.TestReport, _pytest.reports.BaseReport, _pytest.runner.CallInfo,
            _pytest.python.Function, _pytest.junitxml.LogXML, SwevalReport]
_watched += [c for c in vars(pluggy).values() if isinstance(c, type)]
_snap = [(c, dict(vars(c))) for c in _watched]
_mods = [(m, dict(vars(m))) for m in (_pytest.runner, _pytest.python, _pytest.reports, _pytest.main)]
_hooks = ("pytest_runtest_makereport", "pytest_runtest_logreport", "pytest_report_teststatus",
          "pytest_runtest_protocol", "pytest_pyfunc_call", "pytest_runtest_call", "pytest_runtestloop")
def _code(v):
    # Behaviour, not state (pytest keeps flags on its classes).
    return callable(v) or isinstance(v, (property, classmethod, staticmethod))
def _impls(config):
    return {h: [(i.plugin_name, i.function) for i in getattr(config.hook, h).get_hookimpls()] for h in _hooks}
class SwevalWatch:
    def __init__(self, write=rec.write, dumps=json.dumps, snap=_snap, mods=_mods):
        self.w, self.d, self.snap, self.mods, self.base, self.seen = write, dumps, snap, mods, None, set()
    def pytest_sessionstart(self, session):
        self.config = session.config
        self.base = _impls(session.config)
    def check(self):
        bad = []
        for c, d in self.snap:
            now = vars(c)
            bad += ["%s.%s" % (c.__name__, k) for k in set(d) | set(now)
                    if now.get(k) is not d.get(k) and (_code(now.get(k)) or _code(d.get(k)))]
        for m, d in self.mods:
            bad += ["%s.%s" % (m.__name__, k) for k, v in d.items() if callable(v) and vars(m).get(k) is not v]
        if self.base is not None:
            now = _impls(self.config)
            bad += ["hook %s: %s" % (h, n) for h in _hooks for n, f in now[h] if (n, f) not in self.base[h]]
        for b in sorted(set(bad) - self.seen):
            self.seen.add(b)
            self.w(self.d({"integrity": b}) + "\n")
    def pytest_runtest_logreport(self, report):
        self.check()
    def pytest_sessionfinish(self, session):
        self.check()
rc = pytest.main(args, plugins=[SwevalReport(), SwevalWatch()] if watch else [SwevalReport()])
rec.write(json.dumps({"exit": int(rc)}) + "\n")
rec.close()
sys.stdout.flush()
sys.stderr.flush()
os._exit(int(rc))
`

// layOut brings the fresh container's tree to the applied one, as root:
// the changed files in (planted tests included), the removed ones out,
// then the permissions the unprivileged test user gets.
func layOut(ctx context.Context, sb sandbox.Sandbox, app grade.Applied, plan runPlan, dir string, log *strings.Builder) error {
	names := make([]string, 0, len(plan.files))
	for n := range plan.files {
		names = append(names, n)
	}
	sort.Strings(names)
	now := time.Now()
	files := make([]sandbox.File, 0, len(names))
	for _, n := range names {
		mode := 0o644
		if app.Exec[n] {
			mode = 0o755
		}
		files = append(files, sandbox.File{Name: n, Data: plan.files[n], Mode: fs.FileMode(mode), ModTime: now})
	}
	var buf bytes.Buffer
	if err := sandbox.WriteFiles(&buf, files...); err != nil {
		return err
	}
	// Directories holding the test patch's files (and their __pycache__)
	// stay root's 0755: nothing can appear next to the hidden tests (no
	// conftest.py, no forged bytecode for a file collected later). The
	// rest are sticky and world-writable: honest tests create files where
	// they always did but cannot touch the repository's own.
	testDirs := map[string]bool{}
	for _, f := range app.TestFiles {
		testDirs[path.Dir(f)] = true
	}
	var dirs []string
	for d := range testDirs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	args := []string{"sh", "-c", `
set -e
cd "$1"
tar -x --no-same-owner -f -
OUT=$2; HOMEDIR=$3; n=$4; shift 4
while [ "$n" -gt 0 ]; do rm -rf -- "$1"; shift; n=$((n - 1)); done
find . -path ./.git -prune -o -type d -exec chmod 1777 {} +
for d in "$@"; do
  [ -d "$d" ] && chmod 0755 "$d"
  [ -d "$d/__pycache__" ] && chmod 0755 "$d/__pycache__" && rm -f "$d"/__pycache__/*
done
mkdir -p -m 0777 "$OUT" "$HOMEDIR"
`, "sh", dir, outDir, homeDir, fmt.Sprint(len(app.Removed))}
	args = append(args, app.Removed...)
	args = append(args, dirs...)
	// One exec: the files arrive as a tar on stdin, unpacked as root.
	r, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: args, Stdin: &buf, Timeout: layoutTimeout})
	fmt.Fprintf(log, ">>>>> Test container laid out as root (%d files in, %d removed, exit %d)\n", len(files), len(app.Removed), r.ExitCode)
	if err != nil {
		return fmt.Errorf("lay out the test container: %w", err)
	}
	if r.ExitCode != 0 {
		return fmt.Errorf("lay out the test container (exit %d): %s", r.ExitCode, lastLines(r.Output, 5))
	}
	return nil
}

// readRun reads the records and the JUnit report in one copy-out of the
// run directory; a file that is missing or not regular is an error of its
// own (the cross-check decides what it means).
func readRun(ctx context.Context, sb sandbox.Sandbox) (recs []byte, recsErr error, junit []byte, junitErr error) {
	recsErr = fmt.Errorf("%s/records.jsonl: not written", outDir)
	junitErr = fmt.Errorf("%s/junit.xml: not written", outDir)
	rc, err := sb.CopyOut(ctx, outDir)
	if err != nil {
		return nil, err, nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(io.LimitReader(rc, 2*maxReportBytes))
	for {
		hdr, err := tr.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				recsErr, junitErr = err, err
				recs, junit = nil, nil
			}
			return recs, recsErr, junit, junitErr
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxReportBytes))
		// Exact names only: the test user may have made subdirectories.
		switch strings.TrimPrefix(path.Clean(hdr.Name), path.Base(outDir)+"/") {
		case "records.jsonl":
			recs, recsErr = b, err
		case "junit.xml":
			junit, junitErr = b, err
		}
	}
}

// maxReportBytes bounds each report file read back.
const maxReportBytes = 64 << 20

// integrity returns what the runner's watch recorded as changed (reporting
// classes, runner functions, hook implementations added mid-session).
func integrity(recs []byte) []string {
	var out []string
	for _, l := range bytes.Split(recs, []byte("\n")) {
		var r struct {
			Integrity *string `json:"integrity"`
		}
		if json.Unmarshal(l, &r) == nil && r.Integrity != nil {
			out = append(out, *r.Integrity)
		}
	}
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("... and %d more", len(out)-10))
	}
	return out
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
