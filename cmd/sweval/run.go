package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	gradedoc "github.com/sweval/sweval/harness/doc2repo"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/run"
	"github.com/sweval/sweval/leakage/audit"
	"github.com/sweval/sweval/scaffolds/agent"
	"github.com/sweval/sweval/scaffolds/model"
	"github.com/sweval/sweval/scaffolds/solver"
	"github.com/sweval/sweval/scaffolds/tools"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run an agent against an OpenAI-compatible endpoint on every task, N rollouts each, and grade them (e.g. sweval run -d tasks.jsonl --scaffold openhands --model my-model --base-url http://127.0.0.1:8000/v1)",
		Flags: append(append(append(datasetFlags(),
			&cli.StringFlag{Name: "scaffold", Value: string(agent.OpenHands), Usage: "openhands (native function calling) or sweagent (thought + one fenced action)"},
			&cli.StringFlag{Name: "model", Usage: "model name sent to the endpoint"},
			&cli.StringFlag{Name: "base-url", Usage: "OpenAI-compatible endpoint including /v1, e.g. http://127.0.0.1:8000/v1"},
			&cli.StringFlag{Name: "api-key-env", Usage: "environment variable holding the API key (default OPENAI_API_KEY, which may be unset for local servers)"},
			&cli.IntFlag{Name: "rollouts", Value: 1, Usage: "rollouts per instance"},
			&cli.Float64Flag{Name: "temperature", Value: -1, Usage: "sampling temperature (default: the server's)"},
			&cli.Float64Flag{Name: "top-p", Value: -1, Usage: "nucleus sampling (default: the server's)"},
			&cli.IntFlag{Name: "max-tokens", Usage: "max completion tokens per call"},
			&cli.IntFlag{Name: "seed", Value: -1, Usage: "sampling seed (default: none)"},
			&cli.StringSliceFlag{Name: "header", Usage: "extra HTTP header Name:Value on every call"},
			&cli.DurationFlag{Name: "request-timeout", Value: 10 * time.Minute, Usage: "timeout of one model call"},
			&cli.IntFlag{Name: "max-retries", Value: 6, Usage: "retries on 429, 5xx and timeouts"},
			&cli.IntFlag{Name: "max-requests-per-minute", Usage: "model calls started per minute across all workers (0: no limit)"},
			&cli.IntFlag{Name: "max-concurrent-requests", Usage: "model calls in flight at once across all workers (0: no limit); a server's Retry-After pauses every worker"},
			&cli.IntFlag{Name: "retry-infra", Usage: "re-run a rollout whose model endpoint failed (after --max-retries) or whose sandbox could not start, up to K times; what still fails is left for the next run, every attempt kept under <rollout>/attempts/"},
			&cli.Float64Flag{Name: "max-run-cost", Usage: "stop starting rollouts once the run's rollouts cost this much (0: no limit); the report says so and the same command with a larger budget goes on"},
			&cli.Float64Flag{Name: "price-in", Value: -1, Usage: "price per million input tokens (default: unknown)"},
			&cli.Float64Flag{Name: "price-out", Value: -1, Usage: "price per million output tokens"},
			&cli.StringFlag{Name: "prices", Usage: "JSON price table {model: {input_per_million, output_per_million}}"},
			&cli.IntFlag{Name: "max-steps", Value: agent.DefaultMaxSteps, Usage: "model calls per rollout"},
			&cli.IntFlag{Name: "max-total-tokens", Usage: "prompt+completion tokens per rollout (0: no limit)"},
			&cli.Float64Flag{Name: "max-cost", Usage: "cost per rollout (0: no limit)"},
			&cli.DurationFlag{Name: "wall-time", Usage: "wall time per rollout (0: no limit)"},
			&cli.DurationFlag{Name: "command-timeout", Value: tools.DefaultCommandTimeout, Usage: "default timeout of one shell command (the model may ask for up to 10 min)"},
			&cli.IntFlag{Name: "max-consecutive-timeouts", Value: 3, Usage: "end a rollout after this many timeouts in a row"},
			&cli.IntFlag{Name: "history-last-n", Usage: "keep only the last N observations in full (0: all)"},
			&cli.StringSliceFlag{Name: "template", Usage: "override a prompt template: name=path (openhands: system, instance, nudge; sweagent: system, instance, next_step, next_step_no_output, format_error)"},
			&cli.BoolFlag{Name: "exec-per-command", Usage: "one docker exec per command instead of the persistent bash session"},
			&cli.BoolFlag{Name: "no-guard", Usage: "do not refuse git clone/fetch/pull, history digging or reference downloads"},
			&cli.StringFlag{Name: "judge-model", Usage: "also audit every trajectory with this LLM judge (verdict + evidence in judge.json; non-clean verdicts become audit flags)"},
			&cli.StringFlag{Name: "judge-base-url", Usage: "OpenAI-compatible endpoint of the judge, including /v1 (default: --base-url)"},
			fromFlag(), shardFlag(),
			&cli.StringFlag{Name: "calibration", Usage: "Doc2Repo: score against the test ids `sweval doc2repo calibrate --out` found passing on the reference"},
		), runFlags()...), dockerFlags()...),
		Action: func(c *cli.Context) error {
			gopts, err := gradeOptions(c)
			if err != nil {
				return err
			}
			if err := applyFrom(c); err != nil {
				return err
			}
			if err := requireFlags(c, "dataset", "model", "base-url"); err != nil {
				return err
			}
			tasks, err := loadTasks(c)
			if err != nil {
				return err
			}
			if path := c.String("calibration"); path != "" {
				cals, err := gradedoc.LoadCalibrations(path)
				if err != nil {
					return err
				}
				if missing := gradedoc.ApplyCalibrations(tasks, cals); len(missing) > 0 {
					logger(c).Warn("no calibration for these Doc2Repo tasks; they are scored against declared_tests", "tasks", missing)
				}
			}
			pacer := model.NewPacer(c.Int("max-requests-per-minute"), c.Int("max-concurrent-requests"))
			m, err := newModel(c, pacer)
			if err != nil {
				return err
			}
			judge, err := newJudge(c, pacer)
			if err != nil {
				return err
			}
			templates := map[string]string{}
			for _, t := range c.StringSlice("template") {
				name, path, ok := strings.Cut(t, "=")
				if !ok {
					return fmt.Errorf("--template %q: use name=path", t)
				}
				templates[name] = path
			}
			loop, err := agent.New(agent.Config{
				Scaffold: c.String("scaffold"), Model: c.String("model"),
				MaxSteps: c.Int("max-steps"), MaxTokens: c.Int("max-total-tokens"), MaxCost: c.Float64("max-cost"),
				WallTime: c.Duration("wall-time"), CommandTimeout: c.Duration("command-timeout"),
				MaxConsecutiveTimeouts: c.Int("max-consecutive-timeouts"), HistoryLastN: c.Int("history-last-n"),
				Templates: templates, Logger: logger(c),
			})
			if err != nil {
				return err
			}
			shard, err := result.ParseShard(c.String("shard"))
			if err != nil {
				return err
			}
			dir, id := runDir(c)
			env, cleanup, err := environment(c, id)
			if err != nil {
				return err
			}
			defer cleanup()
			hooks := gradedoc.NewHooks(env.Runtime, gradedoc.HooksOptions{RunID: id, CalibrationDir: filepath.Join(dir, ".calibration"), BaseImage: env.EnvImage, Logger: logger(c)})
			rep, err := run.Rollouts(c.Context, run.RolloutOptions{
				Options: run.Options{
					Dir: dir, RunID: id, Workers: c.Int("workers"), Logger: logger(c), Progress: progressWriter(c),
					Config: resolveConfig(c), Shard: shard, MaxRunCost: c.Float64("max-run-cost"), RetryInfra: c.Int("retry-infra"),
				},
				Environment: env,
				Grade:       gopts,
				Rollouts:    c.Int("rollouts"),
				Model:       c.String("model"),
				Scaffold:    string(loop.Scaffold()),
				Benchmark:   datasetName(c.String("dataset")),
				Kinds:       hooks.Kinds(),
			}, tasks, &solver.Solver{
				Loop: loop, Model: m, ExecPerCommand: c.Bool("exec-per-command"), Guard: !c.Bool("no-guard"), Judge: judge, Auditors: hooks, Logger: logger(c),
				Shell: tools.SessionOptions{Logger: logger(c)}, // the loop passes --command-timeout with every command
			})
			printRunReport(c.App.Writer, rep)
			fmt.Fprintf(c.App.Writer, "results: %s\npredictions: %s\n", filepath.Join(dir, shard.FileName()), filepath.Join(dir, "preds.jsonl"))
			if err == nil && rep.Stopped != "" {
				return cli.Exit("run stopped before every rollout was done: "+rep.Stopped, 3)
			}
			return err
		},
	}
}

// newModel builds the go-openai client from the flags.
func newModel(c *cli.Context, pacer *model.Pacer) (model.Model, error) {
	cfg := model.Config{Pacer: pacer,
		BaseURL: c.String("base-url"), Model: c.String("model"), APIKeyEnv: c.String("api-key-env"),
		MaxTokens: c.Int("max-tokens"), Timeout: c.Duration("request-timeout"), MaxRetries: c.Int("max-retries"),
		Logger: logger(c), Headers: map[string]string{},
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = -1 // the flag's 0 means none; the library's 0 means its default
	}
	if v := c.Float64("temperature"); v >= 0 {
		cfg.Temperature = &v
	}
	if v := c.Float64("top-p"); v >= 0 {
		cfg.TopP = &v
	}
	if v := c.Int("seed"); v >= 0 {
		cfg.Seed = &v
	}
	if in, out := c.Float64("price-in"), c.Float64("price-out"); in >= 0 && out >= 0 {
		cfg.PriceIn, cfg.PriceOut = &in, &out
	}
	if path := c.String("prices"); path != "" {
		prices, err := model.LoadPrices(path)
		if err != nil {
			return nil, err
		}
		cfg.Prices = prices
	}
	for _, h := range c.StringSlice("header") {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return nil, fmt.Errorf("--header %q: use Name:Value", h)
		}
		cfg.Headers[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	return model.NewOpenAI(cfg)
}

// newJudge builds the optional LLM judge from --judge-model/--judge-base-url.
func newJudge(c *cli.Context, pacer *model.Pacer) (*audit.Judge, error) {
	name := c.String("judge-model")
	if name == "" {
		return nil, nil
	}
	url := c.String("judge-base-url")
	if url == "" || url == c.String("base-url") {
		url = c.String("base-url")
	} else {
		pacer = nil // another endpoint: its own limits
	}
	m, err := model.NewOpenAI(model.Config{BaseURL: url, Pacer: pacer, Model: name, APIKeyEnv: c.String("api-key-env"),
		Timeout: c.Duration("request-timeout"), Logger: logger(c)})
	if err != nil {
		return nil, fmt.Errorf("judge: %w", err)
	}
	return &audit.Judge{Model: m}, nil
}
