package slurm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/run"
	"github.com/sweval/sweval/internal/shell"
)

// StateName is the file in the run directory recording the array's
// submissions.
const StateName = "slurm.json"

// Options describe the array to submit.
type Options struct {
	// RunDir is the run directory (runs/<run_id>); every shard writes there,
	// so it must be on storage all nodes share.
	RunDir string
	RunID  string
	// Shards is N, the array's size.
	Shards int
	// Parallel caps the array tasks running at once (sbatch --array=…%M;
	// 0 = no cap).
	Parallel int
	// Partition, Time ("HH:MM:SS" or minutes) and CPUsPerTask are passed to
	// sbatch when set.
	Partition   string
	Time        string
	CPUsPerTask int
	// Sweval is the sweval binary the nodes run (default: this process's
	// executable).
	Sweval string
	// Args is the sweval command each task runs, e.g. ["eval", "-d", …],
	// without --shard, --run-id and --output, which Submit adds.
	Args []string
}

// State is slurm.json.
type State struct {
	RunID       string       `json:"run_id"`
	Shards      int          `json:"shards"`
	Options     Options      `json:"options"`
	Submissions []Submission `json:"submissions"`
}

// Submission is one sbatch call: which shards (1-based array indices) went
// to which job.
type Submission struct {
	JobID     string    `json:"job_id"`
	Shards    []int     `json:"shards"`
	Script    string    `json:"script"`
	Submitted time.Time `json:"submitted"`
}

// Submit writes the array's sbatch script and submits every shard.
func Submit(ctx context.Context, opts Options) (Submission, error) {
	if opts.Shards < 1 {
		return Submission{}, errors.New("slurm: need at least one shard (--shards N)")
	}
	if len(opts.Args) == 0 || (opts.Args[0] != "eval" && opts.Args[0] != "run") {
		return Submission{}, fmt.Errorf("slurm: the array runs `sweval eval …` or `sweval run …`, got %q: put the command after --", opts.Args)
	}
	for _, a := range opts.Args {
		if name := strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-"); a != "" && a[0] == '-' && (name == "shard" || name == "run-id" || name == "output") {
			return Submission{}, fmt.Errorf("slurm: drop %s from the command: submit sets --shard, --run-id and --output for each array task", a)
		}
	}
	if opts.Sweval == "" {
		exe, err := os.Executable()
		if err != nil {
			return Submission{}, fmt.Errorf("slurm: find the sweval binary to run on the nodes: %w", err)
		}
		opts.Sweval = exe
	}
	abs, err := filepath.Abs(opts.RunDir)
	if err != nil {
		return Submission{}, err
	}
	opts.RunDir = abs
	st := State{RunID: opts.RunID, Shards: opts.Shards, Options: opts}
	if old, err := LoadState(opts.RunDir); err == nil {
		if old.Shards != opts.Shards {
			return Submission{}, fmt.Errorf("slurm: %s was submitted as %d shards; resume it (sweval slurm resume) or use a new --run-id", opts.RunDir, old.Shards)
		}
		st.Submissions = old.Submissions
	}
	all := make([]int, opts.Shards)
	for i := range all {
		all[i] = i + 1
	}
	return submit(ctx, &st, all)
}

// Resume resubmits the shards of the run in runDir that have rollouts
// missing and are neither pending nor running. It returns the submission
// and false when every shard is complete or still queued.
func Resume(ctx context.Context, runDir string) (Submission, bool, error) {
	st, err := LoadState(runDir)
	if err != nil {
		return Submission{}, false, err
	}
	shards, err := Status(ctx, runDir)
	if err != nil {
		return Submission{}, false, err
	}
	var todo []int
	for _, s := range shards {
		if s.State != StateDone && s.State != StatePending && s.State != StateRunning {
			todo = append(todo, s.Shard)
		}
	}
	if len(todo) == 0 {
		return Submission{}, false, nil
	}
	sub, err := submit(ctx, &st, todo)
	return sub, err == nil, err
}

func submit(ctx context.Context, st *State, shards []int) (Submission, error) {
	o := st.Options
	script := Script(o, shards)
	dir := filepath.Join(o.RunDir, "slurm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Submission{}, fmt.Errorf("slurm: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("submit-%d.sbatch", len(st.Submissions)+1))
	if err := result.WriteFileAtomic(path, []byte(script)); err != nil {
		return Submission{}, fmt.Errorf("slurm: %w", err)
	}
	out, err := command(ctx, "sbatch", "--parsable", path)
	if err != nil {
		return Submission{}, err
	}
	// --parsable prints "jobid" or "jobid;cluster".
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	if _, err := strconv.Atoi(id); err != nil {
		return Submission{}, fmt.Errorf("slurm: sbatch answered %q, not a job id", out)
	}
	sub := Submission{JobID: id, Shards: shards, Script: path, Submitted: time.Now().UTC()}
	st.Submissions = append(st.Submissions, sub)
	if err := result.WriteJSONAtomic(filepath.Join(o.RunDir, StateName), st); err != nil {
		return sub, fmt.Errorf("slurm: job %s submitted but not recorded: %w", id, err)
	}
	return sub, nil
}

// Script is the sbatch script of an array over shards (1-based): task I
// runs `sweval ARGS --shard I/N --run-id ID --output PARENT`.
func Script(o Options, shards []int) string {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	fmt.Fprintf(&b, "#SBATCH --job-name=%s\n", shell.Quote("sweval-"+o.RunID))
	array := arraySpec(shards)
	if o.Parallel > 0 {
		array += "%" + strconv.Itoa(o.Parallel)
	}
	fmt.Fprintf(&b, "#SBATCH --array=%s\n", array)
	fmt.Fprintf(&b, "#SBATCH --output=%s\n", shell.Quote(filepath.Join(o.RunDir, "slurm", "%A_%a.out")))
	b.WriteString("#SBATCH --requeue\n")
	if o.Partition != "" {
		fmt.Fprintf(&b, "#SBATCH --partition=%s\n", shell.Quote(o.Partition))
	}
	if o.Time != "" {
		fmt.Fprintf(&b, "#SBATCH --time=%s\n", shell.Quote(o.Time))
	}
	if o.CPUsPerTask > 0 {
		fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", o.CPUsPerTask)
	}
	b.WriteString("set -eu\n")
	args := append([]string{o.Sweval}, o.Args...)
	args = append(args, "--run-id", o.RunID, "--output", filepath.Dir(o.RunDir), "--no-progress")
	fmt.Fprintf(&b, "exec %s --shard \"$SLURM_ARRAY_TASK_ID/%d\"\n", shell.QuoteAll(args), o.Shards)
	return b.String()
}

// arraySpec writes shard numbers as sbatch's --array list: "1-4", "2,5-6".
func arraySpec(shards []int) string {
	s := slices.Clone(shards)
	slices.Sort(s)
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", s[i], s[j]))
		} else {
			parts = append(parts, strconv.Itoa(s[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// LoadState reads runDir's slurm.json.
func LoadState(runDir string) (State, error) {
	var st State
	data, err := os.ReadFile(filepath.Join(runDir, StateName))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return st, fmt.Errorf("slurm: %s was not submitted to Slurm (no %s): submit it with sweval slurm submit", runDir, StateName)
		}
		return st, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("slurm: %s: %w", filepath.Join(runDir, StateName), err)
	}
	return st, nil
}

// command runs a Slurm client tool and returns its stdout.
func command(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("slurm: %s %s: %w: %s (is Slurm reachable? SLURM_CONF=%s)", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()), os.Getenv("SLURM_CONF"))
	}
	return stdout.String(), nil
}

// shardFile is where run.Execute records a shard's progress.
func shardFile(runDir string, shard, shards int) string {
	return run.ShardStatusPath(runDir, result.Shard{Index: shard - 1, Count: shards})
}
