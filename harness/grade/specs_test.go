package grade

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sweval/sweval/benchmarks"
)

// The expected values below are literals copied from SWE-bench's
// swebench/harness/constants/python.py (MAP_REPO_VERSION_TO_SPECS_PY) and
// swebench/harness/log_parsers/python.py (MAP_REPO_TO_PARSER_PY) in
// github.com/SWE-bench/SWE-bench, commit
// 096a15a90e676c4d35ed60c0e381f7f5a31a16d6 (constants) and
// 2d1d7c2e6c7e0e3e3bd84e67459dd7c3c512fefe (log parsers).

func TestSpecForVersions(t *testing.T) {
	djangoOld := []string{"LANG=en_US.UTF-8", "LC_ALL=en_US.UTF-8", "PYTHONIOENCODING=utf8", "LANGUAGE=en_US:en"}
	tests := []struct {
		repo, version string
		want          RepoSpec
	}{
		{"astropy/astropy", "1.3", RepoSpec{TestCmd: "pytest -rA -vv -o console_output_style=classic --tb=no -p no:nose", Parser: ParserPytest, Directives: DirectivesPaths, Install: "python -m pip install -e .[test] --verbose"}},
		{"astropy/astropy", "4.3", RepoSpec{TestCmd: "pytest -rA", Parser: ParserPytest, Directives: DirectivesPaths, Install: "python -m pip install -e .[test] --verbose"}},
		{"astropy/astropy", "v5.3", RepoSpec{TestCmd: "pytest -rA", Parser: ParserPytest, Directives: DirectivesPaths, Install: "python -m pip install -e .[test] --verbose"}},
		{"django/django", "1.4", RepoSpec{TestCmd: "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1", Parser: ParserDjango, Directives: DirectivesDjango, Install: "python setup.py install"}},
		{"django/django", "1.9", RepoSpec{TestCmd: "./tests/runtests.py --verbosity 2", Parser: ParserDjango, Directives: DirectivesDjango, Env: djangoOld, Install: "python setup.py install"}},
		{"django/django", "2.2", RepoSpec{TestCmd: "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1", Parser: ParserDjango, Directives: DirectivesDjango, Env: djangoOld, Install: "python setup.py install"}},
		{"django/django", "3.1", RepoSpec{
			TestCmd: "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1", Parser: ParserDjango, Directives: DirectivesDjango,
			Env:     []string{"LANG=en_US.UTF-8", "LANGUAGE=en_US:en", "LC_ALL=en_US.UTF-8"},
			Eval:    []string{"sed -i '/en_US.UTF-8/s/^# //g' /etc/locale.gen && locale-gen"},
			Install: "python -m pip install -e .",
		}},
		{"django/django", "4.2", RepoSpec{TestCmd: "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1", Parser: ParserDjango, Directives: DirectivesDjango, Install: "python -m pip install -e ."}},
		{"matplotlib/matplotlib", "1.5", RepoSpec{TestCmd: "pytest -rA", Parser: ParserMatplotlib, Directives: DirectivesPaths, Install: "python setup.py build; python setup.py install"}},
		{"matplotlib/matplotlib", "3.3", RepoSpec{TestCmd: "pytest -rA", Parser: ParserMatplotlib, Directives: DirectivesPaths, Install: "python -m pip install -e ."}},
		{"matplotlib/matplotlib", "3.9", RepoSpec{TestCmd: "pytest -rA", Parser: ParserMatplotlib, Directives: DirectivesPaths, Install: `python -m pip install --no-build-isolation -e ".[dev]"`}},
		{"mwaskom/seaborn", "0.11", RepoSpec{TestCmd: "pytest --no-header -rA", Parser: ParserPytest, Directives: DirectivesPaths, Install: "python -m pip install -e ."}},
		{"mwaskom/seaborn", "0.12", RepoSpec{TestCmd: "pytest --no-header -rA", Parser: ParserPytest, Directives: DirectivesPaths, Install: "python -m pip install -e .[dev]"}},
		{"pallets/flask", "2.0", RepoSpec{TestCmd: "pytest -rA", Parser: ParserPytest, Directives: DirectivesPaths, Install: "python -m pip install -e ."}},
		{"pallets/flask", "2.3", RepoSpec{TestCmd: "pytest -rA", Parser: ParserPytest, Directives: DirectivesPaths, Install: "python -m pip install -e ."}},
		{"psf/requests", "0.14", RepoSpec{TestCmd: "pytest -rA", Parser: ParserPytestOptions, Directives: DirectivesPaths, Install: "python -m pip install ."}},
		{"psf/requests", "2.26", RepoSpec{TestCmd: "pytest -rA", Parser: ParserPytestOptions, Directives: DirectivesPaths, Install: "python -m pip install ."}},
		{"pydata/xarray", "0.12", RepoSpec{TestCmd: "pytest -rA", Parser: ParserPytest, Directives: DirectivesPaths, Install: "python -m pip install -e ."}},
		{"pydata/xarray", "2022.06", RepoSpec{TestCmd: "pytest -rA", Parser: ParserPytest, Directives: DirectivesPaths, Install: "python -m pip install -e ."}},
		{"pylint-dev/pylint", "2.8", RepoSpec{TestCmd: "pytest -rA", Parser: ParserPytestOptions, Directives: DirectivesPaths, Install: "python -m pip install -e ."}},
		{"pylint-dev/pylint", "3.0", RepoSpec{TestCmd: "pytest -rA", Parser: ParserPytestOptions, Directives: DirectivesPaths, Install: "python -m pip install -e ."}},
		{"pytest-dev/pytest", "5.4", RepoSpec{TestCmd: "pytest -rA", Parser: ParserPytest, Directives: DirectivesPaths, Install: "python -m pip install -e ."}},
		{"pytest-dev/pytest", "8.0", RepoSpec{TestCmd: "pytest -rA", Parser: ParserPytest, Directives: DirectivesPaths, Install: "python -m pip install -e ."}},
		{"scikit-learn/scikit-learn", "0.20", RepoSpec{TestCmd: "pytest -rA", Parser: ParserPytest, Directives: DirectivesPaths, Install: "python -m pip install -v --no-use-pep517 --no-build-isolation -e ."}},
		{"scikit-learn/scikit-learn", "1.3", RepoSpec{TestCmd: "pytest -rA", Parser: ParserPytest, Directives: DirectivesPaths, Install: "python -m pip install -v --no-use-pep517 --no-build-isolation -e ."}},
		{"sphinx-doc/sphinx", "3.5", RepoSpec{TestCmd: "tox --current-env -epy39 -v --", Parser: ParserPytest, Directives: DirectivesPaths, Install: "python -m pip install -e .[test]"}},
		{"sphinx-doc/sphinx", "7.2", RepoSpec{TestCmd: "tox --current-env -epy39 -v --", Parser: ParserPytest, Directives: DirectivesPaths, Install: "python -m pip install -e .[test]"}},
		{"sympy/sympy", "1.1", RepoSpec{TestCmd: "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose", Parser: ParserSympy, Directives: DirectivesPaths, Install: "python -m pip install -e ."}},
		{"sympy/sympy", "1.13", RepoSpec{TestCmd: "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose", Parser: ParserSympy, Directives: DirectivesPaths, Install: "python -m pip install -e ."}},
	}
	for _, tt := range tests {
		if got := SpecFor(tt.repo, tt.version); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SpecFor(%s, %s)\n got %+v\nwant %+v", tt.repo, tt.version, got, tt.want)
		}
	}
}

// Every version key of the source, exactly as it spells them.
func TestSpecVersionKeys(t *testing.T) {
	want := map[string][]string{
		"astropy/astropy":           {"3.0", "3.1", "3.2", "4.1", "4.2", "4.3", "5.0", "5.1", "5.2", "v5.3", "0.1", "0.2", "0.3", "0.4", "1.1", "1.2", "1.3"},
		"django/django":             {"1.7", "1.8", "1.9", "1.10", "1.11", "2.0", "2.1", "2.2", "1.4", "1.5", "1.6", "3.0", "3.1", "3.2", "4.0", "4.1", "4.2", "5.0", "5.1", "5.2"},
		"matplotlib/matplotlib":     {"3.5", "3.6", "3.7", "3.8", "3.9", "3.1", "3.2", "3.3", "3.4", "3.0", "2.0", "2.1", "2.2", "1.0", "1.1", "1.2", "1.3", "1.4", "1.5"},
		"mwaskom/seaborn":           {"0.11", "0.12", "0.13", "0.14"},
		"pallets/flask":             {"2.0", "2.1", "2.2", "2.3", "3.0", "3.1"},
		"psf/requests":              {"0.7", "0.8", "0.9", "0.11", "0.13", "0.14", "1.1", "1.2", "2.0", "2.2", "2.3", "2.4", "2.5", "2.7", "2.8", "2.9", "2.10", "2.11", "2.12", "2.17", "2.18", "2.19", "2.22", "2.26", "2.25", "2.27", "2.31", "3.0"},
		"pydata/xarray":             {"0.12", "0.18", "0.19", "0.20", "2022.03", "2022.06", "2022.09", "2023.07", "2024.05"},
		"pylint-dev/pylint":         {"2.10", "2.11", "2.13", "2.14", "2.15", "2.16", "2.17", "2.8", "2.9", "3.0", "3.1", "3.2", "3.3", "4.0"},
		"pytest-dev/pytest":         {"4.4", "4.5", "4.6", "5.0", "5.1", "5.2", "5.3", "5.4", "6.0", "6.2", "6.3", "7.0", "7.1", "7.2", "7.4", "8.0", "8.1", "8.2", "8.3", "8.4"},
		"scikit-learn/scikit-learn": {"0.20", "0.21", "0.22", "1.3", "1.4", "1.5", "1.6"},
		"sphinx-doc/sphinx":         {"1.5", "1.6", "1.7", "1.8", "2.0", "2.1", "2.2", "2.3", "2.4", "3.0", "3.1", "3.2", "3.3", "3.4", "3.5", "4.0", "4.1", "4.2", "4.3", "4.4", "4.5", "5.0", "5.1", "5.2", "5.3", "6.0", "6.2", "7.0", "7.1", "7.2", "7.3", "7.4", "8.0", "8.1"},
		"sympy/sympy":               {"0.7", "1.0", "1.1", "1.10", "1.11", "1.12", "1.2", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.13", "1.14"},
	}
	if len(versionSpecs) != len(want) {
		t.Errorf("%d repos in the table, want %d", len(versionSpecs), len(want))
	}
	for repo, vs := range want {
		got := slices.Sorted(maps.Keys(versionSpecs[repo]))
		if w := slices.Sorted(slices.Values(vs)); !slices.Equal(got, w) {
			t.Errorf("%s versions\n got %v\nwant %v", repo, got, w)
		}
	}
}

func TestSpecTableWellFormed(t *testing.T) {
	// MAP_REPO_TO_PARSER_PY, by SWE-bench's names.
	sourceParser := map[string]string{
		"astropy/astropy":           "parse_log_astropy",
		"django/django":             "parse_log_django",
		"matplotlib/matplotlib":     "parse_log_matplotlib",
		"mwaskom/seaborn":           "parse_log_seaborn",
		"pallets/flask":             "parse_log_flask",
		"psf/requests":              "parse_log_requests",
		"pydata/xarray":             "parse_log_xarray",
		"pylint-dev/pylint":         "parse_log_pylint",
		"pytest-dev/pytest":         "parse_log_pytest",
		"scikit-learn/scikit-learn": "parse_log_scikit",
		"sphinx-doc/sphinx":         "parse_log_sphinx",
		"sympy/sympy":               "parse_log_sympy",
	}
	for repo, byVersion := range versionSpecs {
		want, err := CanonicalParser(sourceParser[repo])
		if err != nil {
			t.Fatalf("%s: %v", repo, err)
		}
		for v, s := range byVersion {
			if strings.TrimSpace(s.TestCmd) == "" || strings.TrimSpace(s.Install) == "" {
				t.Errorf("%s %s: empty test_cmd or install: %+v", repo, v, s)
			}
			if p, err := CanonicalParser(s.Parser); err != nil || p != s.Parser || p != want {
				t.Errorf("%s %s: parser %q (%v), want %q", repo, v, s.Parser, err, want)
			}
			if s.Directives != DirectivesPaths && s.Directives != DirectivesDjango {
				t.Errorf("%s %s: directives %q", repo, v, s.Directives)
			}
			if s.PreTest != nil {
				t.Errorf("%s %s: PreTest is a row's own, not the table's: %v", repo, v, s.PreTest)
			}
			for _, kv := range s.Env {
				if k, _, ok := strings.Cut(kv, "="); !ok || !isShellName(k) {
					t.Errorf("%s %s: env %q is not KEY=VALUE", repo, v, kv)
				}
			}
			for _, c := range s.Eval {
				if strings.HasPrefix(c, "export ") {
					t.Errorf("%s %s: export %q belongs in Env", repo, v, c)
				}
			}
		}
	}
}

func TestSpecForFallbacks(t *testing.T) {
	if got := SpecFor("someone/else", "1.0"); !reflect.DeepEqual(got, DefaultSpec) {
		t.Errorf("unknown repo: %+v", got)
	}
	if got := SpecFor("", ""); !reflect.DeepEqual(got, DefaultSpec) {
		t.Errorf("empty repo: %+v", got)
	}
	// An unknown version of a known repo gets that repo's newest version.
	newest := map[string]string{
		"astropy/astropy":           "v5.3",
		"django/django":             "5.2",
		"matplotlib/matplotlib":     "3.9",
		"mwaskom/seaborn":           "0.14",
		"pallets/flask":             "3.1",
		"psf/requests":              "3.0",
		"pydata/xarray":             "2024.05",
		"pylint-dev/pylint":         "4.0",
		"pytest-dev/pytest":         "8.4",
		"scikit-learn/scikit-learn": "1.6",
		"sphinx-doc/sphinx":         "8.1",
		"sympy/sympy":               "1.14",
	}
	for repo, v := range newest {
		want := SpecFor(repo, v)
		for _, unknown := range []string{"99.0", "", "dev"} {
			if got := SpecFor(repo, unknown); !reflect.DeepEqual(got, want) {
				t.Errorf("SpecFor(%s, %q) = %+v, want %s's %+v", repo, unknown, got, v, want)
			}
		}
	}
	if got := SpecFor("matplotlib/matplotlib", "4.0").Install; got != `python -m pip install --no-build-isolation -e ".[dev]"` {
		t.Errorf("matplotlib default install %q", got)
	}
	if got := SpecFor("django/django", "6.0"); got.Env != nil || got.Eval != nil || got.TestCmd != testDjango {
		t.Errorf("django default: %+v", got)
	}
}

func TestSpecForCopies(t *testing.T) {
	a := SpecFor("django/django", "3.0")
	a.Env[0], a.Eval[0] = "X=1", "true"
	if b := SpecFor("django/django", "3.1"); b.Env[0] != "LANG=en_US.UTF-8" || b.Eval[0] == "true" {
		t.Errorf("a caller's edit reached the table: %+v", b)
	}
}

func TestCompareVersionsSpec(t *testing.T) {
	for _, tt := range []struct{ a, b string }{{"0.9", "0.20"}, {"1.9", "1.10"}, {"5.2", "v5.3"}, {"2.31", "3.0"}, {"0.20", "2022.03"}, {"1", "1.0"}} {
		if compareVersions(tt.a, tt.b) >= 0 || compareVersions(tt.b, tt.a) <= 0 {
			t.Errorf("%s should sort before %s", tt.a, tt.b)
		}
	}
}

// ResolveSpec keeps the table's Eval; a row's eval_commands stay in
// PreTest. The re-install step is the table's unless the row's own
// install_config is its spec (its test_cmd), and a row's own install wins.
func TestResolveSpecKeepsEvalAndInstall(t *testing.T) {
	table := SpecFor("django/django", "3.2")
	for _, c := range []struct {
		name     string
		install  *benchmarks.InstallConfig
		override string
		want     string
	}{
		{"table", nil, "", table.Install},
		{"--test-cmd keeps the table's install", nil, "make test", table.Install},
		{"row's test_cmd: not the table's install", &benchmarks.InstallConfig{TestCmd: "./tests/runtests.py -v 2", EvalCommands: []string{"echo row"}}, "", ""},
		{"row's own install", &benchmarks.InstallConfig{TestCmd: "./tests/runtests.py -v 2", Install: "pip install -e .", EvalCommands: []string{"echo row"}}, "make test", "pip install -e ."},
	} {
		t.Run(c.name, func(t *testing.T) {
			task := benchmarks.Task{ID: "django__django-13033", Repo: "django/django", Version: "3.2", Install: c.install}
			s, err := ResolveSpec(task, c.override)
			if err != nil {
				t.Fatal(err)
			}
			if s.Install != c.want {
				t.Errorf("Install %q, want %q", s.Install, c.want)
			}
			if !reflect.DeepEqual(s.Eval, table.Eval) {
				t.Errorf("Eval %v, want the table's %v", s.Eval, table.Eval)
			}
			if c.install != nil && (!slices.Equal(s.PreTest, []string{"echo row"}) || s.Env != nil) {
				t.Errorf("PreTest %v, Env %v: want the row's eval_commands alone", s.PreTest, s.Env)
			}
		})
	}
}

// TestResolveSpecPreTest: the table's eval_commands (Django 3.x's
// locale-gen) run best effort before a row's own, which must succeed; a
// row's own test command, or --test-cmd, drops the table's with its
// exports.
func TestResolveSpecPreTest(t *testing.T) {
	localeGen := "{ sed -i '/en_US.UTF-8/s/^# //g' /etc/locale.gen && locale-gen; } || true"
	for _, c := range []struct {
		name     string
		task     benchmarks.Task
		override string
		want     []string
		wantEnv  bool
	}{
		{"django 3.0", benchmarks.Task{ID: "d1", Repo: "django/django", Version: "3.0"}, "", []string{localeGen}, true},
		{"django 4.0: none", benchmarks.Task{ID: "d2", Repo: "django/django", Version: "4.0"}, "", nil, false},
		{"row's own after the table's", benchmarks.Task{ID: "d3", Repo: "django/django", Version: "3.1",
			Install: &benchmarks.InstallConfig{EvalCommands: []string{"export A=1"}}}, "", []string{localeGen, "export A=1"}, true},
		{"row's own test command drops the table's", benchmarks.Task{ID: "d4", Repo: "django/django", Version: "3.2",
			Install: &benchmarks.InstallConfig{TestCmd: "pytest", EvalCommands: []string{"export A=1"}}}, "", []string{"export A=1"}, false},
		{"--test-cmd drops the table's", benchmarks.Task{ID: "d5", Repo: "django/django", Version: "3.2"}, "pytest -x", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec, err := ResolveSpec(c.task, c.override)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(spec.PreTest, c.want) {
				t.Errorf("PreTest = %q, want %q", spec.PreTest, c.want)
			}
			if got := len(spec.Env) > 0; got != c.wantEnv {
				t.Errorf("Env = %q, want exports: %v", spec.Env, c.wantEnv)
			}
		})
	}
}
