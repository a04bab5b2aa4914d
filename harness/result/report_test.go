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
