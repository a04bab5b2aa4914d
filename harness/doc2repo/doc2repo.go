package doc2repo

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/shell"
)

// DefaultWorkdir is where the workspace lives when the task names none.
//
// Deprecated: use benchmarks.Task.Workdir.
const DefaultWorkdir = benchmarks.DefaultWorkdir

// Submission is the agent's workspace as it left it.
type Submission struct {
	// Patch is `git diff` against the baseline commit (text; binary files
	// may be absent or marked "Binary files ... differ").
	Patch string
	// Archive is a tar of the workspace (without .git): the fallback for
	// binary files and for a patch that does not apply.
	Archive []byte
}

// Empty reports whether the agent left nothing.
func (s Submission) Empty() bool { return strings.TrimSpace(s.Patch) == "" && len(s.Archive) == 0 }

// Options tune grading.
type Options struct {
	// Image overrides the task's environment image.
	Image string
	// RunID labels the grading container.
	RunID string
	// CpusetCpus pins the grading container to the worker's CPU, as
	// SWE-bench grading is, so concurrent test suites do not steal time.
	CpusetCpus string
	// InstallTimeout bounds the package install (default 10 min);
	// TestTimeout each test file or command (default 30 min).
	InstallTimeout time.Duration
	TestTimeout    time.Duration
	// AllowPluginAutoload lets pytest load setuptools-registered plugins.
	// Off by default: the agent's own package could register one
	// (entry point pytest11) and rewrite test reports.
	AllowPluginAutoload bool
	// AllowPytestInternals lets the agent's package code touch pytest's
	// internals (needed only when the task is a pytest plugin). Off by
	// default: the package runs inside the test process and could rewrite
	// reports, so such code scores 0.
	AllowPytestInternals bool
	// KeepAgentFiles skips removing the agent's tests, conftest.py, pytest
	// configuration and start-up hooks. Never set it to grade: it exists so
	// the red-team suite can show what the removal prevents.
	KeepAgentFiles bool
	// LegacyRunner installs and tests in the one grading container with
	// the task's own pytest invocation, as before issue 11. Only for the
	// side-by-side benchmark; graded runs use harness/testrun (separate
	// install and test containers, uid 1000, harness-owned runner,
	// canaries). Tasks with test_commands still take the legacy path.
	LegacyRunner bool
	// Spec is written as the baseline the patch applies to (the purge's
	// SPEC.md); default the task's spec.
	SpecName string
	Logger   *slog.Logger
}

// Report is the grading's detail, beside the Result.
type Report struct {
	Tests    map[string]grade.TestStatus `json:"tests"`
	Passed   []string                    `json:"passed"`
	Failed   []string                    `json:"failed"`  // declared and not passed (incl. never ran)
	NotRun   []string                    `json:"not_run"` // declared ids absent from every report
	Declared int                         `json:"declared"`
	Ran      int                         `json:"ran"`
	// Mismatch says where the tests that ran disagree with the declared
	// count; it never changes the score.
	Mismatch string `json:"mismatch,omitempty"`
	// Ignored are tests that ran but are not declared (nor excluded):
	// they never count.
	Ignored []string `json:"ignored,omitempty"`
	// Calibration says where the declared ids came from when the task
	// named none ("" = the task's own or a --calibration file).
	Calibration string `json:"calibration,omitempty"`
	// Removed are agent files removed before the hidden tests went in.
	Removed []string `json:"removed,omitempty"`
	// Install is the package install's outcome ("" = ok).
	Install string `json:"install,omitempty"`
	// Applied is how the workspace came in: patch, patch+archive, archive.
	Applied string   `json:"applied,omitempty"`
	Tamper  []string `json:"tamper,omitempty"`
	Log     string   `json:"-"`
}

// Grade runs the hidden tests of task against sub in a fresh sandbox from
// rt and scores it: passed / declared, declared tests that never ran count
// as failed, strict = all passed. The verdict carries the resolution
// (FULL / PARTIAL / NO), how the workspace came in and a grade:<tamper>
// flag for every tampering the grading detected.
func Grade(ctx context.Context, rt sandbox.Runtime, task *benchmarks.Task, sub Submission, opts Options) (result.Verdict, Report, error) {
	var v result.Verdict
	var rep Report
	d := task.Doc2Repo
	if d == nil {
		return v, rep, fmt.Errorf("doc2repo grade %s: not a Doc2Repo task", task.ID)
	}
	hidden, err := HiddenTests(task)
	if err != nil {
		return v, rep, err
	}
	g := &grader{task: task, d: d, opts: opts, rt: rt, workdir: task.Workdir(), log: &strings.Builder{}}
	if g.opts.Logger == nil {
		g.opts.Logger = slog.Default()
	}
	img := opts.Image
	if img == "" {
		img = d.Image
	}
	if img == "" {
		return v, rep, fmt.Errorf("doc2repo grade %s: no environment image: set the task's image or Options.Image", task.ID)
	}
	sb, err := rt.Create(ctx, sandbox.Spec{Image: img, RunID: opts.RunID, Task: task.ID, Workdir: "/", CpusetCpus: opts.CpusetCpus})
	if err != nil {
		return infra(v, rep, err)
	}
	defer sb.Close(context.WithoutCancel(ctx))
	g.sb = sb

	statuses, err := g.run(ctx, sub, hidden, &rep)
	rep.Log = g.log.String()
	v.Log = rep.Log
	// How the workspace came in and what tampering the grading found
	// travel with every verdict, a zero score included.
	v.PatchMethod = rep.Applied
	for _, t := range rep.Tamper {
		v.Flags = append(v.Flags, "grade:"+t)
	}
	if err != nil {
		var se *scoreZero
		if !errors.As(err, &se) {
			return infra(v, rep, err)
		}
		// Install failure or tampering: the model's fault, score 0 with
		// the reason (and the tamper flags).
		v.Status, v.Resolution, v.Error = result.StatusUnresolved, result.ResolvedNo, se.reason
		for _, t := range rep.Tamper {
			v.Flags = append(v.Flags, "grade:"+t)
		}
		v.Declared = declaredCount(d, nil)
		if sub.Empty() {
			v.Status = result.StatusEmptyPatch
		}
		return v, rep, nil
	}
	score(d, statuses, &rep)
	v.Passed, v.Declared = len(rep.Passed), rep.Declared
	if v.Passed > rep.Declared {
		// Without declared ids, tests beyond the declared count must not
		// lift the score above 1: they are reported, never counted.
		rep.Mismatch = strings.TrimSpace(rep.Mismatch + fmt.Sprintf(" %d passed tests beyond the %d declared are ignored", v.Passed-rep.Declared, rep.Declared))
		v.Passed = rep.Declared
	}
	if rep.Declared > 0 {
		v.PassFraction = float64(v.Passed) / float64(rep.Declared)
	}
	v.Strict = rep.Declared > 0 && v.Passed == rep.Declared
	switch {
	case v.Strict:
		v.Status, v.Resolution = result.StatusResolved, result.ResolvedFull
	case v.Passed > 0:
		v.Status, v.Resolution = result.StatusUnresolved, result.ResolvedPartial
	default:
		v.Status, v.Resolution = result.StatusUnresolved, result.ResolvedNo
	}
	if sub.Empty() {
		v.Status = result.StatusEmptyPatch
	}
	if rep.Mismatch != "" {
		v.Error = rep.Mismatch
	}
	return v, rep, nil
}

func infra(v result.Verdict, rep Report, err error) (result.Verdict, Report, error) {
	v.Status, v.Error = result.StatusError, err.Error()
	return v, rep, err
}

// scoreZero is a failure that is the agent's (its package does not
// install): the rollout scores 0 with this reason.
type scoreZero struct{ reason string }

func (e *scoreZero) Error() string { return e.reason }

type grader struct {
	task    *benchmarks.Task
	d       *benchmarks.Doc2Repo
	opts    Options
	sb      sandbox.Sandbox
	rt      sandbox.Runtime
	workdir string
	log     *strings.Builder
}

func (g *grader) exec(ctx context.Context, what string, timeout time.Duration, env []string, argv ...string) (sandbox.ExecResult, error) {
	r, err := g.sb.Exec(ctx, sandbox.ExecRequest{Cmd: argv, Dir: g.workdir, Env: env, Timeout: timeout, OutputLimit: 256 << 10})
	fmt.Fprintf(g.log, ">>>>> %s (exit %d, %.1fs)\n%s\n", what, r.ExitCode, r.Duration.Seconds(), r.Output)
	if err != nil {
		return r, fmt.Errorf("%s: %w", what, err)
	}
	return r, nil
}

func (g *grader) run(ctx context.Context, sub Submission, hidden map[string][]byte, rep *Report) (map[string]grade.TestStatus, error) {
	if err := g.bringIn(ctx, sub, rep); err != nil {
		return nil, err
	}
	if !g.opts.KeepAgentFiles {
		if err := g.removeAgentTests(ctx, rep); err != nil {
			return nil, err
		}
	}
	if err := g.tamperScan(ctx, rep); err != nil {
		return nil, err
	}
	if !g.opts.LegacyRunner && (len(g.d.TestCommands) == 0 || plainPytest(g.d.TestCommands, g.d.Tests)) {
		return g.runSeparated(ctx, hidden, rep)
	}
	if err := g.install(ctx, rep); err != nil {
		return nil, err
	}
	if err := writeTree(ctx, g.sb, g.workdir, hidden); err != nil {
		return nil, fmt.Errorf("copy hidden tests in: %w", err)
	}
	return g.runTests(ctx, hidden, rep)
}

// bringIn recreates the workspace: baseline (spec) commit, the patch, then
// the archive for what the patch could not carry.
func (g *grader) bringIn(ctx context.Context, sub Submission, rep *Report) error {
	name := g.opts.SpecName
	if name == "" {
		name = "SPEC.md"
	}
	if err := writeTree(ctx, g.sb, g.workdir, map[string][]byte{name: []byte(g.d.Spec)}); err != nil {
		return fmt.Errorf("write baseline: %w", err)
	}
	r, err := g.exec(ctx, "baseline commit", 2*time.Minute, nil, "bash", "-c",
		`git init -q && git add -A && git -c user.name=sweval -c user.email=sweval@localhost commit -q --allow-empty -m baseline`)
	if err != nil {
		return err
	}
	if r.ExitCode != 0 {
		return fmt.Errorf("baseline commit failed (exit %d): %s", r.ExitCode, r.Output)
	}
	applied := false
	if strings.TrimSpace(sub.Patch) != "" {
		if err := writeTree(ctx, g.sb, "/tmp/sweval-d2r", map[string][]byte{"agent.diff": []byte(sub.Patch)}); err != nil {
			return err
		}
		r, err := g.exec(ctx, "apply patch", 5*time.Minute, nil, "bash", "-c",
			`git apply --whitespace=nowarn /tmp/sweval-d2r/agent.diff || patch -p1 --batch --forward < /tmp/sweval-d2r/agent.diff`)
		if err != nil {
			return err
		}
		applied = r.ExitCode == 0
		if applied {
			rep.Applied = "patch"
		}
	}
	if len(sub.Archive) == 0 {
		if strings.TrimSpace(sub.Patch) != "" && !applied {
			return &scoreZero{reason: "the workspace patch does not apply and no archive was kept"}
		}
		return nil
	}
	// With the patch in, only binary files come from the archive; without
	// it, the archive is the whole workspace.
	want := map[string]bool(nil)
	if applied {
		want = binaryPaths(sub.Patch)
		if len(want) == 0 {
			return nil
		}
		rep.Applied = "patch+archive"
	} else {
		rep.Applied = "archive"
	}
	filtered, n, err := filterTar(sub.Archive, want)
	if err != nil {
		return &scoreZero{reason: "workspace archive unreadable: " + err.Error()}
	}
	fmt.Fprintf(g.log, ">>>>> workspace archive: %d file(s)\n", n)
	if err := g.sb.CopyIn(ctx, g.workdir, bytes.NewReader(filtered)); err != nil {
		return fmt.Errorf("copy workspace archive in: %w", err)
	}
	return nil
}

var reBinary = regexp.MustCompile(`(?m)^(?:Binary files (?:a/)?(\S+) and (?:b/)?(\S+) differ|diff --git a/(\S+) b/(\S+)\n(?:[^\n]*\n)*?GIT binary patch)`)

// binaryPaths lists the files a diff marks binary.
func binaryPaths(patch string) map[string]bool {
	out := map[string]bool{}
	for _, m := range reBinary.FindAllStringSubmatch(patch, -1) {
		for _, p := range []string{m[2], m[4]} {
			if p != "" && p != "/dev/null" {
				out[strings.TrimPrefix(p, "b/")] = true
			}
		}
	}
	return out
}

// filterTar keeps regular files and directories (only those in want, when
// want is non-nil), dropping links, devices, .git and paths escaping the
// root; modes keep only the permission bits up to 0755.
func filterTar(archive []byte, want map[string]bool) ([]byte, int, error) {
	files, err := sandbox.ReadFiles(bytes.NewReader(archive))
	if err != nil {
		return nil, 0, err
	}
	kept := files[:0]
	n := 0
	for _, f := range files {
		if f.Name == ".git" || strings.HasPrefix(f.Name, ".git/") {
			continue
		}
		if !f.Mode.IsRegular() && !f.Mode.IsDir() {
			continue // symlinks could point out of the workspace
		}
		if want != nil && !want[f.Name] {
			continue
		}
		f.Mode = f.Mode&fs.ModeDir | f.Mode.Perm()&0o755
		f.UID, f.GID = 0, 0
		if f.Mode.IsRegular() {
			n++
		}
		kept = append(kept, f)
	}
	var buf bytes.Buffer
	if err := sandbox.WriteFiles(&buf, kept...); err != nil {
		return nil, n, err
	}
	return buf.Bytes(), n, nil
}

// removeScript deletes what the agent must not bring to its own grading:
// its tests, every conftest.py, pytest configuration files and interpreter
// start-up hooks. It prints each removed path.
//
//go:embed scripts/remove_agent_files.sh
var removeScript string

// tamperPattern finds package code that reaches into the test run from
// inside the test process: pytest internals and hooks, report files, exit
// forging, module-level skips.
const tamperPattern = `(^|[^A-Za-z0-9_])(import[[:space:]]+_pytest|from[[:space:]]+_pytest|_pytest\.|pytest_runtest_|pytest_collection|pytest_sessionfinish|pytest_configure|TestReport|junitxml|PYTEST_ADDOPTS|PYTEST_PLUGINS|pytest_plugins|OPENSWE_EXIT_CODE|os\._exit|sys\.modules\[["']_?pytest|allow_module_level|pytest\.xfail|pytest\.skip|pytest11)`

func (g *grader) tamperScan(ctx context.Context, rep *Report) error {
	if g.opts.AllowPytestInternals {
		return nil
	}
	r, err := g.exec(ctx, "scan package code for test-run tampering", 2*time.Minute, nil, "bash", "-c",
		`grep -rnE --include='*.py' --include='*.cfg' --include='*.toml' --include='*.txt' --exclude-dir=.git -e "$1" . | head -20`, "scan", tamperPattern)
	if err != nil {
		return err
	}
	if hits := strings.TrimSpace(string(r.Output)); hits != "" {
		rep.Tamper = append(rep.Tamper, "package-touches-test-runner")
		return &scoreZero{reason: "the agent's package code reaches into the test run (pytest internals, hooks, report files, exit codes or module-level skips):\n" + hits}
	}
	return nil
}

func (g *grader) removeAgentTests(ctx context.Context, rep *Report) error {
	r, err := g.exec(ctx, "remove agent tests and runner hooks", 2*time.Minute, nil, "bash", "-c", removeScript, "remove", g.workdir)
	if err != nil {
		return err
	}
	if r.ExitCode != 0 {
		return fmt.Errorf("remove agent tests: exit %d: %s", r.ExitCode, r.Output)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(r.Output)), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			rep.Removed = append(rep.Removed, l)
		}
	}
	return nil
}

// pytestDigest fingerprints the installed test runner and the code the
// interpreter runs at start-up (sitecustomize, usercustomize, executable
// .pth lines other than setuptools' standard editable hook), so an install
// that plants or rewrites any of them is caught. Plain path lines of .pth
// files (legacy develop installs) do not execute and are not hashed.
//
//go:embed scripts/pytest_digest.py
var pytestDigest string

func (g *grader) install(ctx context.Context, rep *Report) error {
	before, err := g.exec(ctx, "test runner digest (before install)", 2*time.Minute, nil, "python3", "-c", pytestDigest)
	if err != nil {
		return err
	}
	timeout := g.opts.InstallTimeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	r, err := g.exec(ctx, "install the agent's package", timeout, nil, "bash", "-c", `
if [ ! -f pyproject.toml ] && [ ! -f setup.py ] && [ ! -f setup.cfg ]; then
  echo "no pyproject.toml, setup.py or setup.cfg in the workspace: nothing to install"; exit 3
fi
python3 -m pip install --no-deps --no-build-isolation --no-index --break-system-packages -e . 2>&1 || \
python3 -m pip install --no-deps --no-build-isolation --no-index -e . 2>&1`)
	if err != nil {
		return err
	}
	if r.TimedOut || r.ExitCode != 0 {
		rep.Install = fmt.Sprintf("install failed (exit %d): %s", r.ExitCode, lastLines(string(r.Output), 15))
		return &scoreZero{reason: "the agent's package does not install: " + rep.Install}
	}
	after, err := g.exec(ctx, "test runner digest (after install)", 2*time.Minute, nil, "python3", "-c", pytestDigest)
	if err != nil {
		return err
	}
	if before.ExitCode == 0 && (after.ExitCode != 0 || !bytes.Equal(before.Output, after.Output)) {
		rep.Tamper = append(rep.Tamper, "test-runner-modified-by-install")
		return &scoreZero{reason: "installing the agent's package modified pytest or the interpreter's start-up hooks"}
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// runTests runs each hidden test file (or each task test command) with a
// JUnit report, and merges the reports.
func (g *grader) runTests(ctx context.Context, hidden map[string][]byte, rep *Report) (map[string]grade.TestStatus, error) {
	timeout := g.opts.TestTimeout
	if timeout == 0 {
		timeout = 30 * time.Minute
	}
	dir := "/tmp/sweval-junit-" + randomHex(8)
	// PYTHONSAFEPATH: the workspace is not put first on sys.path, so a
	// pytest.py or _pytest/ of the agent's cannot shadow the runner.
	env := []string{"PYTHONDONTWRITEBYTECODE=1", "PYTHONSAFEPATH=1"}
	if !g.opts.AllowPluginAutoload {
		env = append(env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1")
	}
	var runs []string // bash scripts; $1 = junit path
	if len(g.d.TestCommands) > 0 {
		// The task's commands, verbatim through bash -c; the JUnit report
		// is requested through PYTEST_ADDOPTS so the text is untouched.
		runs = g.d.TestCommands
	} else {
		for _, f := range testFiles(hidden) {
			runs = append(runs, "python3 -m pytest -p no:cacheprovider -o junit_family=xunit1 -rA "+shell.Quote(f))
		}
	}
	merged := map[string]grade.TestStatus{}
	for i, cmd := range runs {
		xml := fmt.Sprintf("%s/run-%d.xml", dir, i)
		runEnv := append(append([]string{}, env...), "PYTEST_ADDOPTS=--junitxml="+xml+" -o junit_family=xunit1")
		// A stale report (or one planted by code under test) must not be
		// read for this run.
		if _, err := g.exec(ctx, "clear report", time.Minute, nil, "bash", "-c", `mkdir -p "$(dirname "$1")" && rm -rf -- "$1"`, "clear", xml); err != nil {
			return nil, err
		}
		r, err := g.exec(ctx, "tests: "+cmd, timeout, runEnv, "bash", "-c", cmd)
		if err != nil {
			return nil, err
		}
		data, err := sandbox.ReadFile(ctx, g.sb, xml)
		if err != nil {
			fmt.Fprintf(g.log, ">>>>> no JUnit report for run %d (exit %d, timed out %v): its tests count as not run\n", i, r.ExitCode, r.TimedOut)
			continue
		}
		m, err := grade.ParseJUnitXML(data)
		if err != nil {
			fmt.Fprintf(g.log, ">>>>> unreadable JUnit report for run %d: %v\n", i, err)
			continue
		}
		for id, st := range m {
			merged[id] = st
		}
	}
	return merged, nil
}

var rePytestFlag = regexp.MustCompile(`^(?:-r[a-zA-Z]+|-q|-qq|-v|-vv|-s|--tb=[a-z]+|--color=[a-z]+)$`)

// plainPytest reports whether every test command only runs pytest over
// hidden test paths with flags that change nothing but its output
// (bundled manifests say "python3 -m pytest -rA tests"): the separated
// runner, which runs every hidden test file, grades them the same.
// Anything else (other flags, other programs, shell syntax, node ids)
// keeps the task's own command on the legacy path.
func plainPytest(cmds, tests []string) bool {
	for _, c := range cmds {
		words := strings.Fields(c)
		switch {
		case len(words) > 0 && words[0] == "pytest":
			words = words[1:]
		case len(words) > 2 && (words[0] == "python3" || words[0] == "python") && words[1] == "-m" && words[2] == "pytest":
			words = words[3:]
		default:
			return false
		}
		// The paths must be the hidden test paths exactly: a subset or
		// node ids would select fewer tests than the separated runner runs.
		named := map[string]bool{}
		for _, w := range words {
			switch {
			case rePytestFlag.MatchString(w):
			case slices.ContainsFunc(tests, func(t string) bool { return path.Clean(t) == path.Clean(w) }):
				named[path.Clean(w)] = true
			default:
				return false
			}
		}
		for _, t := range tests {
			if !named[path.Clean(t)] {
				return false
			}
		}
	}
	return len(tests) > 0
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var reTestFile = regexp.MustCompile(`(^|/)(test_[^/]*|[^/]*_test)\.py$`)

func testFiles(hidden map[string][]byte) []string {
	var out []string
	for p := range hidden {
		if reTestFile.MatchString(p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// score fills rep from the statuses: the declared set is the task's
// declared ids (minus excluded ones) when known, else every test that ran
// with the declared count as denominator.
func score(d *benchmarks.Doc2Repo, statuses map[string]grade.TestStatus, rep *Report) {
	rep.Tests = statuses
	excluded := map[string]bool{}
	for _, id := range d.ExcludedIDs {
		excluded[id] = true
	}
	ran := 0
	for id := range statuses {
		if !excluded[id] {
			ran++
		}
	}
	rep.Ran = ran
	if len(d.DeclaredIDs) > 0 {
		for _, id := range d.DeclaredIDs {
			if excluded[id] {
				continue
			}
			rep.Declared++
			st, ok := statuses[id]
			switch {
			case !ok:
				rep.NotRun = append(rep.NotRun, id)
				rep.Failed = append(rep.Failed, id)
			case st == grade.Passed:
				rep.Passed = append(rep.Passed, id)
			default:
				rep.Failed = append(rep.Failed, id)
			}
		}
		declared := map[string]bool{}
		for _, id := range d.DeclaredIDs {
			declared[id] = true
		}
		for id := range statuses {
			if !declared[id] && !excluded[id] {
				rep.Ignored = append(rep.Ignored, id)
			}
		}
		if d.DeclaredTests > 0 && d.DeclaredTests != rep.Declared {
			rep.Mismatch = fmt.Sprintf("declared_tests is %d but %d declared ids are scored", d.DeclaredTests, rep.Declared)
		}
	} else {
		rep.Declared = d.DeclaredTests
		for id, st := range statuses {
			if excluded[id] {
				continue
			}
			if st == grade.Passed {
				rep.Passed = append(rep.Passed, id)
			} else {
				rep.Failed = append(rep.Failed, id)
			}
		}
		if rep.Declared == 0 {
			rep.Declared = ran
			rep.Mismatch = fmt.Sprintf("task declares no test count: scored over the %d tests that ran", ran)
		} else if ran != rep.Declared {
			rep.Mismatch = fmt.Sprintf("%d tests ran but %d are declared (the score's denominator stays %d)", ran, rep.Declared, rep.Declared)
		}
	}
	sort.Strings(rep.Passed)
	sort.Strings(rep.Failed)
	sort.Strings(rep.NotRun)
	sort.Strings(rep.Ignored)
}

func declaredCount(d *benchmarks.Doc2Repo, _ map[string]grade.TestStatus) int {
	if len(d.DeclaredIDs) > 0 {
		n := 0
		ex := map[string]bool{}
		for _, id := range d.ExcludedIDs {
			ex[id] = true
		}
		for _, id := range d.DeclaredIDs {
			if !ex[id] {
				n++
			}
		}
		return n
	}
	return d.DeclaredTests
}

// HiddenTests returns the task's hidden test files (path relative to the
// workspace → content): inline TestFiles, and the Tests paths read from
// the reference directory.
func HiddenTests(task *benchmarks.Task) (map[string][]byte, error) {
	d := task.Doc2Repo
	out := map[string][]byte{}
	for p, b := range d.TestFiles {
		out[path.Clean(p)] = b
	}
	for _, t := range d.Tests {
		if d.Reference == "" {
			if len(d.TestFiles) == 0 {
				return nil, fmt.Errorf("task %s: test path %q given but no reference directory to read it from", task.ID, t)
			}
			continue
		}
		root := filepath.Join(d.Reference, filepath.FromSlash(t))
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				if e.Name() == "__pycache__" || e.Name() == ".pytest_cache" {
					return filepath.SkipDir
				}
				return nil
			}
			if !e.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(d.Reference, p)
			out[filepath.ToSlash(rel)] = b
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("task %s: hidden tests %s: %w", task.ID, root, err)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("task %s: no hidden tests: set tests (paths in the reference) or ship test files", task.ID)
	}
	return out, nil
}

// writeTree copies files (relative path → content) into dir in sb, in
// name order, stamped now (a stale .pyc must never look newer).
func writeTree(ctx context.Context, sb sandbox.Sandbox, dir string, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	now := time.Now()
	entries := make([]sandbox.File, 0, len(names))
	for _, n := range names {
		entries = append(entries, sandbox.File{Name: n, Data: files[n], Mode: 0o644, ModTime: now})
	}
	var buf bytes.Buffer
	if err := sandbox.WriteFiles(&buf, entries...); err != nil {
		return err
	}
	return sb.CopyIn(ctx, dir, &buf)
}
