package grade

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sweval/sweval/harness/result"
)

// Rules say how the outcomes of a test run become a verdict (the CLI's
// --verdicts). Both rule sets read the same outcomes, from the same
// channel: a run the grader finds forged, timed out or unreadable is
// decided before any rule is applied.
type Rules string

const (
	// RulesStrict is sweval's hardened reading (see Resolve), the default.
	RulesStrict Rules = "strict"
	// RulesSWEBench is SWE-bench's own (swebench.harness.grading): a test
	// passed when reported PASSED or XFAIL, failed when reported FAILED or
	// ERROR or not reported at all, and counts neither way when SKIPPED or
	// XPASS; ids are matched exactly as SWE-bench's parsers spell them.
	RulesSWEBench Rules = "swebench"
)

// AllRules are the rule sets every SWE-style verdict is read under.
var AllRules = []Rules{RulesStrict, RulesSWEBench}

// ParseRules reads a --verdicts value ("" is strict).
func ParseRules(s string) (Rules, error) {
	switch r := Rules(strings.TrimSpace(s)); r {
	case "":
		return RulesStrict, nil
	case RulesStrict, RulesSWEBench:
		return r, nil
	}
	return "", fmt.Errorf("--verdicts %q: use strict (sweval's hardened rules, the default) or swebench (SWE-bench's own)", s)
}

// Reading is one rule set's verdict on a test run.
type Reading struct {
	Resolution  result.Resolution
	TestsStatus result.TestsStatus
}

// ResolveWith is Resolve under rules.
func ResolveWith(rules Rules, failToPass, passToPass []string, tests map[string]TestStatus) (result.TestsStatus, result.Resolution) {
	if rules == RulesSWEBench {
		return resolveSWEBench(failToPass, passToPass, tests)
	}
	return Resolve(failToPass, passToPass, tests)
}

// resolveSWEBench is swebench.harness.grading's get_eval_tests_report with
// EvalType.PASS_AND_FAIL, then get_resolution_status: each list's rate is
// success / (success + failure), 1 when both are empty, so a FAIL_TO_PASS
// test that was skipped drops out of the count instead of failing.
func resolveSWEBench(failToPass, passToPass []string, tests map[string]TestStatus) (result.TestsStatus, result.Resolution) {
	ts := result.TestsStatus{
		FailToPass: result.SuccessFailure{Success: []string{}, Failure: []string{}},
		PassToPass: result.SuccessFailure{Success: []string{}, Failure: []string{}},
	}
	sort := func(ids []string, sf *result.SuccessFailure) {
		for _, id := range ids {
			s, ok := tests[id] // exact: SWE-bench's `case in sm`
			switch {
			case ok && (s == Passed || s == XFail):
				sf.Success = append(sf.Success, id)
			case !ok || s == Failed || s == Error:
				sf.Failure = append(sf.Failure, id)
			}
		}
	}
	sort(failToPass, &ts.FailToPass)
	sort(passToPass, &ts.PassToPass)
	rate := func(sf result.SuccessFailure) float64 {
		return ratio(len(sf.Success), len(sf.Success)+len(sf.Failure))
	}
	return ts, resolutionStatus(rate(ts.FailToPass), rate(ts.PassToPass))
}

// resolutionStatus is SWE-bench's get_resolution_status: FULL when both
// rates are 1, PARTIAL when some but not all FAIL_TO_PASS succeed and
// every PASS_TO_PASS does, NO otherwise.
func resolutionStatus(f2p, p2p float64) result.Resolution {
	switch {
	case f2p == 1 && p2p == 1:
		return result.ResolvedFull
	case f2p > 0 && f2p < 1 && p2p == 1:
		return result.ResolvedPartial
	}
	return result.ResolvedNo
}

// readAll reads tests under every rule set.
func readAll(failToPass, passToPass []string, tests map[string]TestStatus) map[Rules]Reading {
	m := make(map[Rules]Reading, len(AllRules))
	for _, r := range AllRules {
		ts, res := ResolveWith(r, failToPass, passToPass, tests)
		m[r] = Reading{Resolution: res, TestsStatus: ts}
	}
	return m
}

// Disagreement says why the rule sets read the same run differently: the
// declared tests whose outcome one set counts and the other does not, at
// most three of them; "" when every set gives the same resolution.
func Disagreement(readings map[Rules]Reading, failToPass, passToPass []string, tests map[string]TestStatus) string {
	first := ""
	same := true
	for _, r := range AllRules {
		if first == "" {
			first = string(readings[r].Resolution)
		} else if string(readings[r].Resolution) != first {
			same = false
		}
	}
	if same {
		return ""
	}
	strict, swe := readings[RulesStrict].TestsStatus, readings[RulesSWEBench].TestsStatus
	var why []string
	more := 0
	note := func(list string, ids []string, a, b result.SuccessFailure) {
		for _, id := range ids {
			sa, sb := standing(a, id), standing(b, id)
			if sa == sb {
				continue
			}
			if len(why) == 3 {
				more++
				continue
			}
			reported := "not reported"
			if st, ok := tests[id]; ok {
				reported = string(st)
			} else if st, ok := lookup(tests, id); ok {
				reported = string(st) + " (under another spelling: no exact id)"
			}
			why = append(why, fmt.Sprintf("%s %s %s: strict %s, swebench %s", list, id, reported, sa, sb))
		}
	}
	note("FAIL_TO_PASS", failToPass, strict.FailToPass, swe.FailToPass)
	note("PASS_TO_PASS", passToPass, strict.PassToPass, swe.PassToPass)
	s := strings.Join(why, "; ")
	if more > 0 {
		s += fmt.Sprintf("; and %d more", more)
	}
	return s
}

// standing is how a list reads one id: success, failure or not counted.
func standing(sf result.SuccessFailure, id string) string {
	switch {
	case slices.Contains(sf.Success, id):
		return "success"
	case slices.Contains(sf.Failure, id):
		return "failure"
	}
	return "not counted"
}

// ResolutionByRules is each rule set's resolution, keyed by its name (nil
// when no rule decided).
func (o Outcome) ResolutionByRules() map[string]result.Resolution {
	if len(o.Readings) == 0 {
		return nil
	}
	m := make(map[string]result.Resolution, len(o.Readings))
	for r, rd := range o.Readings {
		m[string(r)] = rd.Resolution
	}
	return m
}
