package main

import (
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/benchmarks/predictions"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/run"
)

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:      "eval",
		Usage:     "grade predictions in sandboxes, like SWE-bench's run_evaluation (e.g. sweval eval -d testdata/swe/tasks.jsonl --predictions gold --repo-cache REPOS --run-id demo)",
		UsageText: "sweval eval --dataset FILE --predictions gold|empty|FILE --repo-cache DIR [--run-id ID --workers N --timeout 30m ...]",
		Flags: append(append(append(datasetFlags(),
			&cli.StringFlag{Name: "predictions", Aliases: []string{"p"}, Usage: "gold, empty, or a predictions file (JSONL, JSON list, or object keyed by instance_id); required"},
			fromFlag(), shardFlag(),
		), runFlags()...), dockerFlags()...),
		Action: func(c *cli.Context) error {
			gopts, err := gradeOptions(c)
			if err != nil {
				return err
			}
			if err := applyFrom(c); err != nil {
				return err
			}
			if err := requireFlags(c, "dataset", "predictions"); err != nil {
				return err
			}
			tasks, err := loadTasks(c)
			if err != nil {
				return err
			}
			for _, t := range tasks {
				if t.Kind == benchmarks.KindDoc2Repo {
					return fmt.Errorf("%s: %s is a Doc2Repo task: grade agents on it with `sweval run` (predictions are SWE-bench patches)", c.String("dataset"), t.ID)
				}
			}
			preds, bad, err := predictions.Resolve(c.Context, c.String("predictions"), tasks, predictions.Options{Strict: c.Bool("strict")})
			if err != nil {
				return err
			}
			for _, e := range bad {
				logger(c).Warn("skipping malformed prediction", "err", e)
			}
			if err := checkPredictions(c, preds, tasks, len(bad)); err != nil {
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
			rep, err := run.Evaluate(c.Context, run.EvalOptions{
				Options: run.Options{
					Dir: dir, RunID: id, Workers: c.Int("workers"), Logger: logger(c), Progress: progressWriter(c),
					Config: resolveConfig(c), Shard: shard,
				},
				Environment: env,
				Grade:       gopts,
				Benchmark:   datasetName(c.String("dataset")),
			}, tasks, preds)
			printRunReport(c.App.Writer, rep)
			fmt.Fprintf(c.App.Writer, "results: %s\n", filepath.Join(dir, shard.FileName()))
			return err
		},
	}
}

// datasetName is the task file's name without extension, the benchmark
// column of boards.
func datasetName(path string) string {
	base := filepath.Base(filepath.Clean(path))
	for _, ext := range []string{".jsonl", ".json"} {
		base = strings.TrimSuffix(base, ext)
	}
	return base
}

// printRunReport prints one row per instance and the totals.
func printRunReport(w io.Writer, rep result.RunReport) {
	t := newTable(w)
	t.Header("instance", "status", "pass", "patch applied", "wall s/rollout", "reason")
	status := map[string]string{}
	for _, group := range []struct {
		name string
		ids  []string
	}{{"resolved", rep.ResolvedIDs}, {"unresolved", rep.UnresolvedIDs}, {"empty patch", rep.EmptyPatchIDs}, {"error", rep.ErrorIDs}, {"incomplete", rep.IncompleteIDs}} {
		for _, id := range group.ids {
			status[id] = group.name
		}
	}
	ids := make([]string, 0, len(status))
	for id := range status {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := rep.Instances[id]
		var wall float64
		for _, x := range s.WallSeconds {
			wall += x / float64(len(s.WallSeconds))
		}
		_ = t.Append(id, status[id], fmt.Sprintf("%.2f", s.PassFraction), strings.Join(uniq(s.PatchApplied), ","),
			fmt.Sprintf("%.1f", wall), truncate(strings.Join(uniq(s.Errors), "; "), 60))
	}
	t.Footer("total", fmt.Sprintf("%d/%d resolved", rep.ResolvedInstances, rep.TotalInstances), fmt.Sprintf("%.2f", rep.MeanPassFraction),
		"", "", fmt.Sprintf("%d error, %d empty", rep.ErrorInstances, rep.EmptyPatchInstances))
	_ = t.Render()
	if rep.Stopped != "" {
		fmt.Fprintf(w, "stopped: %s\n", rep.Stopped)
	}
	for _, id := range slices.Sorted(maps.Keys(rep.InfraErrors)) {
		fmt.Fprintf(w, "not recorded (infrastructure; the same command redoes it): %s: %s\n", id, truncate(rep.InfraErrors[id], 160))
	}
	printRuleSets(w, rep)
}

// printRuleSets says which rules decided the verdicts, what the other set
// resolves, and where they disagree.
func printRuleSets(w io.Writer, rep result.RunReport) {
	if len(rep.ResolvedByRules) < 2 {
		return
	}
	var others []string
	for _, rules := range slices.Sorted(maps.Keys(rep.ResolvedByRules)) {
		if rules != rep.VerdictRules {
			others = append(others, fmt.Sprintf("%s resolves %d/%d", rules, rep.ResolvedByRules[rules], rep.TotalInstances))
		}
	}
	fmt.Fprintf(w, "verdicts: %s rules (%s); %d instance(s) where the rule sets disagree\n", rep.VerdictRules, strings.Join(others, ", "), rep.VerdictDisagreementInstances)
	for _, d := range rep.VerdictDisagreements {
		var rs []string
		for _, rules := range slices.Sorted(maps.Keys(d.Verdicts)) {
			rs = append(rs, rules+" "+string(d.Verdicts[rules]))
		}
		fmt.Fprintf(w, "  %s (rollout %d): %s: %s\n", d.InstanceID, d.Rollout, strings.Join(rs, ", "), truncate(d.Why, 240))
	}
}

func uniq(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// checkPredictions warns about predictions that will not be graded as
// written (ids outside the selected tasks, patches that were not UTF-8)
// and fails when none matches a task: a run that grades nothing is a
// mistake, not a result.
func checkPredictions(c *cli.Context, preds map[string]predictions.Prediction, tasks []benchmarks.Task, malformed int) error {
	known := make(map[string]bool, len(tasks))
	for _, t := range tasks {
		known[t.ID] = true
	}
	var unknown []string
	matched := 0
	for _, id := range slices.Sorted(maps.Keys(preds)) {
		p := preds[id]
		if !known[id] {
			unknown = append(unknown, id)
			continue
		}
		matched++
		if p.InvalidUTF8 {
			logger(c).Warn("prediction patch is not valid UTF-8: its invalid bytes were replaced by U+FFFD, so hunks on non-UTF-8 content will not apply", "instance", id, "at", p.Source)
		}
	}
	if len(unknown) > 0 {
		logger(c).Warn("predictions for instances outside the dataset selection are not graded", "count", len(unknown), "first", unknown[0], "dataset", c.String("dataset"))
	}
	if matched == 0 && len(tasks) > 0 {
		return fmt.Errorf("%s: no prediction matches an instance of %s (%d read, %d malformed, %d for other instances): nothing to grade; check the instance_id values and --instance-ids/--filter/--slice",
			c.String("predictions"), c.String("dataset"), len(preds), malformed, len(unknown))
	}
	return nil
}
