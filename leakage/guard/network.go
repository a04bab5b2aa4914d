package guard

import "regexp"

// netClients fetch from or connect to a host named in their arguments.
var netClients = set("curl", "wget", "http", "https", "httpie", "xh", "aria2c", "axel", "lynx", "links",
	"elinks", "w3m", "nc", "ncat", "netcat", "socat", "telnet", "ftp", "lftp", "scp", "sftp",
	"rsync", "ssh", "fetch", "wget2", "curlie", "hurl", "git-lfs")

// codeHostCLIs only talk to a code host.
var codeHostCLIs = set("gh", "hub", "glab", "tea")

// vcsTools are version control systems other than git, and vcsFetch their
// subcommands that fetch a repository.
var (
	vcsTools = set("svn", "hg", "bzr", "brz", "fossil", "darcs", "cvs")
	vcsFetch = set("clone", "checkout", "co", "export", "pull", "fetch", "branch", "get", "update", "up", "import", "open")
)

// network checks a network tool known by name; false when name is none.
func (s *scan) network(name string, args []string) bool {
	switch {
	case netClients[name]:
		s.hostArgs(name, args)
	case codeHostCLIs[name]:
		s.flag(RuleCodeHost, "%s talks to a code host", name)
	case vcsTools[name]:
		if len(args) > 0 && vcsFetch[args[0]] {
			s.flag(RuleVCS, "%s %s fetches a repository", name, args[0])
		}
	default:
		return false
	}
	return true
}

func (g *Guard) hostBlocked(text string) bool { return g.blockedHost(text) != "" }

func (g *Guard) blockedHost(text string) string {
	for i, re := range g.hosts {
		if re.MatchString(text) {
			return g.hostName[i]
		}
	}
	return ""
}

func (s *scan) hosts(tool, word string) {
	if h := s.g.blockedHost(word); h != "" {
		s.flag(RuleCodeHost, "%s aimed at %s", tool, h)
	}
}

// hostArgs flags a network client whose arguments name a blocked host.
func (s *scan) hostArgs(tool string, args []string) {
	for _, a := range args {
		s.hosts(tool, a)
	}
}

// The lexical patterns: network use, git and package tools in text the
// bash parser cannot take apart (interpreter source, unparsable shell).
var (
	reNetModule = regexp.MustCompile(`\b(urllib|urllib2|urllib3|requests|httpx|aiohttp|http\.client|httplib|urlopen|socket|pycurl|wget|fetch|XMLHttpRequest|LWP|HTTP::Tiny|Net::HTTP|open-uri|curl|file_get_contents|pip\._internal|xmlrpc)\b`)
	reLexGit    = regexp.MustCompile(`(?i)\bgit(\s+-[Cc]\s+\S+|\s+--[a-z-]+(=\S+)?)*\s+(clone|fetch|pull|ls-remote|reflog|fsck|cat-file|verify-pack|unpack-objects|show-ref|for-each-ref|fast-export)\b`)
	reLexGitAll = regexp.MustCompile(`(?i)\bgit\s+(log|rev-list|show|shortlog)\b[^\n;|&]*\s(--all|--reflog|-g|--walk-reflogs)\b`)
	reListGit   = regexp.MustCompile(`["']git["']\s*,\s*(["']-C["']\s*,\s*["'][^"']*["']\s*,\s*)?["'](clone|fetch|pull|ls-remote|reflog|fsck|cat-file|verify-pack|unpack-objects|show-ref)["']`)
	reLexPip    = regexp.MustCompile(`(?i)\b(pip[0-9.]*|-m\s+pip|uv\s+pip|uv|pipx|poetry|conda|mamba|easy_install)\s+(install|download|show|add|wheel|inspect)\b([^\n;|&]*)`)
	reWord      = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._-]*`)
	reLexNet    = regexp.MustCompile(`\b(curl|wget|aria2c|httpie|xh)\b`)
)
