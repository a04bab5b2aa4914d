package grade

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/sandbox"
)

// DefaultTimeout bounds a test run when Options.Timeout is zero (SWE-bench's
// default of 1800 s).
const DefaultTimeout = 30 * time.Minute

// DefaultOutputLimit is the test run output kept (head + tail): large, as
// Django and sympy report each test on its own line across the whole log.
const DefaultOutputLimit = 32 << 20

// maxJUnitBytes bounds the JUnit report read back.
const maxJUnitBytes = 64 << 20

// Options tune one grading.
type Options struct {
	// TestCmd replaces the test command (the CLI's --test-cmd); directives
	// are still appended, or substituted for {tests}.
	TestCmd string
	// LogParser replaces the parser (ours or SWE-bench's parse_log_* name).
	LogParser string
	// Timeout bounds the test command, enforced inside the container
	// (timeout --kill-after); zero means DefaultTimeout. A run that hits it
	// is unresolved with reason "timeout".
	Timeout time.Duration
	// NoJUnit stops the harness asking pytest for a JUnit XML report; by
	// default it does when the test command is pytest and reads the report
	// in preference to the log.
	NoJUnit bool
	// SkipModelPatch grades the repository as it is (no model patch),
	// e.g. to check that FAIL_TO_PASS fails with the test patch alone.
	SkipModelPatch bool
	// Dir is the repository inside the container; default /testbed.
	Dir string
	// OutputLimit caps the test output kept; zero means DefaultOutputLimit.
	OutputLimit int
	// Logger receives progress; nil means slog.Default().
	Logger *slog.Logger
	// SameContainer grades the old way: the tests run as root in the
	// container the model patch was applied in, with the task's own
	// runner and its printed output as the channel. By default
	// (package swegrade) the tests run in a fresh container as an
	// unprivileged user with the harness's runner, canaries and
	// cross-checked channels. For side-by-side benchmarks and triage.
	SameContainer bool
	// Reinstall runs the spec's re-install step (SWE-bench's `install`,
	// e.g. "python -m pip install -e .") after the model patch, as
	// SWE-bench's eval script does, in a container of its own whose
	// workspace changes alone reach the tests (package swegrade). For
	// published images, whose environment holds the repository installed.
	Reinstall bool
	// Rules say how the declared tests' outcomes become the verdict;
	// zero means RulesStrict. Every rule set's reading is kept.
	Rules Rules
}

// Outcome is what grading one patch produced.
type Outcome struct {
	Status      result.Status
	Resolution  result.Resolution
	TestsStatus *result.TestsStatus
	// PatchMethod is how the model patch applied: git_apply,
	// git_apply_reject or patch_fuzz; "" when it did not or was skipped.
	PatchMethod string
	// TestExitCode is the test command's exit code (OpenSWE: the
	// OPENSWE_EXIT_CODE value); nil when the tests did not run.
	TestExitCode *int
	// Tests are the parsed outcomes; Source says where they came from
	// ("junit" or the parser's name).
	Tests  map[string]TestStatus
	Source string
	// Log is the eval log (eval.log): patch apply, prepare, the test output
	// between SWE-bench's markers, reset.
	Log string
	// Error is the reason when not resolved for a reason other than tests
	// failing ("timeout", "patch does not apply: ...", infra errors).
	Error string
	// Infra is true when the failure is not the model's (test patch
	// reject, container trouble, an unreadable test run): Status is error.
	Infra    bool
	TimedOut bool
	// Flags are what grading detected besides the tests' outcome
	// (grade:tamper-patch-path for a patch that reaches into .git or out
	// of the repository); they join the rollout's audit flags.
	Flags []string
	// TestDuration is the test command's own wall time, measured inside
	// the container (OpenSWE: the exec's duration).
	TestDuration time.Duration
	// Rules decided Status and Resolution; Readings is every rule set's
	// reading of the same outcomes and Disagreement why they differ ("" when
	// they agree). Unset when no rule decided (nothing declared, a
	// timeout, an unreadable run).
	Rules        Rules
	Readings     map[Rules]Reading
	Disagreement string
}

// Fill copies the outcome into a results.jsonl record.
func (o Outcome) Fill(r *result.Result) {
	r.Status = o.Status
	r.Resolved = o.Status == result.StatusResolved
	r.Resolution = o.Resolution
	r.TestsStatus = o.TestsStatus
	r.VerdictRules, r.Verdicts, r.VerdictDisagreement = string(o.Rules), o.ResolutionByRules(), o.Disagreement
	r.PatchApplied = o.PatchMethod
	r.PatchIsEmpty = o.Status == result.StatusEmptyPatch
	r.TestExitCode = o.TestExitCode
	r.Error = o.Error
	if r.Resolved {
		r.PassFraction, r.Strict = 1, true
	} else {
		r.PassFraction, r.Strict = 0, false
	}
}

// ErrInfra marks infrastructure failures (errors.Is).
var ErrInfra = errors.New("infrastructure error")

// Grade applies patch to the task's repository in sb (a fresh container of
// the task's image), runs the task's tests and scores them.
//
// An empty patch gives Status empty_patch without running anything, unless
// opts.SkipModelPatch is set (then the repository is graded as it is). A
// patch that does not apply is unresolved (the model's failure). The
// returned error is non-nil only for infrastructure failures (it wraps
// ErrInfra, or the context's error); the Outcome is valid to record either
// way (Status error, Infra true).
func Grade(ctx context.Context, sb sandbox.Sandbox, task benchmarks.Task, patch string, opts Options) (Outcome, error) {
	opts = opts.withDefaults()
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	patch, out, ok := screenPatch(patch, opts)
	if !ok {
		return out, nil
	}
	if task.Kind == benchmarks.KindOpenSWE && strings.TrimSpace(task.EvalScript) != "" {
		return gradeOpenSWE(ctx, sb, task, patch, opts, out)
	}
	return gradeSWEBench(ctx, sb, task, patch, opts, out)
}

// screenPatch is what every grading path does before a container: an
// empty patch is empty_patch (unless the repository is graded as it is),
// and a patch CheckPatch refuses is unresolved, flagged when it reaches
// into .git or out of the repository. ok is false when out is final.
func screenPatch(patch string, opts Options) (string, Outcome, bool) {
	out := Outcome{Resolution: result.ResolvedNo}
	if !opts.SkipModelPatch && strings.TrimSpace(patch) == "" {
		out.Status, out.Error = result.StatusEmptyPatch, "empty patch"
		return "", out, false
	}
	if opts.SkipModelPatch {
		patch = ""
	}
	if err := checkPatchPaths(patch); err != nil {
		out.Status, out.Error = result.StatusUnresolved, "patch does not apply: "+err.Error()
		if errors.Is(err, ErrUnsafePatch) {
			out.Flags = append(out.Flags, FlagUnsafePatch)
		}
		return "", out, false
	}
	return patch, out, true
}

// applyStep is the shell text that applies the model patch (if any) with
// the cascade and leaves the method's code in $APPLIED (0 when there is no
// patch), exiting early when the patch does not apply.
func applyStep(dir, patchPath, idx string) string {
	if patchPath == "" {
		return "APPLIED=0\n"
	}
	return cascadeFunc + fmt.Sprintf("sweval_apply %s %s %s\nAPPLIED=$?\n", Quote(dir), Quote(patchPath), Quote(idx)) +
		"if [ \"$APPLIED\" -lt 200 ] || [ \"$APPLIED\" -ge 210 ]; then exit \"$APPLIED\"; fi\n"
}

// setupScript is the start of a grading exec: unpack the patches (stdin
// tar), read the marker secret from nonceFile and delete it, apply the
// model patch (cascade), run prepare (reset and apply the test patch) and
// print marker 1 with the model patch's method.
func setupScript(dir, nonceFile, patchPath, nonce, prepare string) string {
	var sc strings.Builder
	sc.WriteString("set -u\n" + gitPrelude + unpackScript)
	fmt.Fprintf(&sc, "N=$(cat %[1]s) && rm -f %[1]s || exit %d\n", Quote(workDir+"/"+nonceFile), exitUnpack)
	sc.WriteString(applyStep(dir, patchPath, workDir+"/index-"+nonce))
	sc.WriteString(prepare)
	sc.WriteString(`printf '\n%s.1 %s\n' "$N" "$APPLIED"` + "\n")
	return sc.String()
}

// setupResult reads the setup exec: the model patch's method, or why the
// run stops (a model patch that does not apply is the model's failure;
// anything else is infrastructure).
func setupResult(res sandbox.ExecResult, hasPatch bool) (method string, modelFailed bool, err error) {
	c := res.ExitCode
	switch {
	case res.TimedOut:
		return "", false, fmt.Errorf("preparing the repository timed out after %s", stepTimeout)
	case c == 0 && !hasPatch:
		return "", false, nil
	case hasPatch && c >= exitAppliedBase && c < exitAppliedBase+len(methods):
		return methods[c-exitAppliedBase], false, nil
	case hasPatch && c == exitNoMethodWorks:
		return "", true, nil
	case c == exitTestPatchFails:
		return "", false, fmt.Errorf("the test patch does not apply")
	}
	return "", false, fmt.Errorf("preparing the repository failed (exit %d: %s): %s", c, exitReason(c), tail(res.Output))
}

// cutSetup finds marker 1 (secret + ".1 <method code>") in the output of
// the one grading exec. When it is there, the setup's output goes to log
// with the model patch's method, which is also set on out, and rest is what
// follows the marker line; ok is false when the setup stopped before it.
func cutSetup(out *Outcome, log *strings.Builder, text, secret string) (rest string, ok bool) {
	m1 := "\n" + secret + ".1 "
	i1 := strings.Index(text, m1)
	if i1 < 0 {
		return "", false
	}
	applied, rest, _ := strings.Cut(text[i1+len(m1):], "\n")
	if n, err := strconv.Atoi(strings.TrimSpace(applied)); err == nil && n >= exitAppliedBase && n < exitAppliedBase+len(methods) {
		out.PatchMethod = methods[n-exitAppliedBase]
	}
	fmt.Fprintf(log, ">>>>> Applying patches\n%s", text[:i1+1])
	if out.PatchMethod != "" {
		fmt.Fprintf(log, ">>>>> Applied model patch with %s\n", out.PatchMethod)
	}
	return rest, true
}

// setupStopped is the outcome of a grading exec whose setup stopped before
// marker 1: its exit code says whether the model patch did not apply
// (unresolved) or something else failed (infrastructure; what says what the
// script never reached, e.g. "before the tests").
func setupStopped(out Outcome, log *strings.Builder, res sandbox.ExecResult, patchGiven bool, taskID, what string) (Outcome, error) {
	fmt.Fprintf(log, ">>>>> Applying patches (exit %d)\n%s", res.ExitCode, res.Output)
	out.Log = log.String()
	method, modelFailed, err := setupResult(res, patchGiven)
	out.PatchMethod = method
	switch {
	case err != nil:
		return infra(out, fmt.Errorf("task %s: %w", taskID, err))
	case modelFailed:
		out.Status, out.Error = result.StatusUnresolved, "patch does not apply"
		return out, nil
	}
	return infra(out, fmt.Errorf("task %s: the grading script stopped %s (exit %d)", taskID, what, res.ExitCode))
}

func gradeSWEBench(ctx context.Context, sb sandbox.Sandbox, task benchmarks.Task, patch string, opts Options, out Outcome) (Outcome, error) {
	var log strings.Builder
	spec, err := ResolveSpec(task, opts.TestCmd)
	if err != nil {
		return infra(out, err)
	}
	if opts.LogParser != "" {
		p, err := CanonicalParser(opts.LogParser)
		if err != nil {
			return infra(out, err)
		}
		spec.Parser = p
	}
	parser, _ := ParserByName(spec.Parser)

	nonce, secret := randomHex(8), "SWEVAL_"+randomHex(16)
	files := map[string][]byte{"test-" + nonce + ".diff": patchBytes(task.TestPatch)}
	patchPath := ""
	if patch != "" {
		files["model-"+nonce+".diff"] = patchBytes(patch)
		patchPath = workDir + "/model-" + nonce + ".diff"
	}
	in := ScriptInput{
		Dir:           opts.Dir,
		BaseCommit:    task.BaseCommit,
		TestPatch:     task.TestPatch,
		TestPatchPath: workDir + "/test-" + nonce + ".diff",
		Spec:          spec,
	}
	if !opts.NoJUnit && spec.Parser != ParserDjango && spec.Parser != ParserSympy {
		in.JUnitPath = workDir + "/junit-" + nonce + ".xml"
	}
	script, err := BuildEvalScript(in)
	if err != nil {
		return infra(out, fmt.Errorf("task %s: %w", task.ID, err))
	}
	nonceFile := "n-" + nonce
	files[nonceFile] = []byte(secret)
	tarball, err := tarFiles(files)
	if err != nil {
		return infra(out, err)
	}

	// One exec does it all (each exec costs a round trip to the daemon):
	// unpack the patches, apply the model patch (cascade), reset the test
	// files and apply the test patch, print marker 1, run the tests under
	// an in-container timeout, print marker 2 with the exit code and wall
	// time, reset the test files, print the JUnit report. The markers carry
	// a secret read from a file that is deleted before the tests start, so
	// the code under test cannot print them: what lies between them is
	// exactly the test command's output.
	var sc strings.Builder
	sc.WriteString(setupScript(opts.Dir, nonceFile, patchPath, nonce, script.Prepare))
	sc.WriteString("S=$(date +%s%N)\n")
	fmt.Fprintf(&sc, "timeout --kill-after=5s %s bash -c \"$1\" </dev/null\nrc=$?\n", durationArg(opts.Timeout))
	sc.WriteString("E=$(date +%s%N)\n")
	sc.WriteString(`printf '\n%s.2 %s %s\n' "$N" "$rc" "$(( (E - S) / 1000000 ))"` + "\n")
	sc.WriteString("( " + script.Reset + ") >/dev/null 2>&1\n")
	if in.JUnitPath != "" {
		fmt.Fprintf(&sc, "[ -f %[1]s ] && cat %[1]s\n", Quote(in.JUnitPath))
	}
	sc.WriteString("exit $rc\n")

	opts.Logger.Debug("grading", "task", task.ID, "cmd", script.TestCommand)
	res, err := sb.Exec(ctx, sandbox.ExecRequest{
		Cmd:         []string{"bash", "-c", sc.String(), "sweval", script.Test},
		Stdin:       bytes.NewReader(tarball),
		Timeout:     opts.Timeout + stepTimeout,
		OutputLimit: opts.OutputLimit,
	})
	if err != nil {
		return infra(out, fmt.Errorf("grade: %w", err))
	}
	rest, ok := cutSetup(&out, &log, string(res.Output), secret)
	if !ok {
		return setupStopped(out, &log, res, patch != "", task.ID, "before the tests")
	}

	testOut, junit := rest, ""
	code, timedOut := res.ExitCode, res.TimedOut
	out.TestDuration = res.Duration
	m2 := "\n" + secret + ".2 "
	if i2 := strings.LastIndex(rest, m2); i2 >= 0 {
		testOut = rest[:i2+1]
		var tail string
		tail, junit, _ = strings.Cut(rest[i2+len(m2):], "\n")
		var rc, ms int
		if _, err := fmt.Sscanf(tail, "%d %d", &rc, &ms); err == nil {
			code = rc
			out.TestDuration = time.Duration(ms) * time.Millisecond
			// timeout(1) exits 124 (TERM) or 137 (KILL) when time ran out.
			if (rc == 124 || rc == 137) && out.TestDuration >= opts.Timeout-time.Second {
				timedOut = true
			}
		}
	}
	out.TestExitCode = &code
	out.TimedOut = timedOut
	fmt.Fprintf(&log, "+ %s\n%s\n", script.TestCommand, StartTestOutput)
	log.WriteString(testOut)
	if testOut != "" && !strings.HasSuffix(testOut, "\n") {
		log.WriteByte('\n')
	}
	fmt.Fprintf(&log, "%s\nSWEVAL_TEST_EXIT_CODE=%d\n", EndTestOutput, code)
	out.Log = log.String()

	// Parse: the JUnit report when pytest wrote one, else the log.
	tests, source := map[string]TestStatus(nil), spec.Parser
	if in.JUnitPath != "" && !timedOut && res.Elided == 0 && strings.TrimSpace(junit) != "" {
		if m, err := ParseJUnitXML([]byte(junit)); err == nil && len(m) > 0 {
			tests, source = withAliases(m, idNormalizer(spec.Parser)), ParserJUnit
		}
	}
	if tests == nil {
		tests = parser(testOut)
	}
	out.Tests, out.Source = tests, source

	if timedOut {
		out.Status, out.Error = result.StatusUnresolved, "timeout"
		return out, nil
	}
	if res.OOMKilled {
		out.Status, out.Error = result.StatusUnresolved, "test run killed: out of memory"
		return out, nil
	}
	if err := UnreadableRun(code, tests, testOut, source); err != nil {
		return infra(out, err)
	}
	scoreDeclared(&out, task, tests, opts.Rules)
	return out, nil
}

// scoreDeclared sets out's verdict from the declared tests' outcomes under
// rules, keeping every rule set's reading; with nothing declared the exit
// code decides.
func scoreDeclared(out *Outcome, task benchmarks.Task, tests map[string]TestStatus, rules Rules) {
	if len(task.FailToPass) == 0 && len(task.PassToPass) == 0 {
		if out.TestExitCode != nil && *out.TestExitCode == 0 {
			out.Status, out.Resolution = result.StatusResolved, result.ResolvedFull
		} else {
			out.Status = result.StatusUnresolved
		}
		return
	}
	if rules == "" {
		rules = RulesStrict
	}
	out.Rules = rules
	out.Readings = readAll(task.FailToPass, task.PassToPass, tests)
	out.Disagreement = Disagreement(out.Readings, task.FailToPass, task.PassToPass, tests)
	r := out.Readings[rules]
	ts := r.TestsStatus
	out.TestsStatus, out.Resolution = &ts, r.Resolution
	if r.Resolution == result.ResolvedFull {
		out.Status = result.StatusResolved
	} else {
		out.Status = result.StatusUnresolved
	}
}

// infra marks an outcome as an infrastructure error.
func infra(out Outcome, err error) (Outcome, error) {
	out.Status = result.StatusError
	out.Resolution = result.ResolvedNo
	out.Infra = true
	out.Error = err.Error()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return out, err
	}
	return out, fmt.Errorf("%w: %w", ErrInfra, err)
}

// Resolve computes SWE-bench's tests_status and resolution from parsed
// outcomes, hardened: a FAIL_TO_PASS test passes only if it PASSED (or
// XPASS); skipped, xfailed, missing, failed or errored is a failure. A
// PASS_TO_PASS test is kept if it passed, was skipped or xfailed (as in
// SWE-bench's test_maintained); missing, failed or errored is a failure.
// FULL = every F2P and P2P test succeeds; PARTIAL = some but not all F2P
// succeed and every P2P does; NO otherwise.
func Resolve(failToPass, passToPass []string, tests map[string]TestStatus) (result.TestsStatus, result.Resolution) {
	ts := result.TestsStatus{
		FailToPass: result.SuccessFailure{Success: []string{}, Failure: []string{}},
		PassToPass: result.SuccessFailure{Success: []string{}, Failure: []string{}},
	}
	for _, id := range failToPass {
		s, ok := lookup(tests, id)
		if ok && (s == Passed || s == XPass) {
			ts.FailToPass.Success = append(ts.FailToPass.Success, id)
		} else {
			ts.FailToPass.Failure = append(ts.FailToPass.Failure, id)
		}
	}
	for _, id := range passToPass {
		s, ok := lookup(tests, id)
		if ok && (s == Passed || s == XPass || s == XFail || s == Skipped) {
			ts.PassToPass.Success = append(ts.PassToPass.Success, id)
		} else {
			ts.PassToPass.Failure = append(ts.PassToPass.Failure, id)
		}
	}
	return ts, resolutionStatus(ratio(len(ts.FailToPass.Success), len(failToPass)), ratio(len(ts.PassToPass.Success), len(passToPass)))
}

func ratio(n, total int) float64 {
	if total == 0 {
		return 1
	}
	return float64(n) / float64(total)
}

// lookup finds a test id, also in JUnit's classname.name spelling.
func lookup(tests map[string]TestStatus, id string) (TestStatus, bool) {
	if s, ok := tests[id]; ok {
		return s, true
	}
	if d := dottedID(id); d != id {
		if s, ok := tests[d]; ok {
			return s, true
		}
	}
	return "", false
}

// durationArg is a duration as timeout(1) reads it ("12.500s").
func durationArg(d time.Duration) string {
	return strconv.FormatFloat(max(d.Seconds(), 0.001), 'f', 3, 64) + "s"
}

// UnreadableRun is the error for a test run that exited non-zero with no
// failing test in its parsed results: the run could not be read (or the
// program could not start, exit 127, whose missing program it names), so
// it is neither a pass nor the model's failure. Nil when the run reads.
func UnreadableRun(code int, tests map[string]TestStatus, output, source string) error {
	if code == 0 || StatusMap(tests).hasFailure() {
		return nil
	}
	if hint := notFoundHint(code, output); hint != "" {
		return fmt.Errorf("the test command could not start: %s", hint)
	}
	return fmt.Errorf("the test command exited %d but no failing test was parsed (%d results via %s): the run is unreadable, not a pass", code, len(tests), source)
}
