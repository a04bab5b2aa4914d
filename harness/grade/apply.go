package grade

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sweval/sweval/harness/sandbox"
)

// Patch apply methods, in the order they are tried (SWE-bench's cascade).
const (
	MethodGitApply       = "git_apply"
	MethodGitApplyReject = "git_apply_reject"
	MethodPatchFuzz      = "patch_fuzz"
)

var methods = []string{MethodGitApply, MethodGitApplyReject, MethodPatchFuzz}

// ErrPatchDoesNotApply is returned (wrapped) when no method applies a patch.
var ErrPatchDoesNotApply = errors.New("patch does not apply")

// stepTimeout bounds each exec of the harness's own git/patch steps.
const stepTimeout = 5 * time.Minute

// Exit codes of the harness's scripts. A method's success is 200+index,
// so one exec can both apply and say which method worked.
const (
	exitUnpack        = 89  // the stdin tar could not be unpacked
	exitSnapshot      = 92  // the work tree could not be recorded
	exitRestore       = 93  // the work tree could not be restored
	exitAppliedBase   = 200 // + index into methods
	exitNoMethodWorks = 210
)

// unpackScript extracts the tar on stdin into workDir (patches travel as
// files, never through a shell string).
const unpackScript = `mkdir -p ` + workDir + ` && tar -x --no-same-owner -f - -C ` + workDir + ` || exit 89
`

// cascadeFunc defines sweval_apply DIR PATCHFILE INDEX: it tries git
// apply, git apply --reject and patch --fuzz=5, restoring the work tree
// between attempts (a failed --reject leaves .rej files and half-applied
// hunks). The tree (tracked and untracked, not ignored files) is recorded
// as a tree object in a private index, without touching the repository's
// own index, only once plain git apply (atomic) has failed. It returns 200+i for the method that worked, 210 when none did.
// patch runs with --no-backup-if-mismatch: GNU patch otherwise leaves
// *.orig files behind when hunks apply with fuzz.
const cascadeFunc = `sweval_restore() {
  GIT_INDEX_FILE="$IDX" git_ read-tree "$TREE" || return 93
  GIT_INDEX_FILE="$IDX" git_ checkout-index -a -f || return 93
  GIT_INDEX_FILE="$IDX" git_ clean -fdq >/dev/null
  # .rej files a repository's .gitignore hides from git clean.
  find . -path ./.git -prune -o -name '*.rej' -type f -newer "$IDX.stamp" -print0 | xargs -0 -r rm -f --
  return 0
}
sweval_apply() {
  cd "$1" || return 90
  sweval_gitdir || return 92
  IDX="$3"
  local i=0 m rc
  for m in git_apply git_apply_reject patch_fuzz; do
    if [ "$i" -eq 1 ]; then
      # git apply is atomic: the tree is still as it was, record it now.
      cp "$(git_ rev-parse --git-path index)" "$IDX" 2>/dev/null || rm -f "$IDX"
      GIT_INDEX_FILE="$IDX" git_ add -A . >/dev/null || return 92
      TREE=$(GIT_INDEX_FILE="$IDX" git_ write-tree) || return 92
      touch "$IDX.stamp"
    elif [ "$i" -gt 1 ]; then
      sweval_restore || return 93
    fi
    echo ">>>>> $m"
    case $m in
      git_apply) git_ apply --verbose "$2" ;;
      git_apply_reject) git_ apply --verbose --reject "$2" ;;
      patch_fuzz) patch --batch --fuzz=5 -p1 --no-backup-if-mismatch -i "$2" ;;
    esac
    rc=$?
    echo ">>>>> $m: exit $rc"
    if [ "$rc" -eq 0 ]; then return $((200 + i)); fi
    i=$((i + 1))
  done
  sweval_restore
  return 210
}
`

// ApplyPatch applies patch to the repository at dir inside the container,
// trying git apply, git apply --reject, then patch --fuzz=5 (SWE-bench's
// cascade), and returns the method that worked and the attempts' log. The
// work tree is restored between attempts, so a failed --reject leaves no
// .rej files or half-applied hunks behind, and restored again when nothing
// works. The patch goes in as a file (a tar on the exec's stdin); the whole
// cascade is one exec.
func ApplyPatch(ctx context.Context, sb sandbox.Sandbox, dir, patch string) (method string, log string, err error) {
	if strings.TrimSpace(patch) == "" {
		return "", "", fmt.Errorf("apply patch: %w: the patch is empty", ErrPatchDoesNotApply)
	}
	if err := checkPatchPaths(patch); err != nil {
		return "", "", fmt.Errorf("apply patch: %w: %w", ErrPatchDoesNotApply, err)
	}
	nonce := randomHex(8)
	tarball, err := tarFiles(map[string][]byte{"patch-" + nonce + ".diff": patchBytes(patch)})
	if err != nil {
		return "", "", err
	}
	script := "set -u\n" + gitPrelude + unpackScript + cascadeFunc +
		fmt.Sprintf("sweval_apply %s %s %s\n", Quote(dir), Quote(workDir+"/patch-"+nonce+".diff"), Quote(workDir+"/index-"+nonce))
	res, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: []string{"bash", "-c", script}, Stdin: bytes.NewReader(tarball), Timeout: stepTimeout})
	if err != nil {
		return "", "", fmt.Errorf("apply patch: %w", err)
	}
	return cascadeResult(res)
}

// cascadeResult reads the method from the cascade's exit code.
func cascadeResult(res sandbox.ExecResult) (string, string, error) {
	log := string(res.Output)
	switch c := res.ExitCode; {
	case res.TimedOut:
		return "", log, fmt.Errorf("apply patch: timed out after %s", stepTimeout)
	case c >= exitAppliedBase && c < exitAppliedBase+len(methods):
		return methods[c-exitAppliedBase], log, nil
	case c == exitNoMethodWorks:
		return "", log, fmt.Errorf("apply patch: %w (tried %s)", ErrPatchDoesNotApply, strings.Join(methods, ", "))
	default:
		return "", log, fmt.Errorf("apply patch: the cascade failed (exit %d: %s): %s", c, exitReason(c), tail(res.Output))
	}
}

func exitReason(code int) string {
	switch code {
	case exitUnpack:
		return "could not unpack the patch files"
	case exitNoDir:
		return "no repository directory"
	case exitSnapshot:
		return "could not record the work tree"
	case exitRestore:
		return "could not restore the work tree"
	case exitResetFailed:
		return "could not reset the test files"
	case exitPreTest:
		return "a pre-test command (install_config.eval_commands) failed"
	case exitActivate:
		return "the image's conda env testbed could not be activated"
	case exitTestPatchFails:
		return "the test patch does not apply"
	}
	return "unexpected"
}

// patchBytes ends a patch with a newline: git apply calls a last line
// without one corrupt.
func patchBytes(p string) []byte {
	if p != "" && !strings.HasSuffix(p, "\n") {
		p += "\n"
	}
	return []byte(p)
}

// tarFiles builds a tar of regular files (names relative, no
// directories) with sandbox.WriteFiles, the project's one tar writer.
func tarFiles(files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := sandbox.WriteFiles(&buf, sandbox.FilesOf(files, 0o644, time.Now())...); err != nil {
		return nil, fmt.Errorf("grade: %w", err)
	}
	return buf.Bytes(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// tail is the end of a command's output, for error messages.
func tail(out []byte) string {
	s := strings.TrimSpace(string(out))
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	return s
}

// workDir is where grading files (patches, the JUnit report, eval
// scripts) live inside the container: under /tmp, which the sandbox mounts
// as a tmpfs.
const workDir = "/tmp/sweval-grade"

// checkPatchPaths refuses a patch that writes outside the work tree or into
// .git (patch(1), the last step of the cascade, would do both), so a model
// patch cannot plant git configuration (filters, hooks) that later git
// commands of the grading would run. CheckPatch is the one parser for
// every step of the cascade.
func checkPatchPaths(patch string) error {
	return CheckPatch(patch)
}
