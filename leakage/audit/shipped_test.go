package audit

import (
	"context"
	"slices"
	"testing"

	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
	"github.com/sweval/sweval/scaffolds/trajectory"
)

// TestShippedInRealSandbox: the runner files a task ships are listed from
// a real container before the agent runs; an honest edit of them is then
// not a runner edit, while the same edit counts without the listing and a
// conftest.py the agent adds stays flagged.
func TestShippedInRealSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test")
	}
	ctx := context.Background()
	rt := sandbox.NewDocker(testenv.Docker(t), sandbox.Options{})
	sb, err := rt.Create(ctx, sandbox.Spec{Image: testenv.BaseImage(t), RunID: "audit-test", Task: "shipped", Workdir: "/"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(context.Background())
	for name, text := range map[string]string{
		"/testbed/pytest.ini":          "[pytest]\nmarkers = slow\n",
		"/testbed/tests/conftest.py":   "import pytest\n",
		"/testbed/src/pkg/__init__.py": "",
		"/testbed/.git/conftest.py":    "",
	} {
		if err := sandbox.WriteFile(ctx, sb, name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shipped, err := Shipped(ctx, sb, "/testbed")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pytest.ini", "tests/conftest.py"}; !slices.Equal(shipped, want) {
		t.Fatalf("shipped = %v, want %v", shipped, want)
	}
	base := New(Config{Workdir: "/testbed"})
	honest := traj(editor("str_replace", "/testbed/pytest.ini", "markers =\n    slow: slow tests\n    net: network\n"),
		editor("str_replace", "/testbed/tests/conftest.py", "@pytest.fixture\ndef data():\n    return 1\n"))
	runnerEdits := func(a *Auditor, honest *trajectory.Trajectory) int {
		n := 0
		for _, f := range a.Audit(honest) {
			if f.Rule == RuleTestRunner {
				n++
			}
		}
		return n
	}
	if n := runnerEdits(base, honest); n != 2 {
		t.Fatalf("without the listing the edits are the agent's: %d runner-edit flags, want 2", n)
	}
	if n := runnerEdits(base.WithShipped(shipped), honest); n != 0 {
		t.Fatalf("honest edits of shipped files flagged %d times", n)
	}
	added := base.WithShipped(shipped).Audit(traj(editor("create", "/testbed/src/conftest.py", "import os\n")))
	if !slices.ContainsFunc(added, func(f Flag) bool { return f.Rule == RuleTestRunner }) {
		t.Fatalf("a conftest.py the agent adds is not flagged: %v", added)
	}
}
