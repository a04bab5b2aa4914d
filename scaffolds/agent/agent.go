package agent

import (
	"context"
	"fmt"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/scaffolds/agent/loop"
	"github.com/sweval/sweval/scaffolds/model"
	"github.com/sweval/sweval/scaffolds/openhands"
	"github.com/sweval/sweval/scaffolds/sweagent"
	"github.com/sweval/sweval/scaffolds/trajectory"
)

// Config, Env and the exit statuses are the loop's; aliased so callers
// need only this package.
type (
	Config = loop.Config
	Env    = loop.Env
)

// Exit statuses (Trajectory.ExitStatus).
const (
	ExitSubmitted       = loop.ExitSubmitted
	ExitStepLimit       = loop.ExitStepLimit
	ExitTokenLimit      = loop.ExitTokenLimit
	ExitCostLimit       = loop.ExitCostLimit
	ExitTimeLimit       = loop.ExitTimeLimit
	ExitContextExceeded = loop.ExitContextExceeded
	ExitFormatErrors    = loop.ExitFormatErrors
	ExitTimeouts        = loop.ExitTimeouts
	ExitStuck           = loop.ExitStuck
	ExitModelError      = loop.ExitModelError
	ExitEnvError        = loop.ExitEnvError
	ExitCancelled       = loop.ExitCancelled

	DefaultMaxSteps = loop.DefaultMaxSteps
)

// Scaffold names an agent loop.
type Scaffold string

// The scaffolds.
const (
	OpenHands Scaffold = openhands.Name
	SWEAgent  Scaffold = sweagent.Name
)

// Scaffolds lists the valid names (for CLI help).
func Scaffolds() []Scaffold { return []Scaffold{OpenHands, SWEAgent} }

// Loop is a configured scaffold; build it once per run, Run it per rollout.
type Loop struct {
	cfg   Config
	proto loop.Protocol
}

// New builds the loop for cfg.Scaffold (default openhands), parsing its
// prompt templates (and cfg.Templates overrides) once.
func New(cfg Config) (*Loop, error) {
	var (
		p   loop.Protocol
		err error
	)
	switch Scaffold(cfg.Scaffold) {
	case OpenHands, "":
		p, err = openhands.New(cfg)
	case SWEAgent:
		p, err = sweagent.New(cfg)
	default:
		return nil, fmt.Errorf("agent: unknown scaffold %q: use %q or %q", cfg.Scaffold, OpenHands, SWEAgent)
	}
	if err != nil {
		return nil, err
	}
	return &Loop{cfg: cfg, proto: p}, nil
}

// Scaffold is the loop's scaffold name.
func (l *Loop) Scaffold() Scaffold { return Scaffold(l.proto.Name()) }

// Tools are the tools offered on every call (nil for sweagent).
func (l *Loop) Tools() []trajectory.Tool { return l.proto.Tools() }

// Run drives one rollout (rollout is its index, recorded and sent to the
// server). Every path returns a trajectory with ExitStatus set; the error
// is non-nil only for env_error (the shell broke) and cancelled.
func (l *Loop) Run(ctx context.Context, m model.Model, env Env, task benchmarks.Task, rollout int) (trajectory.Trajectory, error) {
	return loop.Run(ctx, m, env, task, rollout, l.cfg, l.proto)
}

// Run is New(cfg) + Run for a single rollout (index 0).
func Run(ctx context.Context, m model.Model, env Env, task benchmarks.Task, cfg Config) (trajectory.Trajectory, error) {
	l, err := New(cfg)
	if err != nil {
		return trajectory.Trajectory{InstanceID: task.ID, Scaffold: cfg.Scaffold, ExitStatus: ExitEnvError}, err
	}
	return l.Run(ctx, m, env, task, 0)
}
