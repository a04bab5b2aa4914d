package grade

import (
	"fmt"
	"strings"

	"github.com/sweval/sweval/harness/sandbox"
)

// Markers SWE-bench puts around the test run in its eval log.
const (
	StartTestOutput = ">>>>> Start Test Output"
	EndTestOutput   = ">>>>> End Test Output"
)

// Exit codes the prepare step uses to say what went wrong.
const (
	exitNoDir          = 90 // cd into the repository failed
	exitResetFailed    = 91 // resetting test files failed
	exitTestPatchFails = 97 // the test patch did not apply
	exitActivate       = 98 // the image's conda env could not be activated
	exitPreTest        = 99 // a pre-test command (eval_commands) failed
)

// ScriptInput is what an eval script is built from.
type ScriptInput struct {
	Dir        string // repository inside the container, e.g. /testbed
	BaseCommit string
	// TestPatch is the test patch text (file lists are read from it);
	// TestPatchPath is where it was written inside the container.
	TestPatch     string
	TestPatchPath string
	Spec          RepoSpec
	// JUnitPath, when set and the command is pytest, adds
	// --junitxml=JUnitPath -o junit_family=xunit1 to the command.
	JUnitPath string
}

// EvalScript is SWE-bench's eval script in three parts, each a bash
// script. Full joins them into SWE-bench's single-file form, with the
// markers. Grade runs the parts in one exec with its own markers around
// the test command (carrying a secret the tests cannot read), so the test
// output and exit code are known exactly and nothing printed while
// preparing, nor forged markers in the test output, can blur the boundary.
type EvalScript struct {
	// Prepare resets the files the test patch touches to the base commit,
	// deletes the files it adds, and applies it; it exits 97 when the test
	// patch does not apply.
	Prepare string
	// Test runs the test command; its exit code is the command's.
	Test string
	// Reset puts the test files back to the base commit afterwards.
	Reset string
	// TestCommand is the command line Test runs, for logs.
	TestCommand string
	// Directives are the test runner arguments taken from the test patch.
	Directives []string
}

// gitPrelude makes the grader's git the harness's, not the repository's.
// The agent (or code it planted in the work tree) may have rewritten
// .git/config, .git/info/attributes or .git/hooks, and git reads a
// repository's own config whatever -c or environment says. So git_ never
// opens the repository's git directory as one: sweval_gitdir (run after
// each cd into the work tree) builds a private GIT_DIR under /tmp that
// borrows only data from .git (objects through an alternates file, refs,
// HEAD, index, info/exclude, shallow), with an empty config, no hooks and
// no attributes. HOME and XDG_CONFIG_HOME point at an empty directory,
// system/global config and attributes are off, every GIT_* variable that
// redirects git or runs a program is unset, and -c pins the settings that
// run programs or change output. Filters and diff drivers named in a
// tree's .gitattributes are inert: their commands live only in config.
const gitPrelude = `G=/usr/bin/git; [ -x "$G" ] || G=git
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES \
  GIT_CONFIG GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT GIT_EXEC_PATH GIT_TEMPLATE_DIR GIT_EXTERNAL_DIFF \
  GIT_DIFF_OPTS GIT_SSH GIT_SSH_COMMAND GIT_ASKPASS SSH_ASKPASS GIT_EDITOR GIT_SEQUENCE_EDITOR \
  GIT_PROXY_COMMAND GIT_REPLACE_REF_BASE GIT_NAMESPACE GIT_CEILING_DIRECTORIES GIT_DISCOVERY_ACROSS_FILESYSTEM
SWEVAL_GITHOME=$(mktemp -d /tmp/sweval-githome.XXXXXX) || exit 96
export HOME="$SWEVAL_GITHOME" XDG_CONFIG_HOME="$SWEVAL_GITHOME" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
  GIT_ATTR_NOSYSTEM=1 GIT_NO_REPLACE_OBJECTS=1 GIT_TERMINAL_PROMPT=0 GIT_OPTIONAL_LOCKS=0 GIT_PAGER=cat PAGER=cat
SWEVAL_GD= SWEVAL_WT=
sweval_gitdir() {
  [ -d .git/objects ] || { echo "sweval: $PWD/.git is not a git directory" >&2; return 1; }
  SWEVAL_WT=$(pwd -P) || return 1
  SWEVAL_GD=$(mktemp -d /tmp/sweval-gitdir.XXXXXX) || return 1
  mkdir -p "$SWEVAL_GD/objects/info" "$SWEVAL_GD/info" "$SWEVAL_GD/refs" || return 1
  printf '%s\n' "$SWEVAL_WT/.git/objects" >"$SWEVAL_GD/objects/info/alternates"
  printf '[core]\n\trepositoryformatversion = 0\n\tbare = false\n' >"$SWEVAL_GD/config"
  cp .git/HEAD "$SWEVAL_GD/HEAD" 2>/dev/null || printf 'ref: refs/heads/main\n' >"$SWEVAL_GD/HEAD"
  # Symlinks in .git (refs -> /) are not followed: data only, bounded.
  [ -d .git/refs ] && [ ! -L .git/refs ] && cp -RP .git/refs/. "$SWEVAL_GD/refs/"
  for f in packed-refs index shallow info/exclude; do [ -f ".git/$f" ] && [ ! -L ".git/$f" ] && cp ".git/$f" "$SWEVAL_GD/$f"; done
  for f in .git/sharedindex.*; do [ -f "$f" ] && [ ! -L "$f" ] && cp "$f" "$SWEVAL_GD/"; done
  return 0
}
git_() {
  [ -n "$SWEVAL_GD" ] || { echo "sweval: git_ before sweval_gitdir" >&2; return 128; }
  GIT_DIR="$SWEVAL_GD" GIT_WORK_TREE="$SWEVAL_WT" "$G" -c core.hooksPath=/dev/null -c core.fsmonitor=false \
    -c core.attributesFile=/dev/null -c core.excludesFile=/dev/null -c core.pager=cat -c core.editor=true \
    -c credential.helper= -c diff.external= -c safe.directory='*' \
    -c core.quotepath=false -c color.ui=false -c core.untrackedCache=false -c core.splitIndex=false "$@"
}
`

// BuildEvalScript builds the eval script for one task. File names from the
// test patch are checked (relative, no "..") and quoted.
func BuildEvalScript(in ScriptInput) (EvalScript, error) {
	if in.Dir == "" {
		in.Dir = "/testbed"
	}
	if in.BaseCommit == "" {
		return EvalScript{}, fmt.Errorf("build eval script: no base commit")
	}
	modified := ModifiedFiles(in.TestPatch)
	added := NewFiles(in.TestPatch)
	for _, f := range append(append([]string{}, modified...), added...) {
		if err := checkRelPath(f); err != nil {
			return EvalScript{}, fmt.Errorf("build eval script: test patch: %w", err)
		}
	}
	reset := resetScript(in.Dir, in.BaseCommit, modified, added)

	var prep strings.Builder
	prep.WriteString(reset)
	if strings.TrimSpace(in.TestPatch) != "" {
		fmt.Fprintf(&prep, "git_ apply --verbose %s || { echo 'sweval: the test patch does not apply' >&2; exit %d; }\n",
			Quote(in.TestPatchPath), exitTestPatchFails)
	}

	directives := TestDirectives(in.Spec.Directives, in.TestPatch)
	cmd := in.Spec.TestCmd
	if in.JUnitPath != "" && isPytestCommand(cmd) {
		cmd = insertAfterBase(cmd, "--junitxml="+Quote(in.JUnitPath)+" -o junit_family=xunit1")
	}
	args := QuoteAll(directives)
	if strings.Contains(cmd, "{tests}") {
		cmd = strings.ReplaceAll(cmd, "{tests}", args)
	} else if args != "" {
		cmd += " " + args
	}
	var test strings.Builder
	fmt.Fprintf(&test, "%s || exit %d\n", sandbox.ActivateEnv, exitActivate)
	fmt.Fprintf(&test, "cd %s || exit %d\n", Quote(in.Dir), exitNoDir)
	for _, kv := range in.Spec.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !isShellName(k) {
			return EvalScript{}, fmt.Errorf("build eval script: env %q is not KEY=VALUE", kv)
		}
		fmt.Fprintf(&test, "export %s=%s\n", k, Quote(v))
	}
	test.WriteString(PreTestScript(in.Spec.PreTest))
	if in.JUnitPath != "" {
		fmt.Fprintf(&test, "rm -f %s\n", Quote(in.JUnitPath))
	}
	test.WriteString(cmd + "\n")

	return EvalScript{
		Prepare:     "set -uo pipefail\n" + prep.String(),
		Test:        test.String(),
		Reset:       "set -uo pipefail\n" + reset,
		TestCommand: cmd,
		Directives:  directives,
	}, nil
}

// Full is the single-file SWE-bench form: prepare, the start marker, the
// test command (its exit code recorded), the end marker, reset.
func (e EvalScript) Full() string {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	b.WriteString(e.Prepare)
	fmt.Fprintf(&b, "echo %s\n", Quote(StartTestOutput))
	b.WriteString("(\n" + e.Test + ")\n")
	b.WriteString("SWEVAL_TEST_EXIT_CODE=$?\n")
	fmt.Fprintf(&b, "echo %s\n", Quote(EndTestOutput))
	b.WriteString("echo \"SWEVAL_TEST_EXIT_CODE=$SWEVAL_TEST_EXIT_CODE\"\n")
	b.WriteString(strings.TrimPrefix(e.Reset, "set -uo pipefail\n"))
	b.WriteString("exit \"$SWEVAL_TEST_EXIT_CODE\"\n")
	return b.String()
}

// resetScript checks out each file the test patch modifies from the base
// commit (only if it exists there) and deletes each file it adds.
func resetScript(dir, base string, modified, added []string) string {
	var b strings.Builder
	b.WriteString(gitPrelude)
	fmt.Fprintf(&b, "cd %s || exit %d\n", Quote(dir), exitNoDir)
	fmt.Fprintf(&b, "sweval_gitdir || exit %d\n", exitResetFailed)
	for _, f := range modified {
		spec := Quote(base + ":" + f)
		fmt.Fprintf(&b, "if git_ cat-file -e %s 2>/dev/null; then git_ checkout %s -- %s || exit %d; else rm -rf -- %s; fi\n",
			spec, Quote(base), Quote(f), exitResetFailed, Quote(f))
	}
	for _, f := range added {
		fmt.Fprintf(&b, "rm -rf -- %s\n", Quote(f))
	}
	return b.String()
}

// checkRelPath refuses absolute paths and paths that climb out of the
// repository: they come from task data and end up in rm -rf.
func checkRelPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return fmt.Errorf("file %q is not a relative path", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return fmt.Errorf("file %q leaves the repository", p)
		}
	}
	return nil
}

// isPytestCommand reports whether cmd runs pytest directly (after any
// VAR=value prefixes), so JUnit options can be added to it.
func isPytestCommand(cmd string) bool {
	f := strings.Fields(cmd)
	for len(f) > 0 && strings.Contains(f[0], "=") && !strings.HasPrefix(f[0], "-") {
		f = f[1:]
	}
	if len(f) == 0 {
		return false
	}
	switch f[0] {
	case "pytest", "py.test", "pytest-3":
		return true
	case "python", "python3":
		return len(f) >= 3 && f[1] == "-m" && f[2] == "pytest"
	}
	return false
}

// insertAfterBase appends opts to the command (before a {tests}
// placeholder when there is one).
func insertAfterBase(cmd, opts string) string {
	if i := strings.Index(cmd, "{tests}"); i >= 0 {
		return cmd[:i] + opts + " " + cmd[i:]
	}
	return cmd + " " + opts
}

func isShellName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9' {
			continue
		}
		return false
	}
	return true
}

// PreTestScript runs a task's pre-test commands in order in the current
// shell (their exports reach the test command), each echoed as SWE-bench's
// `set -x` log would show it; the first that fails exits 99.
func PreTestScript(cmds []string) string {
	var b strings.Builder
	for _, c := range cmds {
		if strings.TrimSpace(c) == "" {
			continue
		}
		fmt.Fprintf(&b, "printf '+ %%s\\n' %s >&2\neval %s || { echo 'sweval: the pre-test command failed (exit '$?')' >&2; exit %d; }\n", Quote(c), Quote(c), exitPreTest)
	}
	return b.String()
}
