package curate

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/reports/runs"
	"github.com/sweval/sweval/scaffolds/trajectory"
)

// Band is OpenSWE's keep rule: instances solved Min..Max times out of Of
// rollouts (default 1..2/4). Only the solved rollouts of such instances are
// kept.
type Band struct{ Min, Max, Of int }

var bandRe = regexp.MustCompile(`^\s*(\d+)\s*\.\.\s*(\d+)\s*/\s*(\d+)\s*$`)

// ParseBand reads "k..m/n".
func ParseBand(s string) (Band, error) {
	m := bandRe.FindStringSubmatch(s)
	if m == nil {
		return Band{}, fmt.Errorf("band %q: want k..m/n, e.g. 1..2/4 (keep instances solved 1 or 2 times of 4)", s)
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	n, _ := strconv.Atoi(m[3])
	if a > b || b > n || n == 0 {
		return Band{}, fmt.Errorf("band %q: need k ≤ m ≤ n and n > 0", s)
	}
	return Band{a, b, n}, nil
}

func (b Band) String() string { return fmt.Sprintf("%d..%d/%d", b.Min, b.Max, b.Of) }

// MaskMode says how format-error steps are masked in the export.
type MaskMode string

const (
	// MaskWeight keeps the bad assistant turn in context and marks it
	// "weight": 0 — the per-message key of OpenAI's fine-tuning chat format
	// (assistant messages take weight 0 or 1; unmarked turns train).
	MaskWeight MaskMode = "weight"
	// MaskDrop removes the bad assistant turn and the re-ask that answered
	// it, for trainers that read no per-message weight.
	MaskDrop MaskMode = "drop"
	// MaskNone exports format-error turns unchanged.
	MaskNone MaskMode = "none"
)

// Options configure a curation run. Exactly one selection rule applies:
// Band, Thresholds, MinScore; with none, solved rollouts are kept.
type Options struct {
	// Runs are run directories (or results.jsonl files).
	Runs []string
	// Exclude leaves these instances out entirely (an exclusion file of
	// flaky or invalid instances: instance id → reason).
	Exclude map[string]string
	Band    *Band
	// Thresholds maps instance id to τ (difficulty.ReadThresholds);
	// rollouts keep when score ≥ τ.
	Thresholds map[string]float64
	MinScore   *float64
	// DropCmds are banned command phrases ("git pull"); a rollout with an
	// action whose command contains the phrase as consecutive shell words
	// is dropped, refused by the guard or not.
	DropCmds []string
	// KeepFlagged keeps rollouts with audit flags (dropped by default).
	KeepFlagged bool
	Mask        MaskMode // default MaskWeight
	// CollapseTools rewrites tool turns as user turns and tool calls as
	// text, and omits the tools list.
	CollapseTools bool
	// Meta adds a "metadata" object (instance, rollout, model, score) to
	// each exported line; off by default because strict trainers reject
	// unknown keys.
	Meta bool
	// Out receives the exported JSONL. With Out nil and no DropCmds no
	// trajectory is read: decisions come from results alone.
	Out io.Writer
	// Decisions, if set, receives one JSON line per rollout decision.
	Decisions io.Writer
	// ListLimit caps the dropped/masked lists kept in the Summary
	// (default 1000); counts are always complete.
	ListLimit int
	Logger    *slog.Logger
}

// Decision is what happened to one rollout.
type Decision struct {
	Run        string   `json:"run"`
	InstanceID string   `json:"instance_id"`
	Rollout    int      `json:"rollout"`
	Model      string   `json:"model"`
	Score      float64  `json:"score"`
	Kept       bool     `json:"kept"`
	Reason     string   `json:"reason"` // category, e.g. band_outside
	Detail     string   `json:"detail,omitempty"`
	Masked     []Masked `json:"masked,omitempty"`
}

// Masked is one masked format-error step.
type Masked struct {
	Step  int    `json:"step"`
	Error string `json:"format_error"`
}

// Summary counts and lists the decisions.
type Summary struct {
	Rollouts  int            `json:"rollouts"`
	Kept      int            `json:"kept"`
	Dropped   int            `json:"dropped"`
	Reasons   map[string]int `json:"reasons"`
	Instances int            `json:"instances_kept"`
	// MaskedSteps counts masked steps over kept rollouts.
	MaskedSteps int `json:"masked_steps"`
	// DroppedList and MaskedList hold up to ListLimit decisions each.
	DroppedList []Decision `json:"dropped_list"`
	MaskedList  []Decision `json:"masked_list"`
	Truncated   bool       `json:"truncated"`
	Mask        MaskMode   `json:"mask"`
	Stats       runs.Stats `json:"stats"`
}

// Reason categories.
const (
	ReasonKept          = "kept"
	ReasonInfraError    = "infra_error"
	ReasonBandOutside   = "band_outside"
	ReasonBandRollouts  = "band_rollout_count"
	ReasonUnsolved      = "unsolved"
	ReasonBelowTau      = "below_threshold"
	ReasonNoThreshold   = "no_threshold"
	ReasonBelowMin      = "below_min_score"
	ReasonAuditFlagged  = "audit_flagged"
	ReasonNoTrajectory  = "no_trajectory"
	ReasonBannedCommand = "banned_command"
)

type instKey struct{ model, scaffold, id string }

type count struct{ n, solved int }

// Run curates the given runs in one streaming pass over the results (with
// a band, decisions wait for the pass to end; see bandState) and reads a
// trajectory only for rollouts that pass the result-level rules.
func Run(ctx context.Context, opts Options) (*Summary, error) {
	if opts.Mask == "" {
		opts.Mask = MaskWeight
	}
	switch opts.Mask {
	case MaskWeight, MaskDrop, MaskNone:
	default:
		return nil, fmt.Errorf("mask mode %q: want weight, drop or none", opts.Mask)
	}
	rules := 0
	for _, set := range []bool{opts.Band != nil, opts.Thresholds != nil, opts.MinScore != nil} {
		if set {
			rules++
		}
	}
	if rules > 1 {
		return nil, errors.New("choose one keep rule: --band, --thresholds or --min-score")
	}
	if opts.ListLimit <= 0 {
		opts.ListLimit = 1000
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	var banned [][]string
	for _, c := range opts.DropCmds {
		if w := shellWords(c); len(w) > 0 {
			banned = append(banned, w)
		}
	}

	c := &curator{opts: opts, banned: banned, sum: &Summary{Reasons: map[string]int{}, Mask: opts.Mask}, keptInst: map[instKey]bool{}}
	if opts.Out != nil {
		c.out = bufio.NewWriterSize(opts.Out, 1<<20)
	}
	if opts.Decisions != nil {
		c.dec = bufio.NewWriterSize(opts.Decisions, 1<<20)
	}
	ro := runs.Options{SkipTestsStatus: true, SkipFeatures: true, Logger: log}
	var st runs.Stats
	var err error
	if opts.Band == nil {
		// Every rule is per rollout: decide while streaming.
		st, err = runs.Each(ctx, opts.Runs, ro, func(dir string, r *result.Result) error {
			if _, ok := opts.Exclude[r.InstanceID]; ok {
				return nil
			}
			v := viewOf(dir, r)
			return c.decide(&v, nil)
		})
	} else {
		// The band needs each instance's solve count before any of its
		// rollouts is decided: one pass keeps a compact record per rollout
		// (32 bytes) and the counts, then decides from memory.
		var b bandState
		st, err = runs.Each(ctx, opts.Runs, ro, func(dir string, r *result.Result) error {
			if _, ok := opts.Exclude[r.InstanceID]; !ok {
				b.add(dir, r)
			}
			return nil
		})
		if err == nil {
			for i := range b.n {
				if i&4095 == 0 {
					if err = ctx.Err(); err != nil {
						break
					}
				}
				v, cnt := b.view(i)
				if err = c.decide(&v, cnt); err != nil {
					break
				}
			}
		}
	}
	c.sum.Stats = st
	c.sum.Instances = len(c.keptInst)
	if err != nil {
		return c.sum, err
	}
	for _, w := range []*bufio.Writer{c.out, c.dec} {
		if w != nil {
			if err := w.Flush(); err != nil {
				return c.sum, fmt.Errorf("write export: %w", err)
			}
		}
	}
	return c.sum, nil
}

// rview is what the rules need of one rollout.
type rview struct {
	dir     string
	key     instKey
	rollout int
	status  result.Status
	success bool
	score   float64
	flags   []string
	errMsg  string
}

func viewOf(dir string, r *result.Result) rview {
	return rview{dir: dir, key: instKey{r.Model, r.Scaffold, r.InstanceID}, rollout: r.Rollout, status: r.Status,
		success: runs.Success(r), score: runs.Score(r), flags: r.AuditFlags, errMsg: r.Error}
}

// compact is one rollout kept in memory for the band's decision pass.
type compact struct {
	score   float64
	key     int32 // index into bandState.keys
	dir     int32 // index into bandState.dirs
	rollout int32
	extra   int32 // index into bandState.extras (flags, error), -1 = none
	status  uint8 // index into bandState.statuses
	success bool
}

type extra struct {
	flags  []string
	errMsg string
}

// chunkSize records per chunk: chunks grow the record store without the
// copy (and the transient doubling) of one big append-grown slice.
const chunkSize = 1 << 16

type bandState struct {
	chunks   [][]compact
	n        int
	keys     []instKey
	counts   []count
	keyIndex map[instKey]int32
	dirs     []string
	statuses []result.Status
	extras   []extra
}

func (b *bandState) add(dir string, r *result.Result) {
	if b.keyIndex == nil {
		b.keyIndex = map[instKey]int32{}
	}
	k := instKey{r.Model, r.Scaffold, r.InstanceID}
	ki, ok := b.keyIndex[k]
	if !ok {
		ki = int32(len(b.keys))
		b.keyIndex[k] = ki
		b.keys = append(b.keys, k)
		b.counts = append(b.counts, count{})
	}
	b.counts[ki].n++
	ok = runs.Success(r)
	if ok {
		b.counts[ki].solved++
	}
	di := len(b.dirs) - 1
	if di < 0 || b.dirs[di] != dir {
		b.dirs = append(b.dirs, dir)
		di++
	}
	si := -1
	for i, s := range b.statuses {
		if s == r.Status {
			si = i
		}
	}
	if si < 0 {
		si = len(b.statuses)
		b.statuses = append(b.statuses, r.Status)
	}
	ei := int32(-1)
	if len(r.AuditFlags) > 0 || r.Error != "" {
		ei = int32(len(b.extras))
		b.extras = append(b.extras, extra{flags: append([]string(nil), r.AuditFlags...), errMsg: r.Error})
	}
	if len(b.chunks) == 0 || len(b.chunks[len(b.chunks)-1]) == chunkSize {
		b.chunks = append(b.chunks, make([]compact, 0, chunkSize))
	}
	last := &b.chunks[len(b.chunks)-1]
	*last = append(*last, compact{key: ki, dir: int32(di), status: uint8(si), success: ok, rollout: int32(r.Rollout),
		score: runs.Score(r), extra: ei})
	b.n++
}

func (b *bandState) view(i int) (rview, *count) {
	c := b.chunks[i/chunkSize][i%chunkSize]
	v := rview{dir: b.dirs[c.dir], key: b.keys[c.key], rollout: int(c.rollout), status: b.statuses[c.status],
		success: c.success, score: c.score}
	if c.extra >= 0 {
		v.flags, v.errMsg = b.extras[c.extra].flags, b.extras[c.extra].errMsg
	}
	return v, &b.counts[c.key]
}

type curator struct {
	opts     Options
	banned   [][]string
	sum      *Summary
	out, dec *bufio.Writer
	keptInst map[instKey]bool
}

// decide applies every rule to one rollout, exports it if kept and
// records the decision. cnt is the instance's solve count (band only).
func (c *curator) decide(v *rview, cnt *count) error {
	opts, sum := c.opts, c.sum
	d := Decision{Run: v.dir, InstanceID: v.key.id, Rollout: v.rollout, Model: v.key.model, Score: v.score}
	d.Reason = resultRule(v, opts, cnt)
	if d.Reason != "" && (c.dec != nil || len(sum.DroppedList) < opts.ListLimit) {
		d.Detail = ruleDetail(v, opts, cnt, d.Reason) // formatted only when shown
	}
	var line []byte
	if d.Reason == "" && (c.out != nil || len(c.banned) > 0) {
		t, err := runs.LoadTrajectory(v.dir, v.key.id, v.rollout)
		if err != nil {
			d.Reason, d.Detail = ReasonNoTrajectory, err.Error()
		} else if step, cmd, ok := bannedAction(t, c.banned); ok {
			d.Reason, d.Detail = ReasonBannedCommand, fmt.Sprintf("step %d ran %q", step, cmd)
		} else if c.out != nil {
			ex, masked, err := Export(t, opts.Mask, opts.CollapseTools)
			if err != nil {
				return fmt.Errorf("export %s rollout %d: %w", v.key.id, v.rollout, err)
			}
			if opts.Meta {
				ex.Metadata = map[string]any{"instance_id": v.key.id, "rollout": v.rollout, "model": v.key.model, "score": d.Score}
			}
			d.Masked = masked
			if line, err = json.Marshal(ex); err != nil {
				return err
			}
		}
	}
	if d.Reason == "" {
		d.Kept, d.Reason = true, ReasonKept
	}
	sum.Rollouts++
	sum.Reasons[d.Reason]++
	if d.Kept {
		sum.Kept++
		c.keptInst[v.key] = true
		sum.MaskedSteps += len(d.Masked)
		if len(d.Masked) > 0 {
			if len(sum.MaskedList) < opts.ListLimit {
				sum.MaskedList = append(sum.MaskedList, d)
			} else {
				sum.Truncated = true
			}
		}
		if line != nil {
			c.out.Write(line)
			c.out.WriteByte('\n')
		}
	} else {
		sum.Dropped++
		if len(sum.DroppedList) < opts.ListLimit {
			sum.DroppedList = append(sum.DroppedList, d)
		} else {
			sum.Truncated = true
		}
	}
	if c.dec != nil {
		b, _ := json.Marshal(d)
		c.dec.Write(b)
		c.dec.WriteByte('\n')
	}
	return nil
}

// resultRule applies the rules that need only the result line; "" = pass.
// It allocates nothing: it runs on every rollout.
func resultRule(v *rview, o Options, cnt *count) string {
	if v.status == result.StatusError {
		return ReasonInfraError
	}
	switch {
	case o.Band != nil:
		if cnt.n != o.Band.Of {
			return ReasonBandRollouts
		}
		if cnt.solved < o.Band.Min || cnt.solved > o.Band.Max {
			return ReasonBandOutside
		}
		if !v.success {
			return ReasonUnsolved
		}
	case o.Thresholds != nil:
		tau, ok := o.Thresholds[v.key.id]
		if !ok {
			return ReasonNoThreshold
		}
		if v.score < tau {
			return ReasonBelowTau
		}
	case o.MinScore != nil:
		if v.score < *o.MinScore {
			return ReasonBelowMin
		}
	default:
		if !v.success {
			return ReasonUnsolved
		}
	}
	if len(v.flags) > 0 && !o.KeepFlagged {
		return ReasonAuditFlagged
	}
	return ""
}

// ruleDetail explains a result-level reason.
func ruleDetail(v *rview, o Options, cnt *count, reason string) string {
	switch reason {
	case ReasonInfraError:
		return v.errMsg
	case ReasonBandRollouts:
		return fmt.Sprintf("instance has %d rollouts, band %s needs %d", cnt.n, o.Band, o.Band.Of)
	case ReasonBandOutside:
		return fmt.Sprintf("solved %d/%d, band %s", cnt.solved, cnt.n, o.Band)
	case ReasonUnsolved:
		if o.Band != nil {
			return "instance in band; this rollout did not solve it"
		}
		return "not resolved"
	case ReasonNoThreshold:
		return "instance missing from the thresholds file"
	case ReasonBelowTau:
		return fmt.Sprintf("score %.3f < τ %.3f", v.score, o.Thresholds[v.key.id])
	case ReasonBelowMin:
		return fmt.Sprintf("score %.3f < %.3f", v.score, *o.MinScore)
	case ReasonAuditFlagged:
		return strings.Join(v.flags, ",")
	}
	return ""
}

// shellWords splits a command into words, treating shell operators as
// separators, so "cd x && git  pull" contains the words "git pull".
func shellWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case ' ', '\t', '\n', '\r', ';', '&', '|', '(', ')', '`', '{', '}', '"', '\'', '$':
			return true
		}
		return false
	})
}

func containsWords(words, phrase []string) bool {
outer:
	for i := 0; i+len(phrase) <= len(words); i++ {
		for j, p := range phrase {
			if words[i+j] != p {
				continue outer
			}
		}
		return true
	}
	return false
}

// bannedAction finds the first action running a banned phrase.
func bannedAction(t *trajectory.Trajectory, banned [][]string) (step int, cmd string, ok bool) {
	if len(banned) == 0 {
		return 0, "", false
	}
	for i, s := range t.Steps {
		for _, a := range s.Actions {
			text := a.Command
			if text == "" {
				text = a.Arguments
			}
			words := shellWords(text)
			for _, b := range banned {
				if containsWords(words, b) {
					return i, text, true
				}
			}
		}
	}
	return 0, "", false
}

// RenderSummary prints the kept/dropped table by reason and lists dropped
// rollouts and masked steps.
func RenderSummary(w io.Writer, s *Summary) error {
	t := newTable(w, "Decision", "Rollouts")
	reasons := make([]string, 0, len(s.Reasons))
	for r := range s.Reasons {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if (reasons[i] == ReasonKept) != (reasons[j] == ReasonKept) {
			return reasons[i] == ReasonKept
		}
		return reasons[i] < reasons[j]
	})
	for _, r := range reasons {
		label := "dropped: " + r
		if r == ReasonKept {
			label = "kept"
		}
		if err := t.Append([]string{label, strconv.Itoa(s.Reasons[r])}); err != nil {
			return err
		}
	}
	if err := t.Append([]string{"total", strconv.Itoa(s.Rollouts)}); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintf(w, "kept %d rollouts of %d instances; %d format-error steps masked (mode %s)\n", s.Kept, s.Instances, s.MaskedSteps, s.Mask)
	if len(s.DroppedList) > 0 {
		fmt.Fprintln(w, "\nDropped rollouts:")
		t := newTable(w, "Instance", "Rollout", "Model", "Reason", "Detail")
		for _, d := range s.DroppedList {
			_ = t.Append([]string{d.InstanceID, strconv.Itoa(d.Rollout), d.Model, d.Reason, d.Detail})
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	if len(s.MaskedList) > 0 {
		fmt.Fprintln(w, "\nMasked format-error steps (kept rollouts):")
		t := newTable(w, "Instance", "Rollout", "Step", "Format error")
		for _, d := range s.MaskedList {
			for _, m := range d.Masked {
				_ = t.Append([]string{d.InstanceID, strconv.Itoa(d.Rollout), strconv.Itoa(m.Step), m.Error})
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	if s.Truncated {
		fmt.Fprintln(w, "(lists truncated; write every decision with the decisions file option)")
	}
	return nil
}
