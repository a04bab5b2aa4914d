package loop

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/internal/shell"
	"github.com/sweval/sweval/scaffolds/model"
	"github.com/sweval/sweval/scaffolds/trajectory"
)

// Protocol is what differs between scaffolds: the tools offered, the
// opening messages, and how a reply becomes actions and observations.
type Protocol interface {
	// Name is the scaffold's name, recorded in the trajectory.
	Name() string
	// Tools are offered on every call (nil for a text protocol).
	Tools() []trajectory.Tool
	// Start returns the opening messages (system, first user).
	Start(task TaskData) ([]trajectory.Message, error)
	// Step parses reply, runs its actions through rt and returns what to
	// append to the conversation after the assistant message. An error
	// means the environment is broken.
	Step(ctx context.Context, rt *Runtime, reply trajectory.Message) (Outcome, error)
}

// Outcome is what one reply produced.
type Outcome struct {
	// Messages follow the assistant message (tool results, observations,
	// nudges, format-error re-asks).
	Messages []trajectory.Message
	Actions  []trajectory.Action
	// FormatError is set when the reply could not be parsed into an action.
	FormatError string
	// Submitted ends the rollout with exit submitted.
	Submitted bool
}

// DefaultSetup runs before the first step: work in the repository, never
// page, never open an editor (nothing can type into them).
func DefaultSetup(repoPath string) string {
	return "cd " + shell.Quote(repoPath) + " 2>/dev/null; export PAGER=cat GIT_PAGER=cat MANPAGER=cat SYSTEMD_PAGER= GIT_EDITOR=true EDITOR=true VISUAL=true PIP_PROGRESS_BAR=off TERM=dumb"
}

// Run drives one rollout of task with protocol p and returns its
// trajectory. Every exit path returns a trajectory with ExitStatus set;
// the error is non-nil only when the environment broke (env_error) or the
// caller cancelled ctx (cancelled). Model failures after retries end the
// rollout with model_error and a nil error.
func Run(ctx context.Context, m model.Model, env Env, task benchmarks.Task, rollout int, cfg Config, p Protocol) (trajectory.Trajectory, error) {
	cfg = cfg.withDefaults()
	start := cfg.Now()
	traj := trajectory.Trajectory{
		InstanceID: task.ID,
		Rollout:    rollout,
		Model:      cfg.Model,
		Scaffold:   p.Name(),
		Tools:      p.Tools(),
		Steps:      []trajectory.Step{},
	}
	if traj.Model == "" {
		if n, ok := m.(interface{ Name() string }); ok {
			traj.Model = n.Name()
		}
	}
	log := cfg.Logger.With("instance", task.ID, "rollout", rollout, "scaffold", p.Name())
	finish := func(status string, err error) (trajectory.Trajectory, error) {
		traj.ExitStatus = status
		traj.WallSeconds = cfg.Now().Sub(start).Seconds()
		log.Info("rollout finished", "exit", status, "steps", len(traj.Steps),
			"prompt_tokens", traj.PromptTokens, "completion_tokens", traj.CompletionTokens, "err", err)
		return traj, err
	}
	if env.Shell == nil {
		return finish(ExitEnvError, errors.New("agent: Env.Shell is nil: the harness must open a shell session in the sandbox"))
	}

	runCtx := ctx
	if cfg.WallTime > 0 {
		var cancel context.CancelFunc
		// A real-time hard stop for calls in flight; the step check below
		// uses cfg.Now so tests can drive it.
		runCtx, cancel = context.WithTimeout(ctx, cfg.WallTime)
		defer cancel()
	}
	// stopped maps a context failure to the exit status it stands for.
	stopped := func(err error) (trajectory.Trajectory, error) {
		if ctx.Err() != nil {
			return finish(ExitCancelled, fmt.Errorf("agent: rollout cancelled: %w", ctx.Err()))
		}
		if runCtx.Err() != nil {
			return finish(ExitTimeLimit, nil)
		}
		return finish(ExitEnvError, err)
	}

	repo := RepoPathFor(task, cfg)
	rt := &Runtime{env: env, cfg: cfg, traj: &traj}
	setup := cfg.SetupCommand
	if setup == "" {
		setup = DefaultSetup(repo)
	}
	if _, err := env.Shell.Run(runCtx, setup, cfg.CommandTimeout); err != nil {
		return stopped(fmt.Errorf("agent: shell setup failed (is the sandbox running?): %w", err))
	}

	msgs, err := p.Start(NewTaskData(task, repo))
	if err != nil {
		return finish(ExitEnvError, fmt.Errorf("agent: render prompts: %w", err))
	}
	var (
		formatStreak int
		signatures   []string
		costKnown    = true
	)
	for {
		switch {
		case len(traj.Steps) >= cfg.MaxSteps:
			return finish(ExitStepLimit, nil)
		case cfg.MaxTokens > 0 && traj.PromptTokens+traj.CompletionTokens >= cfg.MaxTokens:
			return finish(ExitTokenLimit, nil)
		case cfg.MaxCost > 0 && traj.Cost != nil && *traj.Cost >= cfg.MaxCost:
			return finish(ExitCostLimit, nil)
		case cfg.WallTime > 0 && cfg.Now().Sub(start) >= cfg.WallTime:
			return finish(ExitTimeLimit, nil)
		case runCtx.Err() != nil:
			return stopped(runCtx.Err())
		}

		sent := Elide(msgs, cfg.HistoryLastN)
		t0 := cfg.Now()
		resp, err := m.Complete(runCtx, model.Request{
			Messages: sent, Tools: traj.Tools, InstanceID: task.ID, Rollout: rollout,
		})
		latency := cfg.Now().Sub(t0).Seconds()
		if err != nil {
			switch {
			case errors.Is(err, model.ErrContextExceeded):
				log.Info("context window exceeded", "err", err)
				traj.Final = sent
				return finish(ExitContextExceeded, nil)
			case runCtx.Err() != nil:
				return stopped(err)
			default:
				log.Warn("model call failed after retries", "err", err)
				traj.Final = sent
				traj.ModelError = err.Error()
				return finish(ExitModelError, nil)
			}
		}
		reply := resp.Message
		reply.Role = "assistant"
		// Some servers omit tool-call ids; results must reference one.
		reply.ToolCalls = append([]trajectory.ToolCall(nil), reply.ToolCalls...)
		for j := range reply.ToolCalls {
			if reply.ToolCalls[j].ID == "" {
				reply.ToolCalls[j].ID = fmt.Sprintf("call_%d_%d", len(traj.Steps), j)
			}
			if reply.ToolCalls[j].Type == "" {
				reply.ToolCalls[j].Type = "function"
			}
		}
		msgs = append(msgs, reply)

		out, err := p.Step(runCtx, rt, reply)
		step := trajectory.Step{
			Messages:         sent,
			Response:         resp.Message,
			Actions:          out.Actions,
			PromptTokens:     resp.PromptTokens,
			CompletionTokens: resp.CompletionTokens,
			LatencySeconds:   latency,
			FormatError:      out.FormatError,
		}
		traj.Steps = append(traj.Steps, step)
		traj.PromptTokens += resp.PromptTokens
		traj.CompletionTokens += resp.CompletionTokens
		if resp.Cost == nil {
			costKnown = false
			traj.Cost = nil
		} else if costKnown {
			c := *resp.Cost
			if traj.Cost != nil {
				c += *traj.Cost
			}
			traj.Cost = &c
		}
		traj.Final = append(append([]trajectory.Message(nil), sent...), reply)
		if err != nil {
			return stopped(fmt.Errorf("agent: tool execution failed (the sandbox may be gone): %w", err))
		}
		msgs = append(msgs, out.Messages...)

		if out.Submitted {
			return finish(ExitSubmitted, nil)
		}
		if out.FormatError != "" {
			traj.FormatErrors++
			formatStreak++
			if formatStreak > cfg.MaxFormatErrors {
				return finish(ExitFormatErrors, nil)
			}
		} else {
			formatStreak = 0
		}
		if rt.consecutiveTimeouts >= cfg.MaxConsecutiveTimeouts {
			return finish(ExitTimeouts, nil)
		}
		if cfg.StuckRepeats > 0 {
			signatures = append(signatures, signature(reply, out.Actions))
			if stuck(signatures, cfg.StuckRepeats) {
				return finish(ExitStuck, nil)
			}
		}
	}
}

// signature identifies a step for stuck detection: the reply's actions
// (not call ids, which differ every time) and what they produced.
func signature(reply trajectory.Message, actions []trajectory.Action) string {
	var b strings.Builder
	b.WriteString(reply.Content)
	for _, tc := range reply.ToolCalls {
		b.WriteString("\x00" + tc.Function.Name + "\x00" + tc.Function.Arguments)
	}
	for _, a := range actions {
		b.WriteString("\x01" + a.Tool + "\x00" + a.Arguments + "\x00" + a.Observation)
	}
	return b.String()
}

func stuck(sigs []string, n int) bool {
	if len(sigs) < n {
		return false
	}
	last := sigs[len(sigs)-1]
	for _, s := range sigs[len(sigs)-n:] {
		if s != last {
			return false
		}
	}
	return true
}
