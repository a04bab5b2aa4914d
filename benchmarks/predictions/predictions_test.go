package predictions

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sweval/sweval/benchmarks"
)

const realPreds = "../../testdata/benchmarks/swe-agent-gpt4-lite-preds.jsonl"

func TestLoadReal(t *testing.T) {
	preds, errs, err := Load(context.Background(), realPreds, Options{Strict: true})
	if err != nil || len(errs) > 0 {
		t.Fatalf("Load: %v %v", err, errs)
	}
	if len(preds) != 168 {
		t.Fatalf("got %d predictions, want 168", len(preds))
	}
	empty := 0
	for _, p := range preds {
		if p.IsEmpty() {
			empty++
		}
	}
	if empty != 4 {
		t.Errorf("empty patches = %d, want 4 (null model_patch in the file)", empty)
	}
	p := preds["django__django-15202"]
	if !strings.HasPrefix(p.Model, "gpt4__SWE-bench_Lite__default") || !strings.Contains(p.Patch, "diff --git a/django/core/validators.py") || p.Source != realPreds+":1" {
		t.Errorf("django__django-15202 = %+v", p)
	}
	if !preds["sympy__sympy-20154"].IsEmpty() {
		t.Errorf("sympy__sympy-20154 should be empty (null model_patch)")
	}
}

func TestFormats(t *testing.T) {
	cases := []struct {
		name   string
		input  string
		want   map[string]string // id → patch
		errs   []string          // "line/index:field" of expected record errors
		fatal  bool
		strict bool
	}{
		{name: "jsonl", input: `{"instance_id":"a","model_name_or_path":"m","model_patch":"P"}` + "\n\n" + `{"instance_id":"b","model_patch":null}` + "\n",
			want: map[string]string{"a": "P", "b": ""}},
		{name: "list", input: `[{"instance_id":"a","model_patch":"P"},{"instance_id":"b","model_patch":"Q"}]`,
			want: map[string]string{"a": "P", "b": "Q"}},
		{name: "keyed one line", input: `{"a":{"model_patch":"P"},"b":{"instance_id":"b","model_patch":"Q"}}`,
			want: map[string]string{"a": "P", "b": "Q"}},
		{name: "keyed pretty", input: "{\n  \"a\": {\"model_name_or_path\": \"m\", \"model_patch\": \"P\"},\n  \"b\": {\"model_patch\": null}\n}\n",
			want: map[string]string{"a": "P", "b": ""}},
		{name: "keyed id mismatch", input: `{"a":{"instance_id":"z","model_patch":"P"},"b":{"model_patch":"Q"}}`,
			want: map[string]string{"b": "Q"}, errs: []string{"#0:instance_id"}},
		{name: "jsonl bad lines", input: `{"instance_id":"a","model_patch":"P"}` + "\n" + `{"instance_id":"b","model_patch":` + "\n" +
			`{"instance_id":"c","model_patch":["x"]}` + "\n" + `{"model_patch":"x"}` + "\n" + `{"instance_id":"a","model_patch":"again"}` + "\n" + `{"instance_id":"d","model_patch":"D"}`,
			want: map[string]string{"a": "P", "d": "D"}, errs: []string{"2:", "3:model_patch", "4:instance_id", "5:instance_id"}},
		{name: "jsonl broken first line", input: `{"instance_id":"a",` + "\n" + `{"instance_id":"b","model_patch":"Q"}`,
			want: map[string]string{"b": "Q"}, errs: []string{"1:"}},
		{name: "strict", input: `{"instance_id":"a","model_patch":"P"}` + "\n" + `{"instance_id":"b","model_patch":5}`,
			strict: true, fatal: true, want: map[string]string{"a": "P"}},
		{name: "scalar", input: `42`, fatal: true, want: map[string]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			preds, errs, err := Read(context.Background(), strings.NewReader(tc.input), "p.json", Options{Strict: tc.strict})
			if (err != nil) != tc.fatal {
				t.Fatalf("err = %v, fatal want %v", err, tc.fatal)
			}
			if len(preds) != len(tc.want) {
				t.Errorf("got %d predictions %v, want %v", len(preds), preds, tc.want)
			}
			for id, patch := range tc.want {
				if p, ok := preds[id]; !ok || p.Patch != patch || p.InstanceID != id {
					t.Errorf("%s = %+v, want patch %q", id, p, patch)
				}
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("errs = %v, want %v", errs, tc.errs)
			}
			for i, e := range errs {
				loc, field, _ := strings.Cut(tc.errs[i], ":")
				ok := e.Field == field
				if strings.HasPrefix(loc, "#") {
					ok = ok && e.Line == 0 && "#"+itoa(e.Index) == loc
				} else {
					ok = ok && itoa(e.Line) == loc
				}
				if !ok || e.File != "p.json" {
					t.Errorf("err %d = %v (line %d index %d field %q), want %s", i, e, e.Line, e.Index, e.Field, tc.errs[i])
				}
			}
			if tc.strict {
				var re *benchmarks.RecordError
				if !errors.As(err, &re) || re.Field != "model_patch" || re.Line != 2 {
					t.Errorf("strict err = %v", err)
				}
			}
		})
	}
}

func itoa(i int) string {
	return strconv.Itoa(i)
}

func TestResolve(t *testing.T) {
	tasks := []benchmarks.Task{{ID: "x", Patch: "GOLD-X"}, {ID: "y", Patch: "GOLD-Y"}}
	gold, _, err := Resolve(context.Background(), Gold, tasks, Options{})
	if err != nil || len(gold) != 2 || gold["x"].Patch != "GOLD-X" || gold["y"].Model != "gold" {
		t.Errorf("gold = %v, %v", gold, err)
	}
	empty, _, err := Resolve(context.Background(), Empty, tasks, Options{})
	if err != nil || len(empty) != 2 || !empty["x"].IsEmpty() {
		t.Errorf("empty = %v, %v", empty, err)
	}
	path := filepath.Join(t.TempDir(), "preds.json")
	os.WriteFile(path, []byte(`[{"instance_id":"x","model_patch":"M"}]`), 0o644)
	file, _, err := Resolve(context.Background(), path, tasks, Options{})
	if err != nil || file["x"].Patch != "M" {
		t.Errorf("file = %v, %v", file, err)
	}
	if _, _, err := Resolve(context.Background(), filepath.Join(t.TempDir(), "nope.jsonl"), tasks, Options{}); err == nil {
		t.Errorf("missing file: want an error")
	}
	if _, _, err := Resolve(context.Background(), "", tasks, Options{}); err == nil {
		t.Errorf("empty spec: want an error")
	}
}

// TestBadInputSaysWhatToDo covers inputs that once graded nothing or
// changed a patch silently: a wrapper object, and bytes that are not UTF-8.
func TestBadInputSaysWhatToDo(t *testing.T) {
	for _, c := range []struct {
		name, text string
		wantErr    string // in the one record error
		invalid    string // id whose patch is flagged InvalidUTF8
	}{
		{name: "wrapper object", text: `{"predictions": [{"instance_id": "a__b-1", "model_patch": ""}]}`, wantErr: `key "predictions" holds a list`},
		{name: "latin-1 patch", text: "{\"instance_id\": \"a__b-1\", \"model_name_or_path\": \"m\", \"model_patch\": \"caf\xe9\"}\n", invalid: "a__b-1"},
		{name: "utf-8 patch", text: "{\"instance_id\": \"a__b-1\", \"model_name_or_path\": \"m\", \"model_patch\": \"caf\u00e9\"}\n"},
	} {
		preds, errs, err := Read(context.Background(), strings.NewReader(c.text), "preds.json", Options{})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if c.wantErr != "" {
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.wantErr) || !strings.Contains(errs[0].Error(), "jq") {
				t.Errorf("%s: errors %v, want one saying %q and how to unwrap", c.name, errs, c.wantErr)
			}
			continue
		}
		for id, p := range preds {
			if p.InvalidUTF8 != (id == c.invalid) {
				t.Errorf("%s: %s InvalidUTF8 = %v", c.name, id, p.InvalidUTF8)
			}
		}
	}
}
