package run

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/result"
)

func TestExecuteRefusesARunAnotherWriterHolds(t *testing.T) {
	dir := t.TempDir()
	held, err := result.AcquireLock(filepath.Join(dir, LockName))
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	jobs := []Job{{Task: benchmarks.Task{ID: "a"}}}
	fn := func(context.Context, Worker, Job) Output {
		ran = true
		return Output{Result: result.Result{Status: result.StatusResolved, Resolved: true}}
	}
	_, err = Execute(context.Background(), Options{Dir: dir, RunID: "r"}, jobs, fn)
	var he *result.HeldError
	if !errors.As(err, &he) || he.Owner.PID != os.Getpid() || ran {
		t.Fatalf("Execute beside a live writer: err %v, ran %v; want *HeldError naming pid %d and nothing run", err, ran, os.Getpid())
	}
	held.Release()

	// A killed write's temporary is swept, and the run goes on once free.
	tmp := filepath.Join(dir, "a", "0", ".patch.diff.tmp42")
	os.MkdirAll(filepath.Dir(tmp), 0o755)
	os.WriteFile(tmp, []byte("torn"), 0o644)
	if _, err := Execute(context.Background(), Options{Dir: dir, RunID: "r"}, jobs, fn); err != nil || !ran {
		t.Fatalf("Execute after release: err %v, ran %v", err, ran)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("temporary of a killed write left behind: %v", err)
	}
}
