package view

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/sweval/sweval/harness/result"
)

// syntheticRun writes n rollouts (results.jsonl only) with varied statuses,
// flags, tokens, costs and times.
func syntheticRun(tb testing.TB, n int) string {
	tb.Helper()
	dir := tb.TempDir()
	f, err := os.Create(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	statuses := []result.Status{result.StatusResolved, result.StatusUnresolved, result.StatusUnresolved, result.StatusEmptyPatch, result.StatusError}
	for i := 0; i < n; i++ {
		st := statuses[i%len(statuses)]
		r := result.Result{RunID: "synthetic", InstanceID: fmt.Sprintf("repo__pkg-%05d", i/4), Rollout: i % 4, Model: "m", Scaffold: "s", Benchmark: "b",
			Status: st, Resolved: st == result.StatusResolved, PassFraction: float64(i%11) / 10, AgentExit: []string{"submitted", "step_limit"}[i%2],
			GuardRefusals: i % 7 / 6, PromptTokens: 1000 + i%5000, CompletionTokens: 100 + i%300, Cost: fp(float64(i%100) / 100), Steps: i % 40, WallSeconds: float64(i % 600),
			TestExitCode: ip(i % 2)}
		if i%13 == 0 {
			r.AuditFlags = []string{"pip_download"}
		}
		b, _ := json.Marshal(r)
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	return dir
}

// A page of 100 rows of a 10,000-rollout run, filtered and sorted
// server-side, through the real handler. It reports the process RSS after
// the index is built (target < 200 MiB) and the page latency (ns/op;
// target < 200 ms).
func BenchmarkInstancesPage10k(b *testing.B) {
	dir := syntheticRun(b, 10000)
	v, err := Open(context.Background(), Options{}, dir)
	if err != nil {
		b.Fatal(err)
	}
	h := v.Handler()
	urls := []string{"/run/0/?per=100&page=3", "/run/0/?sort=tokens&desc=1&page=20", "/run/0/?status=unresolved&min_score=0.3&flag=none&sort=cost",
		"/run/0/?guard=any&test_exit=nonzero&max_wall=300&sort=wall"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, urls[i%len(urls)], nil))
		if rec.Code != 200 || strings.Count(rec.Body.String(), "inst-row") == 0 {
			b.Fatalf("%s: %d", urls[i%len(urls)], rec.Code)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(rssKiB())/1024, "rss-MiB")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
}

// rssKiB reads VmRSS of this process (Linux); 0 elsewhere.
func rssKiB() int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	return 0
}

func TestSelectFiltersSortsPages(t *testing.T) {
	v, err := Open(context.Background(), Options{}, syntheticRun(t, 1000))
	if err != nil {
		t.Fatal(err)
	}
	ix := v.Runs[0].Index
	f := func(x float64) *float64 { return &x }
	cases := []struct {
		name  string
		q     Query
		match func(e Entry) bool
	}{
		{"all", Query{}, func(Entry) bool { return true }},
		{"status", Query{Status: "resolved"}, func(e Entry) bool { return e.Status == result.StatusResolved }},
		{"score range", Query{MinScore: f(0.3), MaxScore: f(0.6)}, func(e Entry) bool { return e.Score >= 0.3 && e.Score <= 0.6 }},
		{"flagged", Query{Flag: "any"}, func(e Entry) bool { return len(e.Flags) > 0 }},
		{"guard", Query{Guard: "any"}, func(e Entry) bool { return e.GuardRefusals > 0 }},
		{"test exit", Query{TestExit: "nonzero"}, func(e Entry) bool { return e.TestExit != nil && *e.TestExit != 0 }},
		{"cost and wall", Query{MaxCost: f(0.2), MinWall: f(100)}, func(e Entry) bool { return *e.Cost <= 0.2 && e.Wall >= 100 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := 0
			for _, e := range ix.Entries {
				if c.match(e) {
					want++
				}
			}
			p := ix.Select(c.q)
			if p.Matched != want || len(p.Rows) != min(want, 100) {
				t.Fatalf("matched %d rows %d, want %d", p.Matched, len(p.Rows), want)
			}
			for _, e := range p.Rows {
				if !c.match(e) {
					t.Fatalf("row %s/%d does not match", e.InstanceID, e.Rollout)
				}
			}
		})
	}
	p := ix.Select(Query{Sort: "tokens", Desc: true, Page: 2, PerPage: 50})
	if p.Page != 2 || len(p.Rows) != 50 || p.Pages != 20 {
		t.Fatalf("page %d of %d, %d rows", p.Page, p.Pages, len(p.Rows))
	}
	for i := 1; i < len(p.Rows); i++ {
		if p.Rows[i].Tokens > p.Rows[i-1].Tokens {
			t.Fatal("not sorted by tokens descending")
		}
	}
}
