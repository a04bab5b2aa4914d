package grade

import (
	"context"
	"fmt"
	"strings"

	"github.com/sweval/sweval/harness/sandbox"
)

// maxPatchBytes bounds an extracted patch.
const maxPatchBytes = 64 << 20

// extractScript stages everything (git add -A honours .gitignore, so
// ignored files are not part of the patch, as in SWE-bench) and prints the
// diff of the index against the base commit ($1) on stdout, git's stderr
// kept aside (the sandbox merges the two streams). Every setting that
// changes diff output and could have been planted in .git/config by the
// agent is pinned.
const extractScript = `set -u
cd "$2" || exit 90
sweval_gitdir || exit 94
E=$(mktemp) || exit 96
git_ add -A . >/dev/null 2>"$E" || { cat "$E"; exit 94; }
git_ -c diff.external= -c diff.noprefix=false -c diff.mnemonicPrefix=false \
  -c diff.relative=false -c diff.suppressBlankEmpty=false -c core.autocrlf=false \
  -c diff.ignoreSubmodules=none \
  diff --cached --no-ext-diff --no-textconv --no-color --no-renames -U3 \
  --src-prefix=a/ --dst-prefix=b/ "$1" -- 2>"$E" || { printf '\n%s\n' "$(cat "$E")"; exit 95; }
`

// ExtractPatch returns the agent's changes in the repository at dir as a
// unified diff against baseCommit (git add -A && git diff --cached base),
// with binary files dropped (they cannot be applied from a text diff).
// Git runs against a private git directory (gitPrelude: the repository's
// .git/config, hooks and info/attributes are never read), with external
// diff drivers, textconv and colour off and every diff setting pinned, so
// an agent's sabotage of git configuration inside the container can
// neither run a program as the harness nor change the patch's format.
// One exec.
func ExtractPatch(ctx context.Context, sb sandbox.Sandbox, dir, baseCommit string) (string, error) {
	if baseCommit == "" {
		return "", fmt.Errorf("extract patch: no base commit")
	}
	res, err := sb.Exec(ctx, sandbox.ExecRequest{
		Cmd:         []string{"bash", "-c", gitPrelude + extractScript, "sweval", baseCommit, dir},
		Timeout:     stepTimeout,
		OutputLimit: maxPatchBytes,
	})
	if err != nil {
		return "", fmt.Errorf("extract patch: %w", err)
	}
	if res.ExitCode != 0 || res.TimedOut {
		return "", fmt.Errorf("extract patch from %s against %s (exit %d): %s", dir, baseCommit, res.ExitCode, tail(res.Output))
	}
	if res.Elided > 0 {
		return "", fmt.Errorf("extract patch from %s: the diff is larger than %d bytes", dir, maxPatchBytes)
	}
	return DropBinary(string(res.Output)), nil
}

// DropBinary removes every file section of a git diff that is binary
// ("Binary files a/x and b/x differ" or a "GIT binary patch") or a nested
// repository's gitlink (mode 160000), keeping the rest byte for byte.
func DropBinary(patch string) string {
	if patch == "" {
		return ""
	}
	var out strings.Builder
	var section strings.Builder
	binary := false
	inHunk := false
	flush := func() {
		if !binary {
			out.WriteString(section.String())
		}
		section.Reset()
		binary = false
		inHunk = false
	}
	lines := strings.SplitAfter(patch, "\n")
	for _, line := range lines {
		bare := strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(bare, "diff --git ") {
			flush()
		}
		if !inHunk {
			switch {
			case strings.HasPrefix(bare, "@@"):
				inHunk = true
			case bare == "GIT binary patch",
				strings.HasPrefix(bare, "Binary files ") && strings.HasSuffix(bare, " differ"),
				// A nested repository staged as a gitlink: not applicable.
				strings.HasSuffix(bare, " mode 160000"), strings.HasPrefix(bare, "index ") && strings.HasSuffix(bare, " 160000"):
				binary = true
			}
		}
		section.WriteString(line)
	}
	flush()
	return out.String()
}
