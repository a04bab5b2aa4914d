package guard

import (
	"regexp"
	"strings"
)

// treeReaders read, copy or dump whole trees: given .git, they read its
// object store.
var treeReaders = set("tar", "zip", "cp", "rsync", "find", "strings", "xxd", "od", "hexdump", "du", "7z", "cpio")

// treeOverGit flags a tree reader given .git as an operand.
func (s *scan) treeOverGit(name string, args []string) {
	for _, a := range args {
		if a == ".git" || strings.HasSuffix(a, "/.git") || strings.HasSuffix(a, "/.git/") || a == ".git/" {
			s.flag(RuleGitInternals, "%s over .git", name)
		}
	}
}

// gitGlobalWithArg are git's global options that take a value.
var gitGlobalWithArg = set("-C", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--config-env", "--exec-path", "--list-cmds", "--attr-source")

// git checks a git invocation's subcommand and options.
func (s *scan) git(args []string) {
	aliases := map[string]string{}
	i := 0
	for i < len(args) {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			break
		}
		switch {
		case gitGlobalWithArg[a]:
			i += 2
			continue
		case a == "-c":
			if i+1 < len(args) {
				if k, v, ok := strings.Cut(args[i+1], "="); ok && strings.HasPrefix(strings.ToLower(k), "alias.") {
					aliases[k[len("alias."):]] = v
				}
			}
			i += 2
			continue
		}
		if strings.HasPrefix(a, "--git-dir=") {
			s.internals(strings.TrimPrefix(a, "--git-dir="))
		}
		i++
	}
	if i >= len(args) {
		return
	}
	sub, rest := args[i], args[i+1:]
	if v, ok := aliases[sub]; ok {
		if strings.HasPrefix(v, "!") {
			s.shell(v[1:], 1)
			return
		}
		f := strings.Fields(v)
		if len(f) > 0 {
			sub, rest = f[0], append(f[1:], rest...)
		}
	}
	s.gitSub(sub, rest)
}

var historyFlags = map[string]bool{
	"--all": true, "--reflog": true, "-g": true, "--walk-reflogs": true, "--branches": true,
	"--remotes": true, "--tags": true, "--alternate-refs": true, "--lost-found": true,
	"--unreachable": true, "--dangling": true, "--indexed-objects": true, "--stdin": true,
}

// gitRule is what running one git subcommand means.
type gitRule struct {
	rule string // the violation, "" for the special cases in gitSub
	// withHistoryFlag: only a violation with a flag that walks all history
	// (log --all); the detail names the flag when named is set.
	withHistoryFlag, named bool
}

// gitSubs are the subcommands that reach the network or dig in history.
var gitSubs = func() map[string]gitRule {
	m := map[string]gitRule{}
	for _, sub := range []string{"clone", "fetch", "pull", "ls-remote", "fetch-pack", "remote-http", "remote-https", "http-fetch", "clone--no-local",
		"svn", "p4", "archimport", "cvsimport"} {
		m[sub] = gitRule{rule: RuleGitNetwork}
	}
	for _, sub := range []string{"reflog", "fsck", "fsck-objects", "cat-file", "verify-pack", "unpack-objects", "show-ref",
		"for-each-ref", "lost-found", "fast-export", "unpack-file", "show-index", "index-pack",
		"verify-commit", "verify-tag", "pack-objects", "bundle", "replay", "multi-pack-index"} {
		m[sub] = gitRule{rule: RuleGitHistory}
	}
	m["rev-list"] = gitRule{rule: RuleGitHistory, withHistoryFlag: true}
	// branch takes --all too, but only lists names.
	for _, sub := range []string{"log", "show", "whatchanged", "shortlog", "describe", "name-rev", "cherry", "range-diff", "format-patch", "blame", "grep", "diff", "checkout", "switch", "restore"} {
		m[sub] = gitRule{rule: RuleGitHistory, withHistoryFlag: true, named: true}
	}
	return m
}()

func (s *scan) gitSub(sub string, rest []string) {
	if r, ok := gitSubs[sub]; ok {
		switch f := firstFlag(rest, historyFlags); {
		case !r.withHistoryFlag:
			s.flag(r.rule, "git %s", sub)
		case f == "":
		case r.named:
			s.flag(r.rule, "git %s %s", sub, f)
		default:
			s.flag(r.rule, "git %s", sub)
		}
		return
	}
	switch sub {
	case "submodule":
		for _, a := range rest {
			if submoduleFetch[a] {
				s.flag(RuleGitNetwork, "git submodule %s", a)
			}
		}
	case "archive":
		for _, a := range rest {
			if a == "--remote" || strings.HasPrefix(a, "--remote=") {
				s.flag(RuleGitNetwork, "git archive --remote")
			}
		}
	case "config":
		// git config alias.x clone / alias.y '!git fetch'
		for i, a := range rest {
			if strings.HasPrefix(strings.ToLower(a), "alias.") && i+1 < len(rest) {
				v := rest[i+1]
				if strings.HasPrefix(v, "!") {
					s.shell(v[1:], 1)
				} else if f := strings.Fields(v); len(f) > 0 {
					s.gitSub(f[0], f[1:])
				}
			}
		}
	case "remote":
		// Harmless without fetch, but a remote to a code host is intent.
		s.hostArgs("git remote", rest)
	}
}

// submoduleFetch are the submodule actions that clone or fetch.
var submoduleFetch = set("update", "add", "sync", "foreach")

// firstFlag returns the first of args that is in flags (or a --glob /
// --exclude-hidden ref walk), "" if none comes before "--".
func firstFlag(args []string, flags map[string]bool) string {
	for _, a := range args {
		if a == "--" {
			return ""
		}
		k, _, _ := strings.Cut(a, "=")
		if flags[k] || k == "--glob" || k == "--exclude-hidden" {
			return a
		}
	}
	return ""
}

var reInternals = regexp.MustCompile(`(^|/)\.git/(objects|packed-refs|logs|lost-found|refs/stash|ORIG_HEAD|FETCH_HEAD|modules)($|/)|(^|/)objects/pack/pack-[0-9a-f]+\.(pack|idx)`)

// gitInternalNames are the entries of .git that hold objects or reflogs.
var gitInternalNames = set("objects", "packed-refs", "logs", "lost-found", "ORIG_HEAD", "FETCH_HEAD", "modules")

// gitDirWalk catches `cd .git && cat packed-refs` and the like: .git and
// one of its internals named by separate words of one command.
func (s *scan) gitDirWalk() {
	inGit := false
	for w := range s.words {
		if w == ".git" || w == ".git/" || strings.HasSuffix(w, "/.git") || strings.HasSuffix(w, "/.git/") {
			inGit = true
		}
	}
	if !inGit {
		return
	}
	for w := range s.words {
		first, _, _ := strings.Cut(strings.TrimPrefix(w, "./"), "/")
		if gitInternalNames[first] {
			s.flag(RuleGitInternals, "reads git internals %q inside .git", w)
		}
	}
}

// internals flags a word naming git's object store or reflogs directly.
func (s *scan) internals(word string) {
	if m := reInternals.FindString(word); m != "" {
		s.flag(RuleGitInternals, "reads git internals %q", strings.TrimPrefix(m, "/"))
	}
}
