package grade

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
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
	// spec eval_commands that only export KEY=VALUE).
	Env []string
	// Eval are SWE-bench's spec eval_commands that are not plain exports;
	// ResolveSpec runs them before the tests, best effort, as PreTest.
	Eval []string
	// Install is SWE-bench's re-install step, run after the model patch
	// and before the test patch; with Options.Reinstall package swegrade
	// runs it in a container of its own (see there).
	Install string
	// PreTest are shell commands run before the tests (a row's own
	// install_config.eval_commands), in the test container's shell, whose
	// exports the test command inherits. A failing one stops the grading
	// as an infrastructure error.
	PreTest []string
}

// SWE-bench's test commands (swebench/harness/constants/python.py). That
// file assigns TEST_PYTEST twice; the later "pytest -rA" is the one its
// specs get.
const (
	testPytest           = "pytest -rA"
	testAstropyPytest    = "pytest -rA -vv -o console_output_style=classic --tb=no -p no:nose"
	testDjango           = "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1"
	testDjangoNoParallel = "./tests/runtests.py --verbosity 2"
	testSeaborn          = "pytest --no-header -rA"
	testSphinx           = "tox --current-env -epy39 -v --"
	testSympy            = "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose"
)

// The install strings shared by several repositories' specs.
const (
	installEditable = "python -m pip install -e ."
	installSetupPy  = "python setup.py install"
	installSklearn  = "python -m pip install -v --no-use-pep517 --no-build-isolation -e ."
	installAstropy  = "python -m pip install -e .[test] --verbose"
)

// DefaultSpec is used for repositories not in the table (including our
// own fixtures): pytest -rA with the pytest parser and file directives.
var DefaultSpec = RepoSpec{TestCmd: testPytest, Parser: ParserPytest, Directives: DirectivesPaths}

// Django's eval_commands exports, in SWE-bench's order: 1.7 to 2.2, then
// 3.x (whose locale-gen is not an export, so it goes to Eval).
var (
	djangoEnv   = []string{"LANG=en_US.UTF-8", "LC_ALL=en_US.UTF-8", "PYTHONIOENCODING=utf8", "LANGUAGE=en_US:en"}
	django3Env  = []string{"LANG=en_US.UTF-8", "LANGUAGE=en_US:en", "LC_ALL=en_US.UTF-8"}
	django3Eval = []string{"sed -i '/en_US.UTF-8/s/^# //g' /etc/locale.gen && locale-gen"}
)

// versionSpecs is the built-in table for the 12 SWE-bench Lite/Verified
// repositories, one entry per version key of SWE-bench's
// MAP_REPO_VERSION_TO_SPECS (SWE-bench/SWE-bench@096a15a9), parsers after
// its MAP_REPO_TO_PARSER (whose parse_log_pytest_v2 and parse_log_seaborn
// read as our pytest parser). Later groups win, as the source's dict
// updates do.
var versionSpecs = map[string]map[string]RepoSpec{
	"astropy/astropy": merged(
		versions(pathsSpec(testPytest, ParserPytest, installAstropy),
			"3.0", "3.1", "3.2", "4.1", "4.2", "4.3", "5.0", "5.1", "5.2", "v5.3"),
		// pytest 3.3 on Python 3.6.
		versions(pathsSpec(testAstropyPytest, ParserPytest, installAstropy),
			"0.1", "0.2", "0.3", "0.4", "1.1", "1.2", "1.3"),
	),
	"django/django": merged(
		versions(djangoSpec(testDjango, installSetupPy, djangoEnv, nil),
			"1.7", "1.8", "1.9", "1.10", "1.11", "2.0", "2.1", "2.2"),
		versions(djangoSpec(testDjango, installSetupPy, nil, nil), "1.4", "1.5", "1.6"),
		versions(djangoSpec(testDjango, installEditable, django3Env, django3Eval), "3.0", "3.1", "3.2"),
		versions(djangoSpec(testDjango, installEditable, nil, nil), "4.0", "4.1", "4.2", "5.0", "5.1", "5.2"),
		// 1.9 runs without --parallel.
		versions(djangoSpec(testDjangoNoParallel, installSetupPy, djangoEnv, nil), "1.9"),
	),
	"matplotlib/matplotlib": merged(
		versions(pathsSpec(testPytest, ParserMatplotlib, installEditable), "3.0", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7"),
		versions(pathsSpec(testPytest, ParserMatplotlib, `python -m pip install --no-build-isolation -e ".[dev]"`), "3.8", "3.9"),
		versions(pathsSpec(testPytest, ParserMatplotlib, "python setup.py build; python setup.py install"),
			"2.0", "2.1", "2.2", "1.0", "1.1", "1.2", "1.3", "1.4", "1.5"),
	),
	"mwaskom/seaborn": merged(
		versions(pathsSpec(testSeaborn, ParserPytest, installEditable), "0.11"),
		versions(pathsSpec(testSeaborn, ParserPytest, "python -m pip install -e .[dev]"), "0.12", "0.13", "0.14"),
	),
	"pallets/flask": versions(pathsSpec(testPytest, ParserPytest, installEditable),
		"2.0", "2.1", "2.2", "2.3", "3.0", "3.1"),
	"psf/requests": versions(pathsSpec(testPytest, ParserPytestOptions, "python -m pip install ."),
		"0.7", "0.8", "0.9", "0.11", "0.13", "0.14", "1.1", "1.2", "2.0", "2.2",
		"2.3", "2.4", "2.5", "2.7", "2.8", "2.9", "2.10", "2.11", "2.12", "2.17",
		"2.18", "2.19", "2.22", "2.26", "2.25", "2.27", "2.31", "3.0"),
	"pydata/xarray": versions(pathsSpec(testPytest, ParserPytest, installEditable),
		"0.12", "0.18", "0.19", "0.20", "2022.03", "2022.06", "2022.09", "2023.07", "2024.05"),
	"pylint-dev/pylint": versions(pathsSpec(testPytest, ParserPytestOptions, installEditable),
		"2.8", "2.9", "2.10", "2.11", "2.13", "2.14", "2.15", "2.16", "2.17", "3.0", "3.1", "3.2", "3.3", "4.0"),
	"pytest-dev/pytest": versions(pathsSpec(testPytest, ParserPytest, installEditable),
		"4.4", "4.5", "4.6", "5.0", "5.1", "5.2", "5.3", "5.4", "6.0", "6.2",
		"6.3", "7.0", "7.1", "7.2", "7.4", "8.0", "8.1", "8.2", "8.3", "8.4"),
	"scikit-learn/scikit-learn": versions(pathsSpec(testPytest, ParserPytest, installSklearn),
		"0.20", "0.21", "0.22", "1.3", "1.4", "1.5", "1.6"),
	"sphinx-doc/sphinx": versions(pathsSpec(testSphinx, ParserPytest, "python -m pip install -e .[test]"),
		"1.5", "1.6", "1.7", "1.8", "2.0", "2.1", "2.2", "2.3", "2.4", "3.0",
		"3.1", "3.2", "3.3", "3.4", "3.5", "4.0", "4.1", "4.2", "4.3", "4.4",
		"4.5", "5.0", "5.1", "5.2", "5.3", "6.0", "6.2", "7.0", "7.1", "7.2",
		"7.3", "7.4", "8.0", "8.1"),
	"sympy/sympy": versions(pathsSpec(testSympy, ParserSympy, installEditable),
		"0.7", "1.0", "1.1", "1.2", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9",
		"1.10", "1.11", "1.12", "1.13", "1.14"),
}

// repoSpecs is each repository's spec for versions SWE-bench does not
// list: its newest version's, which a later release most resembles.
var repoSpecs = newestSpecs(versionSpecs)

// SpecFor returns the built-in spec for a repository and version, else the
// repository's default, else DefaultSpec.
func SpecFor(repo, version string) RepoSpec {
	s, ok := versionSpecs[repo][version]
	if !ok {
		if s, ok = repoSpecs[repo]; !ok {
			s = DefaultSpec
		}
	}
	// Versions share the table's slices; a caller gets its own.
	s.Env, s.Eval, s.PreTest = slices.Clone(s.Env), slices.Clone(s.Eval), slices.Clone(s.PreTest)
	return s
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
	eval := spec.Eval // the table's, dropped with its test command
	var own []string
	if in := task.Install; in != nil {
		own = in.EvalCommands
		if strings.TrimSpace(in.TestCmd) != "" {
			// The row's own install_config is its spec (as SWE-rebench's
			// harness reads it): the table's exports, eval commands and
			// install step are not its.
			spec.TestCmd = in.TestCmd
			spec.Env, eval, spec.Install = nil, nil, ""
		}
		if strings.TrimSpace(in.Install) != "" {
			spec.Install = in.Install
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
		spec.Env, eval = nil, nil
	}
	// The table's eval_commands run as SWE-bench's eval script runs them,
	// where a failing one does not stop the tests (Django 3.x's locale-gen
	// finds no /etc/locale.gen in sweval's own layers); a row's own must
	// succeed.
	spec.PreTest = nil
	for _, e := range eval {
		spec.PreTest = append(spec.PreTest, "{ "+e+"; } || true")
	}
	spec.PreTest = append(spec.PreTest, own...)
	if _, err := CanonicalParser(spec.Parser); err != nil {
		return spec, fmt.Errorf("task %s: %w", task.ID, err)
	}
	return spec, nil
}

func pathsSpec(testCmd, parser, install string) RepoSpec {
	return RepoSpec{TestCmd: testCmd, Parser: parser, Directives: DirectivesPaths, Install: install}
}

func djangoSpec(testCmd, install string, env, eval []string) RepoSpec {
	return RepoSpec{TestCmd: testCmd, Parser: ParserDjango, Directives: DirectivesDjango, Env: env, Eval: eval, Install: install}
}

// versions gives each version the spec s, as the source's dict
// comprehensions over version lists do.
func versions(s RepoSpec, vs ...string) map[string]RepoSpec {
	m := make(map[string]RepoSpec, len(vs))
	for _, v := range vs {
		m[v] = s
	}
	return m
}

// merged joins version groups, a later group winning.
func merged(groups ...map[string]RepoSpec) map[string]RepoSpec {
	m := map[string]RepoSpec{}
	for _, g := range groups {
		maps.Copy(m, g)
	}
	return m
}

func newestSpecs(table map[string]map[string]RepoSpec) map[string]RepoSpec {
	out := make(map[string]RepoSpec, len(table))
	for repo, byVersion := range table {
		vs := slices.Collect(maps.Keys(byVersion))
		out[repo] = byVersion[slices.MaxFunc(vs, compareVersions)]
	}
	return out
}

// compareVersions orders SWE-bench version keys ("0.20" after "0.9",
// "2022.03", astropy's "v5.3") by their dotted numbers.
func compareVersions(a, b string) int {
	pa := strings.Split(strings.TrimPrefix(a, "v"), ".")
	pb := strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x - y
		}
	}
	return len(pa) - len(pb)
}
