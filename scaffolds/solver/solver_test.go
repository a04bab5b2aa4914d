package solver

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
	"github.com/sweval/sweval/leakage/audit"
	"github.com/sweval/sweval/scaffolds/agent"
	"github.com/sweval/sweval/scaffolds/model"
	"github.com/sweval/sweval/scaffolds/replay"
	"github.com/sweval/sweval/scaffolds/tools"
)

type rulesOnly struct{}

func (rulesOnly) Auditor(task benchmarks.Task) *audit.Auditor {
	return audit.New(audit.ConfigFor(&task))
}

func fenced(command string) replay.Reply {
	return replay.Reply{Content: "DISCUSSION\nnext\n\n```bash\n" + command + "\n```\n"}
}

// TestSolveInRealContainer runs the Solver as `sweval run` wires it, in a
// real locked-down container, against the replay server through the real
// go-openai client: both shells, guard on and off, audit flags attached.
func TestSolveInRealContainer(t *testing.T) {
	img := testenv.BaseImage(t)
	rt := sandbox.NewDocker(testenv.Docker(t), sandbox.Options{})
	task := benchmarks.Task{ID: "demo__calc-1", Kind: benchmarks.KindSWEBench, ProblemStatement: "add is wrong"}
	script := replay.Script{Instances: map[string][]replay.Reply{task.ID: {
		fenced("mkdir -p /testbed && cd /testbed && echo hi-from-$((40+2))"),
		fenced("git clone https://github.com/demo/calc /tmp/calc"),
		fenced("submit"),
	}}}
	for _, tc := range []struct {
		name           string
		execPerCommand bool
		guard          bool
		wantRefusals   int
	}{
		{"session/guarded", false, true, 1},
		{"exec-per-command/unguarded", true, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			srv, err := replay.New(replay.Config{Script: script})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv.Handler())
			defer ts.Close()
			m, err := model.NewOpenAI(model.Config{BaseURL: ts.URL + "/v1", Model: "replay-model",
				LookupEnv: func(string) (string, bool) { return "", false }, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			loop, err := agent.New(agent.Config{Scaffold: string(agent.SWEAgent), Model: "replay-model"})
			if err != nil {
				t.Fatal(err)
			}
			sb, err := rt.Create(ctx, sandbox.Spec{Image: img, RunID: "solver-it", Task: task.ID, Labels: map[string]string{"sweval.managed": "1"}})
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Close(context.WithoutCancel(ctx))

			s := &Solver{Loop: loop, Model: m, ExecPerCommand: tc.execPerCommand, Guard: tc.guard, Auditors: rulesOnly{}, Shell: tools.SessionOptions{}}
			out := s.Solve(ctx, sb, task, 0)
			if out.Err != nil || out.Trajectory == nil {
				t.Fatalf("Solve: %v (trajectory %v)", out.Err, out.Trajectory != nil)
			}
			tr := out.Trajectory
			if tr.ExitStatus != agent.ExitSubmitted || len(tr.Steps) != 3 {
				t.Fatalf("exit %s after %d steps", tr.ExitStatus, len(tr.Steps))
			}
			if obs := tr.Steps[0].Actions[0].Observation; !strings.Contains(obs, "hi-from-42") {
				t.Errorf("the shell did not run the command: %q", obs)
			}
			if tr.GuardRefusals != tc.wantRefusals {
				t.Errorf("guard refusals %d, want %d", tr.GuardRefusals, tc.wantRefusals)
			}
			flagged := false
			for _, f := range out.AuditFlags {
				flagged = flagged || strings.HasPrefix(f, "guard:")
			}
			if !flagged {
				t.Errorf("audit flags %v: the git clone is not flagged", out.AuditFlags)
			}
		})
	}
}
