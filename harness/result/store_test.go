package result

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoreResumesAndCutsTornLine(t *testing.T) {
	tests := []struct {
		name     string
		existing string
		wantDone []Key
		wantErr  string
	}{
		{name: "empty file"},
		{
			name:     "two whole lines",
			existing: `{"instance_id":"a","rollout":0,"status":"resolved"}` + "\n" + `{"instance_id":"a","rollout":1,"status":"unresolved"}` + "\n",
			wantDone: []Key{{"a", 0}, {"a", 1}},
		},
		{
			name:     "torn last line from a killed run",
			existing: `{"instance_id":"a","rollout":0,"status":"resolved"}` + "\n" + `{"instance_id":"b","rol`,
			wantDone: []Key{{"a", 0}},
		},
		{
			name:     "corrupt middle line is an error naming the line",
			existing: `{"instance_id":"a","rollout":0}` + "\n" + `not json` + "\n" + `{"instance_id":"c","rollout":0}` + "\n",
			wantErr:  "results.jsonl:2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "results.jsonl")
			if err := os.WriteFile(path, []byte(tt.existing), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := OpenStore(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("OpenStore error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := len(s.Results()); got != len(tt.wantDone) {
				t.Fatalf("loaded %d results, want %d", got, len(tt.wantDone))
			}
			for _, k := range tt.wantDone {
				if !s.Done(k) {
					t.Errorf("Done(%v) = false after reload", k)
				}
			}
			// A new append after a torn line must produce a parseable file.
			if err := s.Append(Result{InstanceID: "z", Rollout: 0}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s2, err := OpenStore(path)
			if err != nil {
				t.Fatalf("reopen after append: %v", err)
			}
			defer s2.Close()
			if got, want := len(s2.Results()), len(tt.wantDone)+1; got != want {
				t.Fatalf("after append and reopen: %d results, want %d", got, want)
			}
		})
	}
}

func TestStoreRefusesDuplicate(t *testing.T) {
	s, err := OpenStore(filepath.Join(t.TempDir(), "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Append(Result{InstanceID: "a", Rollout: 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(Result{InstanceID: "a", Rollout: 2}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second Append = %v, want ErrDuplicate", err)
	}
}

func TestSummarizeUsesSWEBenchBuckets(t *testing.T) {
	results := []Result{
		{InstanceID: "ok", Status: StatusResolved, Resolved: true, PassFraction: 1, Strict: true},
		{InstanceID: "bad", Status: StatusUnresolved},
		{InstanceID: "empty", Status: StatusEmptyPatch},
		{InstanceID: "err", Status: StatusError, Error: "test patch did not apply"},
		{InstanceID: "multi", Rollout: 0, Status: StatusUnresolved},
		{InstanceID: "multi", Rollout: 1, Status: StatusResolved, Resolved: true, PassFraction: 1},
	}
	rep := Summarize("r1", []string{"ok", "bad", "empty", "err", "multi", "missing"}, results)
	check := func(name string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("resolved_ids", rep.ResolvedIDs, "multi", "ok")
	check("unresolved_ids", rep.UnresolvedIDs, "bad")
	check("empty_patch_ids", rep.EmptyPatchIDs, "empty")
	check("error_ids", rep.ErrorIDs, "err")
	check("incomplete_ids", rep.IncompleteIDs, "missing")
	check("completed_ids", rep.CompletedIDs, "bad", "multi", "ok")
	if rep.TotalInstances != 6 || rep.ResolvedInstances != 2 || rep.Rollouts != 6 {
		t.Errorf("counts: total %d resolved %d rollouts %d", rep.TotalInstances, rep.ResolvedInstances, rep.Rollouts)
	}
	if got, want := rep.MeanPassFraction, 2.0/6; got != want {
		t.Errorf("mean pass fraction = %v, want %v", got, want)
	}
}

func TestCreateAtomic(t *testing.T) {
	for _, tc := range []struct {
		name   string
		commit bool
		want   string // the file's content afterwards; "" = absent
	}{
		{"commit publishes", true, "new\n"},
		{"abort leaves the old file", false, "old\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.jsonl")
			if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := CreateAtomic(path)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprint(f, "new\n")
			if got, _ := os.ReadFile(path); string(got) != "old\n" {
				t.Fatalf("before commit the file reads %q", got)
			}
			if tc.commit {
				if err := f.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			f.Abort() // deferred in callers: a no-op after Commit
			if got, _ := os.ReadFile(path); string(got) != tc.want {
				t.Errorf("file reads %q, want %q", got, tc.want)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".out.jsonl.tmp*")); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
			if err := f.Commit(); err == nil {
				t.Error("a second Commit succeeded")
			}
		})
	}
}
