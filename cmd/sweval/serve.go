package main

import (
	"fmt"
	"maps"

	"github.com/urfave/cli/v2"

	"github.com/sweval/sweval/benchmarks/dataset"
	"github.com/sweval/sweval/scaffolds/replay"
)

func serveReplayCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve-replay",
		Usage: "serve /v1/chat/completions on loopback from a script, recorded trajectories or a dataset's gold patches, with injectable faults (e.g. sweval serve-replay --solve testdata/swe/tasks.jsonl --addr 127.0.0.1:8000)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8000", Usage: "listen address (keep it on loopback)"},
			&cli.StringSliceFlag{Name: "script", Usage: "script file(s): JSON {instances: {id: [replies]}, faults: [...]} or JSONL"},
			&cli.StringSliceFlag{Name: "trajectory", Usage: "recorded trajectory.json file(s) to replay"},
			&cli.StringFlag{Name: "solve", Usage: "script a solution for every task of this dataset from its gold patch"},
			&cli.BoolFlag{Name: "wrong", Usage: "with --solve: make a harmless wrong change instead of the fix"},
			&cli.StringSliceFlag{Name: "fault", Usage: "global fault KIND[:every=N:times=N:delay_ms=N:retry_after=S] (colon-separated); kinds: rate_limit, server_error, slow, malformed, context_length"},
			&cli.StringFlag{Name: "model", Value: replay.DefaultModel, Usage: "model name /v1/models lists"},
			&cli.BoolFlag{Name: "strict", Usage: "with --solve: stop at the first malformed record"},
		},
		Action: func(c *cli.Context) error {
			script, faults, err := replay.Load(c.StringSlice("script"), c.StringSlice("trajectory"))
			if err != nil && c.String("solve") == "" {
				return err
			}
			if script.Instances == nil {
				script.Instances = map[string][]replay.Reply{}
			}
			if path := c.String("solve"); path != "" {
				tasks, bad, err := dataset.Load(c.Context, path, c.Bool("strict"))
				if err != nil {
					return err
				}
				for _, e := range bad {
					logger(c).Warn("skipping malformed record", "err", e)
				}
				patches := map[string]string{}
				for _, t := range tasks {
					patches[t.ID] = t.Patch
				}
				maps.Copy(script.Instances, replay.SolutionScript(patches, replay.DefaultRepoPath, c.Bool("wrong")).Instances)
			}
			for _, s := range c.StringSlice("fault") {
				f, err := replay.ParseFault(s)
				if err != nil {
					return fmt.Errorf("--fault: %w", err)
				}
				faults = append(faults, f)
			}
			srv, err := replay.New(replay.Config{Script: script, Faults: faults, Model: c.String("model"), Logger: logger(c)})
			if err != nil {
				return err
			}
			ln, err := replay.Listen(c.String("addr"))
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "serving %d scripted instance(s) at http://%s/v1 (model %q); Ctrl-C to stop\n", len(script.Instances), ln.Addr(), c.String("model"))
			return srv.Serve(c.Context, ln)
		},
	}
}
