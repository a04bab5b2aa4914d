package grade

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// CheckPatch is the one gate every model patch passes before any tool of
// the apply cascade (git apply, git apply --reject, patch --fuzz) sees it.
// It refuses a patch that names a path inside .git, an absolute path, a
// path that climbs out of the repository, a symlink (mode 120000) that
// points into .git or out of the repository or that another path of the
// patch goes through, and ed scripts (patch(1) would pipe them to ed).
//
// It reads every line that any of the tools could take as a file header,
// wherever it is (inside a hunk too: patch resynchronises on headers when a
// hunk's line counts are off, so hunk position is not trusted), in every
// spelling: "diff --git", "---"/"+++", "***" (context diffs), "Index:",
// "Prereq:", rename/copy from/to, quoted names with C escapes, trailing
// tabs and timestamps, "./" and "a/../" forms, and case or HFS/NTFS
// variants of ".git" (git and patch run on case-insensitive file systems
// too).
func CheckPatch(patch string) error {
	if err := checkPatch(patch); err != nil {
		return fmt.Errorf("%w: %w", ErrUnsafePatch, err)
	}
	return nil
}

func checkPatch(patch string) error {
	lines := strings.Split(strings.ReplaceAll(patch, "\r\n", "\n"), "\n")
	var symlinks []symlink
	var paths []string
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSuffix(lines[i], "\r")
		names, err := headerPaths(line)
		if err != nil {
			return fmt.Errorf("line %d: %w", i+1, err)
		}
		for _, n := range names {
			if err := checkPatchPath(n); err != nil {
				return fmt.Errorf("line %d: %w", i+1, err)
			}
			paths = append(paths, cleanPatchPath(n))
		}
		if reEdCommand.MatchString(line) {
			return fmt.Errorf("line %d: %q is an ed script command; only unified or context diffs are applied", i+1, line)
		}
		if m := reSymlinkMode.FindStringSubmatch(line); m != nil {
			link, target, err := symlinkAt(lines, i)
			if err != nil {
				return fmt.Errorf("line %d: %w", i+1, err)
			}
			if err := checkSymlink(link, target); err != nil {
				return fmt.Errorf("line %d: %w", i+1, err)
			}
			symlinks = append(symlinks, symlink{link: link, target: target})
		}
	}
	// A path that goes through a symlink the patch creates (or a symlink
	// whose target goes through another): patch(1) would follow it.
	for _, s := range symlinks {
		for _, p := range paths {
			if strings.HasPrefix(p, s.link+"/") {
				return fmt.Errorf("file %q goes through the symlink %q the patch creates", p, s.link)
			}
		}
		// Every step of the target's walk, before ".." cleans it away.
		walk := path.Dir(s.link)
		for _, part := range strings.Split(s.target, "/") {
			walk = path.Join(walk, part)
			for _, o := range symlinks {
				if o.link != s.link && walk == o.link {
					return fmt.Errorf("symlink %q points through the symlink %q", s.link, o.link)
				}
			}
		}
	}
	return nil
}

// ErrUnsafePatch wraps every refusal of CheckPatch, so callers can tell a
// patch that reaches for .git or out of the repository (tampering, flag it
// as grade:tamper-patch-path) from one that merely does not apply.
var ErrUnsafePatch = errors.New("unsafe patch")

// FlagUnsafePatch marks a rollout whose patch CheckPatch refused: an
// attempt on the grader's own tools, not an honest patch that failed.
const FlagUnsafePatch = "grade:tamper-patch-path"

type symlink struct{ link, target string }

var (
	// GNU patch's ed detection: "N[,M]{a,c,d,i}" or "s/" alone on a line.
	reEdCommand   = regexp.MustCompile(`^[0-9]+(,[0-9]+)?[acdi]$`)
	reSymlinkMode = regexp.MustCompile(`^(new file mode|new mode|old mode|deleted file mode|index [0-9a-fA-F]+\.\.[0-9a-fA-F]+) 120000\s*$`)
)

// headerPaths returns the file names a line would give git apply or patch
// if it were read as a header; nil for a line that cannot be one.
func headerPaths(line string) ([]string, error) {
	for _, p := range []string{"rename from ", "rename to ", "copy from ", "copy to ", "Index: ", "Index:", "Prereq: "} {
		if strings.HasPrefix(line, p) {
			if p == "Prereq: " {
				return nil, nil
			}
			n, err := oneName(strings.TrimPrefix(line, p))
			return []string{n}, err
		}
	}
	for _, p := range []string{"--- ", "+++ ", "*** ", "---\t", "+++\t", "***\t"} {
		if strings.HasPrefix(line, p) {
			rest := strings.TrimLeft(line[3:], " \t")
			// Hunk range lines of context diffs: "*** 1,3 ****", "--- 1,3 ----".
			if reContextRange.MatchString(line) {
				return nil, nil
			}
			n, err := oneName(rest)
			return []string{n}, err
		}
	}
	if strings.HasPrefix(line, "diff ") {
		return diffLinePaths(strings.TrimPrefix(line, "diff "))
	}
	return nil, nil
}

var reContextRange = regexp.MustCompile(`^(\*\*\* [0-9]+(,[0-9]+)? \*\*\*\*|--- [0-9]+(,[0-9]+)? ----)\s*$`)

// oneName reads a header's file name: quoted with C escapes, or bare up
// to a tab (patch's timestamp separator). A bare name is also checked with
// its trailing " date" part, since which one a tool takes varies.
func oneName(s string) (string, error) {
	s = strings.TrimRight(s, " \t")
	if strings.HasPrefix(s, `"`) {
		n, _, err := unquoteC(s)
		return n, err
	}
	if i := strings.IndexByte(s, '\t'); i >= 0 {
		s = s[:i]
	}
	return s, nil
}

// diffLinePaths reads "diff --git a/x b/y" (or any "diff [opts] x y"): every
// token, quoted or bare, counts as a name, and so do the two halves git
// would split an unquoted "a/x b/y" into when names contain spaces.
func diffLinePaths(s string) ([]string, error) {
	var out []string
	rest := strings.TrimSpace(s)
	for rest != "" {
		var tok string
		if rest[0] == '"' {
			n, r, err := unquoteC(rest)
			if err != nil {
				return nil, err
			}
			tok, rest = n, r
		} else {
			i := strings.IndexAny(rest, " \t")
			if i < 0 {
				i = len(rest)
			}
			tok, rest = rest[:i], rest[i:]
		}
		rest = strings.TrimLeft(rest, " \t")
		if !strings.HasPrefix(tok, "-") {
			out = append(out, tok)
		}
	}
	if i := strings.Index(s, " b/"); strings.HasPrefix(s, "--git a/") && i > 0 {
		out = append(out, s[len("--git "):i], s[i+1:])
	}
	return out, nil
}

// unquoteC reads a git C-quoted string at the start of s and returns it
// and what follows.
func unquoteC(s string) (string, string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), s[i+1:], nil
		case c != '\\':
			b.WriteByte(c)
		case i+1 >= len(s):
			return "", "", fmt.Errorf("quoted name %q ends in a backslash", s)
		default:
			i++
			switch e := s[i]; e {
			case 'a':
				b.WriteByte('\a')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'v':
				b.WriteByte('\v')
			case '0', '1', '2', '3', '4', '5', '6', '7':
				j := i
				for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
					j++
				}
				v, err := strconv.ParseUint(s[i:j], 8, 16)
				if err != nil || v > 255 {
					return "", "", fmt.Errorf("quoted name %q has a bad octal escape", s)
				}
				b.WriteByte(byte(v))
				i = j - 1
			default:
				b.WriteByte(e)
			}
		}
	}
	return "", "", fmt.Errorf("quoted name %q is not closed", s)
}

// checkPatchPath refuses a header name outside the repository or in .git.
// /dev/null (creation, deletion) is the one absolute name allowed.
func checkPatchPath(p string) error {
	if p == "/dev/null" || p == "" {
		return nil
	}
	if strings.ContainsAny(p, "\x00") {
		return fmt.Errorf("file %q has a NUL byte", p)
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || (len(p) > 1 && p[1] == ':') {
		return fmt.Errorf("file %q is an absolute path", p)
	}
	for _, part := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return fmt.Errorf("file %q leaves the repository", p)
		}
		if isDotGit(part) {
			return fmt.Errorf("file %q is inside .git", p)
		}
	}
	return nil
}

// isDotGit reports whether a path component names .git on any file system
// git or patch may run on: any case, NTFS's trailing dots and spaces and
// 8.3 short name, HFS+'s ignored code points.
func isDotGit(part string) bool {
	var b strings.Builder
	for _, r := range part {
		if hfsIgnorable(r) {
			continue
		}
		b.WriteRune(r)
	}
	s := strings.ToLower(strings.TrimRight(b.String(), ". "))
	return s == ".git" || s == "git~1"
}

func hfsIgnorable(r rune) bool {
	switch {
	case r >= 0x200c && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x206a && r <= 0x206f, r == 0xfeff:
		return true
	}
	return false
}

// cleanPatchPath strips a/ or b/ and "./", for comparing names.
func cleanPatchPath(p string) string {
	p = strings.TrimPrefix(p, "./")
	if strings.HasPrefix(p, "a/") || strings.HasPrefix(p, "b/") {
		p = p[2:]
	}
	return path.Clean(p)
}

// symlinkAt finds the link name and target of the symlink whose mode line
// is lines[i]: the name from the nearest "diff --git" above, the target
// from the first added line of its hunk.
func symlinkAt(lines []string, i int) (string, string, error) {
	link := ""
	for j := i; j >= 0; j-- {
		if strings.HasPrefix(lines[j], "diff --git ") {
			names, err := diffLinePaths(strings.TrimPrefix(lines[j], "diff "))
			if err != nil || len(names) < 2 {
				return "", "", fmt.Errorf("symlink without a readable diff --git header")
			}
			link = cleanPatchPath(names[1])
			break
		}
	}
	if link == "" {
		return "", "", fmt.Errorf("symlink without a diff --git header")
	}
	for j := i + 1; j < len(lines); j++ {
		l := strings.TrimSuffix(lines[j], "\r")
		if strings.HasPrefix(l, "diff --git ") {
			break
		}
		if strings.HasPrefix(l, "+") && !strings.HasPrefix(l, "+++ ") {
			return link, l[1:], nil
		}
	}
	// A mode change only (no content): the target is what the file held,
	// which the patch does not say; refuse rather than guess.
	return "", "", fmt.Errorf("symlink %q without a target in the patch", link)
}

// checkSymlink refuses a symlink target that is absolute, reaches into
// .git or leaves the repository (resolved from the link's directory).
func checkSymlink(link, target string) error {
	if target == "" || strings.HasPrefix(target, "/") || strings.HasPrefix(target, `\`) {
		return fmt.Errorf("symlink %q points to %q, outside the repository", link, target)
	}
	for _, part := range strings.FieldsFunc(target, func(r rune) bool { return r == '/' || r == '\\' }) {
		if isDotGit(part) {
			return fmt.Errorf("symlink %q points into .git (%q)", link, target)
		}
	}
	resolved := path.Join(path.Dir(link), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("symlink %q points to %q, outside the repository", link, target)
	}
	if resolved == "." {
		// A link to the repository root makes "link/.git" a path to .git
		// that no header spells.
		return fmt.Errorf("symlink %q points to the repository root", link)
	}
	return nil
}
