package board

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sweval/sweval/harness/result"
)

func TestPassAtKHandComputed(t *testing.T) {
	tests := []struct {
		n, c, k int
		want    float64
		ok      bool
	}{
		{4, 0, 1, 0, true},
		{4, 1, 1, 0.25, true},
		{4, 1, 2, 0.5, true},           // 1 − C(3,2)/C(4,2) = 1 − 3/6
		{4, 2, 2, 1 - 1.0/6, true},     // 1 − C(2,2)/C(4,2)
		{5, 2, 3, 1 - 1.0/10, true},    // 1 − C(3,3)/C(5,3)
		{10, 3, 5, 1 - 21.0/252, true}, // 1 − C(7,5)/C(10,5)
		{4, 3, 2, 1, true},             // n−c < k
		{4, 4, 4, 1, true},
		{3, 1, 4, 0, false}, // n < k: undefined
		{200, 1, 100, 0.5, true},
	}
	for _, tc := range tests {
		got, ok := PassAtK(tc.n, tc.c, tc.k)
		if ok != tc.ok || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("PassAtK(%d,%d,%d) = %v,%v want %v,%v", tc.n, tc.c, tc.k, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBootstrapHandComputed(t *testing.T) {
	nan := math.NaN()
	rng := rand.NewPCG(1, 1)
	// One instance: no spread. Two instances 0 and 1: resample means are
	// 0, .5, 1 with probability 1/4, 1/2, 1/4, so the 95% interval is [0, 1].
	// Constant scores: the interval collapses on the mean.
	// NaN entries (undefined metrics) are left out of a column's means.
	est := bootstrap([][]float64{{0.7, nan, nan}, {0, 1, nan}, {0.3, 0.3, 0.3}}, 1000, 0.95, rng)
	want := []Estimate{{0.7, 0.7, 0.7, 1}, {0.5, 0, 1, 2}, {0.3, 0.3, 0.3, 3}}
	for i := range want {
		if math.Abs(est[i].Value-want[i].Value) > 1e-12 || math.Abs(est[i].Lo-want[i].Lo) > 1e-12 ||
			math.Abs(est[i].Hi-want[i].Hi) > 1e-12 || est[i].N != want[i].N {
			t.Errorf("bootstrap col %d = %+v, want %+v", i, est[i], want[i])
		}
	}
}

func TestBootstrapNarrowsWithInstances(t *testing.T) {
	prev := math.Inf(1)
	for _, n := range []int{25, 100, 400, 1600} {
		rng := rand.New(rand.NewPCG(9, uint64(n)))
		col := make([]float64, n)
		for i := range col {
			if rng.Float64() < 0.4 {
				col[i] = 1
			}
		}
		e := bootstrap([][]float64{col}, 2000, 0.95, rand.NewPCG(1, 2))[0]
		width := e.Hi - e.Lo
		normal := 2 * 1.96 * math.Sqrt(e.Value*(1-e.Value)/float64(n))
		t.Logf("n=%4d mean=%.3f CI width=%.4f (normal approx %.4f)", n, e.Value, width, normal)
		if width >= prev {
			t.Errorf("n=%d: width %.4f did not shrink from %.4f", n, width, prev)
		}
		if math.Abs(width-normal)/normal > 0.15 {
			t.Errorf("n=%d: width %.4f far from the normal approximation %.4f", n, width, normal)
		}
		prev = width
	}
}

// The multinomial shortcut (few distinct instance rows) and plain index
// resampling draw from the same distribution: their intervals agree.
func TestBootstrapPathsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	n := 3000
	a, b := make([]float64, n), make([]float64, n)
	for i := range a {
		a[i] = float64(rng.IntN(5)) / 4 // k/4 of four rollouts
		b[i] = math.NaN()
		if i%3 > 0 {
			b[i] = float64(rng.IntN(2))
		}
	}
	fast := bootstrapWith([][]float64{a, b}, 4000, 0.95, rand.NewPCG(1, 1), false)
	slow := bootstrapWith([][]float64{a, b}, 4000, 0.95, rand.NewPCG(2, 2), true)
	for j := range fast {
		t.Logf("col %d multinomial %+v index %+v", j, fast[j], slow[j])
		w := slow[j].Hi - slow[j].Lo
		if math.Abs(fast[j].Lo-slow[j].Lo) > 0.05*w || math.Abs(fast[j].Hi-slow[j].Hi) > 0.05*w || fast[j].N != slow[j].N {
			t.Errorf("col %d: multinomial %+v vs index %+v", j, fast[j], slow[j])
		}
	}
}

func cost(v float64) *float64 { return &v }

// fixtureRun writes a run directory: model A solves i1 in 3/4 rollouts and
// i2 in 1/4; model B (Doc2Repo-style pass fractions) has one unpriced and
// one audit-flagged rollout.
func fixtureRun(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var rs []result.Result
	for k, ok := range []bool{true, true, false, true} {
		rs = append(rs, result.Result{InstanceID: "i1", Rollout: k, Model: "A", Scaffold: "oh", Benchmark: "swe", Resolved: ok, Strict: ok, PassFraction: b2f(ok), PromptTokens: 100, CompletionTokens: 10, Cost: cost(0.5), WallSeconds: 10})
	}
	for k, ok := range []bool{false, false, true, false} {
		rs = append(rs, result.Result{InstanceID: "i2", Rollout: k, Model: "A", Scaffold: "oh", Benchmark: "swe", Resolved: ok, Strict: ok, PassFraction: b2f(ok), PromptTokens: 300, CompletionTokens: 30, Cost: cost(1.5), WallSeconds: 30})
	}
	rs = append(rs,
		result.Result{InstanceID: "d1", Model: "B", Benchmark: "doc2repo", PassFraction: 0.5, Passed: 5, Declared: 10, Cost: cost(1), WallSeconds: 4},
		result.Result{InstanceID: "d1", Rollout: 1, Model: "B", Benchmark: "doc2repo", PassFraction: 1, Strict: true, Resolved: true, AuditFlags: []string{"pip_download"}, WallSeconds: 6},
		result.Result{InstanceID: "d2", Model: "B", Benchmark: "doc2repo", PassFraction: 0.25, Cost: cost(1), WallSeconds: 2},
	)
	feats := map[string]float64{"i1": 10, "i2": 40, "d1": 20, "d2": 4}
	var buf bytes.Buffer
	for _, r := range rs {
		r.Features = map[string]float64{"declared_tests": feats[r.InstanceID]}
		b, _ := json.Marshal(r)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	buf.WriteString("{broken\n")
	if err := os.WriteFile(filepath.Join(dir, "results.jsonl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func TestLoadRowsHandComputed(t *testing.T) {
	b, err := Load(context.Background(), Options{K: 2, Seed: 5}, fixtureRun(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rows) != 2 || b.Stats.BadLines != 1 {
		t.Fatalf("rows=%d bad=%d", len(b.Rows), b.Stats.BadLines)
	}
	a, m := b.Rows[0], b.Rows[1]
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("A resolved", a.Resolved.Value, (0.75+0.25)/2)
	near("A pass@1", a.PassAt1.Value, 0.5)
	// pass@2: i1 n=4 c=3 → 1; i2 n=4 c=1 → 0.5
	near("A pass@2", a.PassAtK.Value, 0.75)
	near("A cost", *a.CostPerRollout, 1.0)
	near("A tokens in", a.MeanPromptTokens, 200)
	near("A wall", a.WallPerRollout, 20)
	if a.Instances != 2 || a.Rollouts != 8 || a.Flagged != 0 {
		t.Errorf("A counts %+v", a)
	}
	// B: d1 mean frac .75, d2 .25 → .5; strict d1 .5, d2 0 → .25.
	near("B frac", m.PassFraction.Value, 0.5)
	near("B strict", m.Strict.Value, 0.25)
	near("B frac excl flagged", m.PassFractionUnflagged.Value, (0.5+0.25)/2)
	if m.CostPerRollout != nil || m.UnpricedRollouts != 1 || m.Flagged != 1 {
		t.Errorf("B cost %v unpriced %d flagged %d", m.CostPerRollout, m.UnpricedRollouts, m.Flagged)
	}
	if m.PassAtKInstances != 1 { // d2 has one rollout < k=2
		t.Errorf("B pass@k instances = %d, want 1", m.PassAtKInstances)
	}
	// Same seed, same intervals.
	b2, _ := Load(context.Background(), Options{K: 2, Seed: 5}, fixtureRun(t))
	if b2.Rows[0].Resolved != a.Resolved {
		t.Errorf("bootstrap not reproducible: %+v vs %+v", b2.Rows[0].Resolved, a.Resolved)
	}
}

func TestRenderFormats(t *testing.T) {
	b, err := Load(context.Background(), Options{}, fixtureRun(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		format string
		want   []string
	}{
		{"table", []string{"Resolved % [95% CI]", "unknown (1/3 rollouts unpriced)", "$1.0000"}},
		{"md", []string{"| Model |", "| A | oh | swe |"}},
		{"csv", []string{"model,scaffold,benchmark", "A,oh,swe,2,8,0,0.5,"}},
		{"json", []string{`"pass_at_k"`, `"cost_per_rollout": null`}},
		{"html", []string{"<table id=\"board\">", "data:image/png;base64,", "unknown (1/3 rollouts unpriced)"}},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		if err := Render(&buf, b, tc.format); err != nil {
			t.Fatalf("%s: %v", tc.format, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(buf.String(), w) {
				t.Errorf("%s output lacks %q:\n%s", tc.format, w, firstN(buf.String(), 1500))
			}
		}
	}
	if err := Render(&bytes.Buffer{}, b, "pdf"); err == nil {
		t.Error("unknown format accepted")
	}
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}

func TestLoadExcludesInstances(t *testing.T) {
	b, err := Load(context.Background(), Options{K: 2, Seed: 5, Exclude: map[string]string{"i2": "flaky: valid in 3 of 5 runs", "absent": "x"}}, fixtureRun(t))
	if err != nil {
		t.Fatal(err)
	}
	a := b.Rows[0]
	// Only i1 is left of model A: 3 of its 4 rollouts resolve.
	if a.Instances != 1 || a.Rollouts != 4 || math.Abs(a.Resolved.Value-0.75) > 1e-9 {
		t.Errorf("A after excluding i2: %d instances, %d rollouts, resolved %v", a.Instances, a.Rollouts, a.Resolved.Value)
	}
	if len(b.Excluded) != 1 || b.Excluded[0] != "i2" {
		t.Errorf("Excluded = %v, want the one instance seen", b.Excluded)
	}
	var buf bytes.Buffer
	if err := Render(&buf, b, "md"); err != nil || !strings.Contains(buf.String(), "1 instance(s) excluded (--exclude): i2") {
		t.Errorf("markdown board does not say what was excluded: %v\n%s", err, buf.String())
	}
}

// TestRetriedRolloutsAreCounted: rollouts recorded after infrastructure
// retries are counted per row and named under the table.
func TestRetriedRolloutsAreCounted(t *testing.T) {
	a := NewAggregator()
	for i, retries := range []int{0, 2, 1, 0} {
		a.Add(&result.Result{Model: "A", Scaffold: "oh", Benchmark: "swe", InstanceID: fmt.Sprint("i", i), Status: result.StatusResolved, Resolved: true, InfraRetries: retries})
	}
	b := a.Board(Options{})
	if len(b.Rows) != 1 || b.Rows[0].Retried != 2 {
		t.Fatalf("rows %+v, want one row with 2 retried rollouts", b.Rows)
	}
	var buf bytes.Buffer
	if err := Render(&buf, b, "table"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "rollouts recorded after infrastructure retries (--retry-infra): A/oh/swe 2 of 4") {
		t.Errorf("table lacks the retry note:\n%s", buf.String())
	}
}
