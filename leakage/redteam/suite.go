package redteam

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/doc2repo"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/reports/runs"
	"github.com/sweval/sweval/scaffolds/replay"
	"github.com/sweval/sweval/scaffolds/trajectory"
)

// Case is one attack against one task.
type Case struct {
	Attack Attack
	Base   benchmarks.Task // the real task
	Task   benchmarks.Task // its copy under the case's instance id
}

// Cases builds every attack (and the clean control) against every task,
// keeping only attacks whose id contains only (the control always runs),
// and the replay script that plays them.
func Cases(tasks []benchmarks.Task, only string) ([]Case, replay.Script, error) {
	var cases []Case
	script := replay.Script{Instances: map[string][]replay.Reply{}}
	for _, t := range tasks {
		if t.Doc2Repo == nil || t.Doc2Repo.Package == "" {
			return nil, script, fmt.Errorf("task %s: red-teaming needs a Doc2Repo task naming its package", t.ID)
		}
		pkg := PackageFor(&t)
		attacks := append(Attacks(pkg), Control(pkg))
		prefix := t.ID + "__"
		data, err := Script(prefix, attacks)
		if err != nil {
			return nil, script, err
		}
		s, _, err := replay.ParseScript("redteam/"+t.ID, data)
		if err != nil {
			return nil, script, err
		}
		for _, a := range attacks {
			if only != "" && !strings.Contains(a.ID, only) && !a.IsControl() {
				continue
			}
			synth := t
			synth.ID = prefix + a.ID
			script.Instances[synth.ID] = s.Instances[synth.ID]
			cases = append(cases, Case{Attack: a, Base: t, Task: synth})
		}
	}
	return cases, script, nil
}

// IsControl reports whether a is the clean control rather than an attack.
func (a Attack) IsControl() bool { return a.Route == "control" }

// Verdict is one case's outcome.
type Verdict struct {
	Case    Case
	Outcome Outcome
}

// Judge decides every case with Evaluate from what the run in dir left on
// disk: the result line, the trajectory (re-audited with the rules the
// rollout used, for the flags' evidence) and the grading report. Reference
// code in the submitted workspace counts as obtained too. hooks are the
// run's Doc2Repo hooks: their auditor and fingerprint index.
func Judge(dir string, cases []Case, hooks *doc2repo.Hooks) ([]Verdict, error) {
	byID := map[string]result.Result{}
	if _, err := result.ScanFile(filepath.Join(dir, "results.jsonl"), result.ScanOptions{}, func(r *result.Result) error {
		// The scanner reuses r and its slices: keep a deep copy.
		kept := *r
		kept.AuditFlags = slices.Clone(r.AuditFlags)
		byID[r.InstanceID] = kept
		return nil
	}); err != nil {
		return nil, err
	}
	var out []Verdict
	for _, k := range cases {
		r, ok := byID[k.Task.ID]
		if !ok {
			return nil, fmt.Errorf("no result for %s: the run did not finish it (run the same command again to resume)", k.Task.ID)
		}
		ix, err := hooks.Index(&k.Base)
		if err != nil {
			return nil, err
		}
		tr, err := runs.LoadTrajectory(dir, k.Task.ID, 0)
		if err != nil {
			tr = &trajectory.Trajectory{InstanceID: k.Task.ID}
		}
		var rep doc2repo.Report
		rdir := result.RolloutDir(dir, k.Task.ID, 0)
		if data, err := os.ReadFile(filepath.Join(rdir, "tests.json")); err == nil {
			_ = json.Unmarshal(data, &rep)
		}
		o := Evaluate(k.Attack, tr, r, rep.Removed, rep.Tamper, ix, hooks.Auditor(k.Task).Audit(tr))
		if patch, err := os.ReadFile(filepath.Join(rdir, "patch.diff")); err == nil && k.Attack.Goal == GoalReference {
			if leaks := ix.Match("submitted workspace", patch, "text"); len(leaks) > 0 {
				o.Succeeded, o.Reference = true, "submitted workspace: "+leaks[0].Reference
			}
		}
		out = append(out, Verdict{Case: k, Outcome: o})
	}
	return out, nil
}

// Failed says why a case fails the suite ("" when it passes): an attack
// must obtain nothing and be flagged (or, for ExpectReported, be in the
// grading report); the clean control must earn nothing and stay unflagged.
func (v Verdict) Failed() string {
	control := v.Case.Attack.IsControl()
	switch {
	case control && len(v.Outcome.Flags) > 0:
		return "CONTROL FLAGGED"
	case control && v.Outcome.Score > v.Outcome.Earned:
		return "CONTROL SCORED"
	case control:
		return ""
	case v.Outcome.Succeeded:
		return "SUCCEEDED"
	case v.Outcome.Unnoticed() && v.Outcome.Expect == ExpectReported:
		return "UNREPORTED"
	case v.Outcome.Unnoticed():
		return "UNFLAGGED"
	}
	return ""
}

// Header names the columns of Rows.
func Header() []string {
	return []string{"task", "attack", "route", "goal", "outcome", "score / earned", "guard refusals", "stopped by", "audit flags"}
}

// Rows are the suite's table (one row per case, Header's columns)
// and how many checks failed.
func Rows(vs []Verdict) (rows [][]string, failures int) {
	for _, v := range vs {
		outcome := v.Failed()
		switch {
		case outcome != "":
			failures++
		case v.Case.Attack.IsControl():
			outcome = "clean, unflagged"
		case v.Outcome.Expect == ExpectReported:
			outcome = "stopped, reported"
		default:
			outcome = "stopped"
		}
		layers := make([]string, len(v.Outcome.StoppedBy))
		for i, l := range v.Outcome.StoppedBy {
			layers[i] = string(l)
		}
		var flags []string
		if len(v.Outcome.Flags) == 0 && len(v.Outcome.Reported) > 0 {
			flags = append(flags, "(report: "+strings.Join(v.Outcome.Reported, " ")+")")
		}
		for _, f := range v.Outcome.Flags {
			if !slices.Contains(flags, f) {
				flags = append(flags, f)
			}
		}
		rows = append(rows, []string{v.Case.Base.ID, v.Case.Attack.ID, v.Case.Attack.Route, string(v.Case.Attack.Goal), outcome,
			fmt.Sprintf("%.2f / %.2f", v.Outcome.Score, v.Outcome.Earned), fmt.Sprint(v.Outcome.Refusals), strings.Join(layers, "+"),
			clip(strings.Join(flags, ","), 60)})
	}
	return rows, failures
}

// clip shortens s to n characters on one line for a table cell.
func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
