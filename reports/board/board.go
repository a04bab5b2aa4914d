package board

import (
	"context"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/reports/difficulty"
	"github.com/sweval/sweval/reports/runs"
)

// Options configure a board.
type Options struct {
	// K is the k of pass@k (default 4). Instances with fewer than K
	// rollouts are left out of pass@k and counted in Row.PassAtKInstances.
	K int
	// Seed seeds the bootstrap (default 1): the same seed gives the same
	// intervals.
	Seed uint64
	// Resamples is the number of bootstrap resamples (default 1000).
	Resamples int
	// Confidence is the interval level (default 0.95).
	Confidence float64
	// Exclude leaves these instances out of every row (instance id →
	// reason, from an exclusion file); Board.Excluded lists those seen.
	Exclude map[string]string `json:"-"`
}

func (o Options) withDefaults() Options {
	if o.K <= 0 {
		o.K = 4
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Resamples == 0 {
		o.Resamples = 1000
	}
	if o.Confidence <= 0 || o.Confidence >= 1 {
		o.Confidence = 0.95
	}
	return o
}

// Row is one (model, scaffold, benchmark) line of the board. Rates are
// macro-averaged: first over an instance's rollouts, then over instances.
type Row struct {
	Model     string `json:"model"`
	Scaffold  string `json:"scaffold"`
	Benchmark string `json:"benchmark"`
	Instances int    `json:"instances"`
	Rollouts  int    `json:"rollouts"`
	// Errors counts infrastructure-error rollouts (scored as failures, as
	// SWE-bench does).
	Errors int `json:"errors"`

	// Resolved is the resolved (or strict, for Doc2Repo) rate = pass@1.
	Resolved Estimate `json:"resolved_rate"`
	// PassFraction is the mean pass fraction (Doc2Repo's score; 1/0 for
	// SWE-style tasks).
	PassFraction Estimate `json:"mean_pass_fraction"`
	// Strict is the all-declared-tests-passed rate.
	Strict Estimate `json:"strict_rate"`
	// PassAt1 and PassAtK use the unbiased estimator.
	PassAt1 Estimate `json:"pass_at_1"`
	K       int      `json:"k"`
	PassAtK Estimate `json:"pass_at_k"`
	// PassAtKInstances is how many instances had at least K rollouts.
	PassAtKInstances int `json:"pass_at_k_instances"`

	MeanPromptTokens     float64 `json:"mean_prompt_tokens"`
	MeanCompletionTokens float64 `json:"mean_completion_tokens"`
	// CostPerRollout is nil when any rollout's cost is unknown
	// (UnpricedRollouts > 0): a partial sum would understate it.
	CostPerRollout   *float64 `json:"cost_per_rollout"`
	UnpricedRollouts int      `json:"unpriced_rollouts"`
	WallPerRollout   float64  `json:"wall_seconds_per_rollout"`

	// Flagged counts rollouts with audit flags; PassFractionUnflagged is
	// the mean pass fraction with them excluded (instances whose every
	// rollout is flagged drop out).
	Flagged int `json:"flagged_rollouts"`
	// Retried counts rollouts recorded only after infrastructure retries
	// (--retry-infra): their verdicts are real, but the run needed them.
	Retried               int      `json:"infra_retried_rollouts"`
	PassFractionUnflagged Estimate `json:"mean_pass_fraction_unflagged"`
	ResolvedUnflagged     Estimate `json:"resolved_rate_unflagged"`

	// scores are the per-instance mean pass fractions, for plots.
	scores []float64
}

// Board is a rendered-ready leaderboard.
type Board struct {
	Rows    []Row   `json:"rows"`
	Options Options `json:"options"`
	// Stats says how much was read.
	Stats runs.Stats `json:"stats"`
	// Difficulty is a fit over the pooled instances when they carry
	// features (used by the HTML plots); nil otherwise.
	Difficulty *difficulty.Fit `json:"difficulty,omitempty"`
	// Excluded are the instances of the runs left out by Options.Exclude,
	// so a published board can say "N of M scored, K excluded".
	Excluded []string `json:"excluded,omitempty"`
}

type groupKey struct{ model, scaffold, benchmark string }

type instAcc struct {
	n, succ, strict int
	score           float64
	nU, succU       int
	scoreU          float64
}

type group struct {
	insts                     map[string]*instAcc
	rollouts, errors, flagged int
	retried                   int
	prompt, completion        float64
	cost, wall                float64
	unpriced                  int
}

// Aggregator accumulates results one at a time (constant memory per
// instance), so a board over millions of rollouts streams.
type Aggregator struct {
	groups map[groupKey]*group
	diff   *difficulty.Collector
}

// NewAggregator starts an empty board.
func NewAggregator() *Aggregator {
	return &Aggregator{groups: map[groupKey]*group{}, diff: difficulty.NewCollector()}
}

// Add counts one rollout. It copies what it keeps.
func (a *Aggregator) Add(r *result.Result) {
	k := groupKey{r.Model, r.Scaffold, r.Benchmark}
	g := a.groups[k]
	if g == nil {
		g = &group{insts: map[string]*instAcc{}}
		a.groups[k] = g
	}
	in := g.insts[r.InstanceID]
	if in == nil {
		in = &instAcc{}
		g.insts[r.InstanceID] = in
	}
	ok := runs.Success(r)
	score := runs.Score(r)
	in.n++
	in.score += score
	if ok {
		in.succ++
	}
	if r.Strict {
		in.strict++
	}
	if len(r.AuditFlags) == 0 {
		in.nU++
		in.scoreU += score
		if ok {
			in.succU++
		}
	} else {
		g.flagged++
	}
	g.rollouts++
	if r.InfraRetries > 0 {
		g.retried++
	}
	if r.Status == result.StatusError {
		g.errors++
	}
	g.prompt += float64(r.PromptTokens)
	g.completion += float64(r.CompletionTokens)
	g.wall += r.WallSeconds
	if r.Cost == nil {
		g.unpriced++
	} else {
		g.cost += *r.Cost
	}
	a.diff.Add(r)
}

// Load streams the results of the given run directories (or results.jsonl
// files) into a board.
func Load(ctx context.Context, opts Options, paths ...string) (*Board, error) {
	a := NewAggregator()
	excluded := map[string]bool{}
	st, err := runs.Each(ctx, paths, runs.Options{SkipTestsStatus: true}, func(_ string, r *result.Result) error {
		if _, ok := opts.Exclude[r.InstanceID]; ok {
			excluded[r.InstanceID] = true
			return nil
		}
		a.Add(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	b := a.Board(opts)
	b.Stats = st
	b.Excluded = slices.Sorted(maps.Keys(excluded))
	return b, nil
}

// Board computes the rows (sorted by model, scaffold, benchmark).
func (a *Aggregator) Board(opts Options) *Board {
	opts = opts.withDefaults()
	keys := make([]groupKey, 0, len(a.groups))
	for k := range a.groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		x, y := keys[i], keys[j]
		if x.model != y.model {
			return x.model < y.model
		}
		if x.scaffold != y.scaffold {
			return x.scaffold < y.scaffold
		}
		return x.benchmark < y.benchmark
	})
	b := &Board{Options: opts}
	for _, k := range keys {
		b.Rows = append(b.Rows, a.row(k, opts))
	}
	if fit, err := difficulty.FitInstances(a.diff.Instances(), difficulty.Options{Seed: opts.Seed}); err == nil {
		b.Difficulty = fit
	}
	return b
}

func (a *Aggregator) row(k groupKey, opts Options) Row {
	g := a.groups[k]
	ids := make([]string, 0, len(g.insts))
	for id := range g.insts {
		ids = append(ids, id)
	}
	sort.Strings(ids) // map order is random; the bootstrap must not be
	var resolved, frac, strict, p1, pk, fracU, resU []float64
	nan := math.NaN()
	for _, id := range ids {
		in := g.insts[id]
		n := float64(in.n)
		resolved = append(resolved, float64(in.succ)/n)
		frac = append(frac, in.score/n)
		strict = append(strict, float64(in.strict)/n)
		v, _ := PassAtK(in.n, in.succ, 1)
		p1 = append(p1, v)
		if v, ok := PassAtK(in.n, in.succ, opts.K); ok {
			pk = append(pk, v)
		} else {
			pk = append(pk, nan) // undefined with fewer than k rollouts
		}
		if in.nU > 0 {
			fracU = append(fracU, in.scoreU/float64(in.nU))
			resU = append(resU, float64(in.succU)/float64(in.nU))
		} else {
			fracU, resU = append(fracU, nan), append(resU, nan)
		}
	}
	h := fnv.New64a()
	h.Write([]byte(k.model + "\x00" + k.scaffold + "\x00" + k.benchmark))
	src := rand.NewPCG(opts.Seed, h.Sum64())
	est := bootstrap([][]float64{resolved, frac, strict, p1, pk, fracU, resU}, opts.Resamples, opts.Confidence, src)
	rn := float64(g.rollouts)
	r := Row{
		Model: k.model, Scaffold: k.scaffold, Benchmark: k.benchmark,
		Instances: len(ids), Rollouts: g.rollouts, Errors: g.errors,
		Resolved: est[0], PassFraction: est[1], Strict: est[2], PassAt1: est[3],
		K: opts.K, PassAtK: est[4], PassAtKInstances: est[4].N,
		MeanPromptTokens: g.prompt / rn, MeanCompletionTokens: g.completion / rn,
		UnpricedRollouts: g.unpriced, WallPerRollout: g.wall / rn,
		Flagged: g.flagged, Retried: g.retried, PassFractionUnflagged: est[5], ResolvedUnflagged: est[6],
		scores: frac,
	}
	if g.unpriced == 0 {
		c := g.cost / rn
		r.CostPerRollout = &c
	}
	return r
}
