package testrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/sandbox"
)

// User is the uid:gid the agent's code runs as, at install and test time:
// it owns nothing of the interpreter, the runner or /etc.
const User = "1000:1000"

// UID and GID are User's numbers, for a supervisor that drops to it.
const UID, GID = 1000, 1000

// Fixed paths inside the grading containers. The workspace lives on the
// /tmp tmpfs because the root filesystem is read-only.
const (
	harnessDir = "/tmp/.sweval-h" // root-owned 0755: the ini and the conftest list
	outRoot    = "/tmp/.sweval-o" // one directory per run for records and JUnit
	siteName   = ".sweval-site"   // pip --target, inside the workspace
	homeDir    = "/tmp/.sweval-home"
)

// Plan is one grading run.
type Plan struct {
	Image      string
	RunID      string
	Task       string
	CpusetCpus string
	// Workdir is where the workspace is unpacked; it must be under /tmp
	// (default /tmp/workspace).
	Workdir string
	// Workspace is a tar of the agent's workspace, paths relative to its
	// root. Links, devices, .git and paths escaping the root are dropped.
	Workspace []byte
	// Install pip-installs the workspace (--target inside it) as User in a
	// container of its own before the tests run in a fresh one.
	Install bool
	// Hidden maps workspace-relative paths to the hidden tests and their
	// support files; every test_*.py / *_test.py among them is run, one
	// pytest process per file, with a canary and a control planted.
	Hidden map[string][]byte
	// Seed chooses the planted tests' names, bodies and places.
	Seed           uint64
	InstallTimeout time.Duration
	TestTimeout    time.Duration
}

// Outcome is what the hidden tests did, with planted tests removed.
type Outcome struct {
	// Tests maps each hidden test's node id to its status.
	Tests map[string]grade.TestStatus
	// Flags are grade:tamper-<kind>; any flag means the rollout scores 0.
	Flags []string
	// Evidence explains each flag.
	Evidence []string
	// Install is why the install failed ("" = installed or not asked).
	Install string
	// Planted are the canaries and controls of this run.
	Planted []Planted
	// Dropped are workspace files kept from the tests (runner
	// configuration, conftest.py, start-up hooks, the agent's own tests).
	Dropped []string
	Log     string
}

// Tampered reports whether any check failed.
func (o Outcome) Tampered() bool { return len(o.Flags) > 0 }

func (o *Outcome) flag(kind, evidence string) {
	f := "grade:tamper-" + kind
	found := false
	for _, x := range o.Flags {
		found = found || x == f
	}
	if !found {
		o.Flags = append(o.Flags, f)
	}
	o.Evidence = append(o.Evidence, kind+": "+evidence)
}

// Run grades p: install phase (if asked), then the tests in a fresh
// container. An error is the harness's; the agent's failures are in the
// Outcome.
func Run(ctx context.Context, rt sandbox.Runtime, p Plan) (out Outcome, err error) {
	var log strings.Builder
	// Named results: the log reaches the caller on every return path.
	defer func() { out.Log = log.String() }()
	if p.Workdir == "" {
		p.Workdir = "/tmp/workspace"
	}
	if !strings.HasPrefix(path.Clean(p.Workdir), "/tmp/") {
		return out, fmt.Errorf("testrun: workdir %q must be under /tmp (the root filesystem is read-only)", p.Workdir)
	}
	p.Workdir = path.Clean(p.Workdir)
	files, err := readTar(p.Workspace)
	if err != nil {
		return out, fmt.Errorf("testrun: read workspace archive: %w", err)
	}
	// The test container is fresh and empty until the installed workspace
	// goes in, so it can start while the install runs: one container
	// start off the critical path, nothing shared between the two.
	testSpec := spec(p)
	testSpec.SwitchUser = true // the supervisor drops to User per file
	testSB := startCreate(ctx, rt, testSpec)
	defer testSB.discard(ctx)
	if p.Install {
		installed, reason, err := install(ctx, rt, p, files, &log)
		if err != nil {
			return out, err
		}
		if reason != "" {
			out.Install = reason
			return out, nil
		}
		files = installed
	}
	tests := testFiles(p.Hidden)
	if len(tests) == 0 {
		return out, errors.New("testrun: no hidden test files (test_*.py or *_test.py)")
	}
	ws, dropped := filterWorkspace(files, p.Hidden)
	out.Dropped = dropped
	rng := rand.New(rand.NewPCG(p.Seed, p.Seed^0x5eeda1))
	hidden := map[string][]byte{}
	for name, b := range p.Hidden {
		hidden[name] = b
	}
	for _, f := range tests {
		b, planted := Plant(rng, f, hidden[f])
		hidden[f] = b
		out.Planted = append(out.Planted, planted...)
	}
	for name, b := range hidden {
		ws[name] = entry{data: b, mode: 0o644}
	}
	out.Tests = map[string]grade.TestStatus{}
	if err := runTests(ctx, testSB.take, p, ws, hidden, tests, &out, &log); err != nil {
		return out, err
	}
	return out, nil
}

// pendingSandbox is a container being created in the background.
type pendingSandbox struct {
	done  chan struct{}
	sb    sandbox.Sandbox
	err   error
	taken bool
}

func startCreate(ctx context.Context, rt sandbox.Runtime, s sandbox.Spec) *pendingSandbox {
	f := &pendingSandbox{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.sb, f.err = rt.Create(ctx, s)
	}()
	return f
}

// take waits for the container; the caller closes it.
func (f *pendingSandbox) take() (sandbox.Sandbox, error) {
	<-f.done
	f.taken = true
	return f.sb, f.err
}

// discard closes the container if nobody took it (install failed).
func (f *pendingSandbox) discard(ctx context.Context) {
	<-f.done
	if !f.taken && f.sb != nil {
		f.sb.Close(context.WithoutCancel(ctx))
	}
}

type entry struct {
	data []byte
	mode int64
	dir  bool
}

func readTar(b []byte) (map[string]entry, error) {
	out := map[string]entry{}
	if len(b) == 0 {
		return out, nil
	}
	files, err := sandbox.ReadFiles(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		switch {
		case f.Name == ".git" || strings.HasPrefix(f.Name, ".git/"):
		case f.Mode.IsDir():
			out[f.Name] = entry{dir: true, mode: 0o755}
		case f.Mode.IsRegular():
			out[f.Name] = entry{data: f.Data, mode: int64(f.Mode.Perm() & 0o755)}
		}
	}
	return out, nil
}

func writeTar(files map[string]entry) []byte {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	mtime := time.Unix(1700000000, 0) // fixed: the same files give the same bytes
	out := make([]sandbox.File, 0, len(names))
	for _, n := range names {
		e := files[n]
		f := sandbox.File{Name: n, Data: e.data, Mode: fs.FileMode(e.mode|0o400) & fs.ModePerm, ModTime: mtime}
		if e.dir {
			f.Data, f.Mode = nil, fs.ModeDir|0o755
		}
		out = append(out, f)
	}
	var buf bytes.Buffer
	_ = sandbox.WriteFiles(&buf, out...) // writes to a bytes.Buffer cannot fail
	return buf.Bytes()
}

// startupHooks are files the interpreter or the runner would read from the
// workspace; none of them is honest work the hidden tests need.
var startupHooks = map[string]bool{
	"conftest.py": true, "pytest.ini": true, ".pytest.ini": true, "pytest.toml": true, ".pytest.toml": true, "tox.ini": true,
	"sitecustomize.py": true, "usercustomize.py": true,
}

// filterWorkspace drops what must not reach the tests: runner
// configuration and conftest.py outside the hidden set, start-up hooks,
// the agent's files inside the hidden tests' directories, modules that
// shadow the runner, and bytecode.
func filterWorkspace(files map[string]entry, hidden map[string][]byte) (map[string]entry, []string) {
	hiddenDirs := map[string]bool{}
	for h := range hidden {
		for d := path.Dir(h); d != "." && d != "/"; d = path.Dir(d) {
			hiddenDirs[d] = true
		}
	}
	out := map[string]entry{}
	var dropped []string
	for name, e := range files {
		base := path.Base(name)
		top := strings.SplitN(name, "/", 2)[0]
		if strings.HasPrefix(name, siteName+"/") {
			// Inside the install target only runner shadows matter.
			top = strings.SplitN(strings.TrimPrefix(name, siteName+"/"), "/", 2)[0]
		}
		drop := false
		switch {
		case hidden[name] != nil:
			drop = true // the hidden file replaces it
		case startupHooks[base], strings.HasSuffix(base, ".pth"), strings.HasSuffix(base, ".pyc"), base == "__pycache__":
			drop = true
		case !e.dir && hiddenDirs[path.Dir(name)]:
			drop = true
		case strings.Contains(name, "/__pycache__/") || strings.HasPrefix(name, "__pycache__/"):
			drop = true
		case runnerShadow[strings.TrimSuffix(top, ".py")]:
			drop = true
		}
		if drop {
			if hidden[name] == nil && !e.dir && !strings.HasSuffix(base, ".pyc") {
				dropped = append(dropped, name)
			}
			continue
		}
		out[name] = e
	}
	sort.Strings(dropped)
	return out, dropped
}

// runnerShadow are top-level names that would stand in for the runner.
var runnerShadow = map[string]bool{"pytest": true, "_pytest": true, "pluggy": true, "py": true, "iniconfig": true}

func testFiles(hidden map[string][]byte) []string {
	var out []string
	for p := range hidden {
		b := path.Base(p)
		if strings.HasSuffix(b, ".py") && (strings.HasPrefix(b, "test_") || strings.HasSuffix(b, "_test.py")) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func exec(ctx context.Context, sb sandbox.Sandbox, log *strings.Builder, what string, req sandbox.ExecRequest) (sandbox.ExecResult, error) {
	if req.OutputLimit == 0 {
		req.OutputLimit = 256 << 10
	}
	r, err := sb.Exec(ctx, req)
	fmt.Fprintf(log, ">>>>> %s (exit %d, %.1fs)\n%s\n", what, r.ExitCode, r.Duration.Seconds(), r.Output)
	if err != nil {
		return r, fmt.Errorf("testrun: %s: %w", what, err)
	}
	return r, nil
}

// agentEnv is the whole environment of the agent's processes: nothing
// from the task or the harness.
func agentEnv() []string {
	return []string{"HOME=" + homeDir, "PYTHONDONTWRITEBYTECODE=1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1", "PYTEST_ADDOPTS=", "PYTEST_PLUGINS=", "PIP_NO_CACHE_DIR=1"}
}

func spec(p Plan) sandbox.Spec {
	return sandbox.Spec{Image: p.Image, RunID: p.RunID, Task: p.Task, Workdir: "/tmp", CpusetCpus: p.CpusetCpus, ReadOnly: true}
}

// prepare unpacks files into the workspace as root and opens it to User.
func prepare(ctx context.Context, sb sandbox.Sandbox, log *strings.Builder, workdir string, files map[string]entry) error {
	if err := sb.CopyIn(ctx, workdir, bytes.NewReader(writeTar(files))); err != nil {
		return fmt.Errorf("testrun: copy workspace in: %w", err)
	}
	return nil
}

// install runs the agent's build backend as User in a container of its
// own and returns the workspace with the install target inside it.
func install(ctx context.Context, rt sandbox.Runtime, p Plan, files map[string]entry, log *strings.Builder) (map[string]entry, string, error) {
	sb, err := rt.Create(ctx, spec(p))
	if err != nil {
		return nil, "", fmt.Errorf("testrun: create install container: %w", err)
	}
	defer sb.Close(context.WithoutCancel(ctx))
	for n := range files {
		if n == siteName || strings.HasPrefix(n, siteName+"/") {
			delete(files, n)
		}
	}
	if err := prepare(ctx, sb, log, p.Workdir, files); err != nil {
		return nil, "", err
	}
	// The files belong to root (no CAP_CHOWN): open them to User.
	if r, err := exec(ctx, sb, log, "open the workspace to the agent's uid", sandbox.ExecRequest{
		Cmd: []string{"sh", "-c", `chmod -R a+rwX -- "$1" && mkdir -p -m 0777 "$2"`, "sh", p.Workdir, homeDir}, Timeout: 2 * time.Minute,
	}); err != nil {
		return nil, "", err
	} else if r.ExitCode != 0 {
		return nil, "", fmt.Errorf("testrun: open the workspace (exit %d): %s", r.ExitCode, r.Output)
	}
	timeout := p.InstallTimeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	r, err := exec(ctx, sb, log, "install the agent's package as "+User, sandbox.ExecRequest{
		Cmd: []string{"python3", "-I", "-B", "-c", installer, p.Workdir, p.Workdir + "/" + siteName},
		Dir: p.Workdir, Env: agentEnv(), User: User, Timeout: timeout,
	})
	if err != nil {
		return nil, "", err
	}
	if r.TimedOut || r.ExitCode != 0 {
		return nil, fmt.Sprintf("install failed (exit %d): %s", r.ExitCode, lastLines(string(r.Output), 15)), nil
	}
	rc, err := sb.CopyOut(ctx, p.Workdir)
	if err != nil {
		return nil, "", fmt.Errorf("testrun: copy the installed workspace out: %w", err)
	}
	defer rc.Close()
	// CopyOut names the workspace directory as the top entry.
	b, err := WorkspaceFromCopyOut(rc, path.Base(p.Workdir))
	if err != nil {
		return nil, "", err
	}
	out, err := readTar(b)
	if err != nil {
		return nil, "", fmt.Errorf("testrun: read the installed workspace: %w", err)
	}
	return out, "", nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// WorkspaceFromCopyOut turns a sandbox CopyOut stream of a directory named
// top into a Workspace archive (paths relative to it, .git dropped).
func WorkspaceFromCopyOut(r io.Reader, top string) ([]byte, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("testrun: read workspace stream: %w", err)
	}
	all, err := readTar(raw)
	if err != nil {
		return nil, fmt.Errorf("testrun: read workspace stream: %w", err)
	}
	out := map[string]entry{}
	for n, e := range all {
		if rest, ok := strings.CutPrefix(n, top+"/"); ok && rest != "" && rest != ".git" && !strings.HasPrefix(rest, ".git/") {
			out[rest] = e
		}
	}
	return writeTar(out), nil
}

// Kinds returns the flags without their grade: prefix (tamper-<kind>).
func (o Outcome) Kinds() []string {
	var k []string
	for _, f := range o.Flags {
		k = append(k, strings.TrimPrefix(f, "grade:"))
	}
	return k
}
