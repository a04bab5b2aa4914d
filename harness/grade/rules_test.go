package grade

import (
	"strings"
	"testing"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/result"
)

// Both rule sets over the same outcomes, with the cases where SWE-bench's
// grading.py reads a test differently from sweval's hardened rules.
func TestRuleSets(t *testing.T) {
	const f2p, p2p = "t.py::test_fix", "t.py::test_keep"
	cases := []struct {
		name             string
		tests            map[string]TestStatus
		strict, swebench result.Resolution
		why              string // part of the disagreement; "" when they agree
	}{
		{"both pass", map[string]TestStatus{f2p: Passed, p2p: Passed}, result.ResolvedFull, result.ResolvedFull, ""},
		{"fix fails", map[string]TestStatus{f2p: Failed, p2p: Passed}, result.ResolvedNo, result.ResolvedNo, ""},
		// SWE-bench's test_passed counts XFAIL as a pass.
		{"fix xfails", map[string]TestStatus{f2p: XFail, p2p: Passed}, result.ResolvedNo, result.ResolvedFull, "FAIL_TO_PASS t.py::test_fix XFAIL: strict failure, swebench success"},
		// Neither test_passed nor test_failed: the test drops out and an
		// empty list's rate is 1.
		{"fix skipped", map[string]TestStatus{f2p: Skipped, p2p: Passed}, result.ResolvedNo, result.ResolvedFull, "FAIL_TO_PASS t.py::test_fix SKIPPED: strict failure, swebench not counted"},
		{"fix xpasses", map[string]TestStatus{f2p: XPass, p2p: Passed}, result.ResolvedFull, result.ResolvedFull, ""},
		{"kept test skipped", map[string]TestStatus{f2p: Passed, p2p: Skipped}, result.ResolvedFull, result.ResolvedFull, ""},
		{"kept test missing", map[string]TestStatus{f2p: Passed}, result.ResolvedNo, result.ResolvedNo, ""},
		// JUnit's classname.name spelling is sweval's fallback; SWE-bench
		// matches the id exactly.
		{"fix under another spelling", map[string]TestStatus{"t.test_fix": Passed, p2p: Passed}, result.ResolvedFull, result.ResolvedNo, "(under another spelling: no exact id): strict success, swebench failure"},
	}
	task := benchmarks.Task{ID: "o__r-1", FailToPass: []string{f2p}, PassToPass: []string{p2p}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, rules := range AllRules {
				var out Outcome
				code := 1
				out.TestExitCode = &code
				scoreDeclared(&out, task, c.tests, rules)
				want := map[Rules]result.Resolution{RulesStrict: c.strict, RulesSWEBench: c.swebench}
				if out.Resolution != want[rules] || out.Rules != rules {
					t.Errorf("--verdicts %s: %s (rules %q), want %s", rules, out.Resolution, out.Rules, want[rules])
				}
				if (out.Status == result.StatusResolved) != (want[rules] == result.ResolvedFull) {
					t.Errorf("--verdicts %s: status %s with resolution %s", rules, out.Status, out.Resolution)
				}
				for r, res := range want {
					if got := out.Readings[r].Resolution; got != res {
						t.Errorf("--verdicts %s: reading under %s is %s, want %s", rules, r, got, res)
					}
				}
				if c.why == "" && out.Disagreement != "" || !strings.Contains(out.Disagreement, c.why) {
					t.Errorf("--verdicts %s: disagreement %q, want one containing %q", rules, out.Disagreement, c.why)
				}
			}
		})
	}
}

func TestParseRules(t *testing.T) {
	for in, want := range map[string]Rules{"": RulesStrict, "strict": RulesStrict, " swebench ": RulesSWEBench} {
		if got, err := ParseRules(in); err != nil || got != want {
			t.Errorf("ParseRules(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseRules("lenient"); err == nil || !strings.Contains(err.Error(), "--verdicts") {
		t.Errorf("ParseRules(lenient): %v, want an error naming --verdicts", err)
	}
}
