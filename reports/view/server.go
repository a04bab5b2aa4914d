package view

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/reports/board"
	"github.com/sweval/sweval/reports/runs"
	"github.com/sweval/sweval/scaffolds/trajectory"
)

//go:embed assets
var assets embed.FS

// Run is one run directory opened for viewing.
type Run struct {
	Dir   string
	ID    string
	Board *board.Board
	Index *Index
}

// Viewer serves the pages of a set of runs.
type Viewer struct {
	Runs []*Run
	tmpl *template.Template
	log  *slog.Logger
}

// Options configure Open.
type Options struct {
	// Board are the board options; the zero value is `sweval board`'s
	// defaults, so the Runs page shows the same numbers.
	Board  board.Options
	Logger *slog.Logger
}

// Open indexes every run directory (one streaming pass each) and computes
// its board rows with the board package itself.
func Open(ctx context.Context, opts Options, dirs ...string) (*Viewer, error) {
	if len(dirs) == 0 {
		return nil, errors.New("no run directories given: pass one or more runs/<run_id> directories")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	v := &Viewer{tmpl: t, log: log}
	for _, d := range dirs {
		ix, err := BuildIndex(ctx, d)
		if err != nil {
			return nil, err
		}
		b, err := board.Load(ctx, opts.Board, d)
		if err != nil {
			return nil, fmt.Errorf("board of %s: %w", d, err)
		}
		v.Runs = append(v.Runs, &Run{Dir: runs.RunDir(d), ID: readRunID(d), Board: b, Index: ix})
	}
	return v, nil
}

func readRunID(dir string) string {
	var meta struct {
		RunID string `json:"run_id"`
	}
	if data, err := os.ReadFile(filepath.Join(runs.RunDir(dir), "run.json")); err == nil && json.Unmarshal(data, &meta) == nil && meta.RunID != "" {
		return meta.RunID
	}
	return runID(dir)
}

// Handler serves the pages under /.
func (v *Viewer) Handler() http.Handler {
	mux := http.NewServeMux()
	sub, _ := fs.Sub(assets, "assets")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(sub)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		v.serve(w, "runs", v.runsPage(false))
	})
	mux.HandleFunc("GET /run/{n}/{$}", func(w http.ResponseWriter, r *http.Request) {
		run, n, ok := v.run(w, r)
		if !ok {
			return
		}
		q := parseQuery(r.URL.Query())
		v.serve(w, "instances", v.instancesPage(run, n, q, r.URL.Query(), false))
	})
	mux.HandleFunc("GET /run/{n}/r/{inst}/{k}", func(w http.ResponseWriter, r *http.Request) {
		run, n, ok := v.run(w, r)
		if !ok {
			return
		}
		id, ok := run.Index.bySafe[r.PathValue("inst")]
		k, err := strconv.Atoi(strings.TrimSuffix(r.PathValue("k"), ".html"))
		if !ok || err != nil {
			http.Error(w, "no such rollout in this run", http.StatusNotFound)
			return
		}
		p, err := v.rolloutPage(run, n, id, k, "../../../../", false)
		v.respond(w, "rollout", p, err)
	})
	mux.HandleFunc("GET /run/{n}/c/{inst}", func(w http.ResponseWriter, r *http.Request) {
		run, n, ok := v.run(w, r)
		if !ok {
			return
		}
		id, ok := run.Index.bySafe[strings.TrimSuffix(r.PathValue("inst"), ".html")]
		if !ok {
			http.Error(w, "no such instance in this run", http.StatusNotFound)
			return
		}
		a, b := defaultPair(run.Index, id)
		if s := r.URL.Query().Get("a"); s != "" {
			a, _ = strconv.Atoi(s)
		}
		if s := r.URL.Query().Get("b"); s != "" {
			b, _ = strconv.Atoi(s)
		}
		p, err := v.comparePage(run, n, id, a, b, false)
		v.respond(w, "compare", p, err)
	})
	return mux
}

func (v *Viewer) run(w http.ResponseWriter, r *http.Request) (*Run, int, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n >= len(v.Runs) {
		http.Error(w, "no such run", http.StatusNotFound)
		return nil, 0, false
	}
	return v.Runs[n], n, true
}

func (v *Viewer) respond(w http.ResponseWriter, name string, data any, err error) {
	if err != nil {
		if errors.Is(err, errNotFound) {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		v.log.Error("view page", "page", name, "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	v.serve(w, name, data)
}

func (v *Viewer) serve(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := v.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		v.log.Error("render page", "page", name, "err", err)
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Nothing on these pages needs a script or a remote resource: a CSP
	// is a second wall behind the escaping.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:")
	w.Write(buf.Bytes())
}

var errNotFound = errors.New("not found")

// ---- page data

type runRow struct {
	N        int
	ID, Dir  string
	Href     string
	Rows     []boardRow
	Rollouts int
	Bad      int
}

type boardRow struct {
	board.Row
	ResolvedS, PassFracS, StrictS, PassAt1S, PassAtKS, TokensS, CostS, WallS, UnflaggedS string
}

type runsData struct {
	Root   string
	Static bool
	K      int
	Runs   []runRow
}

func pct(e board.Estimate) string {
	return fmt.Sprintf("%.1f [%.1f, %.1f]", 100*e.Value, 100*e.Lo, 100*e.Hi)
}

func frac(e board.Estimate) string { return fmt.Sprintf("%.3f [%.3f, %.3f]", e.Value, e.Lo, e.Hi) }

// boardRows formats the board package's rows the way `sweval board` prints
// them; the numbers themselves are the board's.
func boardRows(b *board.Board) []boardRow {
	var out []boardRow
	for _, r := range b.Rows {
		br := boardRow{Row: r, ResolvedS: pct(r.Resolved), PassFracS: frac(r.PassFraction), StrictS: pct(r.Strict),
			PassAt1S: fmt.Sprintf("%.1f", 100*r.PassAt1.Value), PassAtKS: pct(r.PassAtK),
			TokensS: fmt.Sprintf("%.0f / %.0f", r.MeanPromptTokens, r.MeanCompletionTokens),
			WallS:   fmt.Sprintf("%.1f", r.WallPerRollout), UnflaggedS: frac(r.PassFractionUnflagged)}
		if r.PassAtKInstances == 0 {
			br.PassAtKS = fmt.Sprintf("n/a (no instance has ≥%d rollouts)", r.K)
		} else if r.PassAtKInstances < r.Instances {
			br.PassAtKS += fmt.Sprintf(" (%d/%d inst. with ≥%d rollouts)", r.PassAtKInstances, r.Instances, r.K)
		}
		if r.CostPerRollout == nil {
			br.CostS = fmt.Sprintf("unknown (%d/%d rollouts unpriced)", r.UnpricedRollouts, r.Rollouts)
		} else {
			br.CostS = fmt.Sprintf("$%.4f", *r.CostPerRollout)
		}
		out = append(out, br)
	}
	return out
}

func (v *Viewer) runsPage(static bool) runsData {
	d := runsData{Root: "", Static: static, K: 4}
	for n, r := range v.Runs {
		d.K = r.Board.Options.K
		d.Runs = append(d.Runs, runRow{N: n, ID: r.ID, Dir: r.Dir, Href: fmt.Sprintf("run/%d/%s", n, indexFile(static)),
			Rows: boardRows(r.Board), Rollouts: len(r.Index.Entries), Bad: r.Index.BadLines})
	}
	return d
}

func indexFile(static bool) string {
	if static {
		return "index.html"
	}
	return ""
}

type instRow struct {
	Entry
	Href, CompareHref string
	CostS, ExitS      string
}

type pageLink struct {
	N       int
	Href    string
	Current bool
}

type sortLink struct {
	Name, Label, Href string
	Active, Desc      bool
}

type instancesData struct {
	Root   string
	Static bool
	Run    *Run
	N      int
	Q      Query
	Form   url.Values
	Page   Page
	Rows   []instRow
	Pages  []pageLink
	Sorts  []sortLink
	Prev   string
	Next   string
}

func parseQuery(v url.Values) Query {
	fl := func(k string) *float64 {
		if f, err := strconv.ParseFloat(v.Get(k), 64); err == nil {
			return &f
		}
		return nil
	}
	in := func(k string) *int {
		if i, err := strconv.Atoi(v.Get(k)); err == nil {
			return &i
		}
		return nil
	}
	page, _ := strconv.Atoi(v.Get("page"))
	per, _ := strconv.Atoi(v.Get("per"))
	return Query{Status: v.Get("status"), MinScore: fl("min_score"), MaxScore: fl("max_score"), Flag: v.Get("flag"),
		Exit: v.Get("exit"), TestExit: v.Get("test_exit"), Guard: v.Get("guard"), MinTokens: in("min_tokens"),
		MaxTokens: in("max_tokens"), MaxCost: fl("max_cost"), MinWall: fl("min_wall"), MaxWall: fl("max_wall"),
		Search: v.Get("q"), Sort: v.Get("sort"), Desc: v.Get("desc") == "1", Page: page, PerPage: per}
}

var sortable = [][2]string{{"", "Instance"}, {"status", "Status"}, {"score", "Score"}, {"steps", "Steps"},
	{"guard", "Guard"}, {"tokens", "Tokens"}, {"cost", "Cost"}, {"wall", "Wall s"}}

func (v *Viewer) instancesPage(run *Run, n int, q Query, form url.Values, static bool) instancesData {
	p := run.Index.Select(q)
	d := instancesData{Root: "../../", Static: static, Run: run, N: n, Q: q, Form: form, Page: p}
	with := func(k, val string) string {
		c := url.Values{}
		for kk, vv := range form {
			c[kk] = vv
		}
		c.Set(k, val)
		if k != "page" {
			c.Del("page")
		}
		return "?" + c.Encode()
	}
	pageHref := func(i int) string {
		if static {
			if i == 1 {
				return "index.html"
			}
			return fmt.Sprintf("page-%d.html", i)
		}
		return with("page", strconv.Itoa(i))
	}
	for _, e := range p.Rows {
		safe := url.PathEscape(result.SafeName(e.InstanceID))
		r := instRow{Entry: e, Href: fmt.Sprintf("r/%s/%d.html", safe, e.Rollout), CompareHref: "c/" + safe + ".html", CostS: "unknown", ExitS: "–"}
		if e.Cost != nil {
			r.CostS = fmt.Sprintf("$%.4f", *e.Cost)
		}
		if e.TestExit != nil {
			r.ExitS = strconv.Itoa(*e.TestExit)
		}
		d.Rows = append(d.Rows, r)
	}
	lo, hi := max(1, p.Page-5), min(p.Pages, p.Page+5)
	for i := lo; i <= hi; i++ {
		d.Pages = append(d.Pages, pageLink{N: i, Href: pageHref(i), Current: i == p.Page})
	}
	if p.Page > 1 {
		d.Prev = pageHref(p.Page - 1)
	}
	if p.Page < p.Pages {
		d.Next = pageHref(p.Page + 1)
	}
	if !static {
		for _, s := range sortable {
			sl := sortLink{Name: s[0], Label: s[1], Active: q.Sort == s[0], Desc: q.Desc}
			c := url.Values{}
			for kk, vv := range form {
				c[kk] = vv
			}
			c.Del("page")
			c.Set("sort", s[0])
			c.Del("desc")
			if sl.Active && !q.Desc {
				c.Set("desc", "1")
			}
			sl.Href = "?" + c.Encode()
			d.Sorts = append(d.Sorts, sl)
		}
	}
	_ = with
	return d
}

// ---- rollout

type obsView struct {
	Text         string
	Lines, Bytes int
	Long         bool
	Elided       []string
}

type actionView struct {
	trajectory.Action
	Obs        obsView
	ArgsPretty string
	Flagged    bool
}

type stepView struct {
	N           int
	New         []trajectory.Message
	Response    trajectory.Message
	Calls       []callView
	Actions     []actionView
	Prompt      int
	Completion  int
	Latency     float64
	FormatError string
	Refused     bool
	Flagged     bool
	Evidence    []judgeEvidence
	Audit       []auditFinding
}

type callView struct {
	Name, Args string
}

type diffLine struct {
	Class, Text string
}

type judgeEvidence struct {
	Step   int    `json:"step"`
	Quote  string `json:"quote"`
	Reason string `json:"reason"`
}

// auditFinding is one rule hit with its place in the trajectory, read from
// the rollout's audit.json when the run kept one (leakage/audit.Flag's
// shape; decoded here so reports depend on no leakage package).
type auditFinding struct {
	Step    int    `json:"step"`
	Action  int    `json:"action"`
	Rule    string `json:"rule"`
	Source  string `json:"source"`
	Excerpt string `json:"excerpt"`
	Detail  string `json:"detail"`
}

type judgeView struct {
	Verdict  string          `json:"verdict"`
	Summary  string          `json:"summary"`
	Evidence []judgeEvidence `json:"evidence"`
}

type fileCount struct {
	File                   string
	Passed, Failed, NotRun int
}

type doc2repoTests struct {
	Passed   []string `json:"passed"`
	Failed   []string `json:"failed"`
	NotRun   []string `json:"not_run"`
	Declared int      `json:"declared"`
	Ran      int      `json:"ran"`
	Mismatch string   `json:"mismatch"`
	Removed  []string `json:"removed"`
	Tamper   []string `json:"tamper"`
	Files    []fileCount
}

type rolloutData struct {
	Root, Back string
	Static     bool
	Run        *Run
	N          int
	R          *result.Result
	E          Entry
	Traj       *trajectory.Trajectory
	TrajErr    string
	Steps      []stepView
	Patch      []diffLine
	PatchLines int
	EvalLog    obsView
	Judge      *judgeView
	Audit      []auditFinding
	Doc2Repo   *doc2repoTests
	Compare    []pageLink
	Rollouts   []pageLink
	CostS      string
}

const longLines, longBytes = 25, 4000

func observe(s string) obsView {
	o := obsView{Text: s, Bytes: len(s), Lines: strings.Count(s, "\n") + 1}
	o.Long = o.Lines > longLines || o.Bytes > longBytes
	for _, m := range elidedRE.FindAllString(s, -1) {
		o.Elided = append(o.Elided, strings.TrimSpace(m))
	}
	return o
}

func diffLines(p string) []diffLine {
	var out []diffLine
	for _, l := range strings.Split(strings.TrimRight(p, "\n"), "\n") {
		c := "ctx"
		switch {
		case strings.HasPrefix(l, "diff --git"), strings.HasPrefix(l, "+++ "), strings.HasPrefix(l, "--- "), strings.HasPrefix(l, "index "),
			strings.HasPrefix(l, "new file"), strings.HasPrefix(l, "deleted file"):
			c = "file"
		case strings.HasPrefix(l, "@@"):
			c = "hunk"
		case strings.HasPrefix(l, "+"):
			c = "add"
		case strings.HasPrefix(l, "-"):
			c = "del"
		}
		out = append(out, diffLine{Class: c, Text: l})
	}
	return out
}

func prettyArgs(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	// The template escapes for HTML; JSON's own \u003c escaping would
	// only make commands unreadable.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if enc.Encode(v) != nil {
		return s
	}
	return strings.TrimRight(buf.String(), "\n")
}

// defaultPair picks two rollouts worth comparing: a successful and a failed
// one when both exist, else the first two.
func defaultPair(ix *Index, id string) (int, int) {
	ks := ix.Rollouts(id)
	if len(ks) == 0 {
		return 0, 0
	}
	a, b := ks[0], ks[0]
	if len(ks) > 1 {
		b = ks[1]
	}
	good, bad := -1, -1
	for _, k := range ks {
		e, _ := ix.Entry(id, k)
		if e.Status == result.StatusResolved && good < 0 {
			good = k
		}
		if e.Status != result.StatusResolved && bad < 0 {
			bad = k
		}
	}
	if good >= 0 && bad >= 0 {
		return good, bad
	}
	return a, b
}

func (v *Viewer) rolloutPage(run *Run, n int, id string, k int, root string, static bool) (*rolloutData, error) {
	r, ok, err := run.Index.Result(id, k)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("rollout %s/%d: %w in run %s", id, k, errNotFound, run.ID)
	}
	e, _ := run.Index.Entry(id, k)
	d := &rolloutData{Root: root, Back: root + fmt.Sprintf("run/%d/%s", n, indexFile(static)), Static: static, Run: run, N: n, R: r, E: e, CostS: "unknown"}
	if r.Cost != nil {
		d.CostS = fmt.Sprintf("$%.4f", *r.Cost)
	}
	dir := result.RolloutDir(run.Dir, id, k)
	traj, terr := runs.LoadTrajectory(run.Dir, id, k)
	if terr != nil {
		if !errors.Is(terr, fs.ErrNotExist) {
			d.TrajErr = terr.Error()
		}
	} else {
		d.Traj = traj
	}
	if data, err := os.ReadFile(filepath.Join(dir, "judge.json")); err == nil {
		var j judgeView
		if json.Unmarshal(data, &j) == nil {
			d.Judge = &j
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "audit.json")); err == nil {
		var fs []auditFinding
		if json.Unmarshal(data, &fs) == nil {
			d.Audit = fs
		}
	}
	if d.Traj != nil {
		audits := map[int][]auditFinding{}
		for _, f := range d.Audit {
			audits[f.Step] = append(audits[f.Step], f)
		}
		evid := map[int][]judgeEvidence{}
		if d.Judge != nil {
			for _, ev := range d.Judge.Evidence {
				evid[ev.Step] = append(evid[ev.Step], ev)
			}
		}
		prev := 0
		for i, st := range d.Traj.Steps {
			sv := stepView{N: i, Response: st.Response, Prompt: st.PromptTokens, Completion: st.CompletionTokens,
				Latency: st.LatencySeconds, FormatError: st.FormatError, Evidence: evid[i], Audit: audits[i]}
			if prev <= len(st.Messages) {
				sv.New = st.Messages[prev:]
			} else {
				sv.New = st.Messages
			}
			prev = len(st.Messages) + 1 // the reply joins the next call's messages
			for _, tc := range st.Response.ToolCalls {
				sv.Calls = append(sv.Calls, callView{Name: tc.Function.Name, Args: prettyArgs(tc.Function.Arguments)})
			}
			for _, a := range st.Actions {
				av := actionView{Action: a, Obs: observe(a.Observation), ArgsPretty: prettyArgs(a.Arguments)}
				av.Flagged = a.Refused != "" || a.TimedOut
				if a.Refused != "" {
					sv.Refused = true
				}
				sv.Actions = append(sv.Actions, av)
			}
			sv.Flagged = sv.FormatError != "" || sv.Refused || len(sv.Evidence) > 0 || len(sv.Audit) > 0
			d.Steps = append(d.Steps, sv)
		}
	}
	patch := ""
	if data, err := os.ReadFile(filepath.Join(dir, "patch.diff")); err == nil {
		patch = string(data)
	} else if d.Traj != nil {
		patch = d.Traj.Patch
	}
	if strings.TrimSpace(patch) != "" {
		d.Patch = diffLines(patch)
		d.PatchLines = len(d.Patch)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "eval.log")); err == nil {
		d.EvalLog = observe(string(data))
	}
	if data, err := os.ReadFile(filepath.Join(dir, "tests.json")); err == nil {
		var t doc2repoTests
		if json.Unmarshal(data, &t) == nil {
			t.Files = perFile(t)
			d.Doc2Repo = &t
		}
	}
	esc := url.PathEscape(result.SafeName(id))
	for _, o := range run.Index.Rollouts(id) {
		d.Rollouts = append(d.Rollouts, pageLink{N: o, Href: fmt.Sprintf("%d.html", o), Current: o == k})
		if o != k {
			href := fmt.Sprintf("../../c/%s.html?a=%d&b=%d", esc, k, o)
			if static {
				href = fmt.Sprintf("../../c/%s.html", esc)
			}
			d.Compare = append(d.Compare, pageLink{N: o, Href: href})
		}
	}
	return d, nil
}

func perFile(t doc2repoTests) []fileCount {
	idx := map[string]int{}
	var out []fileCount
	add := func(ids []string, f func(*fileCount)) {
		for _, id := range ids {
			file, _, _ := strings.Cut(id, "::")
			i, ok := idx[file]
			if !ok {
				i = len(out)
				idx[file] = i
				out = append(out, fileCount{File: file})
			}
			f(&out[i])
		}
	}
	add(t.Passed, func(c *fileCount) { c.Passed++ })
	add(t.Failed, func(c *fileCount) { c.Failed++ })
	add(t.NotRun, func(c *fileCount) { c.NotRun++ })
	return out
}

type compareData struct {
	Root, Back string
	Static     bool
	Run        *Run
	N          int
	ID         string
	A, B       *rolloutData
}

func (v *Viewer) comparePage(run *Run, n int, id string, a, b int, static bool) (*compareData, error) {
	ra, err := v.rolloutPage(run, n, id, a, "../../../", static)
	if err != nil {
		return nil, err
	}
	rb, err := v.rolloutPage(run, n, id, b, "../../../", static)
	if err != nil {
		return nil, err
	}
	return &compareData{Root: "../../../", Back: "../" + indexFile(static), Static: static, Run: run, N: n, ID: id, A: ra, B: rb}, nil
}

// elidedRE finds the harness's and the agent loop's elision notes.
var elidedRE = regexp.MustCompile(`\[\.\.\. \d+ bytes elided \.\.\.\]|\[\d+ lines elided\]`)
