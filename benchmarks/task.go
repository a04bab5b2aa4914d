package benchmarks

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Kind says how a task is graded.
type Kind string

const (
	// KindSWEBench: repo at base_commit, hidden FAIL_TO_PASS / PASS_TO_PASS tests.
	KindSWEBench Kind = "swebench"
	// KindOpenSWE: a SWE-bench row with its own Dockerfile and eval script;
	// resolved iff the script prints OPENSWE_EXIT_CODE=0.
	KindOpenSWE Kind = "openswe"
	// KindDoc2Repo: the agent writes a whole repository from a spec; the
	// reference's own tests grade it as a pass fraction.
	KindDoc2Repo Kind = "doc2repo"
)

// Task is one evaluation instance, whatever file it came from.
type Task struct {
	ID   string `json:"instance_id"`
	Kind Kind   `json:"kind"`

	// SWE-bench fields, verbatim.
	Repo                   string   `json:"repo,omitempty"`
	BaseCommit             string   `json:"base_commit,omitempty"`
	Patch                  string   `json:"patch,omitempty"` // the gold patch
	TestPatch              string   `json:"test_patch,omitempty"`
	ProblemStatement       string   `json:"problem_statement,omitempty"`
	HintsText              string   `json:"hints_text,omitempty"`
	CreatedAt              string   `json:"created_at,omitempty"`
	Version                string   `json:"version,omitempty"`
	EnvironmentSetupCommit string   `json:"environment_setup_commit,omitempty"`
	FailToPass             []string `json:"FAIL_TO_PASS,omitempty"`
	PassToPass             []string `json:"PASS_TO_PASS,omitempty"`

	// Install is SWE-rebench's install_config; nil when absent.
	Install *InstallConfig `json:"install_config,omitempty"`

	// OpenSWE fields.
	Dockerfile string `json:"Dockerfile,omitempty"`
	EvalScript string `json:"eval_script,omitempty"`
	ImageName  string `json:"image_name,omitempty"`

	// Doc2Repo is set for KindDoc2Repo tasks.
	Doc2Repo *Doc2Repo `json:"doc2repo,omitempty"`

	// Features are numeric fields a task carries (declared tests, spec
	// length, ...); difficulty fitting reads them.
	Features map[string]float64 `json:"features,omitempty"`

	// Source says where the task was read from ("file:line"), for messages.
	Source string `json:"-"`
}

// InstallConfig is SWE-rebench's per-instance environment description.
// Only the fields the harness acts on are typed; the rest are kept raw.
type InstallConfig struct {
	Python      string   `json:"python,omitempty"`
	Packages    string   `json:"packages,omitempty"`
	PipPackages []string `json:"pip_packages,omitempty"`
	PreInstall  []string `json:"pre_install,omitempty"`
	Install     string   `json:"install,omitempty"`
	TestCmd     string   `json:"test_cmd,omitempty"`
	LogParser   string   `json:"log_parser,omitempty"`
	// EvalCommands run before the tests (SWE-bench's eval_commands: the
	// locale, environment variables), in the test container, before any
	// file of the submission is in it; pre_install ran when the image was
	// built, and install runs again after the model patch (package
	// swegrade's re-install phase), as SWE-rebench's eval script does.
	EvalCommands []string `json:"eval_commands,omitempty"`
}

// Doc2Repo describes a write-the-whole-repository task.
type Doc2Repo struct {
	// Spec is the capability document the agent receives (text, already read).
	Spec string `json:"spec"`
	// Reference is a host directory holding the reference repository with
	// its own tests, when the task has one on disk.
	Reference string `json:"reference,omitempty"`
	// Tests are paths (relative to the reference root) of the hidden test
	// files or directories.
	Tests []string `json:"tests"`
	// TestCommands run in order through `bash -c` in the graded workspace.
	TestCommands []string `json:"test_commands,omitempty"`
	// DeclaredTests is the published number of tests; the score's denominator.
	DeclaredTests int `json:"declared_tests"`
	// DeclaredIDs are test ids known to pass on the reference (DeNovoSWE's
	// passed_ptp); ExcludedIDs fail there and are not scored (failed_ptp).
	DeclaredIDs []string `json:"declared_ids,omitempty"`
	ExcludedIDs []string `json:"excluded_ids,omitempty"`
	// Package is the import/dist name the leakage guard protects; Aliases
	// are further names (import names, PyPI name).
	Package string   `json:"package,omitempty"`
	Aliases []string `json:"aliases,omitempty"`
	// Image is a prebuilt environment image to start from, if named.
	Image string `json:"image,omitempty"`
	// Workdir is where the workspace lives inside the container.
	Workdir string `json:"workdir,omitempty"`
	// TestFiles holds hidden test file contents keyed by relative path, for
	// formats that ship tests inline (DeNovoSWE's test_patch / archive).
	TestFiles map[string][]byte `json:"-"`
	// Env is extra environment setup.
	Env Env `json:"env,omitempty"`
}

// Env is extra environment for an image layer.
type Env struct {
	Python       string   `json:"python,omitempty"`
	Apt          []string `json:"apt,omitempty"`
	PipWheelsDir string   `json:"pip_wheels_dir,omitempty"`
}

// RecordError reports one bad record; loaders collect these and keep going.
type RecordError struct {
	File  string // path of the file read
	Line  int    // 1-based line for JSONL; 0 when not line-oriented
	Index int    // 0-based record index in the file
	Field string // the offending field, "" when the whole record is bad
	Err   error
}

func (e *RecordError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	} else {
		loc = fmt.Sprintf("%s: record %d", e.File, e.Index)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: field %q: %v", loc, e.Field, e.Err)
	}
	return fmt.Sprintf("%s: %v", loc, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// Errors joins record errors into one error (nil when there are none), so a
// caller can log every bad record at once.
func Errors(errs []*RecordError) error {
	if len(errs) == 0 {
		return nil
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

// DefaultWorkdir is where the repository lives inside a task's containers
// unless the task names another (a DeNovoSWE task may set workdir).
const DefaultWorkdir = "/testbed"

// Workdir is the repository's path inside the task's containers: the one
// source every stage (sandbox, base commit, grading, purge, audit) reads.
func (t Task) Workdir() string {
	if t.Doc2Repo != nil && t.Doc2Repo.Workdir != "" {
		return path.Clean(t.Doc2Repo.Workdir)
	}
	return DefaultWorkdir
}

// Protected are the names a Doc2Repo task's reference goes by, which the
// guard, the audit, the purge and the red-team suite all protect.
type Protected struct {
	// Dists are the distribution names (package, then aliases), deduplicated.
	Dists []string
	// Imports are the Python import names derived from Dists ("-" and "."
	// become "_"), only the valid identifiers.
	Imports []string
}

var reIdentifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Protected derives the task's protected names once; empty for tasks that
// are not Doc2Repo.
func (t Task) Protected() Protected {
	var p Protected
	if t.Doc2Repo == nil {
		return p
	}
	seen := map[string]bool{}
	for _, n := range append([]string{t.Doc2Repo.Package}, t.Doc2Repo.Aliases...) {
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		p.Dists = append(p.Dists, n)
		imp := ImportName(n)
		if reIdentifier.MatchString(imp) && !seen["import:"+imp] {
			seen["import:"+imp] = true
			p.Imports = append(p.Imports, imp)
		}
	}
	return p
}

// ImportName is the Python import name a distribution name maps to by
// convention ("my-pkg.x" → "my_pkg_x").
func ImportName(dist string) string {
	return strings.NewReplacer("-", "_", ".", "_").Replace(dist)
}
