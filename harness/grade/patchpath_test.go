package grade

import (
	"strings"
	"testing"
)

// TestCheckPatch lists every header spelling through which git apply or
// patch(1) could be told to write into .git or out of the repository.
func TestCheckPatch(t *testing.T) {
	hunk := "@@ -0,0 +1 @@\n+[alias]\n"
	tests := []struct {
		name  string
		patch string
		bad   bool
	}{
		{"honest fix", fixPatch, false},
		{"honest new file", "diff --git a/x.py b/x.py\nnew file mode 100644\n--- /dev/null\n+++ b/x.py\n" + hunk, false},
		{"gitignore is not .git", "diff --git a/.gitignore b/.gitignore\n--- a/.gitignore\n+++ b/.gitignore\n" + hunk, false},
		{"github dir is not .git", "--- a/.github/x.yml\n+++ b/.github/x.yml\n" + hunk, false},
		{"context hunk ranges", "*** a/x.py\n--- b/x.py\n***************\n*** 1,3 ****\n--- 1,3 ----\n", false},
		{"removed sql comment", "--- a/q.sql\n+++ b/q.sql\n@@ -1,2 +1 @@\n--- a comment\n x\n", false},
		{"relative symlink inside", "diff --git a/docs/r b/docs/r\nnew file mode 120000\n--- /dev/null\n+++ b/docs/r\n@@ -0,0 +1 @@\n+../README\n\\ No newline at end of file\n", false},

		{"diff --git", "diff --git a/.git/config b/.git/config\n" + hunk, true},
		{"--- header", "--- a/.git/config\n+++ b/x\n" + hunk, true},
		{"+++ header", "--- a/x\n+++ b/.git/config\n" + hunk, true},
		{"+++ with timestamp", "--- a/x\t2020-01-01\n+++ b/.git/hooks/pre-commit\t2020-01-01\n" + hunk, true},
		{"Index:", "Index: .git/config\n===\n--- config\n+++ config\n" + hunk, true},
		{"Index no space", "Index:.git/config\n" + hunk, true},
		{"rename from", "diff --git a/x b/y\nrename from .git/config\nrename to y\n", true},
		{"rename to", "diff --git a/x b/y\nrename from x\nrename to .git/config\n", true},
		{"copy from", "diff --git a/x b/y\ncopy from .git/config\ncopy to y\n", true},
		{"copy to", "diff --git a/x b/y\ncopy from x\ncopy to .git/hooks/post-checkout\n", true},
		{"context diff ***", "*** a/.git/config\n--- b/.git/config\n***************\n", true},
		{"context diff --- only", "*** a/x\n--- b/.git/config\n***************\n", true},
		{"quoted octal", "diff --git \"a/.g\\151t/config\" \"b/.g\\151t/config\"\n" + hunk, true},
		{"quoted --- octal", "--- \"a/.g\\151t/config\"\n+++ \"b/.g\\151t/config\"\n" + hunk, true},
		{"./.git", "--- ./.git/config\n+++ ./.git/config\n" + hunk, true},
		{"foo/../.git", "--- a/foo/../.git/config\n+++ b/foo/../.git/config\n" + hunk, true},
		{"upper case", "--- a/.GIT/config\n+++ b/.GIT/config\n" + hunk, true},
		{"mixed case", "diff --git a/.Git/config b/.Git/config\n" + hunk, true},
		{"ntfs trailing dot", "--- a/.git./config\n+++ b/.git./config\n" + hunk, true},
		{"ntfs short name", "--- a/GIT~1/config\n+++ b/GIT~1/config\n" + hunk, true},
		{"hfs ignorable", "--- a/.g\u200cit/config\n+++ b/.g\u200cit/config\n" + hunk, true},
		{"absolute", "--- /etc/passwd\n+++ /etc/passwd\n" + hunk, true},
		{"absolute .git", "--- /testbed/.git/config\n+++ /testbed/.git/config\n" + hunk, true},
		{"trailing slash", "--- a/.git/\n+++ b/.git/\n" + hunk, true},
		{"bare .git", "--- a/.git\n+++ b/.git\n" + hunk, true},
		{"climbs out", "--- a/../x\n+++ b/../x\n" + hunk, true},
		{"header inside a hunk", "--- a/x\n+++ b/x\n@@ -1 +1,3 @@\n-x\n+x\n--- a/.git/config\n+++ b/.git/config\n", true},
		{"backslash", "--- a\\.git\\config\n+++ b\\.git\\config\n" + hunk, true},
		{"ed script", "1a\n[alias]\n.\nw\n", true},
		{"symlink into .git", "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+.git\n", true},
		{"symlink into .git/hooks", "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+.git/hooks\n", true},
		{"symlink absolute", "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+/etc\n", true},
		{"symlink out", "diff --git a/d/l b/d/l\nnew file mode 120000\n--- /dev/null\n+++ b/d/l\n@@ -0,0 +1 @@\n+../..\n", true},
		{"symlink to root", "diff --git a/d/l b/d/l\nnew file mode 120000\n--- /dev/null\n+++ b/d/l\n@@ -0,0 +1 @@\n+..\n", true},
		{"symlink quoted target path", "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+.GIT/config\n", true},
		{"write through own symlink", "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+sub\ndiff --git a/l/x b/l/x\n--- /dev/null\n+++ b/l/x\n" + hunk, true},
		{"symlink through symlink", "diff --git a/d/c b/d/c\nnew file mode 120000\n--- /dev/null\n+++ b/d/c\n@@ -0,0 +1 @@\n+../e\ndiff --git a/x b/x\nnew file mode 120000\n--- /dev/null\n+++ b/x\n@@ -0,0 +1 @@\n+d/c/..\n", true},
		{"mode change to symlink", "diff --git a/l b/l\nold mode 100644\nnew mode 120000\n", true},
		{"unclosed quote", "--- \"a/x\n+++ b/x\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPatch(tt.patch)
			if (err != nil) != tt.bad {
				t.Fatalf("CheckPatch = %v, want refused %v", err, tt.bad)
			}
			// ApplyPatch's gate is the same parser.
			if (checkPatchPaths(tt.patch) != nil) != tt.bad {
				t.Fatalf("checkPatchPaths disagrees with CheckPatch")
			}
		})
	}
}

// FuzzCheckPatch: the parser never panics, and whatever it accepts names
// no .git component in any header a tool would read.
func FuzzCheckPatch(f *testing.F) {
	for _, s := range []string{fixPatch, itTestPatch, "--- a/.git/config\n", "diff --git \"a/\\056git/x\" b/y\n", "Index: x\n", "*** 1,2 ****\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, patch string) {
		if CheckPatch(patch) != nil {
			return
		}
		for _, line := range strings.Split(patch, "\n") {
			names, err := headerPaths(strings.TrimSuffix(line, "\r"))
			if err != nil {
				t.Fatalf("accepted a patch whose header %q does not parse: %v", line, err)
			}
			for _, n := range names {
				for _, part := range strings.FieldsFunc(n, func(r rune) bool { return r == '/' || r == '\\' }) {
					if isDotGit(part) || part == ".." {
						t.Fatalf("accepted %q (line %q)", n, line)
					}
				}
			}
		}
	})
}
