package grade

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/sandbox"
)

// Applied is a repository after the apply phase of a phase-split grading
// (package swegrade): the model patch applied with the cascade and the
// test patch on top, as root, in a container no code of the repository
// ran in. It says what changed, so a fresh container of the task's image
// can be brought to the same tree without anything else surviving.
type Applied struct {
	Spec   RepoSpec
	Script EvalScript
	// Files are the regular files the patches left changed or added, by
	// repository-relative path; Exec marks the executable ones.
	Files map[string][]byte
	Exec  map[string]bool
	// Removed are paths the patches deleted or turned into something other
	// than a regular file (a symlink is never carried over).
	Removed []string
	// Dropped are the model patch's changes kept from the tests: runner
	// configuration, conftest.py, interpreter start-up hooks, installed
	// metadata and runner shadows (see KeptFromTests). The test phase sees
	// the image's version of each.
	Dropped []string
	// TestFiles are the files of the test patch.
	TestFiles []string
}

// maxAppliedBytes bounds the changed files carried between the phases.
const maxAppliedBytes = 256 << 20

// exitStatus is the apply phase's own failure: git status could not list
// the work tree's changes.
const exitStatus = 94

// KeptFromTests reports whether a path a model patch wrote must not reach
// the test phase: a file pytest or the interpreter reads before or around
// the tests (configuration in every spelling, conftest.py, sitecustomize,
// .pth), installed metadata that registers plugins (entry points under
// *.egg-info / *.dist-info), modules that stand in for the runner at the
// repository's top level, and bytecode. None of them is part of an honest
// fix that the hidden tests judge; the image's version is kept.
func KeptFromTests(p string) bool {
	base := path.Base(p)
	switch base {
	case "conftest.py", "pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml", "tox.ini", "setup.cfg", "pyproject.toml",
		"sitecustomize.py", "usercustomize.py", "__pycache__":
		return true
	}
	if strings.HasSuffix(base, ".pth") || strings.HasSuffix(base, ".pyc") {
		return true
	}
	parts := strings.Split(p, "/")
	for _, d := range parts {
		if strings.HasSuffix(d, ".egg-info") || strings.HasSuffix(d, ".dist-info") || d == "__pycache__" || d == ".pytest_cache" {
			return true
		}
	}
	top := strings.TrimSuffix(parts[0], ".py")
	return len(parts) >= 1 && (top == "pytest" || top == "_pytest" || top == "pluggy" || top == "py")
}

// ApplyPhase applies the model patch (cascade) and the test patch in sb as
// root, then lists and copies out what changed (git status through the
// grader's private GIT_DIR). When done is false, out is the final outcome
// (empty patch, unsafe patch, patch does not apply, infrastructure error)
// and err follows Grade's contract; otherwise out carries the log and
// the patch method so far.
func ApplyPhase(ctx context.Context, sb sandbox.Sandbox, task benchmarks.Task, patch string, opts Options) (app Applied, out Outcome, done bool, err error) {
	opts = opts.withDefaults()
	patch, out, ok := screenPatch(patch, opts)
	if !ok {
		return app, out, false, nil
	}
	spec, err := ResolveSpec(task, opts.TestCmd)
	if err != nil {
		out, err = infra(out, err)
		return app, out, false, err
	}
	if opts.LogParser != "" {
		p, err := CanonicalParser(opts.LogParser)
		if err != nil {
			out, err = infra(out, err)
			return app, out, false, err
		}
		spec.Parser = p
	}
	nonce, secret := randomHex(8), "SWEVAL_"+randomHex(16)
	files := map[string][]byte{"test-" + nonce + ".diff": patchBytes(task.TestPatch), "n-" + nonce: []byte(secret)}
	patchPath := ""
	if patch != "" {
		files["model-"+nonce+".diff"] = patchBytes(patch)
		patchPath = workDir + "/model-" + nonce + ".diff"
	}
	script, err := BuildEvalScript(ScriptInput{
		Dir: opts.Dir, BaseCommit: task.BaseCommit, TestPatch: task.TestPatch,
		TestPatchPath: workDir + "/test-" + nonce + ".diff", Spec: spec,
	})
	if err != nil {
		out, err = infra(out, fmt.Errorf("task %s: %w", task.ID, err))
		return app, out, false, err
	}
	tarball, err := tarFiles(files)
	if err != nil {
		out, err = infra(out, err)
		return app, out, false, err
	}
	changes := workDir + "/changes-" + nonce
	// One exec: unpack, apply the model patch, reset and apply the test
	// patch, print marker 1, then record the work tree's changes (tracked
	// and untracked, not ignored) and tar the regular files among them.
	// No code of the repository runs here: git is the grader's (private
	// GIT_DIR, pinned config), patch(1) is the system's.
	var sc strings.Builder
	sc.WriteString(setupScript(opts.Dir, "n-"+nonce, patchPath, nonce, script.Prepare))
	fmt.Fprintf(&sc, `C=%s
mkdir -p "$C" || exit %[2]d
git_ status --porcelain=v1 -z --untracked-files=all --no-renames >"$C/status" || exit %[2]d
: >"$C/files.0"
while IFS= read -r -d '' e; do
  p=${e:3}
  if [ -f "$p" ] && [ ! -L "$p" ]; then printf '%%s\0' "$p" >>"$C/files.0"; fi
done <"$C/status"
tar -c --null -T "$C/files.0" -f "$C/files.tar" || exit %[2]d
exit 0
`, Quote(changes), exitStatus)
	res, err := sb.Exec(ctx, sandbox.ExecRequest{
		Cmd: []string{"bash", "-c", sc.String()}, Stdin: bytes.NewReader(tarball),
		Timeout: stepTimeout, OutputLimit: opts.OutputLimit,
	})
	if err != nil {
		out, err = infra(out, fmt.Errorf("grade: %w", err))
		return app, out, false, err
	}
	var log strings.Builder
	rest, ok := cutSetup(&out, &log, string(res.Output), secret)
	if !ok {
		out, err = setupStopped(out, &log, res, patch != "", task.ID, "before the tests")
		return app, out, false, err
	}
	log.WriteString(rest)
	out.Log = log.String()
	if res.ExitCode != 0 {
		out, err = infra(out, fmt.Errorf("task %s: listing the applied changes failed (exit %d): %s", task.ID, res.ExitCode, tail(res.Output)))
		return app, out, false, err
	}
	app = Applied{Spec: spec, Script: script, Files: map[string][]byte{}, Exec: map[string]bool{}}
	if err := app.read(ctx, sb, changes, patch, task.TestPatch); err != nil {
		out, err = infra(out, fmt.Errorf("task %s: %w", task.ID, err))
		return app, out, false, err
	}
	app.TestFiles = append(ModifiedFiles(task.TestPatch), NewFiles(task.TestPatch)...)
	sort.Strings(app.TestFiles)
	if len(app.Dropped) > 0 {
		fmt.Fprintf(&log, ">>>>> Kept from the tests (the model patch's runner configuration, conftest, start-up hooks, metadata): %s\n", strings.Join(app.Dropped, ", "))
		out.Log = log.String()
	}
	return app, out, true, nil
}

// read fills app from the apply phase's changes directory: the status
// listing decides which paths changed, the tar holds the regular files.
func (app *Applied) read(ctx context.Context, sb sandbox.Sandbox, dir, patch, testPatch string) error {
	rc, err := sb.CopyOut(ctx, dir)
	if err != nil {
		return fmt.Errorf("copy the applied changes out: %w", err)
	}
	defer rc.Close()
	top := path.Base(dir)
	var status, inner []byte
	tr := tar.NewReader(io.LimitReader(rc, 2*maxAppliedBytes))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read the applied changes: %w", err)
		}
		var dst *[]byte
		switch strings.TrimPrefix(path.Clean(hdr.Name), top+"/") {
		case "status":
			dst = &status
		case "files.tar":
			dst = &inner
		default:
			continue
		}
		if *dst, err = io.ReadAll(io.LimitReader(tr, maxAppliedBytes+1)); err != nil {
			return fmt.Errorf("read the applied changes: %w", err)
		}
		if len(*dst) > maxAppliedBytes {
			return fmt.Errorf("the applied changes exceed %d MiB", maxAppliedBytes>>20)
		}
	}
	fromModel := map[string]bool{}
	for _, f := range PatchFiles(patch) {
		fromModel[f.Old], fromModel[f.New] = true, true
	}
	changed := map[string]bool{}
	for _, e := range strings.Split(string(status), "\x00") {
		if len(e) < 4 {
			continue
		}
		p := e[3:]
		if checkRelPath(p) != nil || p == ".git" || strings.HasPrefix(p, ".git/") {
			continue
		}
		changed[p] = true
	}
	itr := tar.NewReader(bytes.NewReader(inner))
	for {
		hdr, err := itr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read the applied files: %w", err)
		}
		p := path.Clean(hdr.Name)
		if hdr.Typeflag != tar.TypeReg || !changed[p] {
			continue
		}
		b, err := io.ReadAll(itr)
		if err != nil {
			return fmt.Errorf("read the applied file %s: %w", p, err)
		}
		app.Files[p] = b
		app.Exec[p] = hdr.Mode&0o111 != 0
	}
	for p := range changed {
		if _, ok := app.Files[p]; !ok {
			app.Removed = append(app.Removed, p)
		}
	}
	// Test patch files always carry over; the model's writes to files the
	// runner or interpreter reads never do (deletions included).
	tests := map[string]bool{}
	for _, f := range PatchFiles(testPatch) {
		tests[f.Old], tests[f.New] = true, true
	}
	var removed []string
	for _, p := range app.Removed {
		if KeptFromTests(p) && !tests[p] {
			app.noteDropped(p, fromModel)
			continue
		}
		removed = append(removed, p)
	}
	app.Removed = removed
	for p := range app.Files {
		if KeptFromTests(p) && !tests[p] {
			delete(app.Files, p)
			delete(app.Exec, p)
			app.noteDropped(p, fromModel)
		}
	}
	sort.Strings(app.Removed)
	sort.Strings(app.Dropped)
	return nil
}

// noteDropped records p as dropped when the model patch names it (files
// the image's own install left untracked are not the model's).
func (app *Applied) noteDropped(p string, fromModel map[string]bool) {
	if fromModel[p] {
		app.Dropped = append(app.Dropped, p)
	}
}

// ScoreTests resolves a phase-split run's outcomes against the task's
// FAIL_TO_PASS / PASS_TO_PASS under rules: only those ids count (planted
// and extra tests are ignored), each looked up in the spellings SWE-bench's
// lists use.
func ScoreTests(out *Outcome, task benchmarks.Task, spec RepoSpec, tests map[string]TestStatus, rules Rules) {
	out.Tests = withAliases(StatusMap(tests), idNormalizer(spec.Parser))
	scoreDeclared(out, task, out.Tests, rules)
}

// ParseLog runs the spec's log parser over a test run's output (for test
// commands that are not pytest, whose printed log is the only channel).
func ParseLog(spec RepoSpec, output string) map[string]TestStatus {
	p, _ := ParserByName(spec.Parser)
	return p(output)
}

// IsPytestCommand reports whether cmd runs pytest directly (after any
// VAR=value prefixes), so the harness's runner can stand in for it.
func IsPytestCommand(cmd string) bool { return isPytestCommand(cmd) }

// Infra marks an outcome as an infrastructure error, as Grade does.
func Infra(out Outcome, err error) (Outcome, error) { return infra(out, err) }

// withDefaults fills the zero fields as Grade does.
func (o Options) withDefaults() Options {
	if o.Dir == "" {
		o.Dir = "/testbed"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.OutputLimit <= 0 {
		o.OutputLimit = DefaultOutputLimit
	}
	return o
}
