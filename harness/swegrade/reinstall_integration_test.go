package swegrade_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/harness/swegrade"
	"github.com/sweval/sweval/internal/testenv"
)

// The gencalc fixture: a package whose module calc/_gen.py is generated
// from calc/value.txt by its install step (python build.py), as a C
// extension or a version file is built by a real repository's
// `pip install -e .`. The image holds the generated module of the base
// commit; the fix changes value.txt, so only a re-install after the
// patch makes the hidden test pass.
var gencalcFiles = map[string]string{
	".gitignore":         "calc/_gen.py\n",
	"calc/__init__.py":   "from calc._gen import VALUE\n",
	"calc/value.txt":     "1\n",
	"tests/__init__.py":  "",
	"build.py":           "value = open('calc/value.txt').read().strip()\nwith open('calc/_gen.py', 'w') as f:\n    f.write('VALUE = %s\\n' % value)\n",
	"tests/test_calc.py": "import calc\n\n\ndef test_import():\n    assert calc.VALUE >= 1\n",
}

// gencalcAttack is an install step that tries to reach the tests: a
// conftest that passes every test, the hidden test file rewritten, start-up
// hooks and a runner patch in site-packages, and a survivor that keeps
// rewriting the test file after the install returns. The value stays 1.
const gencalcAttack = `import os, site, subprocess, sys, glob
hook = "import pytest\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n    o = yield\n    o.get_result().outcome = 'passed'\n"
for p in ("conftest.py", "tests/conftest.py"):
    open(p, "w").write(hook)
open("tests/test_calc.py", "w").write("def test_import():\n    pass\n\n\ndef test_value():\n    pass\n")
for d in site.getsitepackages() + ["/usr/lib/python3/dist-packages"]:
    try:
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, "sitecustomize.py"), "w").write("import builtins\n")
        open(os.path.join(d, "zz_forge.pth"), "w").write("import os; os.environ['FORGED'] = '1'\n")
    except OSError:
        pass
for f in glob.glob("/usr/lib/python3/dist-packages/_pytest/runner.py"):
    open(f, "a").write("\nraise SystemExit(0)\n")
subprocess.Popen(["bash", "-c", "while :; do printf 'def test_value():\\n    pass\\n' > /testbed/tests/test_calc.py; sleep 0.2; done"],
                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
value = open('calc/value.txt').read().strip()
with open('calc/_gen.py', 'w') as f:
    f.write('VALUE = %s\n' % value)
`

// gencalc builds the fixture's repository (for its patches) and its
// published-style image, and returns the task and the image.
func gencalc(t *testing.T, cli *client.Client, base string) (benchmarks.Task, string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_AUTHOR_DATE=2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2024-01-01T00:00:00Z")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for n, text := range gencalcFiles {
		write(n, text)
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-qm", "base")
	sha := strings.TrimSpace(git("rev-parse", "HEAD"))
	diff := func(edit map[string]string) string {
		t.Helper()
		for n, text := range edit {
			write(n, text)
		}
		d := git("diff")
		git("checkout", "-q", ".")
		return d
	}
	patches := map[string]string{
		"gold":   diff(map[string]string{"calc/value.txt": "2\n"}),
		"attack": diff(map[string]string{"build.py": gencalcAttack}),
		// The fix, and an install that then stops its own container
		// (kill(-1) as root takes the container's main process).
		"kill": diff(map[string]string{"calc/value.txt": "2\n", "build.py": gencalcFiles["build.py"] + "import os, signal\nos.kill(-1, signal.SIGKILL)\n"}),
	}
	task := benchmarks.Task{
		ID: "sweval-fixtures__gencalc-1", Kind: benchmarks.KindSWEBench, Repo: "sweval-fixtures/gencalc", BaseCommit: sha,
		Patch:      patches["gold"],
		TestPatch:  diff(map[string]string{"tests/test_calc.py": gencalcFiles["tests/test_calc.py"] + "\n\ndef test_value():\n    assert calc.VALUE == 2\n"}),
		FailToPass: []string{"tests/test_calc.py::test_value"}, PassToPass: []string{"tests/test_calc.py::test_import"},
		Install: &benchmarks.InstallConfig{Install: "python build.py"},
	}
	// The image is laid out as a publisher's: the repository at /testbed
	// at the base commit, installed (the generated module present).
	image := "sweval-test/gencalc:" + sha[:12]
	ctxFiles := map[string]string{"Dockerfile": "FROM " + base + "\nLABEL sweval.managed=\"\" sweval.layer=\"\" sweval.key=\"\"\nCOPY repo/ /testbed/\n" +
		"RUN cd /testbed && git init -q -b main && git add -A && GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com " +
		"GIT_AUTHOR_DATE=2024-01-01T00:00:00Z GIT_COMMITTER_DATE=2024-01-01T00:00:00Z git -c core.fileMode=true commit -qm base && test \"$(git rev-parse HEAD)\" = " + sha + " && python build.py\n" +
		"WORKDIR /testbed\n"}
	for n, text := range gencalcFiles {
		ctxFiles["repo/"+n] = text
	}
	testenv.BuildImage(t, cli, image, ctxFiles)
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), image, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	return task, image, patches
}

// TestIntegrationReinstall grades the gencalc fixture in its published-
// style image on the real daemon: gold resolves only with SWE-bench's
// re-install step (which rebuilds the generated module), and an install
// step that tries to forge the verdict, through the workspace, the hidden
// test file, site-packages, the runner or a process left running, gets the
// honest verdict (unresolved) with the attack's changes kept out.
func TestIntegrationReinstall(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the re-install grading run")
	}
	cli := testenv.Docker(t)
	task, image, patches := gencalc(t, cli, testenv.BaseImage(t))
	rt := sandbox.NewDocker(cli, sandbox.Options{})
	for _, c := range []struct {
		name      string
		patch     string
		reinstall bool
		want      result.Status
		inLog     []string
	}{
		{"gold without the re-install", patches["gold"], false, result.StatusUnresolved, nil},
		{"gold", patches["gold"], true, result.StatusResolved, []string{"+ python build.py (SWE-bench's re-install step", "carried into the tests: 1 (0 KiB): calc/_gen.py"}},
		{"install-time forgery", patches["attack"], true, result.StatusUnresolved, []string{"kept from the tests"}},
		// Nothing of a container the install ended is carried; the grade
		// goes on (the model's doing, not an infrastructure error).
		{"install kills its container", patches["kill"], true, result.StatusUnresolved, []string{"Re-install", "the tests run on the image's installation"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			spec := sandbox.Spec{Image: image, RunID: "swegrade-test", Task: task.ID, Workdir: "/testbed"}
			opts := grade.Options{Timeout: time.Minute, Dir: "/testbed", Reinstall: c.reinstall}
			test := swegrade.Prepare(ctx, rt, spec, task, opts)
			sb, err := rt.Create(ctx, spec)
			if err != nil {
				test.Discard(ctx)
				t.Fatal(err)
			}
			defer sb.Close(context.WithoutCancel(ctx))
			out, err := swegrade.GradePrepared(ctx, test, sb, task, c.patch, opts)
			if err != nil {
				t.Fatalf("grade: %v\n%s", err, out.Log)
			}
			if out.Status != c.want {
				t.Errorf("status %s (%s), want %s\n%s", out.Status, out.Error, c.want, out.Log)
			}
			for _, s := range c.inLog {
				if !strings.Contains(out.Log, s) {
					t.Errorf("log lacks %q:\n%s", s, out.Log)
				}
			}
			if !c.reinstall && strings.Contains(out.Log, "re-install") {
				t.Errorf("re-install ran without Options.Reinstall:\n%s", out.Log)
			}
			if c.name == "install-time forgery" {
				if out.TestsStatus == nil || len(out.TestsStatus.FailToPass.Failure) != 1 || len(out.TestsStatus.PassToPass.Success) != 1 {
					t.Errorf("tests status %+v, want test_value failing and test_import passing\n%s", out.TestsStatus, out.Log)
				}
			}
		})
	}
}
