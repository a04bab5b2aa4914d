package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/sweval/sweval/benchmarks/dataset"
	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/regrade"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/run"
)

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "re-grade a finished run offline: re-parse its stored eval logs with the current parsers and the dataset's current test lists, rewrite the verdicts (old ones kept in regrade.json) and list every change (e.g. sweval report runs/ID)",
		ArgsUsage: "RUN_DIR",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dataset", Aliases: []string{"d"}, Usage: "the task file (default: the one the run's run.json records)"},
			&cli.StringFlag{Name: "test-cmd", Usage: "override the test command the log was parsed for (default: the run's)"},
			&cli.StringFlag{Name: "log-parser", Usage: "parse the logs with this parser (pytest, django, sympy, matplotlib, ...; default: the run's or the task's)"},
			&cli.StringFlag{Name: "verdicts", Usage: "strict or swebench: the rules the logs are re-read under (default: the run's --verdicts)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "list the changes without writing anything"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("name one run directory: sweval report runs/<run_id>")
			}
			dir := c.Args().First()
			recorded := recordedFlags(dir)
			flag := func(name string) string {
				if c.IsSet(name) {
					return c.String(name)
				}
				if v, ok := recorded[name].(string); ok {
					return v
				}
				return ""
			}
			path := flag("dataset")
			if path == "" {
				return fmt.Errorf("%s: run.json records no dataset: pass --dataset FILE", dir)
			}
			tasks, bad, err := dataset.Load(c.Context, path, false)
			if err != nil {
				return fmt.Errorf("%w (pass --dataset if the task file moved)", err)
			}
			for _, e := range bad {
				logger(c).Warn("skipping malformed record", "err", e)
			}
			if !c.Bool("dry-run") {
				lock, err := result.AcquireLock(filepath.Join(dir, run.LockName))
				if err != nil {
					return err
				}
				defer lock.Release()
			}
			rules, err := grade.ParseRules(flag("verdicts"))
			if err != nil {
				return err
			}
			sum, err := regrade.Run(dir, tasks, regrade.Options{TestCmd: flag("test-cmd"), LogParser: flag("log-parser"), Rules: rules, DryRun: c.Bool("dry-run"), Now: time.Now().UTC()})
			if err != nil {
				return err
			}
			printRegrade(c, sum)
			if sum.Regraded == 0 && sum.Rollouts > 0 {
				return fmt.Errorf("%s: no rollout could be re-graded from its log", dir)
			}
			return nil
		},
	}
}

// recordedFlags are the flags run.json recorded for the run (none when it
// has no run.json).
func recordedFlags(dir string) map[string]any {
	var meta struct {
		Config resolvedConfig `json:"config"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil || json.Unmarshal(b, &meta) != nil {
		return nil
	}
	return meta.Config.Flags
}

func printRegrade(c *cli.Context, sum regrade.Summary) {
	w := c.App.Writer
	if len(sum.Changes) > 0 {
		t := newTable(w)
		t.Header("instance", "rollout", "was", "now")
		for _, ch := range sum.Changes {
			_ = t.Append([]string{ch.InstanceID, fmt.Sprint(ch.Rollout), verdictText(ch.Old), verdictText(ch.New)})
		}
		_ = t.Render()
	}
	var kept []string
	for _, why := range slices.Sorted(maps.Keys(sum.Kept)) {
		kept = append(kept, fmt.Sprintf("%s %d", why, sum.Kept[why]))
	}
	fmt.Fprintf(w, "re-graded %d of %d rollouts from their logs; %d verdict(s) changed", sum.Regraded, sum.Rollouts, len(sum.Changes))
	if len(kept) > 0 {
		fmt.Fprintf(w, "; kept as they were: %s", strings.Join(kept, ", "))
	}
	fmt.Fprintln(w)
	if c.Bool("dry-run") {
		fmt.Fprintln(w, "dry run: nothing written")
	} else {
		fmt.Fprintf(w, "old and new verdicts: %s\n", filepath.Join(sum.RunDir, regrade.FileName))
	}
}

func verdictText(v regrade.StoredVerdict) string {
	if v.Resolution == "" {
		return string(v.Status)
	}
	return fmt.Sprintf("%s (%s)", v.Status, v.Resolution)
}
