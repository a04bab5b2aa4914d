package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/run"
)

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:  "validate",
		Usage: "check each environment the OpenSWE way: FAIL_TO_PASS fails with the test patch alone and all pass with gold (e.g. sweval validate -d testdata/swe/tasks.jsonl --repo-cache REPOS)",
		Flags: append(append(append(datasetFlags(),
			&cli.IntFlag{Name: "repeat", Value: 1, Usage: "run both conditions N times per instance to find flaky instances and tests"},
			&cli.StringFlag{Name: "exclusions", Usage: "write the invalid and flaky instances to this exclusion file, for --exclude of eval, run, board and curate"},
		), runFlags()...), dockerFlags()...),
		Action: func(c *cli.Context) error {
			gopts, err := gradeOptions(c)
			if err != nil {
				return err
			}
			tasks, err := loadTasks(c)
			if err != nil {
				return err
			}
			_, id := runDir(c)
			env, cleanup, err := environment(c, "validate-"+id)
			if err != nil {
				return err
			}
			defer cleanup()
			vs, err := run.Validate(c.Context, run.ValidateOptions{
				Options:     run.Options{RunID: "validate-" + id, Workers: c.Int("workers"), Logger: logger(c), Progress: progressWriter(c)},
				Environment: env,
				Grade:       gopts,
				Repeat:      c.Int("repeat"),
			}, tasks)
			t := newTable(c.App.Writer)
			t.Header("instance", "environment", "valid runs", "reason")
			valid, invalid := 0, 0
			var excl []string
			for _, v := range vs {
				if v.InstanceID == "" {
					continue // not reached before an interrupt
				}
				verdict := "valid"
				switch {
				case v.Valid:
					valid++
				case v.Flaky:
					verdict = "FLAKY"
					invalid++
				default:
					verdict = "INVALID"
					invalid++
				}
				if !v.Valid {
					line, _ := json.Marshal(benchmarks.Exclusion{InstanceID: v.InstanceID, Reason: strings.ToLower(verdict) + ": " + v.Reason})
					excl = append(excl, string(line))
				}
				_ = t.Append(v.InstanceID, verdict, fmt.Sprintf("%d/%d", v.ValidRuns, v.Runs), truncate(v.Reason, 90))
			}
			t.Footer("total", fmt.Sprintf("%d valid", valid), "", fmt.Sprintf("%d invalid or flaky", invalid))
			_ = t.Render()
			if path := c.String("exclusions"); path != "" {
				if werr := result.WriteFileAtomic(path, []byte(strings.Join(excl, "\n")+"\n")); werr != nil {
					return werr
				}
				fmt.Fprintf(c.App.Writer, "exclusions: %s (%d instance(s))\n", path, len(excl))
			}
			if err != nil {
				return err
			}
			if invalid > 0 {
				return cli.Exit(fmt.Sprintf("%d invalid environment(s)", invalid), 3)
			}
			return nil
		},
	}
}
