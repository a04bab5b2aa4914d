package guard

import (
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// This file parses shell text and dispatches each simple command; the
// rules per concern live in git.go, packages.go, network.go, wrappers.go.

const maxDepth = 8

// unknown stands for text the guard cannot know statically (command
// substitutions, unset variables).
const unknown = "\x01"

type scan struct {
	g     *Guard
	out   []Violation
	seen  map[Violation]bool
	words map[string]bool // every argv word of the command, for cross-command rules
}

func (s *scan) flag(rule, format string, args ...any) {
	v := Violation{Rule: rule, Detail: fmt.Sprintf(format, args...)}
	if !s.seen[v] {
		s.seen[v] = true
		s.out = append(s.out, v)
	}
}

// shellState is per-script: variables and aliases assigned earlier in the
// same command text.
type shellState struct {
	vars    map[string]string
	aliases map[string]string
	stdin   map[*syntax.CallExpr]string // heredocs, here-strings, piped literals
}

func (st *shellState) Get(name string) expand.Variable {
	if v, ok := st.vars[name]; ok {
		return expand.Variable{Set: true, Kind: expand.String, Str: v}
	}
	switch name {
	case "IFS":
		return expand.Variable{Set: true, Kind: expand.String, Str: " \t\n"}
	case "HOME":
		return expand.Variable{Set: true, Kind: expand.String, Str: "/root"}
	}
	return expand.Variable{Set: true, Kind: expand.String, Str: unknown}
}

func (st *shellState) Each(func(string, expand.Variable) bool) {}

// shell parses text as bash and inspects every simple command in it.
func (s *scan) shell(text string, depth int) {
	if depth > maxDepth {
		s.flag(RuleObfuscated, "shell nesting deeper than %d levels", maxDepth)
		return
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(text), "")
	if err != nil {
		// bash may still run what our parser rejects: fall back to the
		// lexical pass rather than letting it through unchecked.
		s.lexical(text)
		return
	}
	st := &shellState{vars: map[string]string{}, aliases: map[string]string{}, stdin: map[*syntax.CallExpr]string{}}
	cfg := &expand.Config{
		Env: st,
		CmdSubst: func(w io.Writer, _ *syntax.CmdSubst) error {
			_, err := io.WriteString(w, unknown)
			return err
		},
		ProcSubst: func(*syntax.ProcSubst) (string, error) { return "/dev/fd/63", nil },
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Stmt:
			if ce, ok := n.Cmd.(*syntax.CallExpr); ok {
				out := ""
				for _, r := range n.Redirs {
					switch {
					case r.Hdoc != nil:
						st.stdin[ce] += s.literal(cfg, r.Hdoc) + "\n"
					case r.Op == syntax.WordHdoc && r.Word != nil:
						st.stdin[ce] += s.literal(cfg, r.Word) + "\n"
					case (r.Op == syntax.RdrOut || r.Op == syntax.AppOut || r.Op == syntax.RdrClob) && r.Word != nil:
						out = s.literal(cfg, r.Word)
					}
				}
				if out != "" && st.stdin[ce] != "" {
					s.written(out, st.stdin[ce], depth)
				}
			}
		case *syntax.BinaryCmd:
			if n.Op == syntax.Pipe || n.Op == syntax.PipeAll {
				s.pipe(cfg, st, n)
			}
		case *syntax.DeclClause:
			for _, a := range n.Args {
				if a.Name != nil && a.Value != nil {
					st.vars[a.Name.Value] = s.literal(cfg, a.Value)
				}
			}
		case *syntax.CallExpr:
			if len(n.Args) == 0 {
				for _, a := range n.Assigns {
					if a.Name != nil && a.Value != nil {
						st.vars[a.Name.Value] = s.literal(cfg, a.Value)
					}
				}
				return true
			}
			argv := s.fields(cfg, n.Args)
			if len(argv) > 0 && argv[0] == "alias" {
				for _, a := range argv[1:] {
					if k, v, ok := strings.Cut(a, "="); ok {
						st.aliases[k] = v
					}
				}
			}
			if len(argv) > 0 {
				if v, ok := st.aliases[argv[0]]; ok {
					argv = append(strings.Fields(v), argv[1:]...)
				}
			}
			s.argv(argv, st.stdin[n], depth)
		}
		return true
	})
}

// written inspects a script the command writes to a file (cat > x.sh
// <<EOF): it will most likely be run next, out of the guard's sight.
// Shell scripts get the full shell check; Python files only the checks
// that cannot fire on prose (network use aimed at blocked hosts, git run
// through subprocess), so a docstring saying "pip install x" is no refusal.
func (s *scan) written(file, body string, depth int) {
	first, _, _ := strings.Cut(strings.TrimLeft(body, "\n"), "\n")
	switch {
	case strings.HasSuffix(file, ".sh") || strings.HasSuffix(file, ".bash") ||
		strings.HasPrefix(first, "#!") && strings.Contains(first, "sh"):
		s.shell(body, depth+1)
	case strings.HasSuffix(file, ".py") || strings.HasPrefix(first, "#!") && strings.Contains(first, "python"):
		if h := s.g.blockedHost(body); h != "" && reNetModule.MatchString(body) && !strings.Contains(body, "setup(") {
			s.flag(RuleCodeHost, "script %s fetching from %s", file, h)
		}
		if m := reListGit.FindStringSubmatch(body); m != nil {
			s.flag(RuleGitNetwork, "script %s runs git %s", file, m[2])
		}
	}
}

// pipe handles `producer | consumer`: a literal script piped into a shell or
// interpreter is inspected as that consumer's stdin; an encoded one is
// refused outright.
func (s *scan) pipe(cfg *expand.Config, st *shellState, b *syntax.BinaryCmd) {
	y, ok := b.Y.Cmd.(*syntax.CallExpr)
	if !ok {
		return
	}
	cons := s.fields(cfg, y.Args)
	if len(cons) == 0 || !(isShell(base(cons[0])) || isInterpreter(base(cons[0]))) {
		return
	}
	x := b.X
	for {
		inner, ok := x.Cmd.(*syntax.BinaryCmd)
		if !ok {
			break
		}
		x = inner.Y
	}
	xc, ok := x.Cmd.(*syntax.CallExpr)
	if !ok {
		return
	}
	prod := s.fields(cfg, xc.Args)
	if len(prod) == 0 {
		return
	}
	switch p := base(prod[0]); {
	case p == "echo" || p == "printf":
		st.stdin[y] += strings.Join(prod[1:], " ") + "\n"
	case p == "cat":
		if body, ok := st.stdin[xc]; ok {
			st.stdin[y] += body
		}
	case decoders[p]:
		s.flag(RuleObfuscated, "decoded text piped into %s", base(cons[0]))
	}
}

// decoders turn encoded text back into a script: piped into a shell, the
// script is hidden from the guard.
var decoders = set("base64", "base32", "xxd", "rev", "openssl", "gzip", "zcat", "gunzip", "xz", "bzip2")

func (s *scan) literal(cfg *expand.Config, w *syntax.Word) string {
	v, err := expand.Literal(cfg, w)
	if err != nil {
		return unknown
	}
	return v
}

func (s *scan) fields(cfg *expand.Config, ws []*syntax.Word) []string {
	var out []string
	for _, w := range ws {
		f, err := expand.Fields(cfg, w)
		if err != nil {
			out = append(out, unknown)
			continue
		}
		out = append(out, f...)
	}
	return out
}

func base(name string) string {
	return path.Base(strings.TrimLeft(name, `\`))
}

var (
	reShell  = regexp.MustCompile(`^(ba|da|z|k|mk|c|tc|fi|a|yash|busybox |)sh$|^busybox$`)
	rePython = regexp.MustCompile(`^(python|pypy)[0-9.]*(-[a-z]+)?$`)
	rePip    = regexp.MustCompile(`^pip[0-9.]*$`)
)

func isShell(b string) bool { return reShell.MatchString(b) }

// interpreters run source given inline or on stdin (Python: rePython).
var interpreters = set("perl", "ruby", "node", "nodejs", "php", "lua", "tclsh", "Rscript", "osascript", "deno", "bun")

func isInterpreter(b string) bool { return rePython.MatchString(b) || interpreters[b] }

// argv inspects one simple command after expansion. stdin is text known to
// reach its standard input (heredoc, here-string, piped literal). Tools
// known by pattern (any version suffix) are dispatched first, then the
// name tables of each concern: wrappers.go, packages.go, network.go.
func (s *scan) argv(argv []string, stdin string, depth int) {
	if len(argv) == 0 || depth > maxDepth {
		return
	}
	for _, a := range argv {
		s.internals(a)
		s.words[a] = true
	}
	name := base(argv[0])
	args := argv[1:]
	if treeReaders[name] {
		s.treeOverGit(name, args)
	}
	if strings.Contains(name, unknown) {
		// The command name is computed ($(echo git), $G): check the
		// arguments as if it were each tool we refuse.
		s.git(args)
		s.pip(args, "dynamic command")
		return
	}
	switch {
	case name == "git":
		s.git(args)
	case rePip.MatchString(name):
		s.pip(args, name)
	case rePython.MatchString(name):
		s.python(args, stdin, depth)
	case isShell(name):
		s.shellCmd(args, stdin, depth)
	case isInterpreter(name):
		s.interpreter(args, stdin)
	}
	if _, ok := wrappers[name]; ok {
		s.argv(stripWrapper(name, args), stdin, depth+1)
		return
	}
	if t, ok := pkgTools[name]; ok {
		s.pkgTool(name, t, args)
		return
	}
	if s.network(name, args) {
		return
	}
	switch name {
	case "eval":
		s.shell(strings.Join(args, " "), depth+1)
	case "su", "runuser":
		for i, a := range args {
			if (a == "-c" || a == "--command") && i+1 < len(args) {
				s.shell(args[i+1], depth+1)
			}
		}
	case "find", "fd":
		for i, a := range args {
			if execFlags[a] {
				end := i + 1
				for end < len(args) && args[end] != ";" && args[end] != "+" {
					end++
				}
				s.argv(args[i+1:end], "", depth+1)
			}
		}
	case "uv":
		s.uv(args)
	}
}

// execFlags make find / fd run a command per match.
var execFlags = set("-exec", "-execdir", "-ok", "-okdir", "-x", "--exec")

// evalFlags take interpreter source as their value (perl -e, node --eval).
var evalFlags = set("-e", "-E", "--eval", "-r")

// interpreter checks a non-Python interpreter's inline source and stdin.
func (s *scan) interpreter(args []string, stdin string) {
	for i, a := range args {
		if evalFlags[a] && i+1 < len(args) {
			s.script(args[i+1])
		}
	}
	if stdin != "" {
		s.script(stdin)
	}
}

// shellCmd handles bash/sh: -c script, or a script on stdin.
func (s *scan) shellCmd(args []string, stdin string, depth int) {
	for i, a := range args {
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.Contains(a, "c") {
			if i+1 < len(args) {
				s.shell(args[i+1], depth+1)
			}
			return
		}
		if !strings.HasPrefix(a, "-") && a != "busybox" {
			return // a script file: not visible to the guard
		}
	}
	if stdin != "" {
		s.shell(stdin, depth+1)
	}
}

// python handles python -m pip/uv/pipx/ensurepip, -c code and stdin code.
func (s *scan) python(args []string, stdin string, depth int) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-m" && i+1 < len(args):
			mod, rest := args[i+1], args[i+2:]
			switch mod {
			case "pip", "pip3":
				s.pip(rest, "python -m pip")
			case "uv":
				s.uv(rest)
			case "pipx":
				s.argv(append([]string{"pipx"}, rest...), "", depth+1)
			case "easy_install", "setuptools.command.easy_install":
				s.pkgArgs(rest, "python -m easy_install", nil)
			case "poetry", "pdm", "conda":
				s.argv(append([]string{mod}, rest...), "", depth+1)
			}
			return
		case strings.HasPrefix(a, "-m") && len(a) > 2:
			s.python(append([]string{"-m", a[2:]}, args[i+1:]...), stdin, depth)
			return
		case a == "-c" && i+1 < len(args):
			s.script(args[i+1])
			return
		case a == "-W" || a == "-X" || a == "--check-hash-based-pycs":
			i++
		case a == "-" || !strings.HasPrefix(a, "-"):
			if a == "-" && stdin != "" {
				s.script(stdin)
			}
			return // a script file or stdin
		}
	}
	if stdin != "" {
		s.script(stdin)
	}
}

// script checks interpreter source (python -c, heredocs) lexically: the
// guard cannot parse every language, so it looks for shell-outs and
// network use it knows.
func (s *scan) script(text string) {
	s.lexical(text)
	if h := s.g.blockedHost(text); h != "" && reNetModule.MatchString(text) {
		s.flag(RuleCodeHost, "script fetching from %s", h)
	}
	if reListGit.MatchString(text) {
		m := reListGit.FindStringSubmatch(text)
		s.flag(RuleGitNetwork, "script runs git %s", m[2])
	}
	if strings.Contains(text, "pip._internal") || strings.Contains(text, "pip.main") {
		for _, w := range reWord.FindAllString(text, -1) {
			if s.g.packages[Normalize(w)] {
				s.flag(RulePackage, "script drives pip with the reference package %q", w)
			}
		}
	}
}

// lexical is the fallback for text the bash parser rejects and for
// interpreter source.
func (s *scan) lexical(text string) {
	for _, m := range reLexGit.FindAllStringSubmatch(text, -1) {
		rule := RuleGitHistory
		switch strings.ToLower(m[3]) {
		case "clone", "fetch", "pull", "ls-remote":
			rule = RuleGitNetwork
		}
		s.flag(rule, "git %s", strings.ToLower(m[3]))
	}
	for _, m := range reLexGitAll.FindAllStringSubmatch(text, -1) {
		s.flag(RuleGitHistory, "git %s %s", m[1], m[2])
	}
	for _, m := range reLexPip.FindAllStringSubmatch(text, -1) {
		for _, w := range reWord.FindAllString(m[3], -1) {
			if s.g.packages[Normalize(w)] {
				s.flag(RulePackage, "%s %s of the reference package %q", m[1], m[2], w)
			}
		}
		for _, w := range strings.Fields(m[3]) {
			if strings.HasPrefix(w, "--index-url") || strings.HasPrefix(w, "--extra-index-url") || w == "-i" {
				s.flag(RuleIndex, "%s %s %s", m[1], m[2], w)
			}
		}
	}
	for _, w := range strings.FieldsFunc(text, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\'' || r == '"' || r == '(' || r == ')' || r == ','
	}) {
		s.internals(w)
	}
	if h := s.g.blockedHost(text); h != "" && reLexNet.MatchString(text) {
		s.flag(RuleCodeHost, "download aimed at %s", h)
	}
}
