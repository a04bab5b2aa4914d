package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/reports/board"
	"github.com/sweval/sweval/reports/curate"
	"github.com/sweval/sweval/reports/difficulty"
	"github.com/sweval/sweval/reports/importers"
)

// outputFile opens -o (stdout when empty); the returned commit writes the
// file atomically.
func outputFile(c *cli.Context, name string) (io.Writer, func() error) {
	path := c.String(name)
	if path == "" || path == "-" {
		return c.App.Writer, func() error { return nil }
	}
	var buf bytes.Buffer
	return &buf, func() error { return result.WriteFileAtomic(path, buf.Bytes()) }
}

// exclusionsOf reads --exclude (nil without it).
func exclusionsOf(c *cli.Context) (map[string]string, error) {
	if path := c.String("exclude"); path != "" {
		return benchmarks.LoadExclusions(path)
	}
	return nil, nil
}

func requireRuns(c *cli.Context) ([]string, error) {
	if c.NArg() == 0 {
		return nil, errors.New("name at least one run directory (runs/<run_id>) or results.jsonl")
	}
	return c.Args().Slice(), nil
}

func boardCommand() *cli.Command {
	return &cli.Command{
		Name:      "board",
		Usage:     "leaderboard of runs: resolved rate, pass fraction and strict rate, pass@1/pass@k, bootstrap CIs, tokens, cost, time, audit flags (e.g. sweval board runs/* --format md)",
		ArgsUsage: "RUN_DIR...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table, md, csv, json or html (self-contained, with plots)"},
			&cli.IntFlag{Name: "k", Value: 4, Usage: "k of pass@k"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "bootstrap seed"},
			&cli.IntFlag{Name: "resamples", Value: 1000, Usage: "bootstrap resamples (of instances)"},
			&cli.Float64Flag{Name: "confidence", Value: 0.95, Usage: "confidence level of the intervals"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to this file instead of stdout"},
			&cli.StringFlag{Name: "exclude", Usage: "leave out the instances of this exclusion file (sweval validate --exclusions)"},
		},
		Action: func(c *cli.Context) error {
			paths, err := requireRuns(c)
			if err != nil {
				return err
			}
			excluded, err := exclusionsOf(c)
			if err != nil {
				return err
			}
			b, err := board.Load(c.Context, board.Options{K: c.Int("k"), Seed: c.Uint64("seed"), Resamples: c.Int("resamples"), Confidence: c.Float64("confidence"), Exclude: excluded}, paths...)
			if err != nil {
				return err
			}
			w, commit := outputFile(c, "output")
			if err := board.Render(w, b, c.String("format")); err != nil {
				return err
			}
			return commit()
		},
	}
}

func difficultyCommand() *cli.Command {
	return &cli.Command{
		Name:  "difficulty",
		Usage: "per-instance difficulty and keep-thresholds fitted by Pearson correlation with the empirical pass rate (e.g. sweval difficulty fit runs/*)",
		Subcommands: []*cli.Command{{
			Name:      "fit",
			Usage:     "fit difficulty from instance features (OLS, k-fold CV r) and thresholds τ = τmax − (τmax − τmin)·d or per-quantile buckets; writes PREFIX.json, .csv and .png (e.g. sweval difficulty fit runs/a runs/b --out difficulty)",
			ArgsUsage: "RUN_DIR...",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "out", Value: "difficulty", Usage: "output prefix for .json, .csv and .png"},
				&cli.Float64Flag{Name: "tau-max", Value: 0.90, Usage: "threshold of the easiest instance"},
				&cli.Float64Flag{Name: "tau-min", Value: 0.60, Usage: "threshold of the hardest instance"},
				&cli.IntFlag{Name: "folds", Value: 5, Usage: "cross-validation folds"},
				&cli.IntFlag{Name: "buckets", Value: 4, Usage: "quantile buckets of the bucketed alternative"},
				&cli.StringFlag{Name: "method", Value: "auto", Usage: "auto (choose by held-out correlation), linear or buckets"},
				&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "fold assignment seed"},
				&cli.StringSliceFlag{Name: "feature", Usage: "use only these features (default: every numeric feature)"},
			},
			Action: func(c *cli.Context) error {
				paths, err := requireRuns(c)
				if err != nil {
					return err
				}
				method := c.String("method")
				if method == "auto" {
					method = ""
				}
				fit, err := difficulty.FitRuns(c.Context, difficulty.Options{
					TauMax: c.Float64("tau-max"), TauMin: c.Float64("tau-min"), Folds: c.Int("folds"), Buckets: c.Int("buckets"),
					Seed: c.Uint64("seed"), Features: c.StringSlice("feature"), Method: method,
				}, paths...)
				if err != nil {
					return err
				}
				if err := fit.WriteSummary(c.App.Writer); err != nil {
					return err
				}
				files, err := fit.WriteFiles(c.String("out"))
				for _, f := range files {
					fmt.Fprintln(c.App.Writer, "wrote", f)
				}
				return err
			},
		}},
	}
}

func curateCommand() *cli.Command {
	return &cli.Command{
		Name:      "curate",
		Usage:     "filter rollouts into SFT data: OpenSWE band, difficulty thresholds or a min score; drop banned commands and audit flags; mask format errors; export {messages, tools} JSONL (e.g. sweval curate runs/r --band 1..2/4 --drop-cmd 'git pull' -o sft.jsonl)",
		ArgsUsage: "RUN_DIR...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "exclude", Usage: "leave out the instances of this exclusion file (sweval validate --exclusions)"},
			&cli.StringFlag{Name: "band", Usage: "keep instances solved k..m times of n, e.g. 1..2/4 (OpenSWE)"},
			&cli.StringFlag{Name: "thresholds", Usage: "keep rollouts scoring ≥ the instance's τ from `sweval difficulty fit` (JSON or CSV)"},
			&cli.Float64Flag{Name: "min-score", Value: -1, Usage: "keep rollouts scoring at least this"},
			&cli.StringSliceFlag{Name: "drop-cmd", Usage: "drop rollouts that ran this command phrase (repeatable), e.g. 'git pull'"},
			&cli.BoolFlag{Name: "keep-flagged", Usage: "keep rollouts with audit flags (dropped by default)"},
			&cli.StringFlag{Name: "mask", Value: string(curate.MaskWeight), Usage: "format-error steps: weight (weight: 0 on the turn), drop (remove turn and re-ask) or none"},
			&cli.BoolFlag{Name: "collapse-tools", Usage: "rewrite tool turns as user turns and tool calls as text, for trainers without tool roles"},
			&cli.BoolFlag{Name: "meta", Usage: "add a metadata object (instance, rollout, model, score) to each line"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "SFT JSONL to write (omit to only print decisions)"},
			&cli.StringFlag{Name: "decisions", Usage: "write one JSON line per rollout decision here"},
		},
		Action: func(c *cli.Context) error {
			paths, err := requireRuns(c)
			if err != nil {
				return err
			}
			excluded, err := exclusionsOf(c)
			if err != nil {
				return err
			}
			opts := curate.Options{Runs: paths, Exclude: excluded, DropCmds: c.StringSlice("drop-cmd"), KeepFlagged: c.Bool("keep-flagged"),
				Mask: curate.MaskMode(c.String("mask")), CollapseTools: c.Bool("collapse-tools"), Meta: c.Bool("meta"), Logger: logger(c)}
			if s := c.String("band"); s != "" {
				band, err := curate.ParseBand(s)
				if err != nil {
					return fmt.Errorf("--band: %w", err)
				}
				opts.Band = &band
			}
			if path := c.String("thresholds"); path != "" {
				if opts.Thresholds, err = difficulty.ReadThresholds(path); err != nil {
					return err
				}
			}
			if v := c.Float64("min-score"); v >= 0 {
				opts.MinScore = &v
			}
			// Written atomically, so a failed curate never leaves half an SFT file.
			var files []*result.AtomicFile
			for flag, dst := range map[string]*io.Writer{"output": &opts.Out, "decisions": &opts.Decisions} {
				path := c.String(flag)
				if path == "" {
					continue
				}
				f, err := result.CreateAtomic(path)
				if err != nil {
					return err
				}
				defer f.Abort()
				*dst = f
				files = append(files, f)
			}
			sum, err := curate.Run(c.Context, opts)
			if err != nil {
				return err
			}
			for _, f := range files {
				if err := f.Commit(); err != nil {
					return err
				}
			}
			return curate.RenderSummary(c.App.Writer, sum)
		},
	}
}

func importCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "turn SWE-agent .traj, mini-swe-agent .traj.json, OpenHands output.jsonl or SWE-bench reports into a sweval run directory (e.g. sweval import --from sweagent trajs/ --report report.json --out runs/swe-agent)",
		ArgsUsage: "PATH...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Required: true, Usage: "sweagent, mini, openhands or swebench"},
			&cli.StringSliceFlag{Name: "report", Usage: "SWE-bench run report or per-instance report.json (file or directory) giving the verdicts"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "run directory to write"},
			&cli.StringFlag{Name: "run-id", Usage: "run id (default: the directory name)"},
			&cli.StringFlag{Name: "model", Usage: "model name, when the files do not say"},
			&cli.StringFlag{Name: "scaffold", Usage: "scaffold name (default: the format)"},
			&cli.StringFlag{Name: "benchmark", Usage: "benchmark name"},
		},
		Action: func(c *cli.Context) error {
			sum, err := importers.Import(c.Context, importers.Options{
				From: importers.Format(c.String("from")), Paths: c.Args().Slice(), Reports: c.StringSlice("report"),
				OutDir: c.String("out"), RunID: c.String("run-id"), Model: c.String("model"), Scaffold: c.String("scaffold"),
				Benchmark: c.String("benchmark"), Logger: logger(c),
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "imported %d rollouts (%d resolved, %d not evaluated) into %s\n", sum.Rollouts, sum.Resolved, sum.NotEvaluated, sum.RunDir)
			return nil
		},
	}
}
