package swegrade_test

import (
	"testing"
	"time"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/grade"
)

// BenchmarkSWEGradingSplit grades the bundled SWE-style instances' gold
// patches the old way (one container, grade.Options.SameContainer) and the
// new way (apply container + fresh test container as uid 1000, harness
// runner, canaries), interleaved in one run so both see the same machine.
// It reports each path's wall time per task (container creation of the
// apply container included on both) and their ratio; issue 11's target is
// new/old ≤ 1.25.
//
//	go test ./harness/swegrade -run '^$' -bench SWEGradingSplit -benchtime 2x
func BenchmarkSWEGradingSplit(b *testing.B) {
	r := newRig(b)
	var tasks []benchmarks.Task
	for _, t := range r.tasks {
		// The hanging and broken fixtures measure their timeouts, not grading.
		if t.ID != "sweval-fixtures__pollwait-5" && t.ID != "sweval-fixtures__geodist-3" {
			tasks = append(tasks, t)
		}
	}
	var old, now time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, task := range tasks {
			for _, same := range []bool{true, false} {
				start := time.Now()
				out := r.grade(b, task, task.Patch, grade.Options{SameContainer: same, Timeout: time.Minute})
				d := time.Since(start)
				if out.Status != "resolved" {
					b.Fatalf("%s (same container %v): %s %s", task.ID, same, out.Status, out.Error)
				}
				if same {
					old += d
				} else {
					now += d
				}
			}
		}
	}
	n := float64(b.N * len(tasks))
	b.ReportMetric(old.Seconds()/n, "old-s/task")
	b.ReportMetric(now.Seconds()/n, "new-s/task")
	b.ReportMetric(float64(now)/float64(old), "new/old")
}
