package grade

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/sweval/sweval/harness/result"
)

// fixCmd turns the unfixed calc.py into the fixed one: what every planted
// program below runs, so a route that works shows up as "resolved".
const fixCmd = `sed -i "s/a - b/a + b/" /testbed/calc.py; touch /tmp/sweval-pwned`

// plant is the content each route tries to put into .git.
const plantHook = "#!/bin/sh\n" + fixCmd + "\n"

// TestIntegrationPatchPlantsGitConfig grades the unfixed fixture instance
// with model patches that plant a hook, attributes or config into .git by
// every header route; each must be refused and the instance stay
// unresolved, with the planted program never run.
func TestIntegrationPatchPlantsGitConfig(t *testing.T) {
	ctx := context.Background()
	newFile := func(header, name string) string {
		return header + "new file mode 100755\n--- /dev/null\n+++ " + name + "\n@@ -0,0 +1,2 @@\n+#!/bin/sh\n+" + fixCmd + "\n"
	}
	routes := map[string]string{
		"diff --git hook":   newFile("diff --git a/.git/hooks/post-checkout b/.git/hooks/post-checkout\n", "b/.git/hooks/post-checkout"),
		"plain --- +++":     "--- /dev/null\n+++ b/.git/hooks/post-checkout\n@@ -0,0 +1,2 @@\n+#!/bin/sh\n+" + fixCmd + "\n",
		"Index: for patch":  "Index: .git/info/attributes\n===================================================================\n--- /dev/null\n+++ .git/info/attributes\n@@ -0,0 +1 @@\n+* filter=x\n",
		"quoted octal":      newFile("diff --git \"a/.g\\151t/hooks/post-checkout\" \"b/.g\\151t/hooks/post-checkout\"\n", "\"b/.g\\151t/hooks/post-checkout\""),
		"upper case":        newFile("diff --git a/.GIT/hooks/post-checkout b/.GIT/hooks/post-checkout\n", "b/.GIT/hooks/post-checkout"),
		"dot-dot":           newFile("diff --git a/x/../.git/hooks/post-checkout b/x/../.git/hooks/post-checkout\n", "b/x/../.git/hooks/post-checkout"),
		"rename into .git":  "diff --git a/calc.py b/.git/config\nsimilarity index 100%\nrename from calc.py\nrename to .git/config\n",
		"context diff":      "*** /dev/null\n--- b/.git/hooks/post-checkout\n***************\n*** 0 ****\n--- 1,2 ----\n+ #!/bin/sh\n+ " + fixCmd + "\n",
		"symlink then file": "diff --git a/h b/h\nnew file mode 120000\n--- /dev/null\n+++ b/h\n@@ -0,0 +1 @@\n+.git/hooks\n\\ No newline at end of file\n" + newFile("diff --git a/h/post-checkout b/h/post-checkout\n", "b/h/post-checkout"),
		"ed script":         "1a\n[alias]\n.\nw\n",
	}
	for name, patch := range routes {
		t.Run(name, func(t *testing.T) {
			sb, base := newRepo(t, nil)
			task := itTask()
			task.BaseCommit = base
			out, err := Grade(ctx, sb, task, patch, Options{})
			if err != nil {
				t.Fatalf("Grade: %v\n%s", err, out.Log)
			}
			if out.Status == result.StatusResolved || !strings.Contains(out.Error, "unsafe patch") {
				t.Errorf("status %s error %q, want unresolved and refused\n%s", out.Status, out.Error, out.Log)
			}
			if !slices.Contains(out.Flags, FlagUnsafePatch) {
				t.Errorf("flags %v, want %s", out.Flags, FlagUnsafePatch)
			}
			if got := sh(t, sb, "ls /tmp/sweval-pwned .git/hooks/post-checkout 2>&1; grep -c 'a - b' calc.py"); !strings.Contains(got, "1") {
				t.Errorf("a planted program ran or calc.py changed: %s", got)
			}
		})
	}
}

// TestIntegrationGraderIgnoresRepoGitConfig: even when .git/config,
// info/attributes, hooks and fsmonitor were planted (by whatever route),
// neither the cascade, nor the test-file reset, nor patch extraction runs
// any of them, and an unfixed instance stays unresolved.
func TestIntegrationGraderIgnoresRepoGitConfig(t *testing.T) {
	ctx := context.Background()
	sb, base := newRepo(t, map[string]string{".gitattributes": "* filter=x diff=x\n"})
	prog := "sh -c '" + fixCmd + "; cat'"
	sh(t, sb, `cat >>.git/config <<'SWEVAL_CFG'
[filter "x"]
	clean = `+prog+`
	smudge = `+prog+`
	required = true
[diff "x"]
	command = `+prog+`
	textconv = `+prog+`
[core]
	fsmonitor = /tmp/fsm
	hooksPath = .git/hooks
	pager = `+prog+`
[alias]
	apply = !`+prog+`
[include]
	path = /tmp/inc
SWEVAL_CFG
printf '#!/bin/sh\n%s\n' '`+fixCmd+`' >/tmp/fsm; chmod +x /tmp/fsm
mkdir -p .git/hooks; for h in post-checkout pre-commit post-index-change post-applypatch; do cp /tmp/fsm .git/hooks/$h; done
echo '* filter=x' >.git/info/attributes
printf '[core]\n\thooksPath = /tmp\n' >/tmp/inc`)

	// Extraction: an honest edit comes out as an honest diff.
	sh(t, sb, "echo '# note' >> calc.py")
	patch, err := ExtractPatch(ctx, sb, "/testbed", base)
	if err != nil {
		t.Fatalf("ExtractPatch: %v", err)
	}
	if !strings.Contains(patch, "+# note") || strings.Contains(patch, "a + b") {
		t.Fatalf("extracted patch:\n%s", patch)
	}
	if got := sh(t, sb, "ls /tmp/sweval-pwned 2>&1; grep -c 'a - b' calc.py"); !strings.Contains(got, "No such file") || !strings.Contains(got, "1") {
		t.Fatalf("extraction ran a planted program: %s", got)
	}
	sh(t, sb, "GIT_CONFIG_NOSYSTEM=1 git -c core.hooksPath=/dev/null -c core.fsmonitor=false -c filter.x.clean=cat -c filter.x.smudge=cat -c filter.x.required=false checkout -q -- calc.py")

	task := itTask()
	task.BaseCommit = base
	out, err := Grade(ctx, sb, task, patch, Options{})
	if err != nil {
		t.Fatalf("Grade: %v\n%s", err, out.Log)
	}
	if out.Status != result.StatusUnresolved {
		t.Errorf("status %s (error %q), want unresolved\n%s", out.Status, out.Error, out.Log)
	}
	if got := sh(t, sb, "ls /tmp/sweval-pwned 2>&1"); !strings.Contains(got, "No such file") {
		t.Errorf("grading ran a planted program: %s", got)
	}
	// The cascade's snapshot/restore path (--reject, patch) too.
	if _, _, err := ApplyPatch(ctx, sb, "/testbed", fuzzPatch); err != nil {
		t.Fatalf("ApplyPatch: %v", err)
	}
	if got := sh(t, sb, "ls /tmp/sweval-pwned 2>&1"); !strings.Contains(got, "No such file") {
		t.Errorf("the apply cascade ran a planted program: %s", got)
	}
}
