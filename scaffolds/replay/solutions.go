package replay

import (
	"fmt"
	"strings"

	"github.com/sweval/sweval/internal/shell"
)

// DefaultRepoPath is where SWE-bench-style images keep the repository.
const DefaultRepoPath = "/testbed"

// PatchCommand is a shell command that applies patch (a unified diff) in
// repoPath: git apply, then patch --fuzz as the fallback. The patch
// travels in a quoted heredoc, so nothing in it is expanded.
func PatchCommand(repoPath, patch string) string {
	if !strings.HasSuffix(patch, "\n") {
		patch += "\n"
	}
	delim := "SWEVAL_PATCH_EOF"
	for i := 0; strings.Contains(patch, delim); i++ {
		delim = fmt.Sprintf("SWEVAL_PATCH_EOF_%d", i)
	}
	return fmt.Sprintf("cd %s && cat > /tmp/sweval_solution.patch <<'%s'\n%s%s\ngit apply --whitespace=nowarn /tmp/sweval_solution.patch || patch -p1 --forward --fuzz=3 -i /tmp/sweval_solution.patch",
		shell.Quote(repoPath), delim, patch, delim)
}

// WrongCommand is a shell command that changes the repository without
// fixing anything: it appends a comment to the first file patch modifies
// (or creates sweval_wrong.txt when it modifies none), so the extracted
// patch is non-empty and wrong.
func WrongCommand(repoPath, patch string) string {
	target := "sweval_wrong.txt"
	for _, line := range strings.Split(patch, "\n") {
		if p, ok := strings.CutPrefix(line, "--- a/"); ok {
			target = strings.TrimSpace(p)
			break
		}
	}
	return fmt.Sprintf("cd %s && printf '\\n# sweval: deliberately wrong solution\\n' >> %s", shell.Quote(repoPath), shell.Quote(target))
}

// SolutionScript builds a script that, for each instance id → patch,
// applies the patch (wrong=false) or makes a harmless wrong change
// (wrong=true), then submits. Replies are protocol-neutral (Command,
// Submit), so one script drives both scaffolds. An empty patch only
// submits.
func SolutionScript(patches map[string]string, repoPath string, wrong bool) Script {
	if repoPath == "" {
		repoPath = DefaultRepoPath
	}
	s := Script{Instances: map[string][]Reply{}}
	for id, patch := range patches {
		var rs []Reply
		switch {
		case strings.TrimSpace(patch) == "":
		case wrong:
			rs = append(rs, Reply{Content: "Making a change that does not fix the issue.", Command: WrongCommand(repoPath, patch)})
		default:
			rs = append(rs, Reply{Content: "Applying the fix.", Command: PatchCommand(repoPath, patch)})
		}
		s.Instances[id] = append(rs, Reply{Submit: true})
	}
	return s
}
