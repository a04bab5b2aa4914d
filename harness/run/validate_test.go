package run

import (
	"slices"
	"testing"

	"github.com/sweval/sweval/harness/grade"
)

func TestCombineRunsFindsFlakiness(t *testing.T) {
	pass, fail := grade.TestStatus("PASSED"), grade.TestStatus("FAILED")
	run := func(valid bool, after grade.TestStatus) Validity {
		return Validity{InstanceID: "x", Valid: valid, After: grade.Outcome{Tests: map[string]grade.TestStatus{"t::a": pass, "t::b": after}}}
	}
	for _, tc := range []struct {
		name         string
		runs         []Validity
		valid, flaky bool
		validRuns    int
		flakyTests   []string
	}{
		{"every run valid", []Validity{run(true, pass), run(true, pass), run(true, pass)}, true, false, 3, nil},
		{"never valid is invalid, not flaky", []Validity{run(false, fail), run(false, fail)}, false, false, 0, nil},
		{"one run in three fails", []Validity{run(true, pass), run(false, fail), run(true, pass)}, false, true, 2, []string{"after:t::b"}},
		{"valid each time but a test flips", []Validity{run(true, pass), {InstanceID: "x", Valid: true, Before: grade.Outcome{Tests: map[string]grade.TestStatus{"t::c": pass}}},
			{InstanceID: "x", Valid: true, Before: grade.Outcome{Tests: map[string]grade.TestStatus{"t::c": fail}}}}, false, true, 3, []string{"before:t::c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := combineRuns(tc.runs)
			if v.Valid != tc.valid || v.Flaky != tc.flaky || v.ValidRuns != tc.validRuns || v.Runs != len(tc.runs) || !slices.Equal(v.FlakyTests, tc.flakyTests) {
				t.Errorf("combineRuns = valid %v flaky %v %d/%d %v (%s)", v.Valid, v.Flaky, v.ValidRuns, v.Runs, v.FlakyTests, v.Reason)
			}
		})
	}
}
