package swebench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sweval/sweval/benchmarks"
)

const dataDir = "../../testdata/benchmarks"

// toJSONL rewrites a JSON array file as JSONL in dir, so both container
// formats are tested on the same real records.
func toJSONL(t *testing.T, src, dir string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, r := range rows {
		var c bytes.Buffer
		if err := json.Compact(&c, r); err != nil {
			t.Fatal(err)
		}
		buf.Write(c.Bytes())
		buf.WriteByte('\n')
	}
	out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".json")+".jsonl")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLoadRealFiles(t *testing.T) {
	tmp := t.TempDir()
	testJSON := filepath.Join(dataDir, "swe-bench-lite-test.json")
	devJSON := filepath.Join(dataDir, "swe-bench-lite-dev.json")
	cases := []struct {
		name       string
		path       string
		n          int
		firstID    string
		firstBase  string
		firstF2P0  string
		firstP2P   int
		lastID     string
		lastVer    string
		totalF2P   int
		sourceLine bool
	}{
		{"test array", testJSON, 300, "django__django-15202", "4fd3044ca0135da903a70dfb66992293f529ecf1",
			"test_urlfield_clean_invalid (forms_tests.field_tests.test_urlfield.URLFieldTest)", 6,
			"django__django-12983", "3.2", 1040, false},
		{"test jsonl", toJSONL(t, testJSON, tmp), 300, "django__django-15202", "4fd3044ca0135da903a70dfb66992293f529ecf1",
			"test_urlfield_clean_invalid (forms_tests.field_tests.test_urlfield.URLFieldTest)", 6,
			"django__django-12983", "3.2", 1040, true},
		{"dev array with unknown fields", devJSON, 23, "sqlfluff__sqlfluff-1625", "14e1a23a3166b9a645a16de96f694c77a5d4abb7",
			"test/cli/commands_test.py::test__cli__command_directed", 64,
			"pydicom__pydicom-1256", "2.1", -1, false},
		{"dev jsonl", toJSONL(t, devJSON, tmp), 23, "sqlfluff__sqlfluff-1625", "14e1a23a3166b9a645a16de96f694c77a5d4abb7",
			"test/cli/commands_test.py::test__cli__command_directed", 64,
			"pydicom__pydicom-1256", "2.1", -1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tasks, errs, err := Load(context.Background(), tc.path, Options{Strict: true})
			if err != nil || len(errs) > 0 {
				t.Fatalf("Load: err=%v record errors=%v", err, errs)
			}
			if len(tasks) != tc.n {
				t.Fatalf("got %d tasks, want %d", len(tasks), tc.n)
			}
			first, last := tasks[0], tasks[len(tasks)-1]
			if first.ID != tc.firstID || first.BaseCommit != tc.firstBase || first.Kind != benchmarks.KindSWEBench {
				t.Errorf("first = %s %s %s", first.ID, first.BaseCommit, first.Kind)
			}
			if len(first.FailToPass) == 0 || first.FailToPass[0] != tc.firstF2P0 || len(first.PassToPass) != tc.firstP2P {
				t.Errorf("first F2P=%q P2P=%d", first.FailToPass, len(first.PassToPass))
			}
			if !strings.HasPrefix(first.Patch, "diff --git") || first.TestPatch == "" || first.ProblemStatement == "" {
				t.Errorf("first patch/test_patch/problem missing")
			}
			if last.ID != tc.lastID || last.Version != tc.lastVer {
				t.Errorf("last = %s version %s", last.ID, last.Version)
			}
			if tc.totalF2P >= 0 {
				total := 0
				for _, task := range tasks {
					total += len(task.FailToPass)
				}
				if total != tc.totalF2P {
					t.Errorf("total FAIL_TO_PASS = %d, want %d", total, tc.totalF2P)
				}
			}
			wantSuffix := "#0"
			if tc.sourceLine {
				wantSuffix = ":1"
			}
			if !strings.HasSuffix(first.Source, wantSuffix) {
				t.Errorf("Source = %q, want suffix %q", first.Source, wantSuffix)
			}
			if first.Features["fail_to_pass"] != float64(len(first.FailToPass)) || first.Features["patch_files"] < 1 {
				t.Errorf("features = %v", first.Features)
			}
		})
	}
}

// corrupt builds a JSONL copy of the first 10 dev records with known damage.
func corrupt(t *testing.T, dir string) (path string, good int) {
	t.Helper()
	src := toJSONL(t, filepath.Join(dataDir, "swe-bench-lite-dev.json"), dir)
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")[:10]
	edit := func(i int, f func(map[string]any)) {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		out, _ := json.Marshal(m)
		lines[i] = string(out) + "\n"
	}
	lines[1] = lines[1][:len(lines[1])/2] + "\n"                                 // line 2: truncated
	edit(3, func(m map[string]any) { m["base_commit"] = 12345 })                 // line 4: wrong type
	edit(5, func(m map[string]any) { m["FAIL_TO_PASS"] = "test_a, test_b" })     // line 6: not a JSON list
	edit(6, func(m map[string]any) { delete(m, "instance_id") })                 // line 7: no id
	lines[8] = lines[0]                                                          // line 9: duplicate of line 1
	edit(9, func(m map[string]any) { m["PASS_TO_PASS"] = []string{"t1", "t2"} }) // real list: fine
	// a blank line keeps line numbers honest
	content := strings.Join(lines[:7], "") + "\n" + strings.Join(lines[7:], "")
	path = filepath.Join(dir, "corrupt.jsonl")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, 5
}

func TestLoadCorrupt(t *testing.T) {
	path, good := corrupt(t, t.TempDir())
	tasks, errs, err := Load(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(tasks) != good {
		t.Errorf("loaded %d good tasks, want %d", len(tasks), good)
	}
	want := []struct {
		line  int
		field string
		msg   string
	}{
		{2, "", "not a JSON object"},
		{4, "base_commit", "want a string, got a number"},
		{6, "FAIL_TO_PASS", "not a JSON-encoded list"},
		{7, "instance_id", "missing"},
		{10, "instance_id", "duplicate"}, // line 9 in the list + the blank line
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d record errors, want %d: %v", len(errs), len(want), errs)
	}
	for i, w := range want {
		e := errs[i]
		if e.File != path || e.Line != w.line || e.Field != w.field || !strings.Contains(e.Error(), w.msg) {
			t.Errorf("error %d = %v (line %d field %q), want line %d field %q containing %q", i, e, e.Line, e.Field, w.line, w.field, w.msg)
		}
	}
	for _, task := range tasks {
		if task.ID == "" || strings.HasSuffix(task.Source, ":2") {
			t.Errorf("bad task loaded: %+v", task.Source)
		}
	}
	// the real-list PASS_TO_PASS on line 11 was accepted
	last := tasks[len(tasks)-1]
	if len(last.PassToPass) != 2 || last.PassToPass[1] != "t2" {
		t.Errorf("real list P2P = %q", last.PassToPass)
	}

	_, _, err = Load(context.Background(), path, Options{Strict: true})
	var re *benchmarks.RecordError
	if !errors.As(err, &re) || re.Line != 2 {
		t.Fatalf("strict: err = %v, want the RecordError of line 2", err)
	}
}

func TestRecordErrorsTable(t *testing.T) {
	cases := []struct {
		name    string
		input   string
		tasks   int
		field   string // "" = no error expected
		index   int
		line    int
		fatal   bool
		checkFn func(*testing.T, []benchmarks.Task)
	}{
		{name: "array element not an object", input: `[{"instance_id":"a"}, 7, {"instance_id":"b"}]`, tasks: 2, index: 1, field: ""},
		{name: "array wrong type", input: `[{"instance_id":"a","PASS_TO_PASS":{"x":1}}]`, tasks: 0, field: "PASS_TO_PASS"},
		{name: "array id not a string", input: `[{"instance_id":3}]`, field: "instance_id"},
		{name: "array truncated", input: `[{"instance_id":"a"}, {"instance_id":"b"`, tasks: 1, index: 1, fatal: true},
		{name: "install_config", input: `{"instance_id":"x","install_config":{"python":3.9,"install":"pip install -e .","test_cmd":["pytest -rA","echo done"],"pip_packages":["a==1"],"pre_install":"apt-get update","eval_commands":["export LANG=en_US.UTF-8","locale"],"reqs_path":["r.txt"]}}`,
			tasks: 1, checkFn: func(t *testing.T, ts []benchmarks.Task) {
				ic := ts[0].Install
				if ic == nil || ic.Python != "3.9" || ic.Install != "pip install -e ." || ic.TestCmd != "pytest -rA && echo done" ||
					len(ic.PipPackages) != 1 || len(ic.PreInstall) != 1 || len(ic.EvalCommands) != 2 {
					t.Errorf("install = %+v", ic)
				}
			}},
		{name: "install_config wrong type", input: `{"instance_id":"x","install_config":{"pip_packages":5}}`, field: "install_config.pip_packages", line: 1},
		{name: "eval_commands wrong type", input: `{"instance_id":"x","install_config":{"eval_commands":{"a":1}}}`, field: "install_config.eval_commands", line: 1},
		{name: "openswe row", input: `{"instance_id":"o","Dockerfile":"FROM x","eval_script":"#!/bin/bash\necho","image_name":"img:1","FAIL_TO_PASS":"[]"}`,
			tasks: 1, checkFn: func(t *testing.T, ts []benchmarks.Task) {
				if ts[0].Kind != benchmarks.KindOpenSWE || ts[0].ImageName != "img:1" || ts[0].Dockerfile != "FROM x" {
					t.Errorf("openswe = %+v", ts[0])
				}
			}},
		{name: "numeric version, null hints", input: `{"instance_id":"v","version":3.1,"hints_text":null}`, tasks: 1,
			checkFn: func(t *testing.T, ts []benchmarks.Task) {
				if ts[0].Version != "3.1" {
					t.Errorf("version = %q", ts[0].Version)
				}
			}},
		{name: "not json", input: "hello", fatal: true},
		{name: "empty file", input: "  \n", fatal: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tasks, errs, err := Read(context.Background(), strings.NewReader(tc.input), "mem.json", Options{})
			if (err != nil) != tc.fatal {
				t.Fatalf("fatal err = %v, want fatal %v", err, tc.fatal)
			}
			if len(tasks) != tc.tasks {
				t.Errorf("tasks = %d, want %d", len(tasks), tc.tasks)
			}
			if tc.checkFn != nil {
				tc.checkFn(t, tasks)
			}
			if tc.fatal {
				return
			}
			wantErr := tc.field != "" || tc.tasks == 0 || strings.Contains(tc.name, "not an object")
			if !wantErr {
				if len(errs) != 0 {
					t.Errorf("unexpected errors %v", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("errs = %v, want one", errs)
			}
			if errs[0].Field != tc.field || errs[0].Index != tc.index || errs[0].Line != tc.line {
				t.Errorf("err = %v (field %q index %d line %d)", errs[0], errs[0].Field, errs[0].Index, errs[0].Line)
			}
		})
	}
}

func BenchmarkLoadTestSplit(b *testing.B) {
	path := filepath.Join(dataDir, "swe-bench-lite-test.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Load(context.Background(), path, Options{Strict: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNaiveUnmarshal is the side-by-side baseline for
// BenchmarkLoadTestSplit: a non-streaming loader that reads the whole file,
// unmarshals it at once into typed rows and decodes the test lists. It
// holds the file's bytes and every row at the same time; compare B/op and
// ns/op.
func BenchmarkNaiveUnmarshal(b *testing.B) {
	path := filepath.Join(dataDir, "swe-bench-lite-test.json")
	type row struct {
		Repo, InstanceID, BaseCommit, Patch, TestPatch, ProblemStatement, HintsText, CreatedAt, Version string
		EnvironmentSetupCommit                                                                          string `json:"environment_setup_commit"`
		FailToPass                                                                                      string `json:"FAIL_TO_PASS"`
		PassToPass                                                                                      string `json:"PASS_TO_PASS"`
	}
	b.ReportAllocs()
	for b.Loop() {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		var rows []row
		if err := json.Unmarshal(data, &rows); err != nil {
			b.Fatal(err)
		}
		tasks := make([]benchmarks.Task, len(rows))
		for i, r := range rows {
			tasks[i] = benchmarks.Task{ID: r.InstanceID, Repo: r.Repo, BaseCommit: r.BaseCommit, Patch: r.Patch, TestPatch: r.TestPatch}
			if err := json.Unmarshal([]byte(r.FailToPass), &tasks[i].FailToPass); err != nil {
				b.Fatal(err)
			}
			if err := json.Unmarshal([]byte(r.PassToPass), &tasks[i].PassToPass); err != nil {
				b.Fatal(err)
			}
		}
	}
}
