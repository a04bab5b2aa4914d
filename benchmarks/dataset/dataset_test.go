package dataset

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sweval/sweval/benchmarks"
)

func TestLoadPicksTheLoader(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name     string
		path     string
		doc2repo bool
		load     bool
	}{
		{"SWE-bench Lite JSON list (real records)", "../../testdata/benchmarks/swe-bench-lite-dev.json", false, true},
		{"bundled SWE JSONL", "../../testdata/swe/tasks.jsonl", false, true},
		{"sweval Doc2Repo manifest", "../../testdata/doc2repo/tasks.jsonl", true, true},
		{"NL2RepoBench folder", "../../testdata/benchmarks/nl2repobench", true, true},
		{"a JSON list whose first record has a document", write("denovo.json", `[{"instance_id":"x","document":"d"}]`), true, false},
		{"spec beside a problem statement is SWE-bench", write("mixed.jsonl", `{"instance_id":"x","spec":"s","problem_statement":"p"}`+"\n"), false, false},
		{"not JSON", write("junk.txt", "hello\n"), false, false},
		{"missing", filepath.Join(dir, "absent.jsonl"), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsDoc2Repo(tc.path); got != tc.doc2repo {
				t.Fatalf("IsDoc2Repo(%s) = %v, want %v", tc.path, got, tc.doc2repo)
			}
			if !tc.load {
				return
			}
			tasks, bad, err := Load(context.Background(), tc.path, false)
			if err != nil || len(bad) > 0 || len(tasks) == 0 {
				t.Fatalf("Load(%s): %d tasks, bad %v, err %v", tc.path, len(tasks), bad, err)
			}
			for _, task := range tasks {
				if (task.Kind == benchmarks.KindDoc2Repo) != tc.doc2repo {
					t.Fatalf("task %s is of kind %q from %s", task.ID, task.Kind, tc.path)
				}
			}
		})
	}
	if _, _, err := Load(context.Background(), "", false); err == nil {
		t.Error("Load of an empty path succeeded")
	}
}
