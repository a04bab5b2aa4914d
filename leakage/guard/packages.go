package guard

import (
	"path"
	"regexp"
	"strings"
)

// pkgTool is a package manager other than pip and uv: the subcommands that
// fetch, install or describe packages, and the options whose value is a
// package spec.
type pkgTool struct {
	subs    map[string]bool // nil: the tool itself installs its arguments
	pkgOpts map[string]bool
}

// pkgTools are the package managers known by name.
var pkgTools = func() map[string]pkgTool {
	m := map[string]pkgTool{
		"uvx":           {pkgOpts: set("--from", "--with")},
		"pipx":          {subs: set("install", "run", "inject", "upgrade", "reinstall", "runpip"), pkgOpts: set("--spec")},
		"easy_install":  {},
		"easy_install3": {},
	}
	for _, n := range []string{"poetry", "pdm", "rye", "hatch", "pipenv"} {
		m[n] = pkgTool{subs: set("add", "install", "search", "show")}
	}
	for _, n := range []string{"conda", "mamba", "micromamba", "pixi"} {
		m[n] = pkgTool{subs: set("install", "create", "add", "search", "download")}
	}
	return m
}()

// pkgTool checks one package manager's command line.
func (s *scan) pkgTool(name string, t pkgTool, args []string) {
	switch {
	case t.subs == nil:
		s.pkgArgs(args, name, t.pkgOpts)
	case len(args) > 0 && t.subs[args[0]]:
		s.pkgArgs(args[1:], name+" "+args[0], t.pkgOpts)
	}
}

// pip checks a pip command line (after "pip" / "python -m pip").
func (s *scan) pip(args []string, tool string) {
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		if pipGlobalWithArg[args[i]] {
			i++
		}
		i++
	}
	if i >= len(args) {
		return
	}
	sub, rest := args[i], args[i+1:]
	if !pipPkgSubs[sub] {
		return
	}
	if sub == "index" && len(rest) > 0 {
		rest = rest[1:] // "versions"
	}
	s.pkgArgs(rest, tool+" "+sub, nil)
}

// pipGlobalWithArg are pip's global options that take a value.
var pipGlobalWithArg = set("--python", "--log", "--proxy", "--retries", "--timeout", "--exists-action", "--trusted-host", "--cert",
	"--client-cert", "--cache-dir", "--keyring-provider", "--use-feature", "--use-deprecated", "--log-file", "--python-path")

// pipPkgSubs are the pip subcommands that fetch, install or describe a
// package.
var pipPkgSubs = set("install", "download", "show", "inspect", "wheel", "search", "index", "hash", "lock")

// uv handles uv's package-touching subcommands.
func (s *scan) uv(args []string) {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		args = args[1:]
	}
	if len(args) == 0 {
		return
	}
	switch args[0] {
	case "pip":
		s.pip(args[1:], "uv pip")
	case "add":
		s.pkgArgs(args[1:], "uv add", nil)
	case "tool":
		if len(args) > 1 && (args[1] == "install" || args[1] == "run" || args[1] == "upgrade") {
			s.pkgArgs(args[2:], "uv tool "+args[1], map[string]bool{"--from": true, "--with": true})
		}
	case "run":
		for i, a := range args {
			if (a == "--with" || a == "--from") && i+1 < len(args) {
				s.pkgArgs([]string{args[i+1]}, "uv run "+a, nil)
			}
		}
	}
}

// optWithArg are package-tool options whose value is not a package.
var optWithArg = map[string]bool{
	"-r": true, "--requirement": true, "-c": true, "--constraint": true, "-t": true, "--target": true,
	"--prefix": true, "--root": true, "--platform": true, "--python-version": true, "--implementation": true,
	"--abi": true, "--src": true, "--upgrade-strategy": true, "--global-option": true, "--config-settings": true,
	"-C": true, "--no-binary": true, "--only-binary": true, "--progress-bar": true, "--report": true, "-d": true,
	"--dest": true, "-w": true, "--wheel-dir": true, "--root-user-action": true, "--python": true, "-p": true,
	"--cache-dir": true, "--log": true, "--proxy": true, "--timeout": true, "--retries": true, "--trusted-host": true,
	"--cert": true, "--client-cert": true, "--exists-action": true, "--format": true, "--path": true,
	"-n": true, "--name": true, "--prefix-dir": true, "--group": true, "-G": true, "--extra": true, "--optional": true,
	"--source": true, "--keyring-provider": true, "--use-feature": true, "--hash": true, "--algorithm": true,
	"-a": true, "--python-platform": true, "--resolution": true, "--exclude-newer": true, "--index-strategy": true,
	"--override": true, "--link-mode": true, "--output-file": true, "-o": true,
}

// indexOpts point a tool at a package index or a download location.
var indexOpts = map[string]bool{
	"-i": true, "--index-url": true, "--extra-index-url": true, "--index": true, "--default-index": true,
	"-f": true, "--find-links": true, "--channel": true, "--repo": true, "--repository": true,
}

// pkgArgs checks the positional arguments of a package tool for the
// reference package and its options for package indexes. pkgOpts name
// options whose value is itself a package spec.
func (s *scan) pkgArgs(args []string, tool string, pkgOpts map[string]bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			k, v, hasV := strings.Cut(a, "=")
			if !hasV && len(k) > 2 && k[1] != '-' && (k[:2] == "-i" || k[:2] == "-f" || k[:2] == "-e" || k[:2] == "-c") {
				k, v, hasV = k[:2], k[2:], true // -ihttps://..., -e.
			}
			if !hasV && i+1 < len(args) && (optWithArg[k] || indexOpts[k] || pkgOpts[k] || k == "-e" || k == "--editable") {
				i++
				v, hasV = args[i], true
			}
			switch {
			case indexOpts[k] && (k != "-f" && k != "--find-links" || s.urlish(v)):
				s.flag(RuleIndex, "%s %s %s", tool, k, v)
			case k == "-e" || k == "--editable" || pkgOpts[k]:
				s.pkgSpec(v, tool)
			case hasV:
				s.hosts(tool, v)
			}
			continue
		}
		s.pkgSpec(a, tool)
	}
}

func (s *scan) urlish(v string) bool { return strings.Contains(v, "://") }

var reReqName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*`)
var reDistFile = regexp.MustCompile(`^(.+?)-[0-9].*\.(whl|tar\.gz|tgz|zip|tar\.bz2|tar\.xz|egg)$`)

// pkgSpec checks one requirement / path / URL argument.
func (s *scan) pkgSpec(a, tool string) {
	if a == "" {
		return
	}
	s.hosts(tool, a)
	name := ""
	switch {
	case strings.Contains(a, "://") || strings.HasPrefix(a, "git+"):
		if _, egg, ok := strings.Cut(a, "#egg="); ok {
			name = egg
		} else {
			u := strings.TrimRight(strings.SplitN(a, "?", 2)[0], "/")
			u = strings.TrimSuffix(u, ".git")
			name = path.Base(u)
			if m := reDistFile.FindStringSubmatch(name); m != nil {
				name = m[1]
			}
		}
		if !s.g.hostBlocked(a) && !strings.HasPrefix(a, "file:") {
			s.flag(RuleIndex, "%s from URL %s", tool, a)
		}
	case strings.HasPrefix(a, ".") || strings.HasPrefix(a, "/") || strings.HasPrefix(a, "~") || strings.Contains(a, "/"):
		b := path.Base(strings.TrimRight(a, "/"))
		if m := reDistFile.FindStringSubmatch(b); m != nil {
			name = m[1]
		} else if b != "." && b != ".." {
			name = b
		}
	default:
		if n, _, ok := strings.Cut(a, "@"); ok {
			a = strings.TrimSpace(n)
		}
		if m := reDistFile.FindStringSubmatch(a); m != nil {
			name = m[1]
		} else {
			name = reReqName.FindString(a)
		}
	}
	n := Normalize(name)
	if n != "" && s.g.packages[n] {
		s.flag(RulePackage, "%s of the reference package %q", tool, name)
	}
	for p := range s.g.packages {
		// Wheel file names use _ for -; PEP 503 already folds them. A
		// spelled-out wildcard (refpkg*) is the same request.
		if n != "" && strings.TrimRight(n, "*?") == p && n != p {
			s.flag(RulePackage, "%s of the reference package %q", tool, name)
		}
	}
}
