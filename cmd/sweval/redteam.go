package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/sweval/sweval/benchmarks"
	gradedoc "github.com/sweval/sweval/harness/doc2repo"
	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/run"
	"github.com/sweval/sweval/leakage/redteam"
	"github.com/sweval/sweval/scaffolds/agent"
	"github.com/sweval/sweval/scaffolds/model"
	"github.com/sweval/sweval/scaffolds/replay"
	"github.com/sweval/sweval/scaffolds/solver"
	"github.com/sweval/sweval/scaffolds/tools"
)

func redteamCommand() *cli.Command {
	return &cli.Command{
		Name: "redteam",
		Usage: "replay every scripted leakage attack through the real agent loop, sandbox, purge, guard, grading and audit; " +
			"print attack → outcome → what stopped it; exit 5 if any attack succeeds (e.g. sweval redteam --tasks testdata/doc2repo/tasks.jsonl)",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "tasks", Aliases: []string{"dataset", "d"}, Value: "testdata/doc2repo/tasks.jsonl", Usage: "Doc2Repo tasks to attack"},
			&cli.StringFlag{Name: "scaffold", Value: string(agent.OpenHands), Usage: "agent loop the attacks are replayed through"},
			&cli.StringFlag{Name: "attack", Usage: "only attacks whose id contains this"},
			&cli.BoolFlag{Name: "no-guard", Usage: "switch the command guard off, to show the other layers hold on their own"},
			&cli.StringFlag{Name: "markdown", Usage: "also write the table as Markdown to this file (e.g. docs/redteam.md)"},
			&cli.StringFlag{Name: "run-id", Usage: "run id (default: redteam-<time>)"},
			&cli.StringFlag{Name: "output", Value: "runs", Usage: "parent directory of run directories"},
			&cli.IntFlag{Name: "workers", Value: 2, Usage: "rollouts in parallel"},
			&cli.BoolFlag{Name: "no-progress", Usage: "no progress bar"},
			&cli.BoolFlag{Name: "strict", Usage: "stop at the first malformed task record"},
		}, dockerFlags()...),
		Action: func(c *cli.Context) error {
			commit := gitCommit() // the code that runs the attacks, before anything changes
			tasks, err := loadDoc2RepoTasks(c)
			if err != nil {
				return err
			}
			id := c.String("run-id")
			if id == "" {
				id = "redteam-" + time.Now().UTC().Format("20060102-150405")
			}
			cases, script, err := redteam.Cases(tasks, c.String("attack"))
			if err != nil {
				return err
			}
			srv, err := replay.New(replay.Config{Script: script, Model: "redteam", Logger: logger(c)})
			if err != nil {
				return err
			}
			ln, err := replay.Listen("")
			if err != nil {
				return err
			}
			sctx, stop := context.WithCancel(c.Context)
			defer stop()
			go func() { _ = srv.Serve(sctx, ln) }()
			m, err := model.NewOpenAI(model.Config{BaseURL: "http://" + ln.Addr().String() + "/v1", Model: "redteam", MaxRetries: 2, Timeout: time.Minute, Logger: logger(c)})
			if err != nil {
				return err
			}
			loop, err := agent.New(agent.Config{Scaffold: c.String("scaffold"), Model: "redteam", MaxSteps: 40, Logger: logger(c)})
			if err != nil {
				return err
			}
			env, cleanup, err := environment(c, id)
			if err != nil {
				return err
			}
			defer cleanup()
			dir := filepath.Join(c.String("output"), id)
			hooks := gradedoc.NewHooks(env.Runtime, gradedoc.HooksOptions{RunID: id, CalibrationDir: filepath.Join(dir, ".calibration"), BaseImage: env.EnvImage, Logger: logger(c)})
			var synth []benchmarks.Task
			for _, k := range cases {
				synth = append(synth, k.Task)
			}
			_, err = run.Rollouts(c.Context, run.RolloutOptions{
				Options:     run.Options{Dir: dir, RunID: id, Workers: c.Int("workers"), Logger: logger(c), Progress: progressWriter(c), Config: map[string]any{"command": "redteam", "tasks": c.String("tasks"), "no_guard": c.Bool("no-guard")}},
				Environment: env,
				Grade:       grade.Options{Logger: logger(c)},
				Model:       "redteam", Scaffold: string(loop.Scaffold()), Benchmark: "redteam",
				Kinds: hooks.Kinds(),
			}, synth, &solver.Solver{Loop: loop, Model: m, Guard: !c.Bool("no-guard"), Auditors: hooks, Logger: logger(c), Shell: tools.SessionOptions{Logger: logger(c)}})
			if err != nil {
				return err
			}
			verdicts, err := redteam.Judge(dir, cases, hooks)
			if err != nil {
				return err
			}
			failures := renderRedteam(c.App.Writer, verdicts, false)
			if path := c.String("markdown"); path != "" {
				var b strings.Builder
				fmt.Fprintf(&b, "# Red-team results\n\nProduced by `sweval redteam --tasks %s` on commit `%s` (%s).\n\n",
					c.String("tasks"), commit, time.Now().UTC().Format("2006-01-02"))
				renderRedteam(&b, verdicts, true)
				if err := result.WriteFileAtomic(path, []byte(b.String())); err != nil {
					return err
				}
			}
			if failures > 0 {
				return cli.Exit(fmt.Sprintf("%d red-team check(s) failed: an attack succeeded, went unflagged, or the clean control was flagged", failures), 5)
			}
			return nil
		},
	}
}

// renderRedteam prints the table and returns how many checks failed.
func renderRedteam(w io.Writer, vs []redteam.Verdict, markdown bool) int {
	header := redteam.Header()
	rows, failures := redteam.Rows(vs)
	if markdown {
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat(" --- |", len(header)))
		for _, r := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		}
		fmt.Fprintf(w, "\n%d attacks and controls, %d failed checks.\n", len(rows), failures)
		return failures
	}
	t := newTable(w)
	t.Header(header)
	for _, r := range rows {
		_ = t.Append(r)
	}
	t.Footer("", fmt.Sprintf("%d cases", len(rows)), "", "", fmt.Sprintf("%d failed checks", failures), "", "", "", "")
	_ = t.Render()
	return failures
}

// gitCommit is the commit of the working tree the command runs in, for the
// provenance line of the Markdown report.
func gitCommit() string {
	out, err := execOutput("git", "rev-parse", "--short=12", "HEAD")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(out)
}
