package swebench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/benchmarks/internal/records"
)

// Options tune a load.
type Options struct {
	// Strict stops at the first bad record and returns it as the error.
	Strict bool
}

// Load reads the task file at path. It returns the good tasks in file
// order, one RecordError per bad record (skipped), and a non-nil error only
// when the file as a whole could not be read (or, with Strict, at the
// first bad record; that error is the *benchmarks.RecordError).
func Load(ctx context.Context, path string, opts Options) ([]benchmarks.Task, []*benchmarks.RecordError, error) {
	l := newLoader(opts)
	_, err := records.ReadFile(ctx, path, records.Options{}, l.visit)
	return l.finish(err)
}

// Read is Load on an open stream; name is used in errors and Task.Source.
func Read(ctx context.Context, r io.Reader, name string, opts Options) ([]benchmarks.Task, []*benchmarks.RecordError, error) {
	l := newLoader(opts)
	_, err := records.Read(ctx, r, name, records.Options{}, l.visit)
	return l.finish(err)
}

type loader struct {
	opts  Options
	tasks []benchmarks.Task
	errs  []*benchmarks.RecordError
	seen  map[string]string // instance_id → source of its first record
}

func newLoader(opts Options) *loader {
	return &loader{opts: opts, seen: map[string]string{}}
}

func (l *loader) visit(rec *records.Record) error {
	var rerr *benchmarks.RecordError
	var t benchmarks.Task
	if rec.Err != nil {
		rerr = rec.Err
	} else {
		t, rerr = Decode(rec)
		if rerr == nil {
			if first, dup := l.seen[t.ID]; dup {
				rerr = rec.Error("instance_id", fmt.Errorf("duplicate instance_id %q (first at %s): the later record is skipped", t.ID, first))
			} else {
				l.seen[t.ID] = t.Source
			}
		}
	}
	if rerr != nil {
		if l.opts.Strict {
			return rerr
		}
		l.errs = append(l.errs, rerr)
		return nil
	}
	l.tasks = append(l.tasks, t)
	return nil
}

func (l *loader) finish(err error) ([]benchmarks.Task, []*benchmarks.RecordError, error) {
	if err != nil {
		var re *benchmarks.RecordError
		if !l.opts.Strict && errors.As(err, &re) {
			// The file broke mid-way: report the break as a record error
			// too, so a caller listing errs sees it.
			l.errs = append(l.errs, re)
		}
		return l.tasks, l.errs, err
	}
	return l.tasks, l.errs, nil
}

// Decode turns one record into a Task. It is exported for other loaders of
// SWE-bench-shaped rows.
func Decode(rec *records.Record) (benchmarks.Task, *benchmarks.RecordError) {
	t := benchmarks.Task{Kind: benchmarks.KindSWEBench, Source: rec.Source()}
	var rerr *benchmarks.RecordError
	str := func(field string, dst *string) {
		if rerr == nil {
			*dst, rerr = rec.String(field)
		}
	}
	str("instance_id", &t.ID)
	if rerr == nil && strings.TrimSpace(t.ID) == "" {
		return t, rec.Error("instance_id", errors.New("missing or empty: every record needs an instance_id"))
	}
	str("repo", &t.Repo)
	str("base_commit", &t.BaseCommit)
	str("patch", &t.Patch)
	str("test_patch", &t.TestPatch)
	str("problem_statement", &t.ProblemStatement)
	str("hints_text", &t.HintsText)
	str("created_at", &t.CreatedAt)
	str("environment_setup_commit", &t.EnvironmentSetupCommit)
	str("Dockerfile", &t.Dockerfile)
	str("eval_script", &t.EvalScript)
	str("image_name", &t.ImageName)
	if t.ImageName == "" {
		str("docker_image", &t.ImageName) // SWE-rebench's name for it
	}
	if rerr != nil {
		return t, rerr
	}
	// version is a string in SWE-bench ("3.0") but some exports write a number.
	if v, ok := rec.Fields["version"]; ok && rec.Has("version") {
		var num json.Number
		if json.Unmarshal(v, &num) == nil {
			t.Version = num.String()
		} else if t.Version, rerr = rec.String("version"); rerr != nil {
			return t, rerr
		}
	}
	if t.FailToPass, rerr = rec.StringList("FAIL_TO_PASS"); rerr != nil {
		return t, rerr
	}
	if t.PassToPass, rerr = rec.StringList("PASS_TO_PASS"); rerr != nil {
		return t, rerr
	}
	if rec.Has("install_config") {
		if t.Install, rerr = decodeInstall(rec); rerr != nil {
			return t, rerr
		}
	}
	if t.EvalScript != "" {
		t.Kind = benchmarks.KindOpenSWE
	}
	t.Features = features(&t)
	return t, nil
}

// decodeInstall reads SWE-rebench's install_config. Its command fields are
// strings or lists depending on the exporter; lists of commands are joined
// with " && " so a failing step stops the rest.
func decodeInstall(rec *records.Record) (*benchmarks.InstallConfig, *benchmarks.RecordError) {
	raw := rec.Fields["install_config"]
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		// Some exports store it as a JSON-encoded string.
		var s string
		if json.Unmarshal(raw, &s) != nil || json.Unmarshal([]byte(s), &fields) != nil {
			return nil, rec.Error("install_config", errors.New("want an object (or a string holding one)"))
		}
	}
	sub := &records.Record{File: rec.File, Line: rec.Line, Index: rec.Index, Fields: fields}
	wrap := func(e *benchmarks.RecordError) *benchmarks.RecordError {
		e.Field = "install_config." + e.Field
		return e
	}
	ic := &benchmarks.InstallConfig{}
	joined := func(field, sep string, dst *string) *benchmarks.RecordError {
		list, e := sub.StringOrList(field)
		if e != nil {
			return wrap(e)
		}
		*dst = strings.Join(list, sep)
		return nil
	}
	if v, ok := fields["python"]; ok && sub.Has("python") {
		var num json.Number
		if json.Unmarshal(v, &num) == nil {
			ic.Python = num.String()
		} else if s, e := sub.String("python"); e != nil {
			return nil, wrap(e)
		} else {
			ic.Python = s
		}
	}
	if e := joined("packages", " ", &ic.Packages); e != nil {
		return nil, e
	}
	if e := joined("install", " && ", &ic.Install); e != nil {
		return nil, e
	}
	if e := joined("test_cmd", " && ", &ic.TestCmd); e != nil {
		return nil, e
	}
	if e := joined("log_parser", "", &ic.LogParser); e != nil {
		return nil, e
	}
	var e *benchmarks.RecordError
	if ic.PipPackages, e = sub.StringOrList("pip_packages"); e != nil {
		return nil, wrap(e)
	}
	if ic.PreInstall, e = sub.StringOrList("pre_install"); e != nil {
		return nil, wrap(e)
	}
	if ic.EvalCommands, e = sub.StringOrList("eval_commands"); e != nil {
		return nil, wrap(e)
	}
	return ic, nil
}

// features are numbers difficulty fitting can use: sizes of the problem,
// the gold patch and the test lists.
func features(t *benchmarks.Task) map[string]float64 {
	files, added, removed := patchStats(t.Patch)
	return map[string]float64{
		"fail_to_pass":     float64(len(t.FailToPass)),
		"pass_to_pass":     float64(len(t.PassToPass)),
		"problem_chars":    float64(len(t.ProblemStatement)),
		"patch_files":      float64(files),
		"patch_lines_add":  float64(added),
		"patch_lines_del":  float64(removed),
		"test_patch_bytes": float64(len(t.TestPatch)),
	}
}

func patchStats(patch string) (files, added, removed int) {
	for line := range strings.Lines(patch) {
		switch {
		case strings.HasPrefix(line, "diff --git "):
			files++
		case strings.HasPrefix(line, "+++ "), strings.HasPrefix(line, "--- "):
		case strings.HasPrefix(line, "+"):
			added++
		case strings.HasPrefix(line, "-"):
			removed++
		}
	}
	return files, added, removed
}
