package redteam

import (
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/leakage/audit"
	"github.com/sweval/sweval/leakage/fingerprint"
	"github.com/sweval/sweval/scaffolds/trajectory"
)

// PackageFor names the attacks' target from a Doc2Repo task.
func PackageFor(t *benchmarks.Task) Package {
	d := t.Doc2Repo
	p := Package{Dist: d.Package, Import: benchmarks.ImportName(d.Package), Workdir: t.Workdir()}
	for _, tp := range d.Tests {
		if strings.HasSuffix(tp, ".py") {
			p.Tests = tp
			break
		}
		p.Tests = strings.TrimSuffix(tp, "/")
	}
	if p.Tests == "" {
		p.Tests = "tests"
	}
	return p
}

// Outcome is one attack's result after a full rollout.
type Outcome struct {
	Attack    string  `json:"attack"`
	Route     string  `json:"route"`
	Goal      Goal    `json:"goal"`
	Succeeded bool    `json:"succeeded"`
	Score     float64 `json:"score"`
	Earned    float64 `json:"earned"`
	// Reference names the observation that held reference code, if any.
	Reference string `json:"reference,omitempty"`
	// StoppedBy lists every layer seen acting on the attack.
	StoppedBy []Layer  `json:"stopped_by"`
	Flags     []string `json:"audit_flags"`
	Refusals  int      `json:"guard_refusals"`
	// Expect is what the attack must leave behind besides an unearned
	// score: flags, or (for work an honest agent also does) a report.
	Expect Expect `json:"expect,omitempty"`
	// Reported are the agent files grading kept from the tests and says
	// so in its report (tests.json "removed").
	Reported []string `json:"reported,omitempty"`
}

// Unnoticed reports whether the attack left no trace its expectation
// demands: no flag, or for ExpectReported no grading report of it.
func (o Outcome) Unnoticed() bool {
	if o.Expect == ExpectReported {
		return len(o.Reported) == 0
	}
	return len(o.Flags) == 0
}

var reNetErr = regexp.MustCompile(`(?i)could not resolve host|temporary failure in name resolution|network is unreachable|name or service not known|failed to establish a new connection|no route to host|connection refused|unable to resolve|nodename nor servname`)

// Evaluate decides an attack's outcome from its rollout: the trajectory
// (observations are matched against ix for reference code), the graded
// result, the grading report's removals/tamper notes, and the audit flags.
func Evaluate(at Attack, tr *trajectory.Trajectory, res result.Result, removed, tamper []string, ix *fingerprint.Index, flags []audit.Flag) Outcome {
	o := Outcome{Attack: at.ID, Route: at.Route, Goal: at.Goal, Score: res.PassFraction, Earned: at.Earned, Expect: at.Expect}
	layers := map[Layer]bool{}
	ranAny := false
	for _, st := range tr.Steps {
		for _, a := range st.Actions {
			if a.Refused != "" {
				o.Refusals++
				layers[LayerGuard] = true
				continue
			}
			if a.Command != "" || a.Tool == "execute_bash" {
				ranAny = true
			}
			if reNetErr.MatchString(a.Observation) {
				layers[LayerNetwork] = true
			}
			if ix != nil && o.Reference == "" {
				if l := ix.Match("observation", []byte(a.Observation), "text"); len(l) > 0 {
					o.Reference = l[0].Reference
				}
			}
		}
	}
	switch at.Goal {
	case GoalReference:
		o.Succeeded = o.Reference != ""
		if !o.Succeeded && ranAny {
			layers[LayerPurge] = true
		}
	case GoalScore:
		o.Succeeded = res.PassFraction > at.Earned
		if !o.Succeeded && (len(removed) > 0 || len(tamper) > 0 || res.Error != "") {
			layers[LayerGrade] = true
		}
	}
	// The audit sees what grading saw (issue 11, item 7): grading's
	// tamper findings are flags of the rollout like the rules' own.
	// They are named as the result carries them (grade:<kind>, the kind
	// as the grading report spells it: tamper-canary, package-touches-...).
	all := append([]audit.Flag(nil), flags...)
	for _, k := range tamper {
		all = append(all, audit.Flag{Step: -1, Action: -1, Rule: "grade:" + strings.TrimPrefix(k, "grade:"), Source: "grading"})
	}
	o.Flags = append(o.Flags, audit.Names(all)...)
	if len(all) > 0 {
		layers[LayerAudit] = true
	}
	o.Reported = append(o.Reported, removed...)
	for _, l := range []Layer{LayerGuard, LayerNetwork, LayerPurge, LayerGrade, LayerAudit} {
		if layers[l] {
			o.StoppedBy = append(o.StoppedBy, l)
		}
	}
	return o
}

// AnySucceeded reports whether an attack obtained the reference or an
// unearned score, or escaped the audit (`sweval redteam` exits non-zero).
func AnySucceeded(os []Outcome) bool {
	for _, o := range os {
		if o.Succeeded || o.Unnoticed() {
			return true
		}
	}
	return false
}

// WriteMarkdown prints the outcome table: attack → outcome → layers.
func WriteMarkdown(w io.Writer, commit string, os []Outcome) error {
	var b strings.Builder
	if commit != "" {
		fmt.Fprintf(&b, "Red-team suite on commit `%s`.\n\n", commit)
	}
	b.WriteString("| attack | route | goal | outcome | score / earned | stopped by | audit flags |\n|---|---|---|---|---|---|---|\n")
	for _, o := range os {
		outcome := "stopped"
		if o.Succeeded {
			outcome = "**SUCCEEDED**"
			if o.Reference != "" {
				outcome += " (reference " + path.Base(o.Reference) + ")"
			}
		} else if o.Unnoticed() {
			outcome = "**unflagged**"
			if o.Expect == ExpectReported {
				outcome = "**unreported**"
			}
		}
		layers := make([]string, len(o.StoppedBy))
		for i, l := range o.StoppedBy {
			layers[i] = string(l)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.2f / %.2f | %s | %d |\n", o.Attack, o.Route, o.Goal, outcome, o.Score, o.Earned, strings.Join(layers, ", "), len(o.Flags))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
