package guard

import (
	"fmt"
	"regexp"
	"strings"
)

// Rule names, stable: audit flags and reports key on them.
const (
	RuleGitNetwork   = "git-network"
	RuleGitHistory   = "git-history"
	RuleGitInternals = "git-internals"
	RulePackage      = "reference-package"
	RuleIndex        = "package-index"
	RuleCodeHost     = "code-host"
	RuleVCS          = "vcs-network"
	RuleObfuscated   = "obfuscated-shell"
)

// DefaultBlockedHosts are code hosts and package indexes. A host matches
// itself and its subdomains (api.github.com, files.pythonhosted.org).
var DefaultBlockedHosts = []string{
	"github.com", "githubusercontent.com", "github.io", "githubassets.com",
	"gitlab.com", "gitlab.io", "bitbucket.org", "codeberg.org", "gitee.com",
	"sourceforge.net", "sr.ht", "googlesource.com", "pagure.io", "launchpad.net",
	"pypi.org", "pypi.python.org", "pythonhosted.org", "pypi.io",
	"anaconda.org", "anaconda.com", "conda-forge.org", "prefix.dev",
	"huggingface.co", "softwareheritage.org", "archive.org", "readthedocs.io",
	"sourcegraph.com", "grep.app", "libraries.io", "piwheels.org",
}

// Config says what the guard protects.
type Config struct {
	// Packages are the reference's distribution and import names; any
	// PEP 503 spelling of them is refused to package tools.
	Packages []string
	// BlockedHosts replaces DefaultBlockedHosts when non-nil.
	BlockedHosts []string
}

// Violation is one reason a command was refused.
type Violation struct {
	Rule   string `json:"rule"`
	Detail string `json:"detail"`
}

// Guard vets commands. It is safe for concurrent use (it holds no mutable
// state after New).
type Guard struct {
	packages map[string]bool
	hosts    []*regexp.Regexp
	hostName []string
}

// New returns a guard for cfg.
func New(cfg Config) *Guard {
	g := &Guard{packages: map[string]bool{}}
	for _, p := range cfg.Packages {
		if n := Normalize(p); n != "" {
			g.packages[n] = true
		}
	}
	hosts := cfg.BlockedHosts
	if hosts == nil {
		hosts = DefaultBlockedHosts
	}
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		// The host must stand as a whole label sequence: "notgithub.com"
		// and "github.company" do not match.
		re := regexp.MustCompile(`(?i)(^|[^a-z0-9-])` + regexp.QuoteMeta(h) + `($|[^a-z0-9.-]|\.($|[^a-z0-9]))`)
		g.hosts = append(g.hosts, re)
		g.hostName = append(g.hostName, h)
	}
	return g
}

var pep503 = regexp.MustCompile(`[-_.]+`)

// Normalize is PEP 503's name normalisation: lower case, runs of - _ . → -.
func Normalize(name string) string {
	return pep503.ReplaceAllString(strings.ToLower(strings.TrimSpace(name)), "-")
}

// Check implements scaffolds/tools.Guard.
func (g *Guard) Check(command string) (string, bool) {
	vs := g.Inspect(command)
	if len(vs) == 0 {
		return "", false
	}
	return Refusal(vs), true
}

// Refusal is the message the agent sees for vs.
func Refusal(vs []Violation) string {
	var b strings.Builder
	b.WriteString("Command refused by the evaluation guard: ")
	for i, v := range vs {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s (%s)", v.Detail, v.Rule)
	}
	b.WriteString(". Network access, package indexes, the reference package and repository history are unavailable in this environment by design, and this attempt has been recorded. Implement the functionality yourself from the specification.")
	return b.String()
}

// Inspect returns every violation in command (nil when it may run).
func (g *Guard) Inspect(command string) []Violation {
	s := &scan{g: g, seen: map[Violation]bool{}, words: map[string]bool{}}
	s.shell(command, 0)
	s.gitDirWalk()
	return s.out
}

// set builds a lookup table from words.
func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
