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

// TestBundledFixtures grades the bundled iniconf task (manifest, test
// command through bash -c, 63 declared tests): reference 1.0 strict, the
// partial implementation 13/63, an empty workspace 0.
func TestBundledFixtures(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test")
	}
	manifest := filepath.Join("..", "..", "testdata", "doc2repo", "tasks.jsonl")
	tasks, bad, err := d2rload.LoadManifest(context.Background(), manifest, d2rload.Options{})
	if err != nil || len(bad) > 0 {
		t.Fatalf("load %s: %v %v", manifest, err, bad)
	}
	var task *benchmarks.Task
	for i := range tasks {
		if tasks[i].ID == "iniconf" {
			task = &tasks[i]
		}
	}
	if task == nil {
		t.Fatal("iniconf task missing from the manifest")
	}
	img := testenv.BaseImage(t)
	rt := sandbox.NewDocker(testenv.Docker(t), sandbox.Options{})
	ref, err := TarDir(task.Doc2Repo.Reference)
	if err != nil {
		t.Fatal(err)
	}
	partial, err := TarDir(filepath.Join(filepath.Dir(task.Doc2Repo.Reference), "partial"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		sub    Submission
		passed int
	}{
		{"reference", Submission{Archive: ref}, 63},
		{"partial", Submission{Archive: partial}, 13},
		{"empty", Submission{}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, rep, err := Grade(context.Background(), rt, task, c.sub, Options{Image: img, RunID: "doc2repo-fixtures"})
			if err != nil {
				t.Fatalf("grade: %v\n%s", err, rep.Log)
			}
			t.Logf("%s: %d/%d fraction %.4f strict %v mismatch %q", c.name, res.Passed, res.Declared, res.PassFraction, res.Strict, rep.Mismatch)
			if res.Passed != c.passed || res.Declared != 63 || res.PassFraction != float64(c.passed)/63 || res.Strict != (c.passed == 63) {
				t.Fatalf("got %d/%d (%.4f, strict %v), want %d/63\n%s", res.Passed, res.Declared, res.PassFraction, res.Strict, c.passed, rep.Log)
			}
		})
	}
}
