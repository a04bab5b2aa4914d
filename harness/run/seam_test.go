package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/images"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/run"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/reports/board"
	"github.com/sweval/sweval/scaffolds/trajectory"
)

// fakeImages builds nothing: every layer is a tag named after its input.
type fakeImages struct{}

func (fakeImages) Resolve(_ context.Context, image string) (images.Ref, error) {
	return images.Ref{Tag: image}, nil
}
func (fakeImages) Base(context.Context, images.BaseSpec) (images.Ref, error) {
	return images.Ref{Tag: "base"}, nil
}
func (fakeImages) Env(context.Context, images.Ref, images.EnvSpec) (images.Ref, error) {
	return images.Ref{Tag: "env"}, nil
}
func (fakeImages) Instance(_ context.Context, _ images.Ref, t benchmarks.Task, _ string) (images.Ref, error) {
	return images.Ref{Tag: "instance-" + t.ID}, nil
}
func (fakeImages) Digest(_ context.Context, image string) (string, error) {
	return "sha256:" + image, nil
}
func (fakeImages) Doc2Repo(_ context.Context, _ images.Ref, t benchmarks.Task) (images.Ref, error) {
	return images.Ref{Tag: "doc2repo-" + t.ID}, nil
}

// PublishedImage "has" every published image: the name the rule gives,
// with a digest named after it (the real twin is the registry test in
// harness/images).
func (fakeImages) PublishedImage(_ context.Context, t benchmarks.Task, p images.Published) (images.Ref, bool, error) {
	name := p.ImageFor(t)
	if name == "" {
		return images.Ref{}, false, nil
	}
	return images.Ref{Tag: name, Layer: images.LayerExternal, Digest: "sha256:" + name}, true, nil
}

// fakeRuntime records every sandbox spec; its sandboxes answer only
// `git -C <dir> rev-parse HEAD`, and only for the spec's workdir.
type fakeRuntime struct {
	mu    sync.Mutex
	specs []sandbox.Spec
}

func (rt *fakeRuntime) Create(_ context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.specs = append(rt.specs, spec)
	return &fakeSandbox{spec: spec}, nil
}

type fakeSandbox struct{ spec sandbox.Spec }

func (s *fakeSandbox) ID() string { return "fake-" + s.spec.Task }
func (s *fakeSandbox) Exec(_ context.Context, req sandbox.ExecRequest) (sandbox.ExecResult, error) {
	if slices.Equal(req.Cmd, []string{"git", "-C", s.spec.Workdir, "rev-parse", "HEAD"}) {
		return sandbox.ExecResult{Output: []byte(strings.Repeat("a", 40) + "\n")}, nil
	}
	return sandbox.ExecResult{ExitCode: 127, Output: []byte(fmt.Sprintf("fake sandbox: unexpected %q", req.Cmd))}, nil
}
func (s *fakeSandbox) Start(context.Context, sandbox.ExecRequest) (sandbox.Process, error) {
	return nil, fmt.Errorf("fake sandbox: no processes")
}
func (s *fakeSandbox) CopyIn(context.Context, string, io.Reader) error { return nil }
func (s *fakeSandbox) CopyOut(context.Context, string) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(nil)), nil
}
func (s *fakeSandbox) Close(context.Context) error { return nil }

// fakeKind is one kind's hooks: it captures a fixed patch and returns the
// verdict it was given, recording the worker it scored on.
type fakeKind struct {
	verdict  result.Verdict
	mu       sync.Mutex
	prepared []string
	cpusets  []string
}

func (k *fakeKind) Prepare(_ context.Context, _ sandbox.Sandbox, t benchmarks.Task) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.prepared = append(k.prepared, t.ID)
	return nil
}
func (k *fakeKind) Capture(context.Context, sandbox.Sandbox, benchmarks.Task, string) (run.Submission, error) {
	return run.Submission{Patch: "diff --git a/x b/x\n"}, nil
}
func (k *fakeKind) Score(_ context.Context, w run.Worker, _ string, _ benchmarks.Task, _ run.Submission) (result.Verdict, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cpusets = append(k.cpusets, w.Cpuset)
	return k.verdict, nil
}

// fakeAgent leaves nothing but an audit flag of its own.
type fakeAgent struct{}

func (fakeAgent) Solve(context.Context, sandbox.Sandbox, benchmarks.Task, int) run.AgentRun {
	return run.AgentRun{AuditFlags: []string{"pip_download"}, Trajectory: &trajectory.Trajectory{ExitStatus: "submitted", PromptTokens: 7}}
}

// TestRolloutsCarryEveryKindsVerdictUnchanged drives run.Rollouts through
// every kind's hooks and checks that each verdict — flags, PARTIAL/NO
// resolution, patch method, fraction — reaches results.jsonl (both
// decoders), the per-rollout and run report.json, and the board.
func TestRolloutsCarryEveryKindsVerdictUnchanged(t *testing.T) {
	exit1 := 1
	cases := []struct {
		kind    benchmarks.Kind
		task    benchmarks.Task
		verdict result.Verdict
		workdir string
	}{
		{
			kind: benchmarks.KindDoc2Repo,
			task: benchmarks.Task{ID: "d2r-partial", Kind: benchmarks.KindDoc2Repo, Doc2Repo: &benchmarks.Doc2Repo{Package: "pkg", Workdir: "/srv/app/"}},
			verdict: result.Verdict{Status: result.StatusUnresolved, Resolution: result.ResolvedPartial, PassFraction: 0.25, Passed: 1, Declared: 4,
				PatchMethod: "patch+archive", Flags: []string{"grade:conftest_py", "grade:sitecustomize"}, Error: "declared 4, ran 3",
				Log: "grading log", Files: map[string][]byte{"tests.json": []byte(`{"declared":4}`)}},
			workdir: "/srv/app",
		},
		{
			kind: benchmarks.KindSWEBench,
			task: benchmarks.Task{ID: "swe-no", Kind: benchmarks.KindSWEBench},
			verdict: result.Verdict{Status: result.StatusUnresolved, Resolution: result.ResolvedNo, PatchMethod: "git_apply",
				TestExitCode: &exit1, Flags: []string{"grade:test_edit"},
				TestsStatus: &result.TestsStatus{FailToPass: result.SuccessFailure{Failure: []string{"t1"}}}},
			workdir: benchmarks.DefaultWorkdir,
		},
		{
			kind:    benchmarks.KindOpenSWE,
			task:    benchmarks.Task{ID: "openswe-full", Kind: benchmarks.KindOpenSWE},
			verdict: result.Verdict{Status: result.StatusResolved, Resolution: result.ResolvedFull, PassFraction: 1, Strict: true, PatchMethod: "patch_fuzz"},
			workdir: benchmarks.DefaultWorkdir,
		},
	}
	kinds := map[benchmarks.Kind]run.KindHooks{}
	fakes := map[benchmarks.Kind]*fakeKind{}
	var tasks []benchmarks.Task
	for _, c := range cases {
		f := &fakeKind{verdict: c.verdict}
		fakes[c.kind] = f
		kinds[c.kind] = run.KindHooks{Prepare: f, Capture: f, Score: f}
		tasks = append(tasks, c.task)
	}
	dir := t.TempDir()
	rt := &fakeRuntime{}
	_, err := run.Rollouts(context.Background(), run.RolloutOptions{
		Options:     run.Options{Dir: dir, RunID: "seam"},
		Environment: run.Environment{Images: fakeImages{}, Runtime: rt},
		Model:       "m", Scaffold: "s", Benchmark: "b",
		Kinds: kinds,
	}, tasks, fakeAgent{})
	if err != nil {
		t.Fatal(err)
	}

	scanned := map[string]result.Result{}
	if _, err := result.ScanFile(filepath.Join(dir, "results.jsonl"), result.ScanOptions{}, func(r *result.Result) error {
		data, _ := json.Marshal(r) // deep copy: the scanner reuses r
		var kept result.Result
		if err := json.Unmarshal(data, &kept); err != nil {
			return err
		}
		scanned[r.InstanceID] = kept
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var runRep result.RunReport
	readJSON(t, filepath.Join(dir, "report.json"), &runRep)
	var meta run.Meta
	readJSON(t, filepath.Join(dir, "run.json"), &meta)
	wantImages := []run.ImageRecord{{Role: "base", Ref: "base", Digest: "sha256:base"}, {Role: "env", Ref: "env", Digest: "sha256:env"}}
	if !reflect.DeepEqual(meta.Images, wantImages) {
		t.Errorf("run.json images %+v, want %+v", meta.Images, wantImages)
	}
	b, err := board.Load(context.Background(), board.Options{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	flagged := 0
	for _, row := range b.Rows {
		flagged += row.Flagged
	}
	if flagged != len(cases) {
		t.Errorf("board counts %d flagged rollouts, want %d (every rollout carries flags)", flagged, len(cases))
	}

	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			var want result.Result
			c.verdict.Fill(&want)
			wantFlags := append([]string{"pip_download"}, c.verdict.Flags...)
			r, ok := scanned[c.task.ID]
			if !ok {
				t.Fatalf("no result line for %s", c.task.ID)
			}
			got := []struct {
				where string
				r     result.Result
			}{{"results.jsonl", r}}
			var inst map[string]result.InstanceReport
			readJSON(t, filepath.Join(run.RolloutDir(dir, c.task.ID, 0), "report.json"), &inst)
			got = append(got, struct {
				where string
				r     result.Result
			}{"report.json", inst[c.task.ID].Result})
			for _, g := range got {
				if g.r.Status != want.Status || g.r.Resolution != want.Resolution || g.r.PassFraction != want.PassFraction ||
					g.r.Strict != want.Strict || g.r.Passed != want.Passed || g.r.Declared != want.Declared ||
					g.r.PatchApplied != want.PatchApplied || g.r.Error != want.Error || g.r.Resolved != want.Resolved ||
					!reflect.DeepEqual(g.r.TestsStatus, want.TestsStatus) || !reflect.DeepEqual(g.r.TestExitCode, want.TestExitCode) {
					t.Errorf("%s: %+v\nwant the verdict's %+v", g.where, g.r, want)
				}
				if !slices.Equal(g.r.AuditFlags, wantFlags) {
					t.Errorf("%s: audit flags %v, want %v", g.where, g.r.AuditFlags, wantFlags)
				}
			}
			s := runRep.Instances[c.task.ID]
			if s.PassFraction != c.verdict.PassFraction || !slices.Equal(s.AuditFlags, wantFlags) ||
				(c.verdict.PatchMethod != "" && !slices.Equal(s.PatchApplied, []string{c.verdict.PatchMethod})) {
				t.Errorf("run report.json: %+v", s)
			}
			for name, data := range c.verdict.Files {
				if on, err := os.ReadFile(filepath.Join(run.RolloutDir(dir, c.task.ID, 0), name)); err != nil || !bytes.Equal(on, data) {
					t.Errorf("%s beside the rollout: %q, %v", name, on, err)
				}
			}
			f := fakes[c.kind]
			if !slices.Equal(f.prepared, []string{c.task.ID}) || len(f.cpusets) != 1 || f.cpusets[0] == "" {
				t.Errorf("hooks saw prepare %v, scored on cpusets %q (want the worker's)", f.prepared, f.cpusets)
			}
			for _, spec := range rt.specs {
				if spec.Task == c.task.ID && spec.Workdir != c.workdir {
					t.Errorf("sandbox of %s started in %q, want the task's workdir %q", c.task.ID, spec.Workdir, c.workdir)
				}
			}
		})
	}
	var boardRow *board.Row
	for i := range b.Rows {
		boardRow = &b.Rows[i]
	}
	if boardRow == nil || boardRow.PassFraction.Value <= 0 {
		t.Errorf("board: %+v", b.Rows)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// countingImages counts each task's published-image lookups; each takes a
// moment, as a pull does, so the prefetcher and the workers overlap.
type countingImages struct {
	fakeImages
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingImages) PublishedImage(ctx context.Context, t benchmarks.Task, p images.Published) (images.Ref, bool, error) {
	c.mu.Lock()
	c.calls[t.ID]++
	c.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	return c.fakeImages.PublishedImage(ctx, t, p)
}

// With --namespace, every task's image is looked up once (the prefetcher
// running ahead and the workers share it), no sweval layer is built,
// results name the image and digest, and run.json the name rule.
func TestPublishedImagesResolvedOnceAndRecorded(t *testing.T) {
	var tasks []benchmarks.Task
	for i := range 6 {
		tasks = append(tasks, benchmarks.Task{ID: fmt.Sprintf("owner__repo-%d", i), Kind: benchmarks.KindSWEBench})
	}
	imgs := &countingImages{calls: map[string]int{}}
	f := &fakeKind{verdict: result.Verdict{Status: result.StatusResolved, Resolution: result.ResolvedFull, PassFraction: 1, Strict: true}}
	dir := t.TempDir()
	pub := images.Published{Namespace: "127.0.0.1:5000/swebench", Arch: "x86_64"}
	_, err := run.Rollouts(context.Background(), run.RolloutOptions{
		Options:     run.Options{Dir: dir, RunID: "published", Workers: 2},
		Environment: run.Environment{Images: imgs, Runtime: &fakeRuntime{}, Published: pub},
		Model:       "m", Scaffold: "s", Benchmark: "b",
		Kinds: map[benchmarks.Kind]run.KindHooks{benchmarks.KindSWEBench: {Prepare: f, Capture: f, Score: f}},
	}, tasks, fakeAgent{})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		if n := imgs.calls[task.ID]; n != 1 {
			t.Errorf("%s: image looked up %d times, want 1", task.ID, n)
		}
	}
	n := 0
	if _, err := result.ScanFile(filepath.Join(dir, "results.jsonl"), result.ScanOptions{}, func(r *result.Result) error {
		n++
		want := images.SWEBenchImageName(pub.Namespace, "x86_64", "latest", r.InstanceID)
		if r.Image != want || r.ImageDigest != "sha256:"+want {
			t.Errorf("%s: image %q digest %q, want %s", r.InstanceID, r.Image, r.ImageDigest, want)
		}
		return nil
	}); err != nil || n != len(tasks) {
		t.Fatalf("%d results, %v", n, err)
	}
	var meta run.Meta
	readJSON(t, filepath.Join(dir, "run.json"), &meta)
	want := []run.ImageRecord{{Role: "published", Ref: "127.0.0.1:5000/swebench/sweb.eval.x86_64.{instance_id}:latest"}}
	if !reflect.DeepEqual(meta.Images, want) {
		t.Errorf("run.json images %+v, want %+v (no base/env built)", meta.Images, want)
	}
}
