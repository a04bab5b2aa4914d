package grade

import (
	"fmt"
	"strings"

	"github.com/sweval/sweval/benchmarks"
)

// RepoSpec says how a repository's tests are run and read.
type RepoSpec struct {
	// TestCmd is the base command; the test directives are appended, or
	// substituted for a literal {tests} when the command contains one.
	TestCmd string
	// Parser names the log parser (see ParserByName).
	Parser string
	// Directives is the directive style: DirectivesPaths, DirectivesDjango
	// or DirectivesNone.
	Directives string
	// Env are KEY=VALUE pairs exported before the test command (SWE-bench's
	// eval_commands that only set the locale).
	Env []string
	// PreTest are shell commands run before the tests (a row's own
	// install_config.eval_commands), in the test container's shell, whose
	// exports the test command inherits. A failing one stops the grading
	// as an infrastructure error.
	PreTest []string
}

// SWE-bench's test commands (swebench/harness/constants/python.py).
const (
	testPytest        = "pytest -rA"
	testPytestNoHead  = "pytest --no-header -rA"
	testAstropyPytest = "pytest -rA -vv -o console_output_style=classic --tb=no"
	testDjango        = "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1"
	testDjangoNoPar   = "./tests/runtests.py --verbosity 2"
	testSphinx        = "tox --current-env -epy39 -v --"
	testSympy         = "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose"
)

// DefaultSpec is used for repositories not in the table (including our
// own fixtures): pytest -rA with the pytest parser and file directives.
var DefaultSpec = RepoSpec{TestCmd: testPytest, Parser: ParserPytest, Directives: DirectivesPaths}

var djangoEnv = []string{"LANG=en_US.UTF-8", "LC_ALL=en_US.UTF-8", "PYTHONIOENCODING=utf8", "LANGUAGE=en_US:en"}

// repoSpecs is the built-in table for the 12 SWE-bench Lite/Verified
// repositories, after SWE-bench's MAP_REPO_VERSION_TO_SPECS and
// MAP_REPO_TO_PARSER. versionSpecs overrides single versions.
var repoSpecs = map[string]RepoSpec{
	"astropy/astropy":           {TestCmd: testPytest, Parser: ParserPytest, Directives: DirectivesPaths},
	"django/django":             {TestCmd: testDjango, Parser: ParserDjango, Directives: DirectivesDjango, Env: djangoEnv},
	"matplotlib/matplotlib":     {TestCmd: testPytest, Parser: ParserMatplotlib, Directives: DirectivesPaths},
	"mwaskom/seaborn":           {TestCmd: testPytestNoHead, Parser: ParserPytest, Directives: DirectivesPaths},
	"pallets/flask":             {TestCmd: testPytest, Parser: ParserPytest, Directives: DirectivesPaths},
	"psf/requests":              {TestCmd: testPytest, Parser: ParserPytestOptions, Directives: DirectivesPaths},
	"pydata/xarray":             {TestCmd: testPytest, Parser: ParserPytest, Directives: DirectivesPaths},
	"pylint-dev/pylint":         {TestCmd: testPytest, Parser: ParserPytestOptions, Directives: DirectivesPaths},
	"pytest-dev/pytest":         {TestCmd: testPytest, Parser: ParserPytest, Directives: DirectivesPaths},
	"scikit-learn/scikit-learn": {TestCmd: testPytest, Parser: ParserPytest, Directives: DirectivesPaths},
	"sphinx-doc/sphinx":         {TestCmd: testSphinx, Parser: ParserPytest, Directives: DirectivesPaths},
	"sympy/sympy":               {TestCmd: testSympy, Parser: ParserSympy, Directives: DirectivesPaths},
}

var versionSpecs = map[string]map[string]RepoSpec{
	"django/django": {"1.9": {TestCmd: testDjangoNoPar, Parser: ParserDjango, Directives: DirectivesDjango, Env: djangoEnv}},
	// astropy before 3.0 (pytest 3) runs verbose classic output.
	"astropy/astropy": astropyOld(),
}

// SpecFor returns the built-in spec for a repository and version, or
// DefaultSpec.
func SpecFor(repo, version string) RepoSpec {
	if v, ok := versionSpecs[repo][version]; ok {
		return v
	}
	if s, ok := repoSpecs[repo]; ok {
		return s
	}
	return DefaultSpec
}

// KnownRepos lists the repositories of the built-in table.
func KnownRepos() []string {
	out := make([]string, 0, len(repoSpecs))
	for r := range repoSpecs {
		out = append(out, r)
	}
	return out
}

// ResolveSpec is the spec a task is graded with: the built-in table, then
// the task's own install_config (test_cmd, log_parser), then the caller's
// override (the CLI's --test-cmd), later ones winning. A task whose
// log_parser names no known parser is an error naming the task and field.
func ResolveSpec(task benchmarks.Task, testCmdOverride string) (RepoSpec, error) {
	spec := SpecFor(task.Repo, task.Version)
	if in := task.Install; in != nil {
		spec.PreTest = in.EvalCommands
		if strings.TrimSpace(in.TestCmd) != "" {
			spec.TestCmd = in.TestCmd
			spec.Env = nil
		}
		if strings.TrimSpace(in.LogParser) != "" {
			p, err := CanonicalParser(in.LogParser)
			if err != nil {
				return spec, fmt.Errorf("task %s: field install_config.log_parser: %w", task.ID, err)
			}
			spec.Parser = p
		}
	}
	if strings.TrimSpace(testCmdOverride) != "" {
		spec.TestCmd = testCmdOverride
		spec.Env = nil
	}
	if _, err := CanonicalParser(spec.Parser); err != nil {
		return spec, fmt.Errorf("task %s: %w", task.ID, err)
	}
	return spec, nil
}

func astropyOld() map[string]RepoSpec {
	m := map[string]RepoSpec{}
	for _, v := range []string{"0.1", "0.2", "0.3", "0.4", "1.1", "1.2", "1.3"} {
		m[v] = RepoSpec{TestCmd: testAstropyPytest, Parser: ParserPytest, Directives: DirectivesPaths}
	}
	return m
}
