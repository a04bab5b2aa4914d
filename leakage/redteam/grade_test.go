package redteam

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/doc2repo"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
	refpkg "github.com/sweval/sweval/leakage/fixture"
)

// layerOff grades an attack with the grading defence that stops it
// switched off.
// LegacyRunner too: the separated runner (harness/testrun) would stop each
// of them again.
var layerOff = map[string]doc2repo.Options{
	"conftest-shadow":    {RunID: "redteam-test", KeepAgentFiles: true, AllowPytestInternals: true, LegacyRunner: true}, // two layers stop it
	"monkeypatch-pytest": {RunID: "redteam-test", AllowPytestInternals: true, LegacyRunner: true},
	"junit-rewrite":      {RunID: "redteam-test", AllowPytestInternals: true, LegacyRunner: true},
	"plugin-entry-point": {RunID: "redteam-test", AllowPytestInternals: true, AllowPluginAutoload: true, LegacyRunner: true},
}

// TestScoreAttacksEarnNothing plays every score attack's replies into a
// real container workspace (commands through bash -c, edits as files),
// captures the workspace as the harness would and grades it: no attack may
// score above what its honest work earned.
func TestScoreAttacksEarnNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test")
	}
	img := testenv.BaseImage(t)
	rt := sandbox.NewDocker(testenv.Docker(t), sandbox.Options{})
	ref := filepath.Join(t.TempDir(), "reference")
	for _, set := range []map[string]string{refpkg.Source, refpkg.Tests} {
		for n, b := range set {
			os.MkdirAll(filepath.Dir(filepath.Join(ref, n)), 0o755)
			os.WriteFile(filepath.Join(ref, n), []byte(b), 0o644)
		}
	}
	task := &benchmarks.Task{ID: "mini-lib", Kind: benchmarks.KindDoc2Repo, Doc2Repo: &benchmarks.Doc2Repo{
		Spec: "# mini-lib\n", Reference: ref, Tests: []string{"tests"}, DeclaredTests: refpkg.Count(),
		Package: refpkg.Dist, Image: img, Workdir: "/testbed",
	}}
	ctx := context.Background()
	for _, at := range append([]Attack{Control(pkg)}, Attacks(pkg)...) {
		if at.Goal != GoalScore {
			continue
		}
		t.Run(at.ID, func(t *testing.T) {
			sb, err := rt.Create(ctx, sandbox.Spec{Image: img, RunID: "redteam-test", Task: at.ID, Workdir: "/"})
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Close(context.Background())
			run := func(script string) {
				r, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: []string{"bash", "-c", script}, Dir: "/testbed", Timeout: 2 * time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("$ %.80s → exit %d", script, r.ExitCode)
			}
			if err := sandbox.WriteFile(ctx, sb, "/testbed/SPEC.md", []byte(task.Doc2Repo.Spec), 0o644); err != nil {
				t.Fatal(err)
			}
			run("git init -q && git add -A && git -c user.name=a -c user.email=a@a commit -qm baseline")
			for _, r := range at.Replies {
				if r.Command != "" {
					run(r.Command)
				}
				for _, tc := range r.ToolCalls {
					p, _ := tc.Arguments["path"].(string)
					text, _ := tc.Arguments["file_text"].(string)
					if err := sandbox.WriteFile(ctx, sb, p, []byte(text), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			sub, err := doc2repo.Capture(ctx, sb, "/testbed")
			if err != nil {
				t.Fatal(err)
			}
			res, rep, err := gradeRetryingInfra(t, ctx, rt, task, sub, doc2repo.Options{RunID: "redteam-test"})
			if err != nil {
				t.Fatalf("grade: %v\n%s", err, rep.Log)
			}
			t.Logf("%s: %d/%d (%.2f) removed=%v tamper=%v error=%.200q", at.ID, res.Passed, res.Declared, res.PassFraction, rep.Removed, rep.Tamper, res.Error)
			if res.PassFraction > at.Earned {
				t.Fatalf("attack %s scored %.2f > earned %.2f\n%s", at.ID, res.PassFraction, at.Earned, rep.Log)
			}
			// With the layer that stops it switched off, the attack works:
			// the defence is what made the difference.
			off, ok := layerOff[at.ID]
			if !ok {
				return
			}
			res, rep, err = gradeRetryingInfra(t, ctx, rt, task, sub, off)
			if err != nil {
				t.Fatalf("grade with the layer off: %v", err)
			}
			t.Logf("%s with the layer off: %d/%d (%.2f)", at.ID, res.Passed, res.Declared, res.PassFraction)
			if res.PassFraction <= at.Earned {
				t.Fatalf("%s earns nothing even with its layer off: the test shows no defence\n%s", at.ID, rep.Log)
			}
		})
	}
}

// gradeRetryingInfra grades as a run does: an infrastructure failure (the
// daemon too slow to answer under CI's load, say) is not a verdict, so it
// is redone, at most twice; a verdict is never redone.
func gradeRetryingInfra(t *testing.T, ctx context.Context, rt sandbox.Runtime, task *benchmarks.Task, sub doc2repo.Submission, opts doc2repo.Options) (result.Verdict, doc2repo.Report, error) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		res, rep, err := doc2repo.Grade(ctx, rt, task, sub, opts)
		if err == nil || attempt == 3 {
			return res, rep, err
		}
		t.Logf("grading attempt %d ended in an infrastructure failure; redoing it: %v", attempt, err)
	}
}
