package result

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
)

// LineError is one results.jsonl line that could not be read. The scan
// reports it and goes on with the next line.
type LineError struct {
	File  string // file name, or "" when reading an anonymous stream
	Line  int    // 1-based line number
	Field string // JSON key being decoded, or "" when the line is not an object
	Err   error
}

func (e *LineError) Error() string {
	name := e.File
	if name == "" {
		name = "results.jsonl"
	}
	if e.Field != "" {
		return fmt.Sprintf("%s:%d: field %q: %v (line skipped; fix or delete it)", name, e.Line, e.Field, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v (line skipped; fix or delete it)", name, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// ScanOptions tune a Scanner. The zero value decodes every field and logs bad
// lines with slog.
type ScanOptions struct {
	// File names the input in error messages.
	File string
	// SkipTestsStatus leaves Result.TestsStatus nil without decoding the
	// (often long) test id lists; reports that only need scores set it.
	SkipTestsStatus bool
	// SkipFeatures leaves Result.Features nil (no map per line) for
	// readers that do not fit difficulty.
	SkipFeatures bool
	// OnBadLine receives every skipped line. When nil the error is logged
	// with slog.Warn.
	OnBadLine func(*LineError)
	// BufferSize is the initial read buffer (default 1 MiB); lines longer
	// than it are still read whole.
	BufferSize int
	// Workers > 1 decodes blocks of lines on that many goroutines; fn and
	// OnBadLine are still called on the calling goroutine, in file order.
	Workers int
}

// Scanner streams results.jsonl. It decodes each line into one reused
// Result with a purpose-built decoder (no reflection; repeated strings such
// as model and instance names are interned), which is what keeps boards and
// curation over millions of rollouts fast and flat in memory.
type Scanner struct {
	r    *bufio.Reader
	opts ScanOptions
	line int
	bad  int
	long []byte
	d    decoder
}

// NewScanner reads results from r.
func NewScanner(r io.Reader, opts ScanOptions) *Scanner {
	size := opts.BufferSize
	if size <= 0 {
		size = 1 << 20
	}
	return &Scanner{r: bufio.NewReaderSize(r, size), opts: opts, d: decoder{intern: map[string]string{}}}
}

// Scan decodes every line into a Result and passes it to fn. fn must not
// keep the *Result (or its slices/maps) past the call: it is reused for the
// next line. Bad lines are reported (ScanOptions.OnBadLine) and skipped. Scan
// stops at the first error returned by fn or by the reader.
func (s *Scanner) Scan(fn func(*Result) error) error {
	if s.opts.Workers > 1 {
		return s.scanParallel(fn)
	}
	var res Result
	for {
		line, err := s.readLine()
		if len(line) > 0 {
			s.line++
			line = bytes.TrimSpace(line)
			if len(line) > 0 {
				if field, derr := s.d.decode(line, &res, s.opts.SkipTestsStatus, s.opts.SkipFeatures); derr != nil {
					s.report(&LineError{File: s.opts.File, Line: s.line, Field: field, Err: derr})
				} else if ferr := fn(&res); ferr != nil {
					return ferr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s after line %d: %w", s.name(), s.line, err)
		}
	}
}

// Lines is the number of lines read so far; BadLines how many were skipped.
func (s *Scanner) Lines() int    { return s.line }
func (s *Scanner) BadLines() int { return s.bad }

func (s *Scanner) name() string {
	if s.opts.File == "" {
		return "results.jsonl"
	}
	return s.opts.File
}

func (s *Scanner) report(e *LineError) {
	s.bad++
	if s.opts.OnBadLine != nil {
		s.opts.OnBadLine(e)
		return
	}
	slog.Warn("skipping bad result line", "err", e)
}

// readLine returns the next line without copying when it fits the buffer.
func (s *Scanner) readLine() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return line, err
	}
	s.long = append(s.long[:0], line...)
	for err == bufio.ErrBufferFull {
		line, err = s.r.ReadSlice('\n')
		s.long = append(s.long, line...)
	}
	return s.long, err
}

// Scan reads results.jsonl from r with default options; see Scanner.Scan.
func Scan(r io.Reader, fn func(*Result) error) error {
	return NewScanner(r, ScanOptions{}).Scan(fn)
}

// ScanFile opens path and scans it; opts.File defaults to path.
func ScanFile(path string, opts ScanOptions, fn func(*Result) error) (*Scanner, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open results: %w", err)
	}
	defer f.Close()
	if opts.File == "" {
		opts.File = path
	}
	s := NewScanner(f, opts)
	return s, s.Scan(fn)
}

// decoder is a small hand-written JSON decoder for Result. Anything it does
// not know it skips; anything malformed is an error naming the field.
type decoder struct {
	buf    []byte
	pos    int
	intern map[string]string
	last   [numSlots]string
	field  []byte // top-level key being decoded; converted only on error
}

var errSyntax = errors.New("malformed JSON")

func (d *decoder) decode(line []byte, r *Result, skipTests, skipFeatures bool) (field string, err error) {
	flags := r.AuditFlags[:0]
	*r = Result{AuditFlags: flags}
	d.buf, d.pos, d.field = line, 0, nil
	err = d.object(func(key []byte) error {
		d.field = key
		return d.member(key, r, skipTests, skipFeatures)
	})
	if err == nil {
		d.ws()
		if d.pos != len(d.buf) {
			d.field = nil
			err = fmt.Errorf("trailing data after the object at byte %d", d.pos)
		}
	}
	if len(r.AuditFlags) == 0 {
		r.AuditFlags = nil
	}
	if err != nil {
		if errors.Is(err, errSyntax) {
			err = fmt.Errorf("%w at byte %d", err, d.pos)
		}
		return string(d.field), err
	}
	return "", nil
}

func (d *decoder) member(key []byte, r *Result, skipTests, skipFeatures bool) error {
	var err error
	switch string(key) {
	case "run_id":
		r.RunID, err = d.str(slotRunID)
	case "instance_id":
		r.InstanceID, err = d.str(slotInstance)
	case "rollout":
		r.Rollout, err = d.int()
	case "model_name_or_path":
		r.Model, err = d.str(slotModel)
	case "scaffold":
		r.Scaffold, err = d.str(slotScaffold)
	case "benchmark":
		r.Benchmark, err = d.str(slotBenchmark)
	case "status":
		var s string
		s, err = d.str(slotStatus)
		r.Status = Status(s)
	case "resolved":
		r.Resolved, err = d.bool()
	case "resolution":
		var s string
		s, err = d.str(slotResolution)
		r.Resolution = Resolution(s)
	case "pass_fraction":
		r.PassFraction, err = d.float()
	case "strict":
		r.Strict, err = d.bool()
	case "tests_passed":
		r.Passed, err = d.int()
	case "tests_declared":
		r.Declared, err = d.int()
	case "tests_status":
		if skipTests {
			return d.skip()
		}
		err = d.testsStatus(r)
	case "verdict_rules":
		r.VerdictRules, err = d.str(slotRules)
	case "verdicts":
		if d.null() {
			return nil
		}
		r.Verdicts = map[string]Resolution{}
		err = d.object(func(k []byte) error {
			name := d.internBytes(k)
			s, err := d.str(slotVerdict)
			r.Verdicts[name] = Resolution(s)
			return err
		})
	case "verdict_disagreement":
		r.VerdictDisagreement, err = d.str(noIntern)
	case "image":
		r.Image, err = d.str(noIntern)
	case "image_digest":
		r.ImageDigest, err = d.str(noIntern)
	case "sandbox_event":
		r.SandboxEvent, err = d.str(noIntern)
	case "patch_apply_method":
		r.PatchApplied, err = d.str(slotPatch)
	case "patch_is_empty":
		r.PatchIsEmpty, err = d.bool()
	case "test_exit_code":
		if d.null() {
			return nil
		}
		var v int
		v, err = d.int()
		r.TestExitCode = &v
	case "error":
		r.Error, err = d.str(noIntern)
	case "agent_exit_status":
		r.AgentExit, err = d.str(slotExit)
	case "audit_flags":
		err = d.array(func() error {
			s, err := d.str(slotFlag)
			r.AuditFlags = append(r.AuditFlags, s)
			return err
		})
	case "infra_retries":
		r.InfraRetries, err = d.int()
	case "guard_refusals":
		r.GuardRefusals, err = d.int()
	case "prompt_tokens":
		r.PromptTokens, err = d.int()
	case "completion_tokens":
		r.CompletionTokens, err = d.int()
	case "cost":
		if d.null() {
			return nil
		}
		var v float64
		v, err = d.float()
		r.Cost = &v
	case "steps":
		r.Steps, err = d.int()
	case "wall_seconds":
		r.WallSeconds, err = d.float()
	case "features":
		if skipFeatures {
			return d.skip()
		}
		if d.null() {
			return nil
		}
		r.Features = map[string]float64{}
		err = d.object(func(k []byte) error {
			name := d.internBytes(k)
			v, err := d.float()
			r.Features[name] = v
			return err
		})
	default:
		return d.skip()
	}
	return err
}

func (d *decoder) testsStatus(r *Result) error {
	if d.null() {
		return nil
	}
	ts := &TestsStatus{}
	r.TestsStatus = ts
	return d.object(func(k []byte) error {
		var sf *SuccessFailure
		switch string(k) {
		case "FAIL_TO_PASS":
			sf = &ts.FailToPass
		case "PASS_TO_PASS":
			sf = &ts.PassToPass
		default:
			return d.skip()
		}
		if d.null() {
			return nil
		}
		return d.object(func(k []byte) error {
			var list *[]string
			switch string(k) {
			case "success":
				list = &sf.Success
			case "failure":
				list = &sf.Failure
			default:
				return d.skip()
			}
			if d.null() {
				return nil
			}
			*list = []string{}
			return d.array(func() error {
				s, err := d.str(noIntern)
				*list = append(*list, s)
				return err
			})
		})
	})
}

func (d *decoder) ws() {
	for d.pos < len(d.buf) {
		switch d.buf[d.pos] {
		case ' ', '\t', '\r', '\n':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) peek() byte {
	d.ws()
	if d.pos >= len(d.buf) {
		return 0
	}
	return d.buf[d.pos]
}

func (d *decoder) null() bool {
	if d.peek() == 'n' && bytes.HasPrefix(d.buf[d.pos:], []byte("null")) {
		d.pos += 4
		return true
	}
	return false
}

// object calls member for each key with d positioned at the value.
func (d *decoder) object(member func(key []byte) error) error {
	if d.peek() != '{' {
		return fmt.Errorf("want a JSON object: %w", errSyntax)
	}
	d.pos++
	if d.peek() == '}' {
		d.pos++
		return nil
	}
	for {
		if d.peek() != '"' {
			return fmt.Errorf("want a key: %w", errSyntax)
		}
		key, esc, err := d.rawString()
		if err != nil {
			return err
		}
		if esc {
			var s string
			if err := json.Unmarshal(key, &s); err != nil {
				return err
			}
			key = []byte(s)
		} else {
			key = key[1 : len(key)-1]
		}
		if d.peek() != ':' {
			return fmt.Errorf("want ':': %w", errSyntax)
		}
		d.pos++
		if err := member(key); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return fmt.Errorf("want ',' or '}': %w", errSyntax)
		}
	}
}

func (d *decoder) array(elem func() error) error {
	if d.null() {
		return nil
	}
	if d.peek() != '[' {
		return errors.New("want an array")
	}
	d.pos++
	if d.peek() == ']' {
		d.pos++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return nil
		default:
			return fmt.Errorf("want ',' or ']': %w", errSyntax)
		}
	}
}

// rawString returns the string token including its quotes and whether it
// holds escapes. d must be at the opening quote.
func (d *decoder) rawString() ([]byte, bool, error) {
	start := d.pos
	i := d.pos + 1
	esc := false
	for {
		j := bytes.IndexByte(d.buf[i:], '"')
		if j < 0 {
			d.pos = len(d.buf)
			return nil, false, fmt.Errorf("unterminated string: %w", errSyntax)
		}
		end := i + j
		// Count the backslashes right before the quote: odd = escaped quote.
		n := 0
		for k := end - 1; k > start && d.buf[k] == '\\'; k-- {
			n++
		}
		if !esc && bytes.IndexByte(d.buf[i:end], '\\') >= 0 {
			esc = true
		}
		if n%2 == 0 {
			d.pos = end + 1
			return d.buf[start : end+1], esc, nil
		}
		i = end + 1
	}
}

// Interning slots: each field keeps its last value, so the common case (the
// same model, scaffold, status as the line before) costs one comparison.
const (
	noIntern = iota - 1
	slotRunID
	slotInstance
	slotModel
	slotScaffold
	slotBenchmark
	slotStatus
	slotResolution
	slotPatch
	slotExit
	slotFlag
	slotRules
	slotVerdict
	numSlots
)

// str decodes a string value; slot >= 0 interns it (repeated values share
// one copy).
func (d *decoder) str(slot int) (string, error) {
	if d.null() {
		return "", nil
	}
	if d.peek() != '"' {
		return "", errors.New("want a string")
	}
	raw, esc, err := d.rawString()
	if err != nil {
		return "", err
	}
	if esc {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c < 0x20 {
			return "", fmt.Errorf("control character in string: %w", errSyntax)
		}
	}
	if slot >= 0 {
		if last := d.last[slot]; last == string(body) {
			return last, nil
		}
		v := d.internBytes(body)
		d.last[slot] = v
		return v, nil
	}
	return string(body), nil
}

func (d *decoder) internBytes(b []byte) string {
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.intern) < 1<<20 { // bound memory on pathological inputs
		d.intern[s] = s
	}
	return s
}

func (d *decoder) number() ([]byte, error) {
	d.ws()
	start := d.pos
	for d.pos < len(d.buf) {
		c := d.buf[d.pos]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			d.pos++
			continue
		}
		break
	}
	if d.pos == start {
		return nil, errors.New("want a number")
	}
	return d.buf[start:d.pos], nil
}

func (d *decoder) int() (int, error) {
	if d.null() {
		return 0, nil
	}
	b, err := d.number()
	if err != nil {
		return 0, err
	}
	// Fast path: plain decimal integers.
	neg := false
	digits := b
	if len(digits) > 0 && digits[0] == '-' {
		neg, digits = true, digits[1:]
	}
	if len(digits) > 0 && len(digits) < 19 {
		v := 0
		ok := true
		for _, c := range digits {
			if c < '0' || c > '9' {
				ok = false
				break
			}
			v = v*10 + int(c-'0')
		}
		if ok {
			if neg {
				v = -v
			}
			return v, nil
		}
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want an integer, got %q", b)
	}
	return int(v), nil
}

func (d *decoder) float() (float64, error) {
	if d.null() {
		return 0, nil
	}
	b, err := d.number()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, fmt.Errorf("want a number, got %q", b)
	}
	return v, nil
}

func (d *decoder) bool() (bool, error) {
	switch {
	case d.null():
		return false, nil
	case bytes.HasPrefix(d.buf[d.pos:], []byte("true")):
		d.pos += 4
		return true, nil
	case bytes.HasPrefix(d.buf[d.pos:], []byte("false")):
		d.pos += 5
		return false, nil
	}
	return false, errors.New("want true or false")
}

// skip passes over one value of any type.
func (d *decoder) skip() error {
	switch c := d.peek(); c {
	case '"':
		_, _, err := d.rawString()
		return err
	case '{':
		return d.object(func([]byte) error { return d.skip() })
	case '[':
		return d.array(d.skip)
	case 't', 'f':
		_, err := d.bool()
		return err
	case 'n':
		if d.null() {
			return nil
		}
		return fmt.Errorf("bad literal: %w", errSyntax)
	default:
		_, err := d.number()
		return err
	}
}
