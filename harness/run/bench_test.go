package run

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/benchmarks/predictions"
	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/images"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/fixtures"
	"github.com/sweval/sweval/internal/testenv"
)

// BenchmarkGradingOverhead grades the bundled set's gold patches through
// Evaluate and, side by side at the same concurrency, runs the same work
// the bare way: `docker run --rm --network none IMAGE bash -c 'patch;
// pytest'` per instance. It reports both wall times and their ratio, and
// the ratio of the harness's wall time to the test commands' own time per
// worker (the target is ≤ 1.10; with the fixtures' sub-second
// suites the fixed per-instance cost of a container dominates).
//
//	go test ./harness/run -run '^$' -bench GradingOverhead -benchtime 1x
func BenchmarkGradingOverhead(b *testing.B) {
	cli := testenv.Docker(b)
	base := testenv.BaseImage(b)
	ctx := context.Background()
	cache := b.TempDir()
	all, err := fixtures.Bundled(ctx, cache)
	if err != nil {
		b.Fatal(err)
	}
	var tasks []benchmarks.Task
	for _, t := range all {
		// The bare baseline runs pytest only, not OpenSWE's eval script, and
		// the broken environment fails the same way in both: keep the rest.
		if t.Kind == benchmarks.KindSWEBench && !strings.Contains(t.ID, "geodist") {
			tasks = append(tasks, t)
		}
	}
	const workers = 2
	env := Environment{
		Images:    images.New(cli, images.Options{}),
		Runtime:   sandbox.NewDocker(cli, sandbox.Options{}),
		BaseImage: base,
		RepoCache: cache,
	}
	preds, _, _ := predictions.Resolve(ctx, predictions.Gold, tasks, predictions.Options{})
	imagesOf := map[string]string{}
	for _, t := range tasks { // build every layer first: only grading is timed
		img, err := env.TaskImage(ctx, t)
		if err != nil {
			b.Fatal(err)
		}
		imagesOf[t.ID] = img
	}
	var harness, bare []time.Duration
	var testOwn time.Duration
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		start := time.Now()
		rep, err := Evaluate(ctx, EvalOptions{Options: Options{Dir: dir, RunID: fmt.Sprint("bench", i), Workers: workers}, Environment: env,
			Grade: grade.Options{Timeout: time.Minute}}, tasks, preds)
		harness = append(harness, time.Since(start))
		if err != nil || rep.ResolvedInstances != len(tasks) {
			b.Fatalf("harness resolved %d/%d: %v", rep.ResolvedInstances, len(tasks), err)
		}
		testOwn = sumTestDurations(b, ctx, env, tasks, preds)

		start = time.Now()
		bareRun(b, tasks, imagesOf, workers)
		bare = append(bare, time.Since(start))
	}
	h, d := median(harness), median(bare)
	b.ReportMetric(h.Seconds(), "harness-s")
	b.ReportMetric(d.Seconds(), "bare-docker-s")
	b.ReportMetric(h.Seconds()/d.Seconds(), "ratio")
	perWorker := testOwn.Seconds() / workers
	b.ReportMetric(perWorker, "tests-own-s/worker")
	b.ReportMetric(h.Seconds()/perWorker, "ratio-vs-tests")
	b.Logf("grading %d instances at concurrency %d: harness %.2fs, bare docker run %.2fs (ratio %.2f); test commands' own time %.2fs = %.2fs per worker (harness/tests ratio %.2f)",
		len(tasks), workers, h.Seconds(), d.Seconds(), h.Seconds()/d.Seconds(), testOwn.Seconds(), perWorker, h.Seconds()/perWorker)
}

// sumTestDurations grades each task once more, serially, and adds up the
// test commands' own wall time as the grader measured it.
func sumTestDurations(b *testing.B, ctx context.Context, env Environment, tasks []benchmarks.Task, preds map[string]predictions.Prediction) time.Duration {
	p, err := env.prepare(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var sum time.Duration
	for _, t := range tasks {
		out, err := gradeInFreshSandbox(ctx, p, "bench-own", newWorker(0), t, preds[t.ID].Patch, grade.Options{Timeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		sum += out.TestDuration
	}
	return sum
}

// bareRun is the least a user could do by hand: one docker run per
// instance applying gold + test patch and running pytest on the test files.
func bareRun(b *testing.B, tasks []benchmarks.Task, imagesOf map[string]string, workers int) {
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			files := grade.TestDirectives(grade.DirectivesPaths, t.TestPatch)
			script := `cd /testbed && patch -s -p1 --fuzz=3 && python3 -m pytest -rA -q "$@"`
			cmd := exec.Command("docker", append([]string{"run", "--rm", "-i", "--network", "none", imagesOf[t.ID], "bash", "-c", script, "bare"}, files...)...)
			cmd.Stdin = strings.NewReader(t.Patch + "\n" + t.TestPatch)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Errorf("bare run of %s: %v\n%s", t.ID, err, out)
			}
		}()
	}
	wg.Wait()
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
