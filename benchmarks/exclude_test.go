package benchmarks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadExclusions(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       map[string]string
		err        string
	}{
		{"lines, comments and blanks", "# from sweval validate --repeat 5\n{\"instance_id\": \"a__b-1\", \"reason\": \"flaky: valid in 3 of 5 runs\"}\n\n{\"instance_id\": \"c__d-2\", \"reason\": \"invalid\"}\n",
			map[string]string{"a__b-1": "flaky: valid in 3 of 5 runs", "c__d-2": "invalid"}, ""},
		{"not JSON", "{\"instance_id\": \"a\"}\na__b-1\n", nil, ":2: not an exclusion object"},
		{"no id", "{\"reason\": \"x\"}\n", nil, `:1: field "instance_id"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "exclude.jsonl")
			os.WriteFile(path, []byte(tc.text), 0o644)
			got, err := LoadExclusions(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), path+tc.err) {
					t.Fatalf("err %v, want one naming %s%s", err, path, tc.err)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("%v %v", got, err)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: %q, want %q", k, got[k], v)
				}
			}
			tasks := Exclude([]Task{{ID: "a__b-1"}, {ID: "x"}, {ID: "c__d-2"}}, got)
			if len(tasks) != 1 || tasks[0].ID != "x" {
				t.Errorf("Exclude kept %v", tasks)
			}
		})
	}
}
