package view

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/reports/runs"
)

// Entry is the compact index row of one rollout: what the Instances page
// filters and sorts on, plus where its full line starts in results.jsonl.
type Entry struct {
	InstanceID    string
	Rollout       int
	Status        result.Status
	Score         float64
	Flags         []string
	AgentExit     string
	TestExit      *int
	GuardRefusals int
	Tokens        int
	Cost          *float64
	Wall          float64
	Steps         int
	file          int // index into Index.files
	offset        int64
}

// Index holds one Entry per rollout of one run. Full results are re-read
// from their line offsets on demand, so memory grows with the row count
// only.
type Index struct {
	files   []string // the run's results files (one per shard)
	Entries []Entry
	// bySafe maps the path-safe instance name (the URL segment) to the id.
	bySafe map[string]string
	// byKey maps instance id and rollout to the entry position.
	byKey map[result.Key]int
	// byInstance lists each instance's rollout numbers in file order.
	byInstance map[string][]int
	// Statuses, Exits and FlagNames are the distinct values, for the
	// filter form.
	Statuses, Exits, FlagNames []string
	BadLines                   int
}

// statusOf fills in a status for records that carry only resolved
// (imported reports).
func statusOf(r *result.Result) result.Status {
	if r.Status != "" {
		return r.Status
	}
	if runs.Success(r) {
		return result.StatusResolved
	}
	return result.StatusUnresolved
}

// BuildIndex streams each of dir's results files (results.jsonl, or one
// per shard) once for line offsets and once through the harness's scanner
// for the rows. A rollout in two shards' files is refused.
func BuildIndex(ctx context.Context, dir string) (*Index, error) {
	files, err := runs.ResultsFiles(dir)
	if err != nil {
		return nil, err
	}
	ix := &Index{files: files, bySafe: map[string]string{}, byKey: map[result.Key]int{}, byInstance: map[string][]int{}}
	statuses, exits, flags := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for fi, file := range files {
		if err := ix.add(ctx, fi, file, statuses, exits, flags); err != nil {
			return nil, err
		}
	}
	ix.Statuses, ix.Exits, ix.FlagNames = sortedKeys(statuses), sortedKeys(exits), sortedKeys(flags)
	return ix, nil
}

func (ix *Index) add(ctx context.Context, fi int, file string, statuses, exits, flags map[string]bool) error {
	offsets, err := lineOffsets(file)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open %s: %w", file, err)
	}
	defer f.Close()
	s := result.NewScanner(f, result.ScanOptions{File: file, SkipTestsStatus: true, SkipFeatures: true,
		OnBadLine: func(*result.LineError) { ix.BadLines++ }})
	return s.Scan(func(r *result.Result) error {
		if len(ix.Entries)&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		line := s.Lines() - 1
		if line < 0 || line >= len(offsets) {
			return fmt.Errorf("%s changed while being indexed: open the view again", file)
		}
		e := Entry{InstanceID: r.InstanceID, Rollout: r.Rollout, Status: statusOf(r), Score: runs.Score(r),
			Flags: slices.Clone(r.AuditFlags), AgentExit: r.AgentExit, GuardRefusals: r.GuardRefusals,
			Tokens: r.PromptTokens + r.CompletionTokens, Wall: r.WallSeconds, Steps: r.Steps, file: fi, offset: offsets[line]}
		if r.TestExitCode != nil {
			v := *r.TestExitCode
			e.TestExit = &v
		}
		if r.Cost != nil {
			v := *r.Cost
			e.Cost = &v
		}
		// A resumed run may hold a rollout twice in one file; the later
		// line wins, as in the store. Two shards' files may not.
		if i, ok := ix.byKey[r.Key()]; ok {
			if prev := ix.Entries[i].file; prev != fi {
				return &result.DuplicateError{Key: r.Key(), First: ix.files[prev], Also: file}
			}
			ix.Entries[i] = e
		} else {
			ix.byKey[r.Key()] = len(ix.Entries)
			ix.Entries = append(ix.Entries, e)
			ix.byInstance[e.InstanceID] = append(ix.byInstance[e.InstanceID], e.Rollout)
		}
		ix.bySafe[result.SafeName(r.InstanceID)] = r.InstanceID
		statuses[string(e.Status)] = true
		if e.AgentExit != "" {
			exits[e.AgentExit] = true
		}
		for _, fl := range e.Flags {
			flags[fl] = true
		}
		return nil
	})
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// lineOffsets returns the byte offset of the start of every line, counted
// the way result.Scanner counts them.
func lineOffsets(file string) ([]int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("open results: %w", err)
	}
	defer f.Close()
	var out []int64
	var off int64
	br := bufio.NewReaderSize(f, 1<<20)
	start := true
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 && start {
			out = append(out, off)
		}
		off += int64(len(b))
		start = err == nil // a full buffer continues the same line
		if err == io.EOF {
			return out, nil
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
	}
}

// Result re-reads one rollout's full record (test lists included) from its
// line, through the harness's scanner.
func (ix *Index) Result(instanceID string, rollout int) (*result.Result, bool, error) {
	i, ok := ix.byKey[result.Key{InstanceID: instanceID, Rollout: rollout}]
	if !ok {
		return nil, false, nil
	}
	file := ix.files[ix.Entries[i].file]
	f, err := os.Open(file)
	if err != nil {
		return nil, true, fmt.Errorf("open results: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(ix.Entries[i].offset, io.SeekStart); err != nil {
		return nil, true, fmt.Errorf("seek results: %w", err)
	}
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil && err != io.EOF {
		return nil, true, fmt.Errorf("read results: %w", err)
	}
	var out *result.Result
	err = result.NewScanner(bytes.NewReader(line), result.ScanOptions{File: file, BufferSize: len(line) + 16}).Scan(func(r *result.Result) error {
		c := *r
		out = &c
		return nil
	})
	if err != nil || out == nil {
		return nil, true, fmt.Errorf("%s changed since it was indexed (restart sweval view): %w", file, cmp.Or(err, errors.New("line unreadable")))
	}
	return out, true, nil
}

// Rollouts lists the rollout numbers of one instance, ascending.
func (ix *Index) Rollouts(instanceID string) []int {
	out := slices.Clone(ix.byInstance[instanceID])
	slices.Sort(out)
	return out
}

// Entry returns the index row of a rollout.
func (ix *Index) Entry(instanceID string, rollout int) (Entry, bool) {
	i, ok := ix.byKey[result.Key{InstanceID: instanceID, Rollout: rollout}]
	if !ok {
		return Entry{}, false
	}
	return ix.Entries[i], true
}

// Query is the Instances page's filter, sort and page.
type Query struct {
	Status             string // "" = any
	MinScore, MaxScore *float64
	Flag               string // "", "any", "none" or one flag name
	Exit               string // agent exit status; "" = any
	TestExit           string // "", "0", "nonzero", "none"
	Guard              string // "", "any", "none"
	MinTokens          *int
	MaxTokens          *int
	MaxCost            *float64
	MinWall, MaxWall   *float64
	Search             string // instance id substring
	Sort               string // instance, score, tokens, cost, wall, steps, guard, status
	Desc               bool
	Page, PerPage      int
}

// Page is one page of filtered rows.
type Page struct {
	Rows             []Entry
	Total, Matched   int
	Page, Pages, Per int
}

func (q Query) match(e *Entry) bool {
	if q.Status != "" && string(e.Status) != q.Status {
		return false
	}
	if q.MinScore != nil && e.Score < *q.MinScore || q.MaxScore != nil && e.Score > *q.MaxScore {
		return false
	}
	switch q.Flag {
	case "":
	case "any":
		if len(e.Flags) == 0 {
			return false
		}
	case "none":
		if len(e.Flags) > 0 {
			return false
		}
	default:
		if !slices.Contains(e.Flags, q.Flag) {
			return false
		}
	}
	if q.Exit != "" && e.AgentExit != q.Exit {
		return false
	}
	switch q.TestExit {
	case "0":
		if e.TestExit == nil || *e.TestExit != 0 {
			return false
		}
	case "nonzero":
		if e.TestExit == nil || *e.TestExit == 0 {
			return false
		}
	case "none":
		if e.TestExit != nil {
			return false
		}
	}
	switch q.Guard {
	case "any":
		if e.GuardRefusals == 0 {
			return false
		}
	case "none":
		if e.GuardRefusals > 0 {
			return false
		}
	}
	if q.MinTokens != nil && e.Tokens < *q.MinTokens || q.MaxTokens != nil && e.Tokens > *q.MaxTokens {
		return false
	}
	if q.MaxCost != nil && (e.Cost == nil || *e.Cost > *q.MaxCost) {
		return false
	}
	if q.MinWall != nil && e.Wall < *q.MinWall || q.MaxWall != nil && e.Wall > *q.MaxWall {
		return false
	}
	if q.Search != "" && !strings.Contains(strings.ToLower(e.InstanceID), strings.ToLower(q.Search)) {
		return false
	}
	return true
}

// Select filters, sorts and pages the index. It sorts positions, not rows,
// so a page costs one pass and one sort of ints.
func (ix *Index) Select(q Query) Page {
	per := q.PerPage
	if per <= 0 || per > 1000 {
		per = 100
	}
	var pos []int
	for i := range ix.Entries {
		if q.match(&ix.Entries[i]) {
			pos = append(pos, i)
		}
	}
	es := ix.Entries
	cost := func(e *Entry) float64 {
		if e.Cost == nil {
			return -1
		}
		return *e.Cost
	}
	by := func(a, b *Entry) int {
		switch q.Sort {
		case "score":
			return cmp.Compare(a.Score, b.Score)
		case "tokens":
			return cmp.Compare(a.Tokens, b.Tokens)
		case "cost":
			return cmp.Compare(cost(a), cost(b))
		case "wall":
			return cmp.Compare(a.Wall, b.Wall)
		case "steps":
			return cmp.Compare(a.Steps, b.Steps)
		case "guard":
			return cmp.Compare(a.GuardRefusals, b.GuardRefusals)
		case "status":
			return cmp.Compare(a.Status, b.Status)
		}
		return cmp.Or(cmp.Compare(a.InstanceID, b.InstanceID), cmp.Compare(a.Rollout, b.Rollout))
	}
	slices.SortStableFunc(pos, func(i, j int) int {
		a, b := &es[i], &es[j]
		c := by(a, b)
		if q.Desc {
			c = -c
		}
		// Ties (and the default) go by instance then rollout.
		return cmp.Or(c, cmp.Compare(a.InstanceID, b.InstanceID), cmp.Compare(a.Rollout, b.Rollout))
	})
	pages := max(1, (len(pos)+per-1)/per)
	page := min(max(q.Page, 1), pages)
	lo := (page - 1) * per
	hi := min(lo+per, len(pos))
	rows := make([]Entry, 0, hi-lo)
	for _, i := range pos[lo:hi] {
		rows = append(rows, es[i])
	}
	return Page{Rows: rows, Total: len(es), Matched: len(pos), Page: page, Pages: pages, Per: per}
}

// runID names a run: run.json's id when present, else the directory name.
func runID(dir string) string {
	return filepath.Base(filepath.Clean(runs.RunDir(dir)))
}
