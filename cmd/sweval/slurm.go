package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/sweval/sweval/harness/slurm"
)

func slurmCommand() *cli.Command {
	return &cli.Command{
		Name:  "slurm",
		Usage: "run an eval or run as a Slurm job array, one shard per array task (e.g. sweval slurm submit --shards 4 --run-id big -- eval -d tasks.jsonl -p gold)",
		Subcommands: []*cli.Command{
			{
				Name:      "submit",
				Usage:     "write the sbatch array script into runs/<run-id>/slurm/ and submit it; task I runs `sweval ARGS --shard I/N`",
				ArgsUsage: "-- eval|run ARGS",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "run-id", Usage: "run id (default: a timestamp); every shard writes into runs/<run-id>, which must be on storage every node shares"},
					&cli.StringFlag{Name: "output", Value: "runs", Usage: "parent directory of run directories"},
					&cli.IntFlag{Name: "shards", Value: 4, Usage: "array size N"},
					&cli.IntFlag{Name: "array-parallel", Usage: "array tasks running at once (sbatch --array=…%M; 0: no cap)"},
					&cli.StringFlag{Name: "partition", Usage: "sbatch --partition"},
					&cli.StringFlag{Name: "time", Usage: "sbatch --time, e.g. 04:00:00"},
					&cli.IntFlag{Name: "cpus-per-task", Usage: "sbatch --cpus-per-task"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return errors.New("name the command each array task runs after --, e.g. sweval slurm submit --shards 4 -- eval -d tasks.jsonl -p gold")
					}
					dir, id := runDir(c)
					sub, err := slurm.Submit(c.Context, slurm.Options{
						RunDir: dir, RunID: id, Shards: c.Int("shards"), Parallel: c.Int("array-parallel"),
						Partition: c.String("partition"), Time: c.String("time"), CPUsPerTask: c.Int("cpus-per-task"),
						Args: c.Args().Slice(),
					})
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "submitted job %s: %d shard(s) of run %s\nscript: %s\nstatus: sweval slurm status %s\n", sub.JobID, len(sub.Shards), id, sub.Script, dir)
					return nil
				},
			},
			{
				Name:      "status",
				Usage:     "show each shard: pending/running (with Slurm's reason), done, or failed (how it ended), and its recorded rollouts",
				ArgsUsage: "RUN_DIR",
				Action: func(c *cli.Context) error {
					dir, err := oneRunDir(c)
					if err != nil {
						return err
					}
					shards, err := slurm.Status(c.Context, dir)
					if err != nil {
						return err
					}
					t := newTable(c.App.Writer)
					t.Header("shard", "job", "state", "rollouts", "host", "reason")
					for _, s := range shards {
						_ = t.Append(fmt.Sprint(s.Shard), s.JobID, string(s.State), fmt.Sprintf("%d/%d", s.Recorded, s.Owned), s.Host, truncate(s.Reason, 60))
					}
					return t.Render()
				},
			},
			{
				Name:      "resume",
				Usage:     "resubmit only the shards that ended with rollouts missing (cancelled, failed, timed out); queued and finished ones are left alone",
				ArgsUsage: "RUN_DIR",
				Action: func(c *cli.Context) error {
					dir, err := oneRunDir(c)
					if err != nil {
						return err
					}
					sub, ok, err := slurm.Resume(c.Context, dir)
					if err != nil {
						return err
					}
					if !ok {
						fmt.Fprintln(c.App.Writer, "nothing to resume: every shard is done, pending or running")
						return nil
					}
					fmt.Fprintf(c.App.Writer, "resubmitted shard(s) %v as job %s at %s\n", sub.Shards, sub.JobID, sub.Submitted.Format(time.RFC3339))
					return nil
				},
			},
		},
	}
}

func oneRunDir(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", errors.New("name one run directory, e.g. runs/big")
	}
	return filepath.Clean(c.Args().First()), nil
}
