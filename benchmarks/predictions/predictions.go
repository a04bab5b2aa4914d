package predictions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/benchmarks/internal/records"
)

// Built-in prediction specs for Resolve.
const (
	Gold  = "gold"
	Empty = "empty"
)

// Prediction is one model patch for one instance.
type Prediction struct {
	InstanceID string `json:"instance_id"`
	Model      string `json:"model_name_or_path"`
	Patch      string `json:"model_patch"` // null in the file reads as ""
	// Source is where it was read ("file:line", "file#key", "gold").
	Source string `json:"-"`
	// InvalidUTF8 is set when the file's patch held bytes that are not
	// UTF-8: JSON decoding replaced them with U+FFFD, so hunks touching
	// Latin-1 or binary content will not apply as the model wrote them.
	InvalidUTF8 bool `json:"-"`
}

// IsEmpty reports a patch with nothing to apply (SWE-bench's empty_patch).
func (p Prediction) IsEmpty() bool { return strings.TrimSpace(p.Patch) == "" }

// Options tune a load.
type Options struct {
	// Strict stops at the first bad record and returns it as the error.
	Strict bool
}

// Load reads a predictions file. It returns the good predictions keyed by
// instance_id, one RecordError per bad record (skipped), and a non-nil
// error only when the whole file is unreadable (or, with Strict, the first
// bad record).
func Load(ctx context.Context, path string, opts Options) (map[string]Prediction, []*benchmarks.RecordError, error) {
	l := &loader{opts: opts, preds: map[string]Prediction{}}
	_, err := records.ReadFile(ctx, path, readOpts, l.visit)
	return l.finish(err)
}

// Read is Load on an open stream; name is used in errors.
func Read(ctx context.Context, r io.Reader, name string, opts Options) (map[string]Prediction, []*benchmarks.RecordError, error) {
	l := &loader{opts: opts, preds: map[string]Prediction{}}
	_, err := records.Read(ctx, r, name, readOpts, l.visit)
	return l.finish(err)
}

var readOpts = records.Options{AllowKeyed: true, IDField: "instance_id"}

// Resolve turns the --predictions argument into predictions for tasks:
// "gold" uses each task's own patch, "empty" an empty patch for each task,
// anything else is a predictions file (write ./gold for a file of that
// name). File predictions for ids not among tasks are kept; the caller
// decides whether to run them.
func Resolve(ctx context.Context, spec string, tasks []benchmarks.Task, opts Options) (map[string]Prediction, []*benchmarks.RecordError, error) {
	switch spec {
	case Gold, Empty:
		out := make(map[string]Prediction, len(tasks))
		for _, t := range tasks {
			p := Prediction{InstanceID: t.ID, Model: spec, Source: spec}
			if spec == Gold {
				p.Patch = t.Patch
			}
			out[t.ID] = p
		}
		return out, nil, nil
	case "":
		return nil, nil, errors.New("no predictions given: pass gold, empty or a predictions file (JSONL, JSON list or object keyed by instance_id)")
	}
	return Load(ctx, spec, opts)
}

type loader struct {
	opts  Options
	preds map[string]Prediction
	errs  []*benchmarks.RecordError
}

func (l *loader) visit(rec *records.Record) error {
	p, rerr := decode(rec)
	if rerr == nil {
		if prev, dup := l.preds[p.InstanceID]; dup {
			rerr = rec.Error("instance_id", fmt.Errorf("duplicate prediction for %q (first at %s): the later one is skipped", p.InstanceID, prev.Source))
		}
	}
	if rerr != nil {
		if l.opts.Strict {
			return rerr
		}
		l.errs = append(l.errs, rerr)
		return nil
	}
	l.preds[p.InstanceID] = p
	return nil
}

func (l *loader) finish(err error) (map[string]Prediction, []*benchmarks.RecordError, error) {
	var re *benchmarks.RecordError
	if err != nil && !l.opts.Strict && errors.As(err, &re) {
		l.errs = append(l.errs, re)
	}
	return l.preds, l.errs, err
}

func decode(rec *records.Record) (Prediction, *benchmarks.RecordError) {
	if rec.Err != nil {
		return Prediction{}, rec.Err
	}
	p := Prediction{Source: rec.Source()}
	var rerr *benchmarks.RecordError
	if p.InstanceID, rerr = rec.String("instance_id"); rerr != nil {
		return p, rerr
	}
	if rec.Key != "" {
		switch {
		case p.InstanceID == "":
			p.InstanceID = rec.Key
		case p.InstanceID != rec.Key:
			return p, rec.Error("instance_id", fmt.Errorf("%q differs from its key %q", p.InstanceID, rec.Key))
		}
	}
	if strings.TrimSpace(p.InstanceID) == "" {
		return p, rec.Error("instance_id", errors.New("missing or empty: every prediction needs an instance_id"))
	}
	if p.Model, rerr = rec.String("model_name_or_path"); rerr != nil {
		return p, rerr
	}
	if p.Patch, rerr = rec.String("model_patch"); rerr != nil {
		return p, rerr
	}
	p.InvalidUTF8 = !utf8.Valid(rec.Fields["model_patch"])
	return p, nil
}
