package doc2repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/images"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/run"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/leakage/audit"
	"github.com/sweval/sweval/leakage/fingerprint"
	"github.com/sweval/sweval/leakage/purge"
)

// HooksOptions configure Hooks.
type HooksOptions struct {
	// RunID labels the grading containers.
	RunID string
	// CalibrationDir caches the automatic calibrations of tasks that name
	// no declared test ids, one file per content key (reference, hidden
	// tests, environment image); "" keeps them for this process only.
	CalibrationDir string
	// BaseImage names the environment image before any task's reference
	// is installed (run.Environment.EnvImage). When set, files
	// byte-identical to one of it are not leaks (purge.BaseHashes): they
	// were in every task's environment.
	BaseImage func(ctx context.Context) (string, error)
	Logger    *slog.Logger
}

// Hooks plug Doc2Repo into the rollout pipeline (run.KindHooks): purge the
// workspace and prove it leak-free before the agent starts, capture the
// workspace (diff + archive), score passed/declared in a fresh container
// pinned to the worker's CPU. They also hand the agent its trajectory
// auditor. The reference fingerprint index is built once per task and
// shared by the purge verification and the audit of every rollout.
type Hooks struct {
	rt   sandbox.Runtime
	opts HooksOptions

	mu      sync.Mutex
	indexes map[string]*taskIndex
	purged  map[string]*purgedImage // task id → its own image, purged and committed
	cal     *autoCal

	baseOnce sync.Once
	base     map[fingerprint.ContentHash]bool
}

// taskIndex is one task's fingerprint index, built on first use; allow
// marks the base image's files allowed in it, once.
type taskIndex struct {
	once  sync.Once
	ix    *fingerprint.Index
	err   error
	allow sync.Once
}

// baseHashes hashes the base image's files once per Hooks (every task
// shares the environment). Without them the leak scan still runs, only
// stricter, so a failure is logged, not fatal.
func (h *Hooks) baseHashes(ctx context.Context) map[fingerprint.ContentHash]bool {
	h.baseOnce.Do(func() {
		if h.opts.BaseImage == nil {
			return
		}
		hs, err := func() (map[fingerprint.ContentHash]bool, error) {
			img, err := h.opts.BaseImage(ctx)
			if err != nil {
				return nil, err
			}
			sb, err := h.rt.Create(ctx, sandbox.Spec{Image: img, RunID: h.opts.RunID, Task: "base-hashes", Workdir: "/"})
			if err != nil {
				return nil, err
			}
			defer sb.Close(context.WithoutCancel(ctx))
			return purge.BaseHashes(ctx, sb, 16<<20)
		}()
		if err != nil {
			h.opts.Logger.Warn("could not hash the base image's files; files shared with it may be reported as leaks", "err", err)
			return
		}
		h.base = hs
	})
	return h.base
}

// NewHooks returns the Doc2Repo hooks grading in containers of rt.
func NewHooks(rt sandbox.Runtime, opts HooksOptions) *Hooks {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hooks{rt: rt, opts: opts, indexes: map[string]*taskIndex{}, purged: map[string]*purgedImage{}, cal: &autoCal{dir: opts.CalibrationDir, keys: map[string]*calEntry{}}}
}

// Kinds is the wiring a run needs: the hooks under the Doc2Repo kind.
func (h *Hooks) Kinds() map[benchmarks.Kind]run.KindHooks {
	return map[benchmarks.Kind]run.KindHooks{benchmarks.KindDoc2Repo: {
		Prepare: h, Capture: h, Score: h,
		// The task image has the reference installed: grade without it,
		// in the env layer, or a task's own image after the purge.
		GradeOnEnv: true, GradeIn: h,
	}}
}

// Index is task's reference fingerprint index, built once per task (the
// reference is walked and hashed only the first time).
func (h *Hooks) Index(task *benchmarks.Task) (*fingerprint.Index, error) {
	h.mu.Lock()
	ti, ok := h.indexes[task.ID]
	if !ok {
		ti = &taskIndex{}
		h.indexes[task.ID] = ti
	}
	h.mu.Unlock()
	ti.once.Do(func() { ti.ix, ti.err = purge.IndexFor(task, fingerprint.Options{}) })
	return ti.ix, ti.err
}

// Prepare purges the workspace and proves it free of reference code.
func (h *Hooks) Prepare(ctx context.Context, sb sandbox.Sandbox, task benchmarks.Task) error {
	cfg, err := purge.ConfigFor(&task)
	if err != nil {
		return err
	}
	ix, err := h.Index(&task)
	if err != nil {
		return err
	}
	h.mu.Lock()
	ti := h.indexes[task.ID]
	h.mu.Unlock()
	// Before the first scan of this task's workspace, and before any
	// audit of its rollouts reads the index.
	ti.allow.Do(func() {
		if hs := h.baseHashes(ctx); len(hs) > 0 {
			ix.AllowHashes(hs)
		}
	})
	_, err = purge.PrepareAndVerify(ctx, sb, cfg, ix)
	return err
}

// Capture takes the workspace out: its diff and a tar of it.
func (h *Hooks) Capture(ctx context.Context, sb sandbox.Sandbox, task benchmarks.Task, _ string) (run.Submission, error) {
	sub, err := Capture(ctx, sb, task.Workdir())
	return run.Submission{Patch: sub.Patch, Archive: sub.Archive}, err
}

// Score grades the submission in a fresh container of image on the
// worker's CPU; the verdict keeps tests.json beside the rollout. A task
// that names no declared test ids is calibrated on its reference first
// (once per task content and image) and scored on the ids that pass there.
func (h *Hooks) Score(ctx context.Context, w run.Worker, image string, task benchmarks.Task, sub run.Submission) (result.Verdict, error) {
	opts := Options{Image: image, RunID: h.opts.RunID, CpusetCpus: w.Cpuset, Logger: h.opts.Logger}
	task, note, err := h.calibrated(ctx, task, opts)
	if err != nil && !errors.Is(err, errNoReference) {
		return result.Verdict{Status: result.StatusError, Error: err.Error()}, err
	}
	v, rep, err := Grade(ctx, h.rt, &task, Submission{Patch: sub.Patch, Archive: sub.Archive}, opts)
	rep.Calibration = note
	if data, jerr := json.MarshalIndent(rep, "", " "); jerr == nil {
		v.Files = map[string][]byte{"tests.json": data}
	}
	if v.Status == "" && err == nil {
		v.Status = result.StatusUnresolved
	}
	return v, err
}

// Auditor audits a task's trajectories; for a Doc2Repo task it also
// matches every observation against the reference's fingerprints (the
// index Prepare used). A task whose index cannot be built is audited by
// the rules alone; Prepare has already failed its rollout.
func (h *Hooks) Auditor(task benchmarks.Task) *audit.Auditor {
	cfg := audit.ConfigFor(&task)
	if task.Doc2Repo != nil {
		if ix, err := h.Index(&task); err == nil {
			cfg.Index = ix
		} else {
			h.opts.Logger.Debug("no fingerprint index for the audit", "instance", task.ID, "err", err)
		}
	}
	return audit.New(cfg)
}

// GuardPackages are the names the agent's shell guard protects for task.
func GuardPackages(task benchmarks.Task) []string { return task.Protected().Dists }

// purgedImage is a task's own image after the purge, made once per run.
type purgedImage struct {
	once sync.Once
	tag  string
	err  error
}

// LayerGraded labels the commit of a task's own image after the purge.
const LayerGraded = "doc2repo-graded"

// GradeImage grades a task that names its own image (DeNovoSWE's image,
// whose dependencies sweval's env layer lacks) in that image after the
// same purge the agent's container had: once per task and run, a container
// of the image is purged and proven free of the reference
// (purge.PrepareAndVerify, as Prepare does), then committed, and the
// grading containers start from the commit. Tasks without an image of
// their own are declined: they grade in the env layer, which has their
// dependencies and not the reference.
func (h *Hooks) GradeImage(ctx context.Context, task benchmarks.Task, image string) (string, bool, error) {
	if task.Doc2Repo == nil || task.Doc2Repo.Image == "" {
		return "", false, nil
	}
	h.mu.Lock()
	p := h.purged[task.ID]
	if p == nil {
		p = &purgedImage{}
		h.purged[task.ID] = p
	}
	h.mu.Unlock()
	p.once.Do(func() { p.tag, p.err = h.purgeAndCommit(ctx, task, image) })
	if p.err != nil {
		return "", false, p.err
	}
	return p.tag, true, nil
}

func (h *Hooks) purgeAndCommit(ctx context.Context, task benchmarks.Task, image string) (string, error) {
	sb, err := h.rt.Create(ctx, sandbox.Spec{Image: image, RunID: h.opts.RunID, Task: task.ID, Workdir: task.Workdir()})
	if err != nil {
		return "", fmt.Errorf("doc2repo %s: start a container of its own image %s to purge for grading: %w", task.ID, image, err)
	}
	defer sb.Close(context.WithoutCancel(ctx))
	c, ok := sb.(sandbox.Committer)
	if !ok {
		return "", fmt.Errorf("doc2repo %s: grading in its own image %s needs a runtime whose sandboxes can be committed (docker and containerd can)", task.ID, image)
	}
	if err := h.Prepare(ctx, sb, task); err != nil {
		return "", fmt.Errorf("doc2repo %s: purge its own image %s for grading: %w", task.ID, image, err)
	}
	sum := sha256.Sum256([]byte(image + "\x00" + task.ID + "\x00" + h.opts.RunID))
	key := hex.EncodeToString(sum[:8])
	tag := "sweval/" + LayerGraded + ":" + key
	if _, err := c.Commit(ctx, tag, map[string]string{sandbox.LabelManaged: "1", images.LabelLayer: LayerGraded, images.LabelKey: key}); err != nil {
		return "", fmt.Errorf("doc2repo %s: %w", task.ID, err)
	}
	h.opts.Logger.Info("graded in the task's own image after the purge", "instance", task.ID, "image", image, "commit", tag)
	return tag, nil
}
