package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/reports/runs"
	"github.com/sweval/sweval/reports/view"
)

// TestShardsRunEveryRolloutOnce runs a run as 3 shards side by side in one
// directory (as a Slurm array does), then resumes one: every rollout is
// done exactly once, each shard wrote only its own file, and every reader
// takes the union.
func TestShardsRunEveryRolloutOnce(t *testing.T) {
	dir := t.TempDir()
	var jobs []Job
	for i := range 7 {
		for k := range 2 {
			jobs = append(jobs, Job{Task: benchmarks.Task{ID: fmt.Sprintf("repo__pkg-%d", i)}, Rollout: k})
		}
	}
	var mu sync.Mutex
	ran := map[result.Key]int{}
	fn := func(_ context.Context, _ Worker, j Job) Output {
		mu.Lock()
		ran[result.Key{InstanceID: j.Task.ID, Rollout: j.Rollout}]++
		mu.Unlock()
		return Output{Result: result.Result{Status: result.StatusResolved, Resolved: true, PassFraction: 1}, Files: map[string][]byte{"patch.diff": []byte("x")}}
	}
	const n = 3
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Execute(context.Background(), Options{Dir: dir, RunID: "r", Workers: 2, Shard: result.Shard{Index: i, Count: n}}, jobs, fn)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("shard %d: %v", i+1, err)
		}
	}
	if len(ran) != len(jobs) {
		t.Fatalf("%d rollouts ran, want %d", len(ran), len(jobs))
	}
	for k, c := range ran {
		if c != 1 {
			t.Errorf("%v ran %d times", k, c)
		}
	}
	files, err := result.ResultFiles(dir)
	if err != nil || len(files) != n {
		t.Fatalf("results files %v (%v), want one per shard", files, err)
	}
	// Resuming a shard (a requeued array task) redoes nothing, and its
	// report covers the whole run.
	rep, err := Execute(context.Background(), Options{Dir: dir, RunID: "r", Shard: result.Shard{Index: 1, Count: n}}, jobs, fn)
	if err != nil || len(ran) != len(jobs) || rep.ResolvedInstances != 7 {
		t.Fatalf("resumed shard: err %v, %d ran, report resolved %d of 7", err, len(ran), rep.ResolvedInstances)
	}
	// The whole run, unsharded, sees every shard's work too.
	if _, err := Execute(context.Background(), Options{Dir: dir, RunID: "r"}, jobs, func(context.Context, Worker, Job) Output {
		t.Error("an unsharded resume redid a shard's rollout")
		return Output{}
	}); err != nil {
		t.Fatal(err)
	}

	seen := 0
	if _, err := runs.Each(context.Background(), []string{dir}, runs.Options{}, func(string, *result.Result) error { seen++; return nil }); err != nil || seen != len(jobs) {
		t.Fatalf("runs.Each over the shards: %d results, %v; want %d", seen, err, len(jobs))
	}
	ix, err := view.BuildIndex(context.Background(), dir)
	if err != nil || len(ix.Entries) != len(jobs) {
		t.Fatalf("view index over the shards: %v", err)
	}
	if r, ok, err := ix.Result("repo__pkg-6", 1); err != nil || !ok || r.InstanceID != "repo__pkg-6" {
		t.Fatalf("view re-read of a shard's line: %v %v %v", r, ok, err)
	}

	// A rollout in two shards' files (two writers ran it) is refused by
	// every reader, naming both files.
	data, _ := os.ReadFile(files[0])
	other := filepath.Join(dir, result.Shard{Index: 0, Count: 2}.FileName())
	if err := os.WriteFile(other, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var dup *result.DuplicateError
	_, err = runs.Each(context.Background(), []string{dir}, runs.Options{}, func(string, *result.Result) error { return nil })
	if !errors.As(err, &dup) {
		t.Errorf("runs.Each over duplicated shards: %v, want a DuplicateError", err)
	}
	if _, err := view.BuildIndex(context.Background(), dir); !errors.As(err, &dup) {
		t.Errorf("view over duplicated shards: %v", err)
	}
	if _, err := result.LoadRun(dir); !errors.As(err, &dup) {
		t.Errorf("LoadRun over duplicated shards: %v", err)
	}
	if _, err := Execute(context.Background(), Options{Dir: dir, RunID: "r", Shard: result.Shard{Index: 0, Count: n}}, jobs, fn); !errors.As(err, &dup) {
		t.Errorf("a shard starting over duplicated files: %v", err)
	}
}

func TestMaxRunCostStopsStartingRollouts(t *testing.T) {
	dir := t.TempDir()
	var jobs []Job
	for i := range 10 {
		jobs = append(jobs, Job{Task: benchmarks.Task{ID: fmt.Sprintf("i-%d", i)}})
	}
	ran := 0
	fn := func(context.Context, Worker, Job) Output {
		ran++
		cost := 1.0
		return Output{Result: result.Result{Status: result.StatusUnresolved, Cost: &cost}}
	}
	rep, err := Execute(context.Background(), Options{Dir: dir, RunID: "r", MaxRunCost: 3.5}, jobs, fn)
	if err != nil {
		t.Fatal(err)
	}
	// 3 rollouts spend 3.0 < 3.5, so a 4th starts; then the budget is gone.
	if ran != 4 || rep.Stopped == "" || len(rep.IncompleteIDs) != 6 {
		t.Fatalf("ran %d, stopped %q, incomplete %v: want 4 run and the report saying it stopped", ran, rep.Stopped, rep.IncompleteIDs)
	}
	// A resume counts what was spent: still over budget, nothing starts.
	if rep, _ = Execute(context.Background(), Options{Dir: dir, RunID: "r", MaxRunCost: 3.5}, jobs, fn); ran != 4 || rep.Stopped == "" {
		t.Fatalf("resume under the same budget ran %d", ran)
	}
	// A larger budget goes on with the rest, and the report no longer says stopped.
	if rep, err = Execute(context.Background(), Options{Dir: dir, RunID: "r", MaxRunCost: 100}, jobs, fn); err != nil || ran != 10 || rep.Stopped != "" {
		t.Fatalf("resume with budget: ran %d, stopped %q, err %v", ran, rep.Stopped, err)
	}
}

func TestInfraFailuresAreRedoneNotRecorded(t *testing.T) {
	dir := t.TempDir()
	jobs := []Job{{Task: benchmarks.Task{ID: "ok"}}, {Task: benchmarks.Task{ID: "flaky-endpoint"}}}
	calls := map[string]int{}
	down := true
	fn := func(_ context.Context, _ Worker, j Job) Output {
		calls[j.Task.ID]++
		if j.Task.ID == "flaky-endpoint" && down {
			return Output{Result: result.Result{Status: result.StatusError, Error: "model endpoint: connection refused"}, Infra: "model endpoint: connection refused",
				Files: map[string][]byte{"trajectory.json": []byte("{}")}}
		}
		return Output{Result: result.Result{Status: result.StatusResolved, Resolved: true}}
	}
	rep, err := Execute(context.Background(), Options{Dir: dir, RunID: "r", RetryInfra: 1}, jobs, fn)
	if err == nil || !strings.Contains(err.Error(), "infrastructure failure") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Execute with a dead endpoint: err %v, want it to say which rollouts failed and why", err)
	}
	if calls["flaky-endpoint"] != 2 || rep.InfraErrors["flaky-endpoint"] == "" || len(rep.IncompleteIDs) != 1 {
		t.Fatalf("calls %v, report infra %v incomplete %v: want 1 retry, then left to do", calls, rep.InfraErrors, rep.IncompleteIDs)
	}
	for n := 1; n <= 2; n++ {
		if _, err := os.Stat(filepath.Join(RolloutDir(dir, "flaky-endpoint", 0), "attempts", fmt.Sprint(n), "result.json")); err != nil {
			t.Errorf("attempt %d not kept: %v", n, err)
		}
	}
	// The endpoint is back: the same run redoes exactly that rollout.
	down = false
	rep, err = Execute(context.Background(), Options{Dir: dir, RunID: "r"}, jobs, fn)
	if err != nil || calls["ok"] != 1 || calls["flaky-endpoint"] != 3 || rep.ResolvedInstances != 2 || rep.InfraErrors != nil {
		t.Fatalf("resume: err %v, calls %v, resolved %d, infra %v", err, calls, rep.ResolvedInstances, rep.InfraErrors)
	}
}

// TestInfraRetryThatSucceedsIsCounted: a rollout whose first attempt hit
// an infrastructure failure and whose retry succeeded is recorded once,
// with the retry counted (the board reports it) and the failed attempt kept.
func TestInfraRetryThatSucceedsIsCounted(t *testing.T) {
	dir := t.TempDir()
	jobs := []Job{{Task: benchmarks.Task{ID: "ok"}}, {Task: benchmarks.Task{ID: "blip"}}}
	calls := map[string]int{}
	fn := func(_ context.Context, _ Worker, j Job) Output {
		calls[j.Task.ID]++
		if j.Task.ID == "blip" && calls["blip"] == 1 {
			return Output{Result: result.Result{Status: result.StatusError, Error: "start sandbox: daemon busy"}, Infra: "start sandbox: daemon busy"}
		}
		return Output{Result: result.Result{Status: result.StatusResolved, Resolved: true}}
	}
	if _, err := Execute(context.Background(), Options{Dir: dir, RunID: "r", RetryInfra: 2}, jobs, fn); err != nil {
		t.Fatal(err)
	}
	all, err := result.LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	retries := map[string]int{}
	for _, r := range all {
		retries[r.InstanceID] = r.InfraRetries
	}
	if len(all) != 2 || retries["blip"] != 1 || retries["ok"] != 0 {
		t.Fatalf("results %d, retries %v: want each once, blip with 1 retry", len(all), retries)
	}
	if _, err := os.Stat(filepath.Join(RolloutDir(dir, "blip", 0), "attempts", "1", "result.json")); err != nil {
		t.Errorf("the failed attempt was not kept: %v", err)
	}
}
