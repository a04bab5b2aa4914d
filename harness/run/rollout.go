package run

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/scaffolds/trajectory"
)

// Agent works on a task inside a sandbox. It only edits the repository;
// the harness extracts the patch itself afterwards, whatever the agent did
// or however it ended.
type Agent interface {
	Solve(ctx context.Context, sb sandbox.Sandbox, task benchmarks.Task, rollout int) AgentRun
}

// AgentRun is what an agent's rollout left besides the repository.
type AgentRun struct {
	// Trajectory is written as trajectory.json; the result's exit status,
	// tokens, cost, steps and guard refusals are read from it. Nil when
	// the agent never started (ExitStatus says why).
	Trajectory *trajectory.Trajectory
	// ExitStatus is the exit status when there is no trajectory.
	ExitStatus string
	AuditFlags []string
	// Files are extra files kept beside the rollout (e.g. judge.json).
	Files map[string][]byte
	// Err is a failure of the environment (the sandbox died), not of the
	// model; the rollout is still graded on what is in the repository.
	Err error
	// SandboxEvent is set by the harness, not the agent: what the agent did
	// to its sandbox when it had to be revived (result.SandboxKilled, …).
	SandboxEvent string
}

// Preparer readies a sandbox before the agent starts (the leakage purge).
type Preparer interface {
	Prepare(ctx context.Context, sb sandbox.Sandbox, task benchmarks.Task) error
}

// Submission is the agent's work taken out of its sandbox.
type Submission struct {
	// Patch is the diff against the commit the repository started at.
	Patch string
	// Archive is a tar of the workspace, for kinds whose grading needs the
	// files themselves (binary files); nil otherwise.
	Archive []byte
}

// Capturer takes the agent's work out of its sandbox; base is the commit
// the repository was at when the agent started.
type Capturer interface {
	Capture(ctx context.Context, sb sandbox.Sandbox, task benchmarks.Task, base string) (Submission, error)
}

// Scorer grades a submission in a fresh sandbox of image, which it
// creates and removes itself, pinned to the worker's CPU (w.Cpuset) as
// SWE-bench grading is. Its verdict fills the rollout's result.
type Scorer interface {
	Score(ctx context.Context, w Worker, image string, task benchmarks.Task, sub Submission) (result.Verdict, error)
}

// KindHooks adapt the pipeline to a task kind. Nil hooks take the
// SWE-bench defaults: no preparation, the patch extracted with git, graded
// by harness/grade.
type KindHooks struct {
	Prepare Preparer
	Capture Capturer
	Score   Scorer
	// GradeOnEnv grades in the env image (dependencies, no reference)
	// instead of the image the agent started from: a Doc2Repo environment
	// has the reference installed, and the agent's purge does not carry
	// over to a fresh grading container.
	GradeOnEnv bool
	// GradeIn, when set, may name the image a task grades in instead
	// (a Doc2Repo task with its own image: that image after the purge);
	// GradeOnEnv applies to the tasks it declines.
	GradeIn GradeImager
}

// GradeImager chooses the image a task is graded in. image is the one the
// agent started from; ok is false to decline (the kind's default).
type GradeImager interface {
	GradeImage(ctx context.Context, task benchmarks.Task, image string) (graded string, ok bool, err error)
}

// RolloutOptions configure Rollouts.
type RolloutOptions struct {
	Options
	Environment Environment
	Grade       grade.Options
	Rollouts    int
	Model       string
	Scaffold    string
	Benchmark   string
	// Kinds holds the hooks per task kind (Doc2Repo: purge, workspace
	// capture, pass-fraction scoring).
	Kinds map[benchmarks.Kind]KindHooks
}

// Rollouts runs the agent Rollouts times on every task and grades each
// rollout, then writes preds.jsonl in SWE-bench's prediction format.
func Rollouts(ctx context.Context, opts RolloutOptions, tasks []benchmarks.Task, agent Agent) (result.RunReport, error) {
	opts.Options = opts.Options.withDefaults()
	log := opts.Logger
	opts.Environment.Logger = log
	if opts.Rollouts < 1 {
		opts.Rollouts = 1
	}
	p, err := opts.Environment.prepare(ctx)
	if err != nil {
		return result.RunReport{}, err
	}
	var jobs []Job
	for _, t := range tasks {
		for k := range opts.Rollouts {
			jobs = append(jobs, Job{Task: t, Rollout: k})
		}
	}
	opts.images = p.records(ctx)
	p.hook(&opts.Options)
	rep, err := Execute(ctx, opts.Options, jobs, func(ctx context.Context, w Worker, job Job) Output {
		return rolloutOne(ctx, p, opts, w, job, agent)
	})
	if perr := writePredictions(opts.Dir, opts.Model); perr != nil {
		log.Warn("could not write preds.jsonl", "err", perr)
	}
	return rep, err
}

func rolloutOne(ctx context.Context, p *prepared, opts RolloutOptions, w Worker, job Job, agent Agent) Output {
	task := job.Task
	r := result.Result{Model: opts.Model, Scaffold: opts.Scaffold, Benchmark: opts.Benchmark}
	files := map[string][]byte{}
	fail := func(format string, args ...any) Output {
		r.Status, r.Error = result.StatusError, fmt.Sprintf(format, args...)
		return Output{Result: r, Files: files}
	}
	hooks := opts.Kinds[task.Kind]
	image, err := p.imageFor(ctx, task)
	if err != nil {
		return fail("%v", err)
	}
	sb, err := p.create(ctx, opts.RunID, w, task, image)
	if err != nil {
		out := fail("start the sandbox: %v", err)
		out.Infra = out.Result.Error
		return out
	}
	sub, run, err := agentPhase(ctx, sb, opts, hooks, task, job.Rollout, agent)
	closeSandbox(sb, p.Logger)
	r.AgentExit = run.ExitStatus
	if tr := run.Trajectory; tr != nil {
		if data, jerr := json.MarshalIndent(tr, "", " "); jerr == nil {
			files["trajectory.json"] = data
		}
		r.AgentExit = tr.ExitStatus
		r.PromptTokens, r.CompletionTokens, r.Cost = tr.PromptTokens, tr.CompletionTokens, tr.Cost
		r.Steps, r.GuardRefusals = len(tr.Steps), tr.GuardRefusals
	}
	for name, data := range run.Files {
		files[name] = data
	}
	r.AuditFlags = run.AuditFlags
	r.SandboxEvent = run.SandboxEvent
	if tr := run.Trajectory; tr != nil && tr.ExitStatus == trajectory.ExitModelError {
		// The endpoint failed after the client's retries: not the model's
		// doing and not worth grading; the rollout is redone.
		out := fail("model endpoint: %s", cmp.Or(tr.ModelError, "failed after retries"))
		out.Infra = out.Result.Error
		return out
	}
	var dl *diskLimitError
	if errors.As(err, &dl) {
		// The agent's doing: it scores 0, and the work is not graded (a
		// filesystem past its budget is not one to diff).
		r.Status, r.Resolution, r.Error = result.StatusUnresolved, result.ResolvedNo, dl.Error()
		return Output{Result: r, Files: files}
	}
	if err != nil {
		return fail("%v", err)
	}
	files["patch.diff"] = []byte(sub.Patch)

	v, graded, err := scoreInFreshSandbox(ctx, p, opts, hooks, w, task, image, sub)
	v.Fill(&r)
	if graded == image {
		p.recordImage(&r, task)
	} else {
		// The env layer, or a kind's own (a purged commit, its tag
		// content-keyed).
		r.Image = graded
		if graded == p.env.Tag {
			r.ImageDigest = p.env.Digest
		}
	}
	if err != nil && r.Error == "" {
		r.Status, r.Error = result.StatusError, err.Error()
	}
	if run.Err != nil && r.Error == "" {
		r.Error = "agent environment: " + run.Err.Error()
	}
	if v.Log != "" {
		files["eval.log"] = []byte(v.Log)
	}
	for name, data := range v.Files {
		files[name] = data
	}
	return Output{Result: r, Files: files}
}

// agentPhase prepares the sandbox, runs the agent and takes its work out,
// diffing against the commit the repository started at, so an agent that
// commits its work (or resets HEAD) still yields its full diff.
func agentPhase(ctx context.Context, sb sandbox.Sandbox, opts RolloutOptions, hooks KindHooks, task benchmarks.Task, rollout int, agent Agent) (Submission, AgentRun, error) {
	if hooks.Prepare != nil {
		if err := hooks.Prepare.Prepare(ctx, sb, task); err != nil {
			return Submission{}, AgentRun{}, fmt.Errorf("prepare workspace: %w", err)
		}
	}
	base, err := headCommit(ctx, sb, task.Workdir())
	if err != nil {
		return Submission{}, AgentRun{}, err
	}
	run := agent.Solve(ctx, sb, task, rollout)
	// Capture even when the agent failed or ran out of budget: what it
	// left in the repository is its submission.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	if dl, ok := sb.(sandbox.DiskLimiter); ok {
		if hit, used, limit := dl.DiskLimitHit(); hit {
			run.SandboxEvent = result.SandboxDiskLimit
			return Submission{}, run, &diskLimitError{sandbox.DiskLimitError(used, limit)}
		}
	}
	run.SandboxEvent = rescue(cctx, sb, opts.Logger, task.ID)
	if hooks.Capture != nil {
		sub, err := hooks.Capture.Capture(cctx, sb, task, base)
		if err != nil {
			return sub, run, fmt.Errorf("capture the workspace: %w", err)
		}
		return sub, run, nil
	}
	patch, err := grade.ExtractPatch(cctx, sb, task.Workdir(), base)
	if err != nil {
		return Submission{}, run, fmt.Errorf("extract patch: %w", err)
	}
	return Submission{Patch: patch}, run, nil
}

// diskLimitError ends a rollout whose sandbox hit its disk budget.
type diskLimitError struct{ err error }

func (e *diskLimitError) Error() string { return e.err.Error() }

// leftoverMax is how many processes may remain in a sandbox after the
// agent's shell closed before the harness treats them as a storm (a fork
// bomb) to stop before capturing: an honest agent leaves a server or two.
const leftoverMax = 32

// rescue makes a sandbox the agent broke usable for capturing its work:
// when the sandbox no longer runs (its processes were killed, init
// included), cannot start a process, or still holds a storm of processes
// (a fork bomb), every process left in it is killed and its init
// restarted, with the filesystem kept. It returns what happened
// (result.SandboxKilled, result.SandboxPidsExhausted) or "" for a healthy
// sandbox.
func rescue(ctx context.Context, sb sandbox.Sandbox, log *slog.Logger, instance string) string {
	res, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: []string{"sh", "-c", "ls /proc | grep -c '^[0-9]'"}, Timeout: 30 * time.Second})
	if err == nil && res.ExitCode == 0 {
		if n, perr := strconv.Atoi(strings.TrimSpace(string(res.Output))); perr == nil && n <= leftoverMax {
			return ""
		}
	}
	rv, ok := sb.(sandbox.Reviver)
	if !ok {
		return ""
	}
	running, rerr := rv.Revive(ctx)
	event := result.SandboxKilled
	if running {
		event = result.SandboxPidsExhausted
	}
	if rerr != nil {
		log.Warn("could not revive the sandbox the agent broke; its work may be lost", "instance", instance, "event", event, "err", rerr)
	} else {
		log.Info("revived the sandbox the agent broke, to capture its work", "instance", instance, "event", event)
	}
	return event
}

func headCommit(ctx context.Context, sb sandbox.Sandbox, dir string) (string, error) {
	res, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: []string{"git", "-C", dir, "rev-parse", "HEAD"}, Timeout: time.Minute})
	if err != nil {
		return "", fmt.Errorf("read base commit: %w", err)
	}
	sha := strings.TrimSpace(string(res.Output))
	if res.ExitCode != 0 || len(sha) < 40 {
		return "", fmt.Errorf("read base commit of %s: git rev-parse HEAD exited %d: %s", dir, res.ExitCode, sha)
	}
	return sha, nil
}

// scoreInFreshSandbox grades sub and says in which image.
func scoreInFreshSandbox(ctx context.Context, p *prepared, opts RolloutOptions, hooks KindHooks, w Worker, task benchmarks.Task, image string, sub Submission) (result.Verdict, string, error) {
	chosen := false
	if hooks.GradeIn != nil {
		img, ok, err := hooks.GradeIn.GradeImage(ctx, task, image)
		if err != nil {
			return result.Verdict{Status: result.StatusError, Error: err.Error()}, image, err
		}
		if ok {
			image, chosen = img, true
		}
	}
	if hooks.GradeOnEnv && !chosen {
		env, err := p.envRef(ctx)
		if err != nil {
			return result.Verdict{Status: result.StatusError, Error: err.Error()}, image, err
		}
		image = env.Tag
	}
	if hooks.Score != nil {
		v, err := hooks.Score.Score(ctx, w, image, task, sub)
		return v, image, err
	}
	out, err := gradeInFreshSandbox(ctx, p, opts.RunID, w, task, sub.Patch, opts.Grade)
	return VerdictOf(out), image, err
}

// VerdictOf is the verdict of a SWE-bench-style grading: all or nothing.
func VerdictOf(o grade.Outcome) result.Verdict {
	v := result.Verdict{
		Status: o.Status, Resolution: o.Resolution, TestsStatus: o.TestsStatus,
		PatchMethod: o.PatchMethod, TestExitCode: o.TestExitCode, Error: o.Error, Log: o.Log,
		Flags: o.Flags, Rules: string(o.Rules), Readings: o.ResolutionByRules(), Disagreement: o.Disagreement,
	}
	if o.Status == result.StatusResolved {
		v.PassFraction, v.Strict = 1, true
	}
	return v
}

// prediction is one line of SWE-bench's predictions format.
type prediction struct {
	InstanceID string `json:"instance_id"`
	Model      string `json:"model_name_or_path"`
	Patch      string `json:"model_patch"`
}

// writePredictions writes preds.jsonl (rollout 0, SWE-bench's format, one
// line per instance) and, with several rollouts, preds.rollout<k>.jsonl,
// over every shard's results.
func writePredictions(runDir, model string) error {
	all, err := result.LoadRun(runDir)
	if err != nil {
		return err
	}
	byRollout := map[int][]prediction{}
	for _, r := range all {
		patch, err := os.ReadFile(filepath.Join(RolloutDir(runDir, r.InstanceID, r.Rollout), "patch.diff"))
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		byRollout[r.Rollout] = append(byRollout[r.Rollout], prediction{InstanceID: r.InstanceID, Model: model, Patch: string(patch)})
	}
	for k, preds := range byRollout {
		sort.Slice(preds, func(i, j int) bool { return preds[i].InstanceID < preds[j].InstanceID })
		var b strings.Builder
		enc := json.NewEncoder(&b)
		for _, p := range preds {
			if err := enc.Encode(p); err != nil {
				return err
			}
		}
		name := "preds.jsonl"
		if k > 0 {
			name = fmt.Sprintf("preds.rollout%d.jsonl", k)
		}
		if err := result.WriteFileAtomic(filepath.Join(runDir, name), []byte(b.String())); err != nil {
			return err
		}
	}
	return nil
}
