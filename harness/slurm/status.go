package slurm

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/sweval/sweval/harness/run"
)

// ShardState is what Status says of a shard.
type ShardState string

const (
	StatePending ShardState = "pending"
	StateRunning ShardState = "running"
	StateDone    ShardState = "done"
	// StateFailed: the task left the queue with rollouts missing
	// (cancelled, failed, timed out, node lost, …; Reason says which).
	StateFailed ShardState = "failed"
)

// Shard is one array task's status.
type Shard struct {
	Shard int        `json:"shard"` // 1-based
	State ShardState `json:"state"`
	// Reason is Slurm's (e.g. Resources, CANCELLED) or the shard's own
	// error.
	Reason string `json:"reason,omitempty"`
	JobID  string `json:"job_id"` // ARRAYJOB_TASK
	Host   string `json:"host,omitempty"`
	// Recorded of Owned rollouts are in the shard's results file, as the
	// shard last wrote in its status file.
	Recorded int `json:"recorded"`
	Owned    int `json:"owned"`
}

// Status reports every shard of the run in runDir.
func Status(ctx context.Context, runDir string) ([]Shard, error) {
	st, err := LoadState(runDir)
	if err != nil {
		return nil, err
	}
	// The newest submission of each shard is the one that counts.
	job := map[int]string{}
	for _, sub := range st.Submissions {
		for _, s := range sub.Shards {
			job[s] = sub.JobID
		}
	}
	queued, err := queue(ctx, "sweval-"+st.RunID)
	if err != nil {
		return nil, err
	}
	out := make([]Shard, 0, st.Shards)
	for i := 1; i <= st.Shards; i++ {
		id := fmt.Sprintf("%s_%d", job[i], i)
		s := Shard{Shard: i, JobID: id}
		var rec run.ShardStatus
		if data, err := os.ReadFile(shardFile(runDir, i, st.Shards)); err == nil {
			if json.Unmarshal(data, &rec) == nil {
				s.Host, s.Recorded, s.Owned = rec.Host, rec.Recorded, rec.Owned
			}
		}
		switch q, ok := queued[id]; {
		case ok:
			s.State, s.Reason = q.state, q.reason
		case rec.State == run.ShardDone && rec.Recorded == rec.Owned:
			s.State = StateDone
		default:
			s.State = StateFailed
			s.Reason = cmp.Or(finalState(ctx, id), rec.Error, "left the queue with rollouts missing")
			if rec.State == "" {
				s.Reason += " (never started)"
			}
		}
		out = append(out, s)
	}
	return out, nil
}

type queued struct {
	state  ShardState
	reason string
}

// queue lists the queued and running array tasks of the job name.
func queue(ctx context.Context, name string) (map[string]queued, error) {
	out, err := command(ctx, "squeue", "--noheader", "--array", "--name", name, "--format", "%F|%K|%T|%r")
	if err != nil {
		return nil, err
	}
	m := map[string]queued{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 4 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // a pending range not yet split ("[3-4%2]") — squeue --array splits them
		}
		q := queued{state: StatePending}
		switch f[2] {
		case "RUNNING", "CONFIGURING", "COMPLETING", "STAGE_OUT", "SUSPENDED":
			q.state = StateRunning
		}
		if f[3] != "None" {
			q.reason = f[3]
		}
		m[f[0]+"_"+f[1]] = q
	}
	return m, nil
}

// finalState asks scontrol how a task that left the queue ended (it keeps
// finished jobs for MinJobAge); "" when Slurm no longer knows.
func finalState(ctx context.Context, id string) string {
	out, err := command(ctx, "scontrol", "--oneliner", "show", "job", id)
	if err != nil {
		return ""
	}
	var state, reason string
	for _, f := range strings.Fields(out) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "JobState":
			state = v
		case "Reason":
			reason = v
		}
	}
	if reason != "" && reason != "None" {
		return state + " (" + reason + ")"
	}
	return state
}
