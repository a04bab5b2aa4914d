package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/run"
	"github.com/sweval/sweval/harness/slurm"
	"github.com/sweval/sweval/internal/testenv"
)

// TestSlurmArrayCancelledAndRequeuedRunsEveryRolloutOnce submits the
// bundled evaluation as a 4-shard array to a real single-node Slurm,
// cancels one running array task and requeues another, resumes the run,
// and checks that every rollout is recorded exactly once, gold resolves
// every valid instance, and no container is left.
func TestSlurmArrayCancelledAndRequeuedRunsEveryRolloutOnce(t *testing.T) {
	e := setup(t)
	sl := testenv.StartSlurm(t)
	out := t.TempDir()
	runID := rid("slurm")
	dir := filepath.Join(out, runID)
	sw := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(e.bin, args...)
		cmd.Env = append(os.Environ(), sl.Env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("sweval %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String()
	}
	slurmCmd := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), sl.Env...)
		for _, kv := range sl.Env { // exec.Command looked name up on our PATH: use Slurm's
			if p, ok := strings.CutPrefix(kv, "PATH="); ok {
				cmd.Path = filepath.Join(strings.Split(p, ":")[0], name)
			}
		}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, b)
		}
	}
	status := func() map[int]slurm.Shard {
		t.Helper()
		// The library's view, through the same Slurm tools the CLI uses.
		for _, kv := range sl.Env {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
		shards, err := slurm.Status(t.Context(), dir)
		if err != nil {
			t.Fatal(err)
		}
		m := map[int]slurm.Shard{}
		for _, s := range shards {
			m[s.Shard] = s
		}
		return m
	}
	waitFor := func(what string, ok func(map[int]slurm.Shard) bool) map[int]slurm.Shard {
		t.Helper()
		deadline := time.Now().Add(10 * time.Minute)
		for {
			m := status()
			if ok(m) {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %+v", what, m)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	settled := func(m map[int]slurm.Shard) bool {
		for _, s := range m {
			if s.State == slurm.StatePending || s.State == slurm.StateRunning {
				return false
			}
		}
		return true
	}

	args := []string{"slurm", "submit", "--output", out, "--run-id", runID, "--shards", "4", "--array-parallel", "2", "--",
		"eval", "--predictions", "gold", "--workers", "1", "--dataset", e.tasks, "--repo-cache", e.repoCache, "--base-image", e.image, "--timeout", "60s"}
	t.Logf("sweval %s", strings.Join(args, " "))
	sw(args...)
	st, err := slurm.LoadState(dir)
	if err != nil || len(st.Submissions) != 1 {
		t.Fatalf("slurm.json: %+v %v", st, err)
	}
	job := st.Submissions[0].JobID

	// Cancel shard 2 and requeue shard 1 while they run their rollouts
	// (each has written its own status file: its host is known).
	m := waitFor("shards 1 and 2 running", func(m map[int]slurm.Shard) bool {
		return m[1].State == slurm.StateRunning && m[2].State == slurm.StateRunning && m[1].Host != "" && m[2].Host != ""
	})
	t.Logf("running: %+v", m)
	slurmCmd("scancel", job+"_2")
	slurmCmd("scontrol", "requeue", job+"_1")
	m = waitFor("every shard to leave the queue", settled)
	t.Logf("settled: %+v", m)
	if m[2].State != slurm.StateDone && !strings.Contains(m[2].Reason, "CANCELLED") {
		t.Errorf("cancelled shard 2 shows %+v, want failed with CANCELLED", m[2])
	}
	if m[1].State != slurm.StateDone {
		t.Errorf("requeued shard 1 did not run again to the end: %+v", m[1])
	}
	cancelled := m[2].State == slurm.StateFailed
	if !cancelled {
		t.Log("shard 2 finished before scancel reached it; the resume below has nothing to redo")
	}

	resumed := sw("slurm", "resume", dir)
	t.Logf("%s", resumed)
	if cancelled && !strings.Contains(resumed, "resubmitted shard(s) [2]") {
		t.Fatalf("resume did not resubmit exactly shard 2: %s", resumed)
	}
	m = waitFor("the resumed shard", settled)
	for i := 1; i <= 4; i++ {
		if m[i].State != slurm.StateDone || m[i].Recorded != m[i].Owned {
			t.Errorf("shard %d after resume: %+v", i, m[i])
		}
	}
	if again := sw("slurm", "resume", dir); !strings.Contains(again, "nothing to resume") {
		t.Errorf("a second resume: %s", again)
	}

	// Exactly once, gold resolves every valid instance, across the union.
	all, err := result.LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range all {
		ids = append(ids, r.InstanceID)
	}
	slices.Sort(ids)
	var want []string
	for _, task := range e.all {
		want = append(want, task.ID)
	}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("results over the shards: %v, want each of %v once", ids, want)
	}
	board := sw("board", dir, "--format", "json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(board), &rows); err == nil && len(rows) == 1 {
		if rows[0]["instances"] != float64(len(want)) {
			t.Errorf("board over the shards: %v", rows[0])
		}
	}
	rep := readReport(t, dir)
	if !slices.Equal(rep.ResolvedIDs, e.valid) {
		t.Errorf("resolved %v, want %v", rep.ResolvedIDs, e.valid)
	}
	for i := range 4 {
		var s run.ShardStatus
		data, _ := os.ReadFile(run.ShardStatusPath(dir, result.Shard{Index: i, Count: 4}))
		if json.Unmarshal(data, &s) != nil || s.State != run.ShardDone {
			t.Errorf("shard %d status file: %s", i+1, data)
		}
	}

	cli := testenv.Docker(t)
	left, err := cli.ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", "sweval.run="+runID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Items) > 0 {
		t.Errorf("%d container(s) of the run left behind", len(left.Items))
	}
}
