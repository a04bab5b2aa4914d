package main

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

// scaffoldAgent adapts a scaffold loop to the harness's Agent seam: it
// opens the tools in the sandbox, guards the shell, runs the loop and
// audits the trajectory.
type scaffoldAgent struct {
	loop      *agent.Loop
	model     model.Model
	execShell bool // one docker exec per command instead of the session
	shellOpts tools.SessionOptions
	guard     bool
	// judge, when set, is the optional LLM judge run after the rules.
	judge *audit.Judge
	// auditors hand out each task's trajectory auditor (the Doc2Repo
	// hooks: the rules plus the reference's fingerprints).
	auditors interface {
		Auditor(task benchmarks.Task) *audit.Auditor
	}
	log *slog.Logger
}

func (a *scaffoldAgent) Solve(ctx context.Context, sb sandbox.Sandbox, task benchmarks.Task, rollout int) run.AgentRun {
	var shell tools.Shell
	if a.execShell {
		shell = tools.NewExecShell(sb, a.shellOpts)
	} else {
		s, err := tools.NewSession(ctx, sb, a.shellOpts)
		if err != nil {
			return run.AgentRun{ExitStatus: agent.ExitEnvError, Err: err}
		}
		shell = s
	}
	defer shell.Close()
	env := agent.Env{Shell: shell, Editor: tools.NewEditor(sb, tools.EditorOptions{})}
	if a.guard {
		env.Guard = guard.New(guard.Config{Packages: task.Protected().Dists})
	}
	traj, err := a.loop.Run(ctx, a.model, env, task, rollout)
	flags := a.auditors.Auditor(task).Audit(&traj)
	names := audit.Names(flags)
	var files map[string][]byte
	if a.judge != nil && ctx.Err() == nil {
		verdict, jerr := a.judgeRollout(ctx, task, &traj, flags)
		if jerr != nil {
			a.log.Warn("LLM judge failed; the rule flags stand alone", "instance", task.ID, "err", jerr)
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
func (a *scaffoldAgent) judgeRollout(ctx context.Context, task benchmarks.Task, traj *trajectory.Trajectory, flags []audit.Flag) (audit.Verdict, error) {
	j := *a.judge
	j.Task = task.ProblemStatement
	if task.Doc2Repo != nil {
		j.Task = task.Doc2Repo.Spec
	}
	return j.Judge(ctx, traj, flags)
}
