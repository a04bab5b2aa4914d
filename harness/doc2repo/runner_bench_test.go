package doc2repo

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sweval/sweval/benchmarks"
	d2rload "github.com/sweval/sweval/benchmarks/doc2repo"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
)

// BenchmarkGradeRunner grades the bundled iniconf reference on the legacy
// one-container path and on the separated path (install and test
// containers, canaries, cross-checks) side by side, so one run on a quiet
// machine gives the ratio issue 11 bounds (≤ 1.25×):
//
//	go test -run XXX -bench GradeRunner -benchtime 3x ./harness/doc2repo/
func BenchmarkGradeRunner(b *testing.B) {
	manifest := filepath.Join("..", "..", "testdata", "doc2repo", "tasks.jsonl")
	tasks, bad, err := d2rload.LoadManifest(context.Background(), manifest, d2rload.Options{})
	if err != nil || len(bad) > 0 {
		b.Fatalf("load %s: %v %v", manifest, err, bad)
	}
	var task *benchmarks.Task
	for i := range tasks {
		if tasks[i].ID == "iniconf" {
			task = &tasks[i]
		}
	}
	if task == nil {
		b.Fatal("iniconf task missing from the manifest")
	}
	img := testenv.BaseImage(b)
	rt := sandbox.NewDocker(testenv.Docker(b), sandbox.Options{})
	ref, err := TarDir(task.Doc2Repo.Reference)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		legacy bool
	}{{"legacy", true}, {"separated", false}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				v, rep, err := Grade(context.Background(), rt, task, Submission{Archive: ref}, Options{Image: img, RunID: "doc2repo-bench", LegacyRunner: c.legacy})
				if err != nil || v.Passed != 63 {
					b.Fatalf("grade: %v, passed %d\n%s", err, v.Passed, rep.Log)
				}
			}
		})
	}
}
