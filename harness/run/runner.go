package run

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/result"
)

// Job is one rollout to do.
type Job struct {
	Task    benchmarks.Task
	Rollout int
}

// Worker is the slot a rollout runs in.
type Worker struct {
	Index int
	// Cpuset is the worker's dedicated CPU (as Docker's CpusetCpus), so
	// concurrent test suites do not steal each other's time.
	Cpuset string
}

// Output is what a rollout produced: its result line and the files kept
// beside it (trajectory.json, patch.diff, eval.log, ...).
type Output struct {
	Result result.Result
	Files  map[string][]byte
	// Infra, when set, says the rollout failed for a reason outside the
	// model and the task (the model endpoint down, the daemon refusing a
	// sandbox): it is not recorded, its files are kept as an attempt, and
	// the run redoes it (Options.RetryInfra times now, or on the next run).
	Infra string
}

// RolloutFunc performs one rollout. It reports failures inside
// Output.Result (status error with a reason); it never needs to return an
// error. If ctx is cancelled, its output is discarded and the rollout is
// redone by the next run.
type RolloutFunc func(ctx context.Context, w Worker, job Job) Output

// Options configure a run. EvalOptions, RolloutOptions and
// ValidateOptions embed it; its defaults are applied once, by withDefaults,
// at the entry of each of those commands and of Execute.
type Options struct {
	// Dir is the run directory, runs/<run_id>.
	Dir   string
	RunID string
	// Workers is the number of rollouts in flight (default 1).
	Workers int
	// Config is recorded in run.json: the fully resolved configuration
	// (cmd/sweval records every flag; `sweval run --from` repeats it).
	Config any
	// Logger receives the run's log (default: discarded; a library never
	// writes to the process's default logger unasked).
	Logger *slog.Logger
	// Progress receives a progress bar; nil for none.
	Progress io.Writer
	// Shard, when set, runs only this shard's part of the jobs (round-robin
	// over their order) and appends to the shard's own results file; the
	// run report covers the union of every shard's results.
	Shard result.Shard
	// MaxRunCost, when > 0, stops starting rollouts once the recorded
	// rollouts (this shard's and any resumed ones) cost that much; the
	// rollouts in flight finish, the rest stay to do, and the report says
	// why the run stopped. Unpriced rollouts count nothing.
	MaxRunCost float64
	// RetryInfra re-runs a rollout that ended in an infrastructure failure
	// (Output.Infra) up to this many times before leaving it to the next
	// run; every attempt is kept under <rollout>/attempts/.
	RetryInfra int

	// images are the shared layers the run's containers start from, set
	// by Evaluate and Rollouts once they are built, for run.json.
	images []ImageRecord
	// ahead, when set, is handed the jobs still to run before the workers
	// start (Evaluate and Rollouts prefetch their published images); its
	// context ends when Execute returns.
	ahead func(context.Context, []Job)
	// jobDone, when set, is called after each job to run (Evaluate and
	// Rollouts free the images of finished instances); imageUsage fills
	// the report's image use.
	jobDone    func(ctx context.Context, taskID string)
	imageUsage func(context.Context) *result.ImageUsage
}

func (o Options) withDefaults() Options {
	o.Workers = max(1, o.Workers)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Meta is run.json.
type Meta struct {
	RunID     string      `json:"run_id"`
	Started   time.Time   `json:"started"`
	Resumed   []time.Time `json:"resumed,omitempty"`
	GoVersion string      `json:"go_version"`
	Sweval    string      `json:"sweval_version"`
	Config    any         `json:"config"`
	// Images are the shared image layers of the run with their content
	// digests, so a repeated run can tell whether it starts from the same
	// bytes (per-instance images are recorded in each result).
	Images []ImageRecord `json:"images,omitempty"`
}

// ImageRecord names one image a run used.
type ImageRecord struct {
	Role string `json:"role"` // "base", "env", "published" (Ref: the name rule under --namespace)
	Ref  string `json:"ref"`
	// Key is sweval's content key of a layer it built ("" for others).
	Key string `json:"key,omitempty"`
	// Digest is the image's ID (sha256 of its config) as the runtime
	// reports it; "" when the builder cannot tell.
	Digest string `json:"digest,omitempty"`
}

// LockName is the writer lock's file in a run directory.
const LockName = ".lock"

// Execute runs every job not yet in the run directory's results.jsonl and
// returns the run report over all of them.
func Execute(ctx context.Context, opts Options, jobs []Job, fn RolloutFunc) (result.RunReport, error) {
	opts = opts.withDefaults()
	log := opts.Logger
	// One writer per run directory (per shard): a second process with the
	// same run id (another terminal, a requeued job) stops here instead of
	// redoing every rollout beside the first.
	lockName := LockName
	if !opts.Shard.Whole() {
		lockName += "." + strings.TrimSuffix(opts.Shard.FileName(), ".jsonl")
	}
	lock, err := result.AcquireLock(filepath.Join(opts.Dir, lockName))
	if err != nil {
		return result.RunReport{}, fmt.Errorf("run %s: %w", opts.RunID, err)
	}
	defer lock.Release()
	if err := writeMeta(opts); err != nil {
		return result.RunReport{}, err
	}
	store, err := result.OpenRunStore(opts.Dir, opts.Shard)
	if err != nil {
		return result.RunReport{}, err
	}
	defer store.Close()

	var todo []Job
	owned := 0
	for i, j := range jobs {
		if !opts.Shard.Owns(i) {
			continue
		}
		owned++
		if !store.Done(result.Key{InstanceID: j.Task.ID, Rollout: j.Rollout}) {
			todo = append(todo, j)
		}
	}
	sweepTemp(opts, todo, log)
	host, _ := os.Hostname()
	status := ShardStatus{Shard: opts.Shard.String(), State: ShardRunning, Host: host, PID: os.Getpid(), Started: time.Now().UTC(), Owned: owned, Recorded: owned - len(todo)}
	recordShard(opts, status, log)
	if skipped := owned - len(todo); skipped > 0 {
		log.Info("resuming run", "run_id", opts.RunID, "already_done", skipped, "to_do", len(todo))
	}

	// What this shard already recorded: the progress bar starts from its
	// resolved count, the cost budget from what it spent.
	resolved, spent := 0, 0.0
	for i, j := range jobs {
		r, ok := store.Result(result.Key{InstanceID: j.Task.ID, Rollout: j.Rollout})
		if !ok || !opts.Shard.Owns(i) {
			continue
		}
		if r.Resolved {
			resolved++
		}
		if r.Cost != nil {
			spent += *r.Cost
		}
	}
	if opts.ahead != nil {
		actx, stop := context.WithCancel(ctx)
		defer stop()
		opts.ahead(actx, todo)
	}
	prog := NewProgress(opts.Progress, "resolved", owned, owned-len(todo), resolved)
	var appendErr error
	var appendMu sync.Mutex
	stopped := ""
	infra := map[string]string{} // instance → the infrastructure error of its last attempt
	overBudget := func() bool {
		appendMu.Lock()
		defer appendMu.Unlock()
		if opts.MaxRunCost > 0 && spent >= opts.MaxRunCost {
			if stopped == "" {
				stopped = fmt.Sprintf("--max-run-cost %.2f reached (spent %.2f): rollouts not started were left to do; raise the budget and run the same command to go on", opts.MaxRunCost, spent)
				log.Warn("run cost budget reached; no new rollouts start", "max_run_cost", opts.MaxRunCost, "spent", spent)
			}
			return true
		}
		return false
	}
	_ = forEach(ctx, opts.Workers, todo, func(ctx context.Context, w Worker, job Job) {
		if opts.jobDone != nil {
			defer opts.jobDone(ctx, job.Task.ID)
		}
		if overBudget() {
			return
		}
		out := safeRollout(ctx, w, job, fn)
		retries := 0
		for attempt := 0; out.Infra != "" && ctx.Err() == nil; attempt++ {
			keepAttempt(opts, job, out, log)
			if attempt >= opts.RetryInfra {
				appendMu.Lock()
				infra[job.Task.ID] = out.Infra
				appendMu.Unlock()
				log.Warn("rollout ended in an infrastructure failure; it is not recorded and will be redone", "instance", job.Task.ID, "rollout", job.Rollout, "err", out.Infra)
				return
			}
			log.Info("retrying a rollout after an infrastructure failure", "instance", job.Task.ID, "rollout", job.Rollout, "attempt", attempt+2, "err", out.Infra)
			out = safeRollout(ctx, w, job, fn)
			retries++
		}
		out.Result.InfraRetries = retries
		if ctx.Err() != nil {
			log.Info("rollout interrupted; it will be redone on resume", "instance", job.Task.ID, "rollout", job.Rollout)
			return
		}
		if err := commit(opts, store, job, out); err != nil {
			appendMu.Lock()
			appendErr = errors.Join(appendErr, err)
			appendMu.Unlock()
			log.Error("could not record rollout", "instance", job.Task.ID, "err", err)
			return
		}
		if c := out.Result.Cost; c != nil {
			appendMu.Lock()
			spent += *c
			appendMu.Unlock()
		}
		prog.AddResult(out.Result)
		log.Debug("rollout done", "instance", job.Task.ID, "rollout", job.Rollout, "status", out.Result.Status)
	})
	prog.Finish()

	want := make([]string, 0, len(jobs))
	seen := map[string]bool{}
	for _, j := range jobs {
		if !seen[j.Task.ID] {
			seen[j.Task.ID] = true
			want = append(want, j.Task.ID)
		}
	}
	all := store.Results()
	if !opts.Shard.Whole() {
		// The other shards may have finished rollouts since this one
		// started: report the run as it stands now.
		if all, err = result.LoadRun(opts.Dir); err != nil {
			return result.RunReport{}, fmt.Errorf("run %s: %w", opts.RunID, err)
		}
	}
	rep := result.Summarize(opts.RunID, want, all)
	rep.Stopped = stopped
	if opts.imageUsage != nil {
		rep.Images = opts.imageUsage(ctx)
	}
	if len(infra) > 0 {
		rep.InfraErrors = infra
	}
	if err := result.WriteJSONAtomic(filepath.Join(opts.Dir, "report.json"), rep); err != nil {
		appendErr = errors.Join(appendErr, err)
	}
	status.Recorded = 0
	for i, j := range jobs {
		if opts.Shard.Owns(i) && store.Done(result.Key{InstanceID: j.Task.ID, Rollout: j.Rollout}) {
			status.Recorded++
		}
	}
	now := time.Now().UTC()
	status.Finished = &now
	switch {
	case ctx.Err() != nil:
		status.State, status.Error = ShardInterrupted, ctx.Err().Error()
	case appendErr != nil || status.Recorded < status.Owned:
		status.State, status.Error = ShardFailed, cmp.Or(errString(appendErr), "rollouts missing")
	default:
		status.State = ShardDone
	}
	recordShard(opts, status, log)
	if ctx.Err() != nil {
		return rep, fmt.Errorf("run %s interrupted (run the same command again to resume): %w", opts.RunID, ctx.Err())
	}
	if len(infra) > 0 {
		ids := slices.Sorted(maps.Keys(infra))
		appendErr = errors.Join(appendErr, fmt.Errorf("%d rollout(s) ended in an infrastructure failure and were not recorded (%s: %s): fix the cause and run the same command again to redo exactly those",
			len(infra), ids[0], infra[ids[0]]))
	}
	return rep, appendErr
}

// ShardStatus is what a shard records of itself in the run directory
// (shards/shard-I-of-N.json), so a scheduler's view (harness/slurm) can
// tell a finished shard from one that was killed.
type ShardStatus struct {
	Shard    string     `json:"shard"` // "I/N"
	State    string     `json:"state"` // ShardRunning, ShardDone, ShardInterrupted, ShardFailed
	Host     string     `json:"host"`
	PID      int        `json:"pid"`
	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished,omitempty"`
	Owned    int        `json:"owned"`    // rollouts of the shard
	Recorded int        `json:"recorded"` // of them in the run's results
	Error    string     `json:"error,omitempty"`
}

// Shard states.
const (
	ShardRunning     = "running"
	ShardDone        = "done"
	ShardInterrupted = "interrupted"
	ShardFailed      = "failed"
)

// ShardStatusPath is a shard's status file in the run directory.
func ShardStatusPath(dir string, s result.Shard) string {
	return filepath.Join(dir, "shards", strings.TrimSuffix(strings.TrimPrefix(s.FileName(), "results."), ".jsonl")+".json")
}

// recordShard writes the shard's status file; a failure to write it is
// logged, never fatal (the results file is the truth).
func recordShard(opts Options, st ShardStatus, log *slog.Logger) {
	if opts.Shard.Whole() {
		return
	}
	if err := result.WriteJSONAtomic(ShardStatusPath(opts.Dir, opts.Shard), st); err != nil {
		log.Warn("could not record the shard's status", "shard", st.Shard, "err", err)
	}
}

// keepAttempt writes an unrecorded attempt's files and result under
// <rollout>/attempts/<n>/, so no attempt is lost.
func keepAttempt(opts Options, job Job, out Output, log *slog.Logger) {
	base := filepath.Join(RolloutDir(opts.Dir, job.Task.ID, job.Rollout), "attempts")
	n := 1
	if entries, err := os.ReadDir(base); err == nil {
		n = len(entries) + 1
	}
	dir := filepath.Join(base, strconv.Itoa(n))
	out.Result.RunID = opts.RunID
	files := map[string][]byte{}
	maps.Copy(files, out.Files)
	if data, err := json.MarshalIndent(out.Result, "", " "); err == nil {
		files["result.json"] = data
	}
	for name, data := range files {
		if err := result.WriteFileAtomic(filepath.Join(dir, name), data); err != nil {
			log.Warn("could not keep an attempt's files", "dir", dir, "err", err)
			return
		}
	}
}

// sweepTemp removes the temporaries of writes a killed run left behind.
// A shard sweeps only the rollout directories it owns: the top level and
// other shards' rollouts may be mid-write in another process.
func sweepTemp(opts Options, todo []Job, log *slog.Logger) {
	dirs := []string{opts.Dir}
	if !opts.Shard.Whole() {
		dirs = dirs[:0]
		for _, j := range todo {
			dirs = append(dirs, RolloutDir(opts.Dir, j.Task.ID, j.Rollout))
		}
	}
	n := 0
	for _, d := range dirs {
		k, err := result.SweepTemp(d)
		if err != nil {
			log.Warn("could not remove temporary files of a killed write", "dir", d, "err", err)
		}
		n += k
	}
	if n > 0 {
		log.Info("removed temporary files of a killed write", "dir", opts.Dir, "count", n)
	}
}

// safeRollout turns a panic in one rollout into an error result, so one
// bad instance never takes the run down.
func safeRollout(ctx context.Context, w Worker, job Job, fn RolloutFunc) (out Output) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			out = Output{Result: result.Result{
				Status: result.StatusError,
				Error:  fmt.Sprintf("internal error (please report): %v\n%s", p, debug.Stack()),
			}}
		}
		out.Result.InstanceID = job.Task.ID
		out.Result.Rollout = job.Rollout
		if out.Result.WallSeconds == 0 {
			out.Result.WallSeconds = time.Since(start).Seconds()
		}
		if out.Result.Features == nil {
			out.Result.Features = job.Task.Features
		}
	}()
	return fn(ctx, w, job)
}

// commit writes the rollout's files, then its report.json, then its result
// line: the line is the commit point, so a crash before it means the
// rollout is simply redone.
func commit(opts Options, store *result.Store, job Job, out Output) error {
	out.Result.RunID = opts.RunID
	dir := RolloutDir(opts.Dir, job.Task.ID, job.Rollout)
	for name, data := range out.Files {
		if err := result.WriteFileAtomic(filepath.Join(dir, name), data); err != nil {
			return err
		}
	}
	if err := result.WriteJSONAtomic(filepath.Join(dir, "report.json"), result.NewInstanceReport(out.Result)); err != nil {
		return err
	}
	return store.Append(out.Result)
}

// newWorker gives worker i its own CPU (wrapping when there are more
// workers than CPUs).
func newWorker(i int) Worker {
	return Worker{Index: i, Cpuset: strconv.Itoa(i % runtime.NumCPU())}
}

// RolloutDir is where a rollout's files live: <run>/<instance_id>/<k>.
func RolloutDir(runDir, instanceID string, rollout int) string {
	return result.RolloutDir(runDir, instanceID, rollout)
}

func writeMeta(opts Options) error {
	path := filepath.Join(opts.Dir, "run.json")
	meta := Meta{RunID: opts.RunID, Started: time.Now().UTC(), GoVersion: runtime.Version(), Sweval: Version(), Config: opts.Config, Images: opts.images}
	if old, err := readMeta(path); err == nil {
		meta.Started = old.Started
		meta.Resumed = append(old.Resumed, time.Now().UTC())
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return result.WriteJSONAtomic(path, meta)
}
