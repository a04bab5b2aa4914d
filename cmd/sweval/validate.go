package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/run"
)

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:  "validate",
		Usage: "check each environment the OpenSWE way: FAIL_TO_PASS fails with the test patch alone and all pass with gold (e.g. sweval validate -d testdata/swe/tasks.jsonl --repo-cache REPOS)",
		Flags: append(append(datasetFlags(), runFlags()...), dockerFlags()...),
		Action: func(c *cli.Context) error {
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
				Grade:       grade.Options{TestCmd: c.String("test-cmd"), Timeout: c.Duration("timeout"), Logger: logger(c)},
			}, tasks)
			t := newTable(c.App.Writer)
			t.Header("instance", "environment", "reason")
			valid, invalid := 0, 0
			for _, v := range vs {
				if v.InstanceID == "" {
					continue // not reached before an interrupt
				}
				verdict := "valid"
				if v.Valid {
					valid++
				} else {
					verdict = "INVALID"
					invalid++
				}
				_ = t.Append(v.InstanceID, verdict, truncate(v.Reason, 90))
			}
			t.Footer("total", fmt.Sprintf("%d valid", valid), fmt.Sprintf("%d invalid", invalid))
			_ = t.Render()
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
