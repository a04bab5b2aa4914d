package result

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		file string
		bad  bool
	}{
		{"", Shard{}, "results.jsonl", false},
		{"1/1", Shard{Index: 0, Count: 1}, "results.jsonl", false},
		{"2/4", Shard{Index: 1, Count: 4}, "results.shard-2-of-4.jsonl", false},
		{"4/4", Shard{Index: 3, Count: 4}, "results.shard-4-of-4.jsonl", false},
		{"0/4", Shard{}, "", true},
		{"5/4", Shard{}, "", true},
		{"2", Shard{}, "", true},
		{"a/b", Shard{}, "", true},
		{"1/0", Shard{}, "", true},
	} {
		got, err := ParseShard(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseShard(%q) = %+v, %v", tc.in, got, err)
			continue
		}
		if !tc.bad && got.FileName() != tc.file {
			t.Errorf("%q: file %s, want %s", tc.in, got.FileName(), tc.file)
		}
	}
}

func TestShardsPartitionTheJobs(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 7} {
		owners := make([]int, 23)
		for i := range owners {
			for s := range n {
				if (Shard{Index: s, Count: n}).Owns(i) {
					owners[i]++
				}
			}
		}
		for i, c := range owners {
			if c != 1 {
				t.Errorf("N=%d: job %d owned by %d shards", n, i, c)
			}
		}
	}
}

func TestResultFilesOrder(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"results.shard-10-of-12.jsonl", "results.shard-9-of-12.jsonl", "results.jsonl", "results.shard-1-of-2.jsonl", "notes.jsonl", ".results.jsonl.tmp1"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	got, err := ResultFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i] = filepath.Base(got[i])
	}
	want := []string{"results.jsonl", "results.shard-1-of-2.jsonl", "results.shard-9-of-12.jsonl", "results.shard-10-of-12.jsonl"}
	if !slices.Equal(got, want) {
		t.Errorf("ResultFiles = %v, want %v", got, want)
	}
}
