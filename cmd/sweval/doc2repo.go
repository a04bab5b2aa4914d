package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/benchmarks/doc2repo"
	gradedoc "github.com/sweval/sweval/harness/doc2repo"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/run"
	"github.com/sweval/sweval/leakage/purge"
)

func doc2repoCommand() *cli.Command {
	tasksFlag := &cli.StringFlag{Name: "tasks", Aliases: []string{"dataset", "d"}, Required: true, Usage: "Doc2Repo tasks: manifest JSONL, DeNovoSWE JSONL or an NL2RepoBench folder"}
	return &cli.Command{
		Name:  "doc2repo",
		Usage: "Doc2Repo tasks: prove the prepared workspace leak-free, calibrate declared tests (e.g. sweval doc2repo check-leaks --tasks testdata/doc2repo/tasks.jsonl)",
		Subcommands: []*cli.Command{
			{
				Name:  "check-leaks",
				Usage: "build each task's environment, purge it as before a rollout, and scan the whole container for reference code (e.g. sweval doc2repo check-leaks --tasks testdata/doc2repo/tasks.jsonl)",
				Flags: append([]cli.Flag{tasksFlag,
					&cli.StringSliceFlag{Name: "skip-step", Usage: "switch a purge step off (uninstall, site-traces, caches, build-artifacts, compiled, workspace, spec, git) to see what it removes"},
					&cli.BoolFlag{Name: "no-purge", Usage: "scan the environment as built, without purging"},
					&cli.BoolFlag{Name: "no-progress", Usage: "no progress bar"},
				}, dockerFlags()...),
				Action: func(c *cli.Context) error {
					tasks, runID, env, cleanup, err := doc2repoSession(c, "check-leaks")
					if err != nil {
						return err
					}
					defer cleanup()
					skip := map[purge.Step]bool{}
					for _, s := range c.StringSlice("skip-step") {
						skip[purge.Step(s)] = true
					}
					t := newTable(c.App.Writer)
					t.Header("task", "leaking files", "scanned MB", "scan MB/s", "prepare+scan s", "first leak")
					leaky := 0
					prog := run.NewProgress(progressWriter(c), "clean", len(tasks), 0, 0)
					defer prog.Finish()
					for _, task := range tasks {
						image, err := env.TaskImage(c.Context, task)
						if err != nil {
							return err
						}
						start := time.Now()
						res, err := purge.CheckTask(c.Context, env.Runtime, &task, purge.CheckOptions{Image: image, RunID: runID, NoPurge: c.Bool("no-purge"), Skip: skip})
						var leakErr *purge.LeakError
						if err != nil && !errors.As(err, &leakErr) {
							return fmt.Errorf("check %s: %w", task.ID, err)
						}
						n, first := 0, ""
						var mb, mbps float64
						if res.Scan != nil {
							n = len(res.Scan.Leaks)
							if n > 0 {
								first = res.Scan.Leaks[0].String()
							}
							mb, mbps = float64(res.Scan.Bytes)/1e6, res.Scan.MBps()
						}
						if n > 0 {
							leaky++
						}
						prog.Add(n == 0)
						_ = t.Append(task.ID, fmt.Sprint(n), fmt.Sprintf("%.0f", mb), fmt.Sprintf("%.0f", mbps), fmt.Sprintf("%.1f", time.Since(start).Seconds()), truncate(first, 70))
					}
					_ = t.Render()
					if leaky > 0 {
						return cli.Exit(fmt.Sprintf("%d task(s) leak reference code", leaky), 4)
					}
					return nil
				},
			},
			{
				Name:  "calibrate",
				Usage: "run the hidden tests on the reference in its environment; report which pass (declared) and where the manifest's count disagrees (e.g. sweval doc2repo calibrate --tasks testdata/doc2repo/tasks.jsonl)",
				Flags: append([]cli.Flag{tasksFlag,
					&cli.StringFlag{Name: "out", Usage: "write the calibration (declared and excluded test ids per task) to this JSONL file"},
					&cli.BoolFlag{Name: "no-progress", Usage: "no progress bar"},
				}, dockerFlags()...),
				Action: func(c *cli.Context) error {
					tasks, runID, env, cleanup, err := doc2repoSession(c, "calibrate")
					if err != nil {
						return err
					}
					defer cleanup()
					t := newTable(c.App.Writer)
					t.Header("task", "declared", "pass on reference", "excluded", "mismatch")
					var lines []string
					// The reference is graded as a submission, in the image
					// rollouts are graded in: the env, without the reference.
					image, err := env.EnvImage(c.Context)
					if err != nil {
						return err
					}
					prog := run.NewProgress(progressWriter(c), "agree with the manifest", len(tasks), 0, 0)
					for _, task := range tasks {
						cal, err := gradedoc.Calibrate(c.Context, env.Runtime, &task, gradedoc.Options{Image: image, RunID: runID})
						if err != nil {
							return fmt.Errorf("calibrate %s: %w", task.ID, err)
						}
						_ = t.Append(task.ID, fmt.Sprint(cal.Declared), fmt.Sprint(len(cal.Passed)), fmt.Sprint(len(cal.Excluded)), truncate(cmp.Or(cal.Mismatch, "none"), 70))
						data, _ := json.Marshal(cal)
						lines = append(lines, string(data))
						prog.Add(cal.Mismatch == "")
					}
					prog.Finish()
					_ = t.Render()
					if out := c.String("out"); out != "" {
						return result.WriteFileAtomic(out, []byte(strings.Join(lines, "\n")+"\n"))
					}
					return nil
				},
			},
		},
	}
}

// doc2repoSession loads --tasks and connects the image builder and the
// sandbox runtime (env.Runtime, as --runtime selects) under a fresh run id
// named after the command.
func doc2repoSession(c *cli.Context, command string) ([]benchmarks.Task, string, run.Environment, func(), error) {
	tasks, err := loadDoc2RepoTasks(c)
	if err != nil {
		return nil, "", run.Environment{}, nil, err
	}
	runID := command + "-" + time.Now().UTC().Format("20060102-150405")
	env, cleanup, err := environment(c, runID)
	return tasks, runID, env, cleanup, err
}

func loadDoc2RepoTasks(c *cli.Context) ([]benchmarks.Task, error) {
	tasks, bad, err := doc2repo.Load(c.Context, c.String("tasks"), doc2repo.Options{Strict: c.Bool("strict")})
	for _, e := range bad {
		logger(c).Warn("skipping malformed record", "err", e)
	}
	if err != nil {
		return nil, err
	}
	if len(tasks) == 0 {
		return nil, fmt.Errorf("%s: no Doc2Repo tasks", c.String("tasks"))
	}
	return tasks, nil
}
