package result

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestReportIDListsNeverNull: SWE-bench writes [] for an empty id list and
// tools that read its reports iterate over them; null breaks them.
func TestReportIDListsNeverNull(t *testing.T) {
	tests := []struct {
		name string
		rep  RunReport
	}{
		{"zero value", RunReport{}},
		{"summary of nothing", Summarize("r", nil, nil)},
		{"all incomplete", Summarize("r", []string{"a__b-1"}, nil)},
		{"one resolved", Summarize("r", []string{"a__b-1"}, []Result{{InstanceID: "a__b-1", Status: StatusResolved, Resolved: true}})},
	}
	// Every []string field with an _ids key, found by reflection so a new
	// list cannot be forgotten.
	var keys []string
	rt := reflect.TypeOf(RunReport{})
	for i := range rt.NumField() {
		f := rt.Field(i)
		if tag := strings.Split(f.Tag.Get("json"), ",")[0]; strings.HasSuffix(tag, "_ids") {
			keys = append(keys, tag)
		}
	}
	if len(keys) < 7 {
		t.Fatalf("found %d id lists, want at least 7", len(keys))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.rep)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if v := string(m[k]); v == "" || v == "null" || v[0] != '[' {
					t.Errorf("%s = %q, want a JSON list", k, v)
				}
			}
			if v := string(m["instances"]); v == "null" {
				t.Errorf("instances = null, want {}")
			}
			var back RunReport
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("round trip: %v", err)
			}
		})
	}
	b, _ := json.Marshal(RunReport{})
	if !strings.Contains(string(b), `"resolved_ids":[]`) {
		t.Errorf("empty report: %s", b)
	}
}

// The report says which rules decided, what each rule set resolves and
// where they disagree; rollouts no rule read (nothing declared) count
// under every set by their own verdict, errors under none.
func TestSummarizeRuleSets(t *testing.T) {
	both := func(strict, swe Resolution) map[string]Resolution {
		return map[string]Resolution{"strict": strict, "swebench": swe}
	}
	results := []Result{
		{InstanceID: "a__a-1", Status: StatusResolved, Resolved: true, VerdictRules: "strict", Verdicts: both(ResolvedFull, ResolvedFull)},
		{InstanceID: "b__b-1", Status: StatusUnresolved, VerdictRules: "strict", Verdicts: both(ResolvedNo, ResolvedFull),
			VerdictDisagreement: "FAIL_TO_PASS t.py::x XFAIL: strict failure, swebench success"},
		{InstanceID: "b__b-1", Rollout: 1, Status: StatusUnresolved, VerdictRules: "strict", Verdicts: both(ResolvedNo, ResolvedNo)},
		{InstanceID: "c__c-1", Status: StatusResolved, Resolved: true}, // nothing declared: the exit code decided
		{InstanceID: "d__d-1", Status: StatusError, Error: "timeout"},
	}
	rep := Summarize("r", []string{"a__a-1", "b__b-1", "c__c-1", "d__d-1", "e__e-1"}, results)
	if rep.VerdictRules != "strict" {
		t.Errorf("verdict_rules %q, want strict", rep.VerdictRules)
	}
	if want := map[string]int{"strict": 2, "swebench": 3}; !reflect.DeepEqual(rep.ResolvedByRules, want) {
		t.Errorf("resolved_by_rules %v, want %v", rep.ResolvedByRules, want)
	}
	if rep.ResolvedInstances != rep.ResolvedByRules["strict"] {
		t.Errorf("%d resolved, but strict (the deciding rules) resolves %d", rep.ResolvedInstances, rep.ResolvedByRules["strict"])
	}
	if rep.VerdictDisagreementInstances != 1 || len(rep.VerdictDisagreements) != 1 || rep.VerdictDisagreements[0].InstanceID != "b__b-1" ||
		rep.VerdictDisagreements[0].Verdicts["swebench"] != ResolvedFull || !strings.Contains(rep.VerdictDisagreements[0].Why, "XFAIL") {
		t.Errorf("disagreements %d %+v, want b__b-1 rollout 0 (XFAIL)", rep.VerdictDisagreementInstances, rep.VerdictDisagreements)
	}
	b, _ := json.Marshal(Summarize("r", []string{"a__a-1"}, nil))
	if !strings.Contains(string(b), `"verdict_disagreements":[]`) || strings.Contains(string(b), "resolved_by_rules") {
		t.Errorf("report with no rule-read verdicts: %s", b)
	}
}
