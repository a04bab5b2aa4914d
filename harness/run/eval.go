package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/benchmarks/predictions"
	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/images"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/harness/swegrade"
)

// Environment is what every pipeline needs to get a task into a container:
// the image builder, the sandbox runtime and the image inputs.
type Environment struct {
	Images  ImageBuilder
	Runtime sandbox.Runtime
	// Base is the base image to build on (built when missing).
	Base images.BaseSpec
	// BaseImage, when set, is used as the base instead of building one
	// (a registry image, or one built earlier).
	BaseImage string
	Env       images.EnvSpec
	RepoCache string
	// Published selects published images (SWE-bench's --namespace,
	// --instance-image-tag, --arch); the zero value builds sweval's own.
	Published images.Published
	// CacheLevel is which images are kept once the instances using them
	// are graded (images.CacheNone, CacheBase, CacheEnv, or CacheInstance,
	// the zero value's meaning); MaxImageDisk, when positive, removes the
	// images of finished instances, least recently finished first, while
	// the run's instance images exceed it (bytes). Only images sweval
	// built or pulled are ever removed.
	CacheLevel   string
	MaxImageDisk int64
	Logger       *slog.Logger
}

// ImageBuilder builds the image layers a task's containers start from
// (*images.Builder; a fake in tests).
type ImageBuilder interface {
	Resolve(ctx context.Context, image string) (images.Ref, error)
	Base(ctx context.Context, spec images.BaseSpec) (images.Ref, error)
	Env(ctx context.Context, base images.Ref, spec images.EnvSpec) (images.Ref, error)
	Instance(ctx context.Context, env images.Ref, task benchmarks.Task, repoCache string) (images.Ref, error)
	Doc2Repo(ctx context.Context, env images.Ref, task benchmarks.Task) (images.Ref, error)
	// PublishedImage finds (or pulls) task's published image; found is
	// false when it has none under p.
	PublishedImage(ctx context.Context, task benchmarks.Task, p images.Published) (ref images.Ref, found bool, err error)
}

// prepared is an Environment whose shared layers are built (or, with
// published images, built on first need) and whose tasks' images are
// resolved once each.
type prepared struct {
	Environment
	envOnce  sync.Once
	base     images.Ref
	env      images.Ref
	envErr   error
	resolved sync.Map // task id → *resolution
	janitor  *janitor
}

// resolution is one task's image, found once: a worker asking while the
// prefetcher (or another worker) is resolving it waits for that one
// instead of pulling or building it a second time. A failure is not kept:
// the next asker tries again.
type resolution struct {
	mu  sync.Mutex
	ref *images.Ref
}

// digester is implemented by image builders that can report an image's
// content digest (*images.Builder); run.json records it when they can.
type digester interface {
	Digest(ctx context.Context, image string) (string, error)
}

// records describes the shared layers for run.json.
func (p *prepared) records(ctx context.Context) []ImageRecord {
	var out []ImageRecord
	for _, l := range []struct {
		role string
		ref  images.Ref
	}{{"base", p.base}, {"env", p.env}} {
		if l.ref.Tag == "" {
			continue // not built: every task so far ran in its published image
		}
		r := ImageRecord{Role: l.role, Ref: l.ref.Tag, Key: l.ref.Key}
		if d, ok := p.Images.(digester); ok {
			digest, err := d.Digest(ctx, l.ref.Tag)
			if err != nil {
				p.Logger.Warn("could not read an image's digest for run.json", "image", l.ref.Tag, "err", err)
			}
			r.Digest = digest
		}
		out = append(out, r)
	}
	if pub := p.Published; pub.Enabled() {
		// The namespace, as the name every task's image is looked up by
		// (a row naming its own image keeps it; results record each).
		ns := pub.Namespace
		if ns == images.NamespaceAuto {
			ns = images.NamespaceSWEBench + "|" + images.NamespaceSWERebench
		}
		out = append(out, ImageRecord{Role: "published", Ref: images.SWEBenchImageName(ns, pub.Arch, pub.Tag, "{instance_id}")})
	}
	return out
}

// prepare builds (or finds) the base and env layers once per run; with
// published images they are built only if a task needs them.
func (e Environment) prepare(ctx context.Context) (*prepared, error) {
	pub, err := e.Published.Normalize()
	if err != nil {
		return nil, err
	}
	e.Published = pub
	if e.CacheLevel, err = images.ParseCacheLevel(e.CacheLevel); err != nil {
		return nil, err
	}
	p := &prepared{Environment: e}
	p.janitor = newJanitor(e.Images, e.CacheLevel, e.MaxImageDisk, e.Logger)
	if !pub.Enabled() {
		if _, err := p.envRef(ctx); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// envRef builds (or finds) the base and env layers, once.
func (p *prepared) envRef(ctx context.Context) (images.Ref, error) {
	p.envOnce.Do(func() {
		var base images.Ref
		var err error
		if p.BaseImage != "" {
			base, err = p.Images.Resolve(ctx, p.BaseImage)
		} else {
			base, err = p.Images.Base(ctx, p.Base)
		}
		if err != nil {
			p.envErr = fmt.Errorf("base image: %w", err)
			return
		}
		p.base = base
		if p.env, err = p.Images.Env(ctx, base, p.Env); err != nil {
			p.envErr = fmt.Errorf("env image: %w", err)
		}
	})
	return p.env, p.envErr
}

// imageFor finds or builds the task's image: its published image when
// there is one under Published (present, else pulled), else sweval's
// layers: the instance layer for SWE-bench-style tasks, the reference
// environment for Doc2Repo tasks. A task's image is resolved once per run.
func (p *prepared) imageFor(ctx context.Context, task benchmarks.Task) (string, error) {
	v, _ := p.resolved.LoadOrStore(task.ID, &resolution{})
	res := v.(*resolution)
	res.mu.Lock()
	defer res.mu.Unlock()
	if res.ref != nil {
		return res.ref.Tag, nil
	}
	ref, err := p.resolve(ctx, task)
	if err != nil {
		return "", err
	}
	res.ref = &ref
	p.janitor.resolved(ctx, task, ref)
	return ref.Tag, nil
}

// resolve finds or builds task's image (imageFor, uncached).
func (p *prepared) resolve(ctx context.Context, task benchmarks.Task) (images.Ref, error) {
	ref, found, err := p.Images.PublishedImage(ctx, task, p.Published)
	if err != nil {
		if !errors.Is(err, images.ErrImageMissing) || !p.Published.MayBuild() {
			return images.Ref{}, fmt.Errorf("instance image: %w", err)
		}
		p.Logger.Warn("published image unavailable; building sweval's layers (--namespace auto)", "task", task.ID, "err", err)
		found = false
	}
	if !found {
		env, err := p.envRef(ctx)
		if err != nil {
			return images.Ref{}, err
		}
		if task.Kind == benchmarks.KindDoc2Repo {
			ref, err = p.Images.Doc2Repo(ctx, env, task)
		} else {
			ref, err = p.Images.Instance(ctx, env, task, p.RepoCache)
		}
		if err != nil {
			return images.Ref{}, fmt.Errorf("instance image: %w", err)
		}
	}
	return ref, nil
}

// hook hands Execute the prefetcher and the janitor.
func (p *prepared) hook(o *Options) {
	o.ahead = func(ctx context.Context, todo []Job) {
		p.janitor.start(ctx, todo)
		p.prefetch(ctx, todo)
	}
	o.jobDone = p.janitor.jobDone
	o.imageUsage = func(ctx context.Context) *result.ImageUsage {
		return p.janitor.finish(ctx, p.env, p.base)
	}
}

// prefetchers is how many tasks' published images are fetched ahead of
// the workers at once (the builder bounds the pulls themselves).
const prefetchers = 2

// prefetch fetches the published images of the jobs still to run, in run
// order, ahead of the workers, so a worker rarely waits for a pull. It
// returns at once; its goroutines stop when ctx ends or the jobs run out.
func (p *prepared) prefetch(ctx context.Context, jobs []Job) {
	if !p.Published.Enabled() {
		return
	}
	queue := make(chan benchmarks.Task)
	go func() {
		defer close(queue)
		seen := map[string]bool{}
		for _, j := range jobs {
			if seen[j.Task.ID] || p.Published.ImageFor(j.Task) == "" {
				continue
			}
			seen[j.Task.ID] = true
			select {
			case queue <- j.Task:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range prefetchers {
		go func() {
			for t := range queue {
				p.janitor.waitRoom(ctx)
				if _, err := p.imageFor(ctx, t); err != nil && ctx.Err() == nil {
					p.Logger.Debug("prefetch failed; the worker will try again", "task", t.ID, "err", err)
				}
			}
		}()
	}
}

// recordImage writes the image task was graded in, and its digest, to r.
func (p *prepared) recordImage(r *result.Result, task benchmarks.Task) {
	if v, ok := p.resolved.Load(task.ID); ok {
		res := v.(*resolution)
		res.mu.Lock()
		defer res.mu.Unlock()
		if res.ref != nil {
			r.Image, r.ImageDigest = res.ref.Tag, res.ref.Digest
		}
	}
}

// create starts a locked-down container of image for task, pinned to the
// worker's cpuset.
func (p *prepared) create(ctx context.Context, runID string, w Worker, task benchmarks.Task, image string) (sandbox.Sandbox, error) {
	sb, err := p.Runtime.Create(ctx, p.sandboxSpec(runID, w, task, image))
	if err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	return sb, nil
}

// external reports whether image, task's resolved image, is not one of
// sweval's layers (a published or user-supplied image).
func (p *prepared) external(taskID, image string) bool {
	v, ok := p.resolved.Load(taskID)
	if !ok {
		return false
	}
	res := v.(*resolution)
	res.mu.Lock()
	defer res.mu.Unlock()
	return res.ref != nil && res.ref.Tag == image && res.ref.Layer == images.LayerExternal
}

// sandboxSpec is the container every phase of a task's grading starts;
// a published image keeps its own PATH.
func (p *prepared) sandboxSpec(runID string, w Worker, task benchmarks.Task, image string) sandbox.Spec {
	spec := sandbox.Spec{Image: image, RunID: runID, Task: task.ID, Workdir: task.Workdir(), CpusetCpus: w.Cpuset}
	if v, ok := p.resolved.Load(task.ID); ok {
		res := v.(*resolution)
		res.mu.Lock()
		if res.ref != nil && res.ref.Tag == image && res.ref.Path != "" {
			spec.Env = []string{"PATH=" + res.ref.Path}
		}
		res.mu.Unlock()
	}
	return spec
}

// closeSandbox removes sb even when ctx is already cancelled (^C).
func closeSandbox(sb sandbox.Sandbox, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(context.Background()), 30*time.Second)
	defer cancel()
	if err := sb.Close(ctx); err != nil {
		log.Warn("could not remove sandbox", "container", sb.ID(), "err", err)
	}
}

// EvalOptions configure Evaluate.
type EvalOptions struct {
	Options
	Environment Environment
	Grade       grade.Options
	// Benchmark names the task set in results (e.g. the dataset's name).
	Benchmark string
}

// Evaluate grades one prediction per task: SWE-bench's run_evaluation.
func Evaluate(ctx context.Context, opts EvalOptions, tasks []benchmarks.Task, preds map[string]predictions.Prediction) (result.RunReport, error) {
	opts.Options = opts.Options.withDefaults()
	log := opts.Logger
	opts.Environment.Logger = log
	p, err := opts.Environment.prepare(ctx)
	if err != nil {
		return result.RunReport{}, err
	}
	var jobs []Job
	for _, t := range tasks {
		if _, ok := preds[t.ID]; !ok {
			log.Warn("no prediction for instance; skipping it", "instance", t.ID)
			continue
		}
		jobs = append(jobs, Job{Task: t})
	}
	opts.images = p.records(ctx)
	p.hook(&opts.Options)
	return Execute(ctx, opts.Options, jobs, func(ctx context.Context, w Worker, job Job) Output {
		pred := preds[job.Task.ID]
		r := result.Result{Model: pred.Model, Benchmark: opts.Benchmark, Scaffold: "predictions"}
		files := map[string][]byte{"patch.diff": []byte(pred.Patch)}
		start := time.Now()
		out, err := gradeInFreshSandbox(ctx, p, opts.RunID, w, job.Task, pred.Patch, opts.Grade)
		VerdictOf(out).Fill(&r)
		if r.Status != result.StatusEmptyPatch { // an empty patch runs no container
			p.recordImage(&r, job.Task)
		}
		if err != nil && out.Error == "" {
			r.Status, r.Error = result.StatusError, err.Error()
		}
		r.WallSeconds = time.Since(start).Seconds()
		if out.Log != "" {
			files["eval.log"] = []byte(out.Log)
		}
		return Output{Result: r, Files: files}
	})
}

// gradeInFreshSandbox starts a new container of the task's image, grades
// patch in it, and removes it.
func gradeInFreshSandbox(ctx context.Context, p *prepared, runID string, w Worker, task benchmarks.Task, patch string, gopts grade.Options) (grade.Outcome, error) {
	if gopts.Logger == nil {
		gopts.Logger = p.Logger
	}
	if gopts.Dir == "" {
		gopts.Dir = task.Workdir()
	}
	if !gopts.SkipModelPatch && (predictions.Prediction{Patch: patch}).IsEmpty() {
		// Nothing to apply: no container needed.
		return grade.Outcome{Status: result.StatusEmptyPatch, Resolution: result.ResolvedNo}, nil
	}
	image, err := p.imageFor(ctx, task)
	if err != nil {
		return grade.Outcome{Status: result.StatusError, Infra: true, Error: err.Error()}, err
	}
	// A published image holds the repository installed, as its
	// publisher's harness expects to re-install it after the patch.
	gopts.Reinstall = gopts.Reinstall || p.external(task.ID, image)
	// The patch is applied in sb; the tests run in a fresh container of
	// the same image as an unprivileged user (grade.Options.SameContainer
	// for the old single-container path), created at the same time.
	test := swegrade.Prepare(ctx, p.Runtime, p.sandboxSpec(runID, w, task, image), task, gopts)
	sb, err := p.create(ctx, runID, w, task, image)
	if err != nil {
		test.Discard(ctx)
		return grade.Outcome{Status: result.StatusError, Infra: true, Error: err.Error()}, err
	}
	defer closeSandbox(sb, p.Logger)
	return swegrade.GradePrepared(ctx, test, sb, task, patch, gopts)
}

// Validity is the outcome of OpenSWE's two-condition check on one task.
type Validity struct {
	InstanceID string
	Valid      bool
	// Reason says which condition failed, or the infrastructure error.
	Reason string
	// Before is the grading with the test patch only; After with gold
	// (of the first run that was not valid, else of the last run).
	Before, After grade.Outcome
	// Runs is how often both conditions ran (ValidateOptions.Repeat) and
	// ValidRuns how many of those were valid.
	Runs, ValidRuns int
	// Flaky is set when the runs disagree: valid in some and not others,
	// or a test's outcome changing between runs of the same condition
	// (FlakyTests, as "before:<id>" / "after:<id>").
	Flaky      bool
	FlakyTests []string
}

// ValidateOptions configure Validate. Repeat runs both conditions that
// many times per task (default 1) to find flaky instances and tests.
// Options.Dir and Options.Config are unused: validation writes no run
// directory.
type ValidateOptions struct {
	Options
	Environment Environment
	Grade       grade.Options
	Repeat      int
}

// Validate checks every task's environment: with the test patch alone the
// FAIL_TO_PASS tests must fail (OpenSWE rows: exit code ≠ 0), and with the
// gold patch every test must pass (exit code 0).
func Validate(ctx context.Context, opts ValidateOptions, tasks []benchmarks.Task) ([]Validity, error) {
	opts.Options = opts.Options.withDefaults()
	opts.Environment.Logger = opts.Logger
	p, err := opts.Environment.prepare(ctx)
	if err != nil {
		return nil, err
	}
	repeat := max(1, opts.Repeat)
	jobs := make([]Job, 0, len(tasks)*repeat)
	for _, t := range tasks {
		for k := range repeat {
			jobs = append(jobs, Job{Task: t, Rollout: k}) // Rollout: the repeat
		}
	}
	var mu sync.Mutex
	runs := make(map[string][]Validity, len(tasks))
	prog := NewProgress(opts.Progress, "valid", len(jobs), 0, 0)
	err = forEach(ctx, opts.Workers, jobs, func(ctx context.Context, w Worker, job Job) {
		v := validateOne(ctx, p, opts, w, job.Task)
		mu.Lock()
		runs[job.Task.ID] = append(runs[job.Task.ID], v)
		mu.Unlock()
		prog.Add(v.Valid)
	})
	prog.Finish()
	// In the tasks' order; a task not reached (interrupted) stays zero.
	out := make([]Validity, len(tasks))
	for i, t := range tasks {
		if vs := runs[t.ID]; len(vs) > 0 {
			out[i] = combineRuns(vs)
		}
	}
	return out, err
}

// combineRuns folds the repeated validations of one task into one: valid
// only when every run was, flaky when the runs or a test's outcomes
// disagree.
func combineRuns(vs []Validity) Validity {
	out := vs[len(vs)-1]
	for _, v := range vs {
		if !v.Valid {
			out = v
			break
		}
	}
	out.Runs = len(vs)
	for _, v := range vs {
		if v.Valid {
			out.ValidRuns++
		}
	}
	seen := map[string]grade.TestStatus{}
	changed := map[string]bool{}
	for _, v := range vs {
		for cond, o := range map[string]grade.Outcome{"before": v.Before, "after": v.After} {
			for id, st := range o.Tests {
				k := cond + ":" + id
				if prev, ok := seen[k]; ok && prev != st {
					changed[k] = true
				}
				seen[k] = st
			}
		}
	}
	out.FlakyTests = slices.Sorted(maps.Keys(changed))
	out.Flaky = (out.ValidRuns > 0 && out.ValidRuns < out.Runs) || len(out.FlakyTests) > 0
	out.Valid = out.ValidRuns == out.Runs
	if out.Flaky {
		out.Reason = fmt.Sprintf("flaky: valid in %d of %d runs", out.ValidRuns, out.Runs)
		if len(out.FlakyTests) > 0 {
			out.Reason += fmt.Sprintf("; tests whose outcome changed: %v", out.FlakyTests)
		}
		out.Valid = false
	}
	return out
}

func validateOne(ctx context.Context, p *prepared, opts ValidateOptions, w Worker, task benchmarks.Task) Validity {
	v := Validity{InstanceID: task.ID}
	before := opts.Grade
	before.SkipModelPatch = true
	var err error
	v.Before, err = gradeInFreshSandbox(ctx, p, opts.RunID, w, task, "", before)
	if err != nil || v.Before.Infra {
		v.Reason = "test patch only: " + cmp.Or(v.Before.Error, errString(err))
		return v
	}
	if task.Patch == "" {
		v.Reason = "task has no gold patch"
		return v
	}
	v.After, err = gradeInFreshSandbox(ctx, p, opts.RunID, w, task, task.Patch, opts.Grade)
	if err != nil || v.After.Infra {
		v.Reason = "gold patch: " + cmp.Or(v.After.Error, errString(err))
		return v
	}
	if task.Kind == benchmarks.KindOpenSWE {
		switch {
		case v.Before.TestExitCode == nil || *v.Before.TestExitCode == 0:
			v.Reason = "test patch only: OPENSWE_EXIT_CODE is 0, the tests do not detect the bug"
		case v.After.TestExitCode == nil || *v.After.TestExitCode != 0:
			v.Reason = fmt.Sprintf("gold patch: OPENSWE_EXIT_CODE is %s, want 0", exitString(v.After.TestExitCode))
		default:
			v.Valid = true
		}
		return v
	}
	if ts := v.Before.TestsStatus; ts != nil && len(ts.FailToPass.Success) > 0 {
		v.Reason = fmt.Sprintf("test patch only: FAIL_TO_PASS already pass: %v", ts.FailToPass.Success)
		return v
	}
	if v.After.Status != result.StatusResolved {
		reason := "gold patch does not resolve the instance"
		if ts := v.After.TestsStatus; ts != nil {
			reason += fmt.Sprintf(": failing FAIL_TO_PASS %v, failing PASS_TO_PASS %v", ts.FailToPass.Failure, ts.PassToPass.Failure)
		}
		if v.After.Error != "" {
			reason += " (" + v.After.Error + ")"
		}
		v.Reason = reason
		return v
	}
	v.Valid = true
	return v
}

// forEach runs fn over jobs on workers goroutines, each with its own
// cpuset; it stops handing out jobs when ctx is cancelled.
func forEach(ctx context.Context, workers int, jobs []Job, fn func(context.Context, Worker, Job)) error {
	queue := make(chan Job)
	done := make(chan struct{})
	for i := range workers {
		w := newWorker(i)
		go func() {
			defer func() { done <- struct{}{} }()
			for j := range queue {
				fn(ctx, w, j)
			}
		}()
	}
loop:
	for _, j := range jobs {
		select {
		case queue <- j:
		case <-ctx.Done():
			break loop
		}
	}
	close(queue)
	for range workers {
		<-done
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func exitString(code *int) string {
	if code == nil {
		return "missing"
	}
	return fmt.Sprint(*code)
}

// TaskImage builds (or finds) every layer task needs and returns the image
// to start its containers from.
func (e Environment) TaskImage(ctx context.Context, task benchmarks.Task) (string, error) {
	p, err := e.prepare(ctx)
	if err != nil {
		return "", err
	}
	return p.imageFor(ctx, task)
}

// EnvImage builds (or finds) the base and env layers and returns the env
// image: what a task's own layers are built on, without any task inside.
func (e Environment) EnvImage(ctx context.Context) (string, error) {
	p, err := e.prepare(ctx)
	if err != nil {
		return "", err
	}
	env, err := p.envRef(ctx)
	return env.Tag, err
}
