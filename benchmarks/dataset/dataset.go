package dataset

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/benchmarks/doc2repo"
	"github.com/sweval/sweval/benchmarks/swebench"
)

// Load loads the task set at path. Malformed records are returned in bad
// (file, record, field) and skipped, unless strict makes the first one an
// error.
func Load(ctx context.Context, path string, strict bool) (tasks []benchmarks.Task, bad []*benchmarks.RecordError, err error) {
	if path == "" {
		return nil, nil, errors.New("no dataset given: name a task file (e.g. --dataset testdata/swe/tasks.jsonl)")
	}
	if IsDoc2Repo(path) {
		return doc2repo.Load(ctx, path, doc2repo.Options{Strict: strict})
	}
	return swebench.Load(ctx, path, swebench.Options{Strict: strict})
}

// IsDoc2Repo sniffs path: a folder is NL2RepoBench; a file whose first
// record (of a JSON list or JSONL) has spec or document and no SWE-bench
// problem_statement is Doc2Repo.
func IsDoc2Repo(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	if st.IsDir() {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	first, ok := firstRecord(f)
	if !ok {
		return false
	}
	_, spec := first["spec"]
	_, doc := first["document"]
	_, problem := first["problem_statement"]
	return (spec || doc) && !problem
}

// firstRecord decodes the first object of a JSON list or JSONL stream.
func firstRecord(r io.ReadSeeker) (map[string]json.RawMessage, bool) {
	var first map[string]json.RawMessage
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return nil, false
	}
	switch tok {
	case json.Delim('['):
		return first, dec.Decode(&first) == nil
	case json.Delim('{'):
		// Re-read the whole first object.
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return nil, false
		}
		return first, json.NewDecoder(r).Decode(&first) == nil
	}
	return nil, false
}
