package doc2repo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
	"github.com/sweval/sweval/leakage/purge"
)

// TestBaseHashesAllowSharedFiles: a reference module byte-identical to a
// file the base image already holds (a vendored standard-library module)
// makes the leak scan of a real workspace fail; with the hooks told the
// base image, that file is not a leak and the workspace passes.
func TestBaseHashesAllowSharedFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test")
	}
	ctx := context.Background()
	img := testenv.BaseImage(t)
	rt := sandbox.NewDocker(testenv.Docker(t), sandbox.Options{})
	probe, err := rt.Create(ctx, sandbox.Spec{Image: img, RunID: "doc2repo-test", Task: "base-file", Workdir: "/"})
	if err != nil {
		t.Fatal(err)
	}
	shared, err := sandbox.ReadFile(ctx, probe, "/usr/lib/python3.11/textwrap.py")
	probe.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tk := task(t)
	if err := os.WriteFile(filepath.Join(tk.Doc2Repo.Reference, "mini_lib", "_wrap.py"), shared, 0o644); err != nil {
		t.Fatal(err)
	}
	prepare := func(opts HooksOptions) error {
		h := NewHooks(rt, opts)
		sb, err := rt.Create(ctx, sandbox.Spec{Image: img, RunID: "doc2repo-test", Task: tk.ID, Workdir: "/"})
		if err != nil {
			t.Fatal(err)
		}
		defer sb.Close(context.Background())
		return h.Prepare(ctx, sb, *tk)
	}
	var leak *purge.LeakError
	if err := prepare(HooksOptions{RunID: "doc2repo-test"}); !errors.As(err, &leak) {
		t.Fatalf("without base hashes: %v, want a leak of the shared file", err)
	}
	t.Logf("without base hashes: %v", leak.Leaks[0])
	err = prepare(HooksOptions{RunID: "doc2repo-test", BaseImage: func(context.Context) (string, error) { return img, nil }})
	if err != nil {
		t.Fatalf("with base hashes: %v", err)
	}
}
