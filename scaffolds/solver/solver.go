package solver

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/run"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/leakage/audit"
	"github.com/sweval/sweval/leakage/guard"
	"github.com/sweval/sweval/scaffolds/agent"
	"github.com/sweval/sweval/scaffolds/model"
	"github.com/sweval/sweval/scaffolds/tools"
	"github.com/sweval/sweval/scaffolds/trajectory"
)

// Auditors hand out each task's trajectory auditor (*doc2repo.Hooks: the
// rules plus the reference's fingerprints).
type Auditors interface {
	Auditor(task benchmarks.Task) *audit.Auditor
}

// Solver is a run.Agent: one scaffold loop against one model.
type Solver struct {
	Loop  *agent.Loop
	Model model.Model
	// ExecPerCommand runs one exec per command instead of the persistent
	// bash session.
	ExecPerCommand bool
	Shell          tools.SessionOptions
	// Guard refuses git clone/fetch/pull, history digging and reference
	// downloads.
	Guard bool
	// Judge, when set, is the optional LLM judge run after the rules.
	Judge    *audit.Judge
	Auditors Auditors
	Logger   *slog.Logger
}

// Solve runs one rollout in sb; see run.Agent.
func (a *Solver) Solve(ctx context.Context, sb sandbox.Sandbox, task benchmarks.Task, rollout int) run.AgentRun {
	var shell tools.Shell
	if a.ExecPerCommand {
		shell = tools.NewExecShell(sb, a.Shell)
	} else {
		s, err := tools.NewSession(ctx, sb, a.Shell)
		if err != nil {
			return run.AgentRun{ExitStatus: agent.ExitEnvError, Err: err}
		}
		shell = s
	}
	defer shell.Close()
	env := agent.Env{Shell: shell, Editor: tools.NewEditor(sb, tools.EditorOptions{})}
	if a.Guard {
		env.Guard = guard.New(guard.Config{Packages: task.Protected().Dists})
	}
	// The task's own runner files (its pytest.ini, tox.ini, conftest.py),
	// listed before the agent starts, are not the agent's edits.
	shipped, serr := audit.Shipped(ctx, sb, task.Workdir())
	if serr != nil {
		a.logger().Warn("could not list the task's shipped runner files; edits to them are audited as the agent's", "instance", task.ID, "err", serr)
	}
	traj, err := a.Loop.Run(ctx, a.Model, env, task, rollout)
	flags := a.Auditors.Auditor(task).WithShipped(shipped).Audit(&traj)
	names := audit.Names(flags)
	var files map[string][]byte
	if a.Judge != nil && ctx.Err() == nil {
		verdict, jerr := a.judgeRollout(ctx, task, &traj, flags)
		if jerr != nil {
			a.logger().Warn("LLM judge failed; the rule flags stand alone", "instance", task.ID, "err", jerr)
			names = append(names, "judge:error")
		} else if verdict.Verdict != audit.VerdictClean {
			names = append(names, "judge:"+verdict.Verdict)
		}
		if data, err := json.MarshalIndent(verdict, "", " "); err == nil {
			files = map[string][]byte{"judge.json": data}
		}
	}
	out := run.AgentRun{Trajectory: &traj, AuditFlags: names, Files: files}
	if err != nil && ctx.Err() == nil {
		out.Err = err
	}
	return out
}

// judgeRollout asks the LLM judge about one trajectory, telling it what the
// agent was asked.
func (a *Solver) judgeRollout(ctx context.Context, task benchmarks.Task, traj *trajectory.Trajectory, flags []audit.Flag) (audit.Verdict, error) {
	j := *a.Judge
	j.Task = task.ProblemStatement
	if task.Doc2Repo != nil {
		j.Task = task.Doc2Repo.Spec
	}
	return j.Judge(ctx, traj, flags)
}

func (a *Solver) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}
