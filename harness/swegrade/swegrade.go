package swegrade

import (
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
// patch is applied and closed before Grade returns. The caller closes sb.
// With opts.SameContainer, or for an OpenSWE row with its own eval
// script, it is grade.Grade in sb (the old path). The error contract is
// grade.Grade's.
func Grade(ctx context.Context, rt sandbox.Runtime, testSpec sandbox.Spec, sb sandbox.Sandbox, task benchmarks.Task, patch string, opts grade.Options) (grade.Outcome, error) {
	return GradePrepared(ctx, Prepare(ctx, rt, testSpec, task, opts), sb, task, patch, opts)
}

// Prepared is a test container being created for one grade, its
// supervisor starting in it as soon as it exists.
type Prepared struct {
	created chan createResult
	c       *createResult
	// install is the re-install phase's container, when the spec has an
	// install step and the options ask for it (nil otherwise).
	install chan createResult
	ic      *createResult
}

// Prepare starts creating the test container for grading task, so that a
// caller can create the apply container at the same time. The result goes
// to GradePrepared, or to Discard when there is nothing to grade.
func Prepare(ctx context.Context, rt sandbox.Runtime, testSpec sandbox.Spec, task benchmarks.Task, opts grade.Options) *Prepared {
	opts = withDefaults(opts)
	if oldPath(task, opts) {
		return nil
	}
	// The test container is fresh and holds nothing of the apply phase
	// until the changed files go in; its supervisor starts, and imports
	// the runner, before it is given anything to run.
	testSpec.ReadOnly = false  // the applied files are laid in as root first
	testSpec.SwitchUser = true // the supervisor drops to User for the tests
	p := &Prepared{created: make(chan createResult, 1)}
	// A spec that does not resolve fails the apply phase first.
	spec, _ := grade.ResolveSpec(task, opts.TestCmd)
	wait := opts.Timeout + 2*layoutTimeout
	if reinstalls(spec, opts) {
		// A third container, for the install's code alone: root there,
		// no supervisor, nothing of the grading.
		installSpec := testSpec
		installSpec.SwitchUser = false
		p.install = make(chan createResult, 1)
		go func() {
			isb, err := rt.Create(ctx, installSpec)
			p.install <- createResult{sb: isb, err: err}
		}()
		wait += installTimeout(opts) + 2*layoutTimeout
	}
	go func() {
		tsb, err := rt.Create(ctx, testSpec)
		var sup *supervision
		if err == nil {
			sup = startSupervisor(ctx, tsb, opts, wait, task.Repo != "pytest-dev/pytest", grade.PreTestScript(spec.PreTest))
		}
		p.created <- createResult{tsb, sup, err}
	}()
	return p
}

// waitInstall returns the install container (once).
func (p *Prepared) waitInstall() *createResult {
	if p.ic == nil {
		c := <-p.install
		p.ic = &c
	}
	return p.ic
}

// wait returns the created container (once).
func (p *Prepared) wait() *createResult {
	if p.c == nil {
		c := <-p.created
		p.c = &c
	}
	return p.c
}

// Discard ends the supervisor and removes the test container.
func (p *Prepared) Discard(ctx context.Context) {
	if p == nil {
		return
	}
	c := p.wait()
	if c.sb != nil {
		c.sup.abandon()
		_ = c.sb.Close(context.WithoutCancel(ctx))
	}
	if p.install != nil {
		if ic := p.waitInstall(); ic.sb != nil {
			_ = ic.sb.Close(context.WithoutCancel(ctx))
		}
	}
}

func withDefaults(opts grade.Options) grade.Options {
	if opts.Dir == "" {
		opts.Dir = "/testbed"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = grade.DefaultTimeout
	}
	return opts
}

func oldPath(task benchmarks.Task, opts grade.Options) bool {
	return opts.SameContainer || task.Kind == benchmarks.KindOpenSWE && strings.TrimSpace(task.EvalScript) != ""
}

// GradePrepared is Grade with the test container from Prepare (called
// with the same task and options), which it discards before returning.
func GradePrepared(ctx context.Context, p *Prepared, sb sandbox.Sandbox, task benchmarks.Task, patch string, opts grade.Options) (grade.Outcome, error) {
	opts = withDefaults(opts)
	if oldPath(task, opts) {
		p.Discard(ctx)
		return grade.Grade(ctx, sb, task, patch, opts)
	}
	defer p.Discard(ctx)
	app, out, done, err := grade.ApplyPhase(ctx, sb, task, patch, opts)
	if !done {
		return out, err
	}
	if p.install != nil {
		ic := p.waitInstall()
		if ic.err != nil {
			return grade.Infra(out, fmt.Errorf("task %s: create the re-install container: %w", task.ID, ic.err))
		}
		var log strings.Builder
		log.WriteString(out.Log)
		err := reinstall(ctx, ic.sb, &app, opts, &log)
		out.Log = log.String()
		// Removed at once: nothing of it may outlive the install.
		_ = ic.sb.Close(context.WithoutCancel(ctx))
		ic.sb = nil
		if err != nil {
			return grade.Infra(out, fmt.Errorf("task %s: %w", task.ID, err))
		}
	}
	c := p.wait()
	if c.err != nil {
		return grade.Infra(out, fmt.Errorf("task %s: create the test container: %w", task.ID, c.err))
	}
	return testPhase(ctx, c.sup, task, app, opts, out)
}

type createResult struct {
	sb  sandbox.Sandbox
	sup *supervision
	err error
}

// supervision is a running supervisor exec waiting for its configuration
// and files on stdin.
type supervision struct {
	stdin *io.PipeWriter
	done  chan execDone
	res   *execDone // once received
}

type execDone struct {
	res sandbox.ExecResult
	err error
}

// startSupervisor starts the supervisor in sb (warm: it imports the runner
// before its configuration arrives).
func startSupervisor(ctx context.Context, sb sandbox.Sandbox, opts grade.Options, wait time.Duration, warm bool, preTest string) *supervision {
	pr, pw := io.Pipe()
	s := &supervision{stdin: pw, done: make(chan execDone, 1)}
	w := "-"
	if warm {
		w = "+"
	}
	go func() {
		res, err := sb.Exec(ctx, sandbox.ExecRequest{
			Cmd: []string{"bash", "-c", launcher, "sweval", supervisor, opts.Dir, w, preTest},
			// Not the workspace: nothing there is resolved as root.
			Dir: "/", Stdin: pr, User: "0:0",
			// The supervisor enforces opts.Timeout on the tests; this
			// bounds the wait for the earlier phases and the supervisor.
			Timeout:     wait,
			OutputLimit: execOutputLimit(opts),
		})
		// A supervisor that is gone reads no more: unblock the writer.
		pr.CloseWithError(errors.New("the test supervisor exited"))
		s.done <- execDone{res, err}
	}()
	return s
}

// wait returns the supervisor's exec result.
func (s *supervision) wait() execDone {
	if s.res == nil {
		d := <-s.done
		s.res = &d
	}
	return *s.res
}

// abandon ends a supervisor that was given nothing (EOF on its stdin
// makes it exit) and waits for its exec to return.
func (s *supervision) abandon() {
	if s == nil {
		return
	}
	s.stdin.Close()
	s.wait()
}

func outputLimit(opts grade.Options) int {
	if opts.OutputLimit > 0 {
		return opts.OutputLimit
	}
	return sandbox.DefaultOutputLimit
}

// execOutputLimit holds every section the supervisor writes.
func execOutputLimit(opts grade.Options) int {
	return outputLimit(opts) + 2*maxReportBytes + 128<<10
}

// runPlan is how the test phase runs one task.
type runPlan struct {
	pytest  bool
	cmdLine string // bash text; $1 is the bootstrap, $2 the output directory
	planted []testrun.Planted
	files   map[string][]byte
	warm    *warmRun // nil: the child starts the command cold
}

// warmRun is a pytest run forked from the supervisor with the runner
// already imported: the bootstrap's arguments, the shell words of the
// task's options (split by Python's shlex, as bash would) and the
// command's VAR=value prefix.
type warmRun struct {
	Prefix     string   `json:"prefix"`
	Cwd        string   `json:"cwd"`
	Watch      string   `json:"watch"`
	Rest       string   `json:"rest"`
	Directives []string `json:"directives"`
}

func testPhase(ctx context.Context, sup *supervision, task benchmarks.Task, app grade.Applied, opts grade.Options, out grade.Outcome) (grade.Outcome, error) {
	var log strings.Builder
	log.WriteString(out.Log)
	plan, err := makePlan(app, task.Repo, opts)
	if err != nil {
		return grade.Infra(out, fmt.Errorf("task %s: %w", task.ID, err))
	}
	res, sr, err := runTests(sup, app, plan, opts, &log)
	if err != nil {
		out.Log = log.String()
		return grade.Infra(out, fmt.Errorf("task %s: %w", task.ID, err))
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
		return finish(logRoute(out, task, app, opts.Rules, plan.planted, sr.status.OutputElided > 0, res, &log))
	}
	recs, rerr, junit, jerr := sr.records, error(nil), sr.junit, error(nil)
	if sr.status.Records != "" {
		recs, rerr = nil, fmt.Errorf("%s/records.jsonl: %s", outDir, sr.status.Records)
	}
	if sr.status.JUnit != "" {
		junit, jerr = nil, fmt.Errorf("%s/junit.xml: %s", outDir, sr.status.JUnit)
	}
	var tro testrun.Outcome
	testrun.Check("the test run", res, recs, rerr, junit, jerr, plan.planted, &tro)
	out.Source = "plugin"
	if tro.Tampered() {
		out.Flags = append(out.Flags, tro.Flags...)
		fmt.Fprintf(&log, ">>>>> Tampering: %s\n", strings.Join(tro.Evidence, "; "))
		grade.ScoreTests(&out, task, app.Spec, nil, opts.Rules)
		out.Status, out.Resolution = result.StatusUnresolved, result.ResolvedNo
		out.Error = "grading detected tampering: " + strings.Join(tro.Evidence, "; ")
		return finish(out, nil)
	}
	if len(tro.Tests) == 0 && (code == 126 || code == 127 || code == 4) {
		// 126/127: no interpreter; 4: pytest refused the command line.
		if err := grade.UnreadableRun(code, nil, string(res.Output), "plugin"); err != nil && code == 127 {
			return finish(grade.Infra(out, fmt.Errorf("task %s: %w", task.ID, err)))
		}
		return finish(grade.Infra(out, fmt.Errorf("task %s: the test runner could not start (exit %d): %s", task.ID, code, lastLines(res.Output, 5))))
	}
	grade.ScoreTests(&out, task, app.Spec, tro.Tests, opts.Rules)
	return finish(out, nil)
}

// logRoute scores a run whose printed log is the only channel (a test
// command that is not pytest), cross-checked with the exit code observed
// through exec: exit 0 while a declared test (or a planted canary) is
// reported failing means the exit status was forged. Where canaries were
// planted, a canary reported anything but failed, or a planted test
// missing while a declared test is reported passed (and no output was
// elided), means the log was forged (code under test can print any result
// line it likes).
func logRoute(out grade.Outcome, task benchmarks.Task, app grade.Applied, rules grade.Rules, planted []testrun.Planted, elided bool, res sandbox.ExecResult, log *strings.Builder) (grade.Outcome, error) {
	tests := grade.ParseLog(app.Spec, string(res.Output))
	out.Source = app.Spec.Parser
	// As the one-container path reads it: a non-zero exit with no failure
	// parsed is unreadable (exit 127: which program is missing).
	if err := grade.UnreadableRun(res.ExitCode, tests, string(res.Output), out.Source); err != nil {
		return grade.Infra(out, fmt.Errorf("task %s: %w", task.ID, err))
	}
	grade.ScoreTests(&out, task, app.Spec, tests, rules)
	var flags, evidence []string
	tamper := func(kind, ev string) {
		flags = appendOnce(flags, "grade:tamper-"+kind)
		evidence = append(evidence, kind+": "+ev)
	}
	declaredPassed := false
	if out.TestsStatus != nil {
		declaredPassed = len(out.TestsStatus.FailToPass.Success)+len(out.TestsStatus.PassToPass.Success) > 0
	}
	canaryFailed := false
	for _, pl := range planted {
		st, ok := plantedStatus(tests, pl)
		switch {
		case !ok && declaredPassed && elided:
			// The cut may have taken the planted test's line, or a flood
			// of output may hide a forged summary: neither is a pass.
			return grade.Infra(out, fmt.Errorf("task %s: the test output was cut in the middle and planted test %s is not in what is left, while declared tests are reported passed: the run is unreadable, not a pass (a larger output limit keeps more)", task.ID, pl.ID()))
		case !ok && declaredPassed:
			tamper(pl.Kind.String(), fmt.Sprintf("planted %s %s missing from the log while declared tests are reported passed", pl.Kind, pl.ID()))
		case !ok:
		case pl.Kind == testrun.Canary && (st == grade.Failed || st == grade.Error):
			canaryFailed = true
		case pl.Kind == testrun.Canary:
			tamper("canary", fmt.Sprintf("must-fail test %s reported %s", pl.ID(), st))
		case st != grade.Passed:
			tamper("control", fmt.Sprintf("must-pass test %s reported %s", pl.ID(), st))
		}
	}
	if res.ExitCode == 0 && out.TestsStatus != nil {
		var failing []string
		for _, id := range append(append([]string{}, out.TestsStatus.FailToPass.Failure...), out.TestsStatus.PassToPass.Failure...) {
			if s, ok := out.Tests[id]; ok && (s == grade.Failed || s == grade.Error) {
				failing = append(failing, id)
			}
		}
		if len(failing) > 0 {
			tamper("exit-code", fmt.Sprintf("exit 0 observed, but the log reports %d declared test(s) failing (%s)", len(failing), strings.Join(failing[:min(3, len(failing))], ", ")))
		} else if canaryFailed {
			tamper("exit-code", "exit 0 observed, but the log reports a planted must-fail test failing")
		}
	}
	if len(flags) > 0 {
		out.Flags = append(out.Flags, flags...)
		ev := strings.Join(evidence, "; ")
		fmt.Fprintf(log, ">>>>> Tampering: %s\n", ev)
		out.Status, out.Resolution, out.Error = result.StatusUnresolved, result.ResolvedNo, "grading detected tampering: "+ev
	}
	return out, nil
}

// plantedStatus finds a planted test in a parsed log: sympy names it bare
// ("test_x"), pytest's log by node id ("file::test_x").
func plantedStatus(tests map[string]grade.TestStatus, pl testrun.Planted) (grade.TestStatus, bool) {
	if s, ok := tests[pl.Name]; ok {
		return s, true
	}
	if s, ok := tests[pl.ID()]; ok {
		return s, true
	}
	for id, s := range tests {
		if strings.HasSuffix(id, "::"+pl.Name) || strings.HasSuffix(id, ":"+pl.Name) {
			return s, true
		}
	}
	return "", false
}

// logCanaryParsers are the log formats whose runners collect the planted
// tests (top-level test functions) and name them recognisably; Django's
// runner collects only TestCase methods.
var logCanaryParsers = map[string]bool{
	grade.ParserSympy: true, grade.ParserPytest: true, grade.ParserPytestOptions: true, grade.ParserMatplotlib: true,
}

// makePlan chooses the runner and plants the canaries.
func makePlan(app grade.Applied, repo string, opts grade.Options) (runPlan, error) {
	plan := runPlan{files: map[string][]byte{}}
	for p, b := range app.Files {
		plan.files[p] = b
	}
	cmd := app.Script.TestCommand
	prefix, rest, cwdOnPath, ok := pytestCommand(app.Spec.TestCmd)
	plant := func() {
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
	}
	if !ok || opts.NoJUnit {
		// Not pytest: the task's command as it is, its log the channel,
		// with canaries where its runner collects them.
		// Not exec'd: the command may be VAR=value-prefixed (sympy's
		// PYTHONWARNINGS=… bin/test) or compound (SWE-rebench's lists,
		// joined with &&), which exec cannot run; bash exits with its
		// status.
		plan.cmdLine = cmd + "\n"
		if logCanaryParsers[app.Spec.Parser] {
			plant()
		}
		return plan, nil
	}
	plan.pytest = true
	plant()
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
	if watch == "+" {
		// Not for pytest's own repository: the supervisor would import the
		// runner under test as root.
		plan.warm = &warmRun{Prefix: prefix, Cwd: cwd, Watch: watch, Rest: rest, Directives: app.Script.Directives}
	}
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
` + testrun.WatchPlugin + `
rc = pytest.main(args, plugins=[SwevalReport(), SwevalWatch()] if watch else [SwevalReport()])
rec.write(json.dumps({"exit": int(rc)}) + "\n")
rec.close()
sys.stdout.flush()
sys.stderr.flush()
os._exit(int(rc))
`

// layoutScript brings the fresh container's tree to the applied one, as
// root: the changed files in (planted tests included, a tar on stdin), the
// removed ones out, then the permissions the unprivileged test user gets.
// Directories holding the test patch's files (and their __pycache__) stay
// root's 0755: nothing can appear next to the hidden tests (no conftest.py,
// no forged bytecode for a file collected later). The rest are sticky and
// world-writable: honest tests create files where they always did but
// cannot touch the repository's own. Arguments: <dir> <out dir> <home dir>
// <n> <n removed paths> <test dirs>.
const layoutScript = `
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
`

// supervisor is the test phase's one exec, started by launcher as
// `python -I -S -B -c supervisor <workspace> <warm + or ->`, as root in a
// test container that keeps only CAP_SETUID and CAP_SETGID. It starts with
// the container, before the apply phase is done: with warm it imports the
// runner (see its comment), then reads its configuration and the files to
// lay out from stdin, lays the tree out (layoutScript), forks a child that
// drops to the test user and runs the tests with its output in a file,
// enforces the timeout, then kills every process of the test user (a
// helper that drops to that uid and kill(-1)s: root without CAP_KILL
// cannot signal them itself) and only then reads the output, records and
// JUnit report back, with O_NOFOLLOW and size limits, and writes them as
// length-framed sections to its stdout. No process of the test user ever
// holds that stdout, and none is alive when it is written, so the channel
// and the exit status it carries cannot be forged from the test run. One
// exec instead of a layout exec, a test exec and a copy-out saves two
// Engine round trips per task.
const supervisor = `
import os, sys, json, signal, stat, subprocess, time
work_dir, warm = sys.argv[1], sys.argv[2] == "+"
sout = sys.stdout.buffer

def section(name, data):
    sout.write(b"sweval-section %s %d\n" % (name.encode(), len(data)))
    sout.write(data)

# The warm path (a pytest run): the runner is imported here, as root,
# from the interpreter's own directories alone (isolated mode, no site
# processing, nothing under the workspace on sys.path), so the child
# forked for the tests does not import it again as the test user (on a
# FUSE-backed overlay every lookup of another uid costs several times
# root's). The child checks that a normal start would have found the same
# modules, else it starts the runner cold.
preloaded = {}
if warm:
    try:
        import site
        ws = os.path.realpath(work_dir)
        sitedirs = [d for d in site.getsitepackages() if os.path.isdir(d)
                    and not (os.path.realpath(d) + os.sep).startswith(ws + os.sep)]
        sys.path.extend(sitedirs)
        before = set(sys.modules)
        import pytest, _pytest.config
        for m in ["_pytest." + p for p in _pytest.config.default_plugins] + [
                "_pytest.reports", "_pytest.runner", "_pytest.python", "_pytest.junitxml", "_pytest.main",
                "_pytest.terminal", "_pytest.assertion.rewrite", "_pytest._code.code", "pluggy",
                "xml.etree.ElementTree", "xml.dom.minidom", "pdb", "json"]:
            try:
                __import__(m)
            except Exception:
                pass
        for n in set(sys.modules) - before:
            f = getattr(sys.modules[n], "__file__", None) or ""
            if "." not in n and any(f.startswith(d + os.sep) for d in sitedirs):
                preloaded[n] = os.path.realpath(f)
    except Exception:
        preloaded = None

# The configuration follows on stdin (a length line, then JSON), then
# the files to lay out as a tar: the supervisor starts, and imports the
# runner, while the patch is still being applied elsewhere. Unbuffered
# reads: the layout's tar reads the rest of fd 0.
def read_exactly(n):
    b = []
    while n > 0:
        c = os.read(0, n)
        if not c:
            sys.exit(0)  # the harness gave up (the apply phase ended the grade)
        b.append(c)
        n -= len(c)
    return b"".join(b)

line = b""
while not line.endswith(b"\n"):
    line += read_exactly(1)
cfg = json.loads(read_exactly(int(line)))
uid, gid, out_dir = cfg["uid"], cfg["gid"], cfg["out"]

lay = subprocess.run(["sh", "-c", cfg["layout"], "sh"] + cfg["layout_args"], stdin=0,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
section("layout", lay.stdout[-65536:])
if lay.returncode != 0:
    section("status", json.dumps({"layout_exit": lay.returncode}).encode())
    sout.flush()
    sys.exit(0)

` + testrun.AgentProcs + `
def origin(name):
    for f in sys.meta_path:
        try:
            sp = f.find_spec(name, None)
        except Exception:
            continue
        if sp is not None:
            return os.path.realpath(sp.origin) if sp.origin else None
    return None

def child(out):
    as_agent(out)
    for kv in cfg["env"]:
        k, _, v = kv.partition("=")
        os.environ[k] = v
    os.chdir(cfg["dir"])
    if preloaded and cfg.get("warm"):
        import site, shlex
        site.main()  # as the test user, as a normal start does
        if all(origin(n) == f for n, f in preloaded.items()):
            for kv in shlex.split(cfg["warm"]["prefix"]):
                k, _, v = kv.partition("=")
                os.environ[k] = os.path.expandvars(v)
            w = cfg["warm"]
            sys.argv = ["-c", out_dir, w["cwd"], w["watch"]] + shlex.split(w["rest"]) + [
                "-p", "no:cacheprovider", "--maxfail=0", "-o", "junit_family=xunit1",
                "--junitxml=" + os.path.join(out_dir, "junit.xml")] + w["directives"]
            # A __main__ of its own, as "python -c" has.
            import types
            main = types.ModuleType("__main__")
            sys.modules["__main__"] = main
            exec(compile(cfg["args"][0], "<string>", "exec"), main.__dict__)
            os._exit(70)
    # Python ignores these; what it execs gets them back (as subprocess does).
    for s in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(s, signal.SIG_DFL)
    os.execvp("bash", ["bash", "-c", cfg["cmd"], "sweval"] + cfg["args"])

# The output comes through a pipe and only its head and tail are kept,
# as the sandbox keeps exec output: a suite that prints gigabytes costs
# neither the container's memory (/tmp is tmpfs) nor the harness's.
` + testrun.CappedOutput + testrun.ChildProcs + `
output = Capped(cfg["output_limit"])
rfd, wfd = os.pipe()
sout.flush()
pid = os.fork()
if pid == 0:
    try:
        child(wfd)
    except BaseException as e:
        try:
            os.write(2, ("sweval runner: %r\n" % (e,)).encode())
        finally:
            os._exit(70)
    finally:
        os._exit(127)
os.close(wfd)
st, timed_out, seconds = run_child(pid, rfd, output, cfg["timeout"])
status = {"exit": os.WEXITSTATUS(st) if os.WIFEXITED(st) else None,
          "signal": os.WTERMSIG(st) if os.WIFSIGNALED(st) else 0,
          "timed_out": timed_out, "seconds": round(seconds, 3)}
data, cut = output.bytes()
section("output.log", data)
if cut:
    status["output_elided"] = cut
for name, limit in (("records.jsonl", cfg["report_limit"]), ("junit.xml", cfg["report_limit"])):
    data, err = read_capped(os.path.join(out_dir, name), limit)
    if data is None:
        status[name] = err
    else:
        section(name, data)
section("status", json.dumps(status).encode())
sout.flush()
`

// launcher activates a published image's environment (SWE-bench's conda
// env, as root, before any file of the task is in the container: the
// child inherits it), then starts the supervisor on the interpreter the
// task's pytest runs on (its shebang), so a warm run imports the same
// runner; never on one the workspace holds (the test patch or the model's
// could place a pytest there). Arguments: <supervisor> <workspace> <warm +
// or -> <pre-test script>.
const launcher = sandbox.ActivateEnv + ` || exit 98
if [ -n "$4" ]; then
  # The task's pre-test commands (eval_commands), as root, on the image's
  # tree: their exports reach the tests; their output is not the
  # supervisor's channel.
  L=$(mktemp /tmp/.sweval-pretest.XXXXXX) && cd "$2" && { eval "$4"; } >"$L" 2>&1 || { cat "$L" 2>/dev/null; exit 99; }
  rm -f "$L"; cd /
fi
PY=python3
P=$(command -v pytest 2>/dev/null) && case $P in "$2"/*) ;; *) L=$(head -n1 -- "$P") && case $L in '#!'*) PY=${L#\#!};; esac;; esac
case $PY in *"$2"*|*..*) PY=python3;; esac
exec $PY -I -S -B -c "$1" "$2" "$3"
`

// supConfig is the supervisor's configuration (its one argument).
type supConfig struct {
	Dir         string   `json:"dir"`
	Out         string   `json:"out"`
	UID         int      `json:"uid"`
	GID         int      `json:"gid"`
	Layout      string   `json:"layout"`
	LayoutArgs  []string `json:"layout_args"`
	Cmd         string   `json:"cmd"`
	Args        []string `json:"args"`
	Env         []string `json:"env"`
	Warm        *warmRun `json:"warm"`
	Timeout     float64  `json:"timeout"`
	OutputLimit int      `json:"output_limit"`
	ReportLimit int      `json:"report_limit"`
}

// supStatus is the supervisor's status section.
type supStatus struct {
	LayoutExit *int    `json:"layout_exit"`
	Exit       *int    `json:"exit"`
	Signal     int     `json:"signal"`
	TimedOut   bool    `json:"timed_out"`
	Seconds    float64 `json:"seconds"`
	// OutputElided is how many bytes of the test output were cut from
	// its middle (over the output limit).
	OutputElided int64 `json:"output_elided"`
	// Why a report could not be read back (absent when it was).
	Records string `json:"records.jsonl"`
	JUnit   string `json:"junit.xml"`
}

// supRun is what the supervisor reported.
type supRun struct {
	layout, output, records, junit []byte
	status                         supStatus
}

// parseSections reads the supervisor's framed stdout: every byte of it
// is the supervisor's, so anything that does not parse is an error of the
// harness or the machine, never a verdict.
func parseSections(b []byte) (supRun, error) {
	var r supRun
	seen := map[string]bool{}
	for len(b) > 0 {
		line, rest, ok := bytes.Cut(b, []byte("\n"))
		var name string
		var n int
		if !ok {
			return r, fmt.Errorf("supervisor output: unterminated header %q", lastLines(line, 1))
		}
		if _, err := fmt.Sscanf(string(line), "sweval-section %s %d", &name, &n); err != nil || n < 0 || n > len(rest) {
			return r, fmt.Errorf("supervisor output: bad section header %q", line)
		}
		if seen[name] {
			return r, fmt.Errorf("supervisor output: section %s twice", name)
		}
		seen[name] = true
		data := rest[:n]
		b = rest[n:]
		switch name {
		case "layout":
			r.layout = data
		case "output.log":
			r.output = data
		case "records.jsonl":
			r.records = data
		case "junit.xml":
			r.junit = data
		case "status":
			if err := json.Unmarshal(data, &r.status); err != nil {
				return r, fmt.Errorf("supervisor output: status: %w", err)
			}
		}
	}
	if !seen["status"] {
		return r, errors.New("supervisor output: no status section (the supervisor died)")
	}
	return r, nil
}

// runTests gives the waiting supervisor its configuration and the files to
// lay out, and reads what it reports.
func runTests(sup *supervision, app grade.Applied, plan runPlan, opts grade.Options, log *strings.Builder) (sandbox.ExecResult, supRun, error) {
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
		return sandbox.ExecResult{}, supRun{}, err
	}
	testDirs := map[string]bool{}
	for _, f := range app.TestFiles {
		testDirs[path.Dir(f)] = true
	}
	var dirs []string
	for d := range testDirs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	layoutArgs := []string{opts.Dir, outDir, homeDir, fmt.Sprint(len(app.Removed))}
	layoutArgs = append(append(layoutArgs, app.Removed...), dirs...)
	cfg := supConfig{
		Dir: opts.Dir, Out: outDir, UID: testrun.UID, GID: testrun.GID,
		Layout: layoutScript, LayoutArgs: layoutArgs,
		Cmd: plan.cmdLine, Args: []string{bootstrap, outDir}, Warm: plan.warm,
		Env:         append([]string{"HOME=" + homeDir, "PYTHONDONTWRITEBYTECODE=1"}, app.Spec.Env...),
		Timeout:     opts.Timeout.Seconds(),
		OutputLimit: outputLimit(opts), ReportLimit: maxReportBytes,
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		return sandbox.ExecResult{}, supRun{}, err
	}
	// The length line, the configuration, the tar; then EOF. A failed
	// write means the supervisor is gone: its result says why.
	_, _ = fmt.Fprintf(sup.stdin, "%d\n%s", len(js), js)
	_, _ = sup.stdin.Write(buf.Bytes())
	sup.stdin.Close()
	d := sup.wait()
	res, err := d.res, d.err
	if err != nil {
		return res, supRun{}, fmt.Errorf("run the test supervisor: %w", err)
	}
	if res.TimedOut || res.OOMKilled {
		return res, supRun{}, nil
	}
	sr, perr := parseSections(res.Output)
	fmt.Fprintf(log, ">>>>> Test container laid out as root (%d files in, %d removed)\n", len(files), len(app.Removed))
	if perr != nil {
		return res, sr, fmt.Errorf("%w (exit %d): %s", perr, res.ExitCode, lastLines(res.Output, 5))
	}
	if sr.status.LayoutExit != nil {
		return res, sr, fmt.Errorf("lay out the test container (exit %d): %s", *sr.status.LayoutExit, lastLines(sr.layout, 5))
	}
	run := sandbox.ExecResult{Output: sr.output, TimedOut: sr.status.TimedOut, OOMKilled: res.OOMKilled,
		Duration: time.Duration(sr.status.Seconds * float64(time.Second))}
	switch {
	case sr.status.Exit != nil:
		run.ExitCode = *sr.status.Exit
	default:
		run.ExitCode = 128 + sr.status.Signal
	}
	return run, sr, nil
}

// maxReportBytes bounds each report file read back.
const maxReportBytes = 64 << 20

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
