package loop

import (
	"log/slog"
	"time"

	"github.com/sweval/sweval/scaffolds/tools"
	"github.com/sweval/sweval/scaffolds/trajectory"
)

// Exit statuses, recorded as Trajectory.ExitStatus.
const (
	ExitSubmitted       = "submitted"
	ExitStepLimit       = "step_limit"
	ExitTokenLimit      = "token_limit"
	ExitCostLimit       = "cost_limit"
	ExitTimeLimit       = "time_limit"
	ExitContextExceeded = "context_exceeded"
	ExitFormatErrors    = "format_errors"
	ExitTimeouts        = "timeouts"
	ExitStuck           = "stuck"
	ExitModelError      = trajectory.ExitModelError
	// ExitEnvError: the shell itself broke (the sandbox died); Run also
	// returns the error.
	ExitEnvError = "env_error"
	// ExitCancelled: the caller cancelled the context; Run returns ctx.Err().
	ExitCancelled = "cancelled"
)

// DefaultMaxSteps is Config.MaxSteps's default, also the CLI flag's.
const DefaultMaxSteps = 100

// Env bundles the tools the agent calls in its sandbox.
type Env struct {
	// Shell is the persistent bash session (required).
	Shell tools.Shell
	// Editor serves str_replace_editor; nil answers such calls with an error
	// observation.
	Editor tools.Editor
	// Guard, when set, vets every shell command before it runs.
	Guard tools.Guard
}

// Config holds the limits and prompts of a rollout. Zero values take the
// defaults documented on each field.
type Config struct {
	// Scaffold is "openhands" or "sweagent" (read by agent.New).
	Scaffold string
	// Model is the model name recorded in the trajectory (default: the
	// model's Name() when it has one).
	Model string

	MaxSteps  int           // model calls per rollout (default DefaultMaxSteps)
	MaxTokens int           // prompt+completion tokens per rollout (0 = no limit)
	MaxCost   float64       // cost per rollout (0 = no limit; ignored when the price is unknown)
	WallTime  time.Duration // per rollout (0 = no limit)

	// CommandTimeout is a shell command's default timeout (default
	// tools.DefaultCommandTimeout); the loop passes it with every command,
	// so it is the only command timeout a rollout has;
	// a model may ask for more (execute_bash's timeout) up to
	// MaxCommandTimeout (default 10 min).
	CommandTimeout    time.Duration
	MaxCommandTimeout time.Duration
	// MaxConsecutiveTimeouts ends the rollout (exit timeouts) after this
	// many commands in a row time out (default 3).
	MaxConsecutiveTimeouts int
	// MaxFormatErrors is how many malformed replies in a row are re-asked
	// before the rollout ends with format_errors (default 3).
	MaxFormatErrors int
	// StuckRepeats ends the rollout (exit stuck) when this many consecutive
	// steps have the same reply and observations (default 4; <0 disables).
	StuckRepeats int
	// HistoryLastN keeps the last N observations in full and replaces older
	// ones by "[N lines elided]" (0 keeps everything). The trajectory
	// records exactly what was sent.
	HistoryLastN int

	// Templates overrides prompt templates by name with a file path; each
	// scaffold lists its names (openhands: system, instance, nudge;
	// sweagent: system, instance, next_step, next_step_no_output,
	// format_error).
	Templates map[string]string
	// RepoPath is where the repository lives in the sandbox (default: the
	// Doc2Repo task's workdir, else /testbed).
	RepoPath string
	// SetupCommand runs in the shell before the first step and is not shown
	// to the model (default: cd to RepoPath and disable pagers/editors).
	SetupCommand string
	// AllowInteractive lets vim, less, bare python, ... through (default:
	// refused with a message, since nothing can type into them).
	AllowInteractive bool

	Logger *slog.Logger
	// Now is the clock (default time.Now); tests inject.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.MaxSteps <= 0 {
		c.MaxSteps = DefaultMaxSteps
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = tools.DefaultCommandTimeout
	}
	if c.MaxCommandTimeout <= 0 {
		c.MaxCommandTimeout = 10 * time.Minute
	}
	if c.MaxCommandTimeout < c.CommandTimeout {
		c.MaxCommandTimeout = c.CommandTimeout
	}
	if c.MaxConsecutiveTimeouts <= 0 {
		c.MaxConsecutiveTimeouts = 3
	}
	if c.MaxFormatErrors <= 0 {
		c.MaxFormatErrors = 3
	}
	if c.StuckRepeats == 0 {
		c.StuckRepeats = 4
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
