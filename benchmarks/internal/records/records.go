package records

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/sweval/sweval/benchmarks"
)

// Format is the container format of a file.
type Format int

const (
	FormatJSONL Format = iota
	FormatArray
	// FormatKeyed is a JSON object whose values are records and whose keys
	// are ids (SWE-bench predictions allow it).
	FormatKeyed
)

func (f Format) String() string {
	switch f {
	case FormatArray:
		return "JSON array"
	case FormatKeyed:
		return "JSON object keyed by id"
	default:
		return "JSONL"
	}
}

// Record is one object read from a file. When the record itself is
// unreadable (bad JSON on a JSONL line, an array element that is not an
// object), Fields is nil and Err says why.
type Record struct {
	File   string
	Line   int // 1-based line for JSONL, 0 otherwise
	Index  int // 0-based position among the file's records
	Key    string
	Fields map[string]json.RawMessage
	Err    *benchmarks.RecordError
}

// Error builds the RecordError for field of this record.
func (r *Record) Error(field string, err error) *benchmarks.RecordError {
	return &benchmarks.RecordError{File: r.File, Line: r.Line, Index: r.Index, Field: field, Err: err}
}

// Source is "file:line" for JSONL records and "file#index" otherwise.
func (r *Record) Source() string {
	if r.Line > 0 {
		return r.File + ":" + strconv.Itoa(r.Line)
	}
	if r.Key != "" {
		return r.File + "#" + r.Key
	}
	return r.File + "#" + strconv.Itoa(r.Index)
}

// Options choose which container formats a file may use.
type Options struct {
	// AllowKeyed accepts a top-level object keyed by id. A '{' first byte
	// is then read as JSONL when the first line is a complete object with
	// an IDField, as a keyed object otherwise.
	AllowKeyed bool
	// IDField names the id field used to tell JSONL from a keyed object.
	IDField string
}

// ReadFile opens path and streams its records to visit; see Read.
func ReadFile(ctx context.Context, path string, opts Options, visit func(*Record) error) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open task file: %w", err)
	}
	defer f.Close()
	return Read(ctx, f, path, opts, visit)
}

// Read streams the records of r (named file in errors) to visit, in file
// order. A non-nil error from visit stops the read and is returned as is.
// Read returns an error of its own when the file as a whole is unreadable:
// I/O failure, empty input, or broken JSON inside an array or keyed object
// (a decoder cannot resynchronise there; records before the break have
// been visited). That error is a *benchmarks.RecordError when it can name
// the record.
func Read(ctx context.Context, r io.Reader, file string, opts Options, visit func(*Record) error) (Format, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := firstNonSpace(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return FormatJSONL, fmt.Errorf("%s: file is empty: expected a JSON array, JSONL or a JSON object", file)
		}
		return FormatJSONL, fmt.Errorf("%s: read: %w", file, err)
	}
	switch first {
	case '[':
		return FormatArray, readArray(ctx, br, file, visit)
	case '{':
		if !opts.AllowKeyed {
			return FormatJSONL, readLines(ctx, br, file, 0, visit)
		}
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return FormatJSONL, fmt.Errorf("%s: read: %w", file, rerr)
		}
		rest := io.MultiReader(bytes.NewReader(line), br)
		if isKeyed(line, opts.IDField) {
			return FormatKeyed, readKeyed(ctx, rest, file, visit)
		}
		return FormatJSONL, readLines(ctx, bufio.NewReaderSize(rest, 64<<10), file, 0, visit)
	default:
		return FormatJSONL, fmt.Errorf("%s: starts with %q: expected a JSON array ('['), JSONL or a JSON object ('{')", file, first)
	}
}

// isKeyed decides from the first line whether a '{' file is one keyed
// object rather than JSONL: a complete first line without the id field, or
// a pretty-printed object whose first line is a lone '{'.
func isKeyed(line []byte, idField string) bool {
	t := bytes.TrimSpace(line)
	if bytes.Equal(t, []byte("{")) {
		return true
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(t, &m); err != nil {
		return false // a broken first line of JSONL, reported as such
	}
	_, hasID := m[idField]
	return !hasID
}

func firstNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		case 0xEF: // UTF-8 byte order mark
			if p, _ := br.Peek(2); bytes.Equal(p, []byte{0xBB, 0xBF}) {
				br.Discard(2)
				continue
			}
		}
		return b, br.UnreadByte()
	}
}

// readLines reads JSONL; blank lines are skipped but counted.
func readLines(ctx context.Context, br *bufio.Reader, file string, startLine int, visit func(*Record) error) error {
	lineNo, index := startLine, 0
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			lineNo++
			if t := bytes.TrimSpace(line); len(t) > 0 {
				if cerr := ctx.Err(); cerr != nil {
					return cerr
				}
				rec := &Record{File: file, Line: lineNo, Index: index}
				index++
				var fields map[string]json.RawMessage
				if uerr := json.Unmarshal(t, &fields); uerr != nil {
					rec.Err = rec.Error("", fmt.Errorf("line is not a JSON object: %w", uerr))
				} else if fields == nil {
					rec.Err = rec.Error("", errors.New("line is null, not a JSON object"))
				} else {
					rec.Fields = fields
				}
				if verr := visit(rec); verr != nil {
					return verr
				}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("%s:%d: read: %w", file, lineNo+1, err)
		}
	}
}

func readArray(ctx context.Context, r io.Reader, file string, visit func(*Record) error) error {
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil { // '['
		return fmt.Errorf("%s: %w", file, err)
	}
	index := 0
	for dec.More() {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := &Record{File: file, Index: index}
		index++
		if err := decodeObject(dec, rec); err != nil {
			return err
		}
		if err := visit(rec); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		return &benchmarks.RecordError{File: file, Index: index, Err: fmt.Errorf("array not closed: %w", err)}
	}
	return trailing(dec, file)
}

func readKeyed(ctx context.Context, r io.Reader, file string, visit func(*Record) error) error {
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil { // '{'
		return fmt.Errorf("%s: %w", file, err)
	}
	index := 0
	for dec.More() {
		if err := ctx.Err(); err != nil {
			return err
		}
		tok, err := dec.Token()
		if err != nil {
			return &benchmarks.RecordError{File: file, Index: index, Err: fmt.Errorf("broken JSON, the rest of the file cannot be read: %w", err)}
		}
		key, _ := tok.(string)
		rec := &Record{File: file, Index: index, Key: key}
		index++
		if err := decodeObject(dec, rec); err != nil {
			return err
		}
		if err := visit(rec); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return &benchmarks.RecordError{File: file, Index: index, Err: fmt.Errorf("object not closed: %w", err)}
	}
	return trailing(dec, file)
}

func trailing(dec *json.Decoder, file string) error {
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: unexpected data after the top-level JSON value (byte %d)", file, dec.InputOffset())
	}
	return nil
}

// decodeObject decodes the decoder's next value into rec in one pass. A
// value that is not an object becomes rec.Err (the decoder has consumed it
// and stays in step); broken JSON is returned, as nothing after it can be
// trusted.
func decodeObject(dec *json.Decoder, rec *Record) error {
	var fields map[string]json.RawMessage
	err := dec.Decode(&fields)
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Value == "array" && rec.Key != "":
		// {"predictions": [...]}: a wrapper, not a file keyed by id.
		rec.Err = rec.Error(rec.Key, fmt.Errorf("key %q holds a list, not a record: in a file keyed by id each key maps to one object; if the list holds the records, pass it alone (jq '.%s' FILE > records.json)", rec.Key, rec.Key))
	case errors.As(err, &typeErr):
		rec.Err = rec.Error("", fmt.Errorf("record is %s, not a JSON object", typeErr.Value))
	case err != nil:
		return &benchmarks.RecordError{File: rec.File, Index: rec.Index, Field: rec.Key,
			Err: fmt.Errorf("broken JSON at byte %d, the rest of the file cannot be read: %w", dec.InputOffset(), err)}
	case fields == nil:
		rec.Err = rec.Error("", errors.New("record is null, not a JSON object"))
	default:
		rec.Fields = fields
	}
	return nil
}

func fillObject(rec *Record, raw json.RawMessage) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		rec.Err = rec.Error("", fmt.Errorf("record is %s, not a JSON object", kindOf(raw)))
		return
	}
	rec.Fields = fields
}

func kindOf(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "empty"
	}
	switch t[0] {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case '{':
		return "an object"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// Has reports whether field is present and not null.
func (r *Record) Has(field string) bool {
	v, ok := r.Fields[field]
	return ok && !isNull(v)
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

// String reads a string field; missing or null reads as "".
func (r *Record) String(field string) (string, *benchmarks.RecordError) {
	v, ok := r.Fields[field]
	if !ok || isNull(v) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", r.Error(field, fmt.Errorf("want a string, got %s", kindOf(v)))
	}
	return s, nil
}

// Int reads an integer field given as a number or a numeric string;
// missing or null reads as 0 with ok false.
func (r *Record) Int(field string) (n int, ok bool, rerr *benchmarks.RecordError) {
	v, present := r.Fields[field]
	if !present || isNull(v) {
		return 0, false, nil
	}
	var num json.Number
	if err := json.Unmarshal(v, &num); err != nil {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return 0, false, r.Error(field, fmt.Errorf("want an integer, got %s", kindOf(v)))
		}
		num = json.Number(strings.TrimSpace(s))
	}
	i, err := strconv.Atoi(num.String())
	if err != nil {
		return 0, false, r.Error(field, fmt.Errorf("want an integer, got %q", num.String()))
	}
	return i, true, nil
}

// StringList reads a list of strings given either as a JSON list or as a
// string holding a JSON-encoded list (SWE-bench's FAIL_TO_PASS). Missing,
// null and "" read as nil.
func (r *Record) StringList(field string) ([]string, *benchmarks.RecordError) {
	v, ok := r.Fields[field]
	if !ok || isNull(v) {
		return nil, nil
	}
	var list []string
	t := bytes.TrimSpace(v)
	if len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &list); err != nil {
			return nil, r.Error(field, fmt.Errorf("want a list of strings: %w", err))
		}
		return list, nil
	}
	var s string
	if err := json.Unmarshal(t, &s); err != nil {
		return nil, r.Error(field, fmt.Errorf("want a list of strings (or a string holding one), got %s", kindOf(v)))
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, r.Error(field, fmt.Errorf("string is not a JSON-encoded list of strings: %q", abbreviate(s, 60)))
	}
	return list, nil
}

// StringOrList reads a field given as a string or a list of strings.
func (r *Record) StringOrList(field string) ([]string, *benchmarks.RecordError) {
	v, ok := r.Fields[field]
	if !ok || isNull(v) {
		return nil, nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		if s == "" {
			return nil, nil
		}
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, r.Error(field, fmt.Errorf("want a string or a list of strings, got %s", kindOf(v)))
	}
	return list, nil
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
