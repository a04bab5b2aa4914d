package board

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Formats are the output formats Render accepts.
var Formats = []string{"table", "md", "csv", "json", "html"}

// Render writes the board in one of Formats ("" = table).
func Render(w io.Writer, b *Board, format string) error {
	switch format {
	case "", "table":
		if err := renderTable(w, b); err != nil {
			return err
		}
		return excludedNote(w, b)
	case "md", "markdown":
		if err := renderMarkdown(w, b); err != nil {
			return err
		}
		return excludedNote(w, b)
	case "csv":
		return renderCSV(w, b)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(b)
	case "html":
		return renderHTML(w, b)
	}
	return fmt.Errorf("unknown board format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// excludedNote says how many instances an exclusion file left out, and
// how many rollouts needed infrastructure retries.
func excludedNote(w io.Writer, b *Board) error {
	var retried []string
	for _, r := range b.Rows {
		if r.Retried > 0 {
			retried = append(retried, fmt.Sprintf("%s/%s/%s %d of %d", r.Model, r.Scaffold, r.Benchmark, r.Retried, r.Rollouts))
		}
	}
	if len(retried) > 0 {
		if _, err := fmt.Fprintf(w, "\nrollouts recorded after infrastructure retries (--retry-infra): %s\n", strings.Join(retried, ", ")); err != nil {
			return err
		}
	}
	if len(b.Excluded) == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "\n%d instance(s) excluded (--exclude): %s\n", len(b.Excluded), strings.Join(b.Excluded, ", "))
	return err
}

// header is the human header shared by table, Markdown and HTML.
func header(b *Board) []string {
	ci := fmt.Sprintf("[%g%% CI]", b.Options.Confidence*100)
	return []string{"Model", "Scaffold", "Benchmark", "Instances", "Rollouts",
		"Resolved % " + ci, "Mean pass frac " + ci, "Strict % " + ci, "pass@1",
		fmt.Sprintf("pass@%d %s", b.Options.K, ci), "Tokens in/out per rollout", "Cost per rollout",
		"Wall s per rollout", "Audit-flagged", "Pass frac excl. flagged"}
}

func pct(e Estimate) string {
	return fmt.Sprintf("%.1f [%.1f, %.1f]", 100*e.Value, 100*e.Lo, 100*e.Hi)
}

func frac(e Estimate) string { return fmt.Sprintf("%.3f [%.3f, %.3f]", e.Value, e.Lo, e.Hi) }

func costCell(r Row) string {
	if r.CostPerRollout == nil {
		return fmt.Sprintf("unknown (%d/%d rollouts unpriced)", r.UnpricedRollouts, r.Rollouts)
	}
	return fmt.Sprintf("$%.4f", *r.CostPerRollout)
}

func cells(r Row) []string {
	pk := pct(r.PassAtK)
	if r.PassAtKInstances == 0 {
		pk = fmt.Sprintf("n/a (no instance has ≥%d rollouts)", r.K)
	} else if r.PassAtKInstances < r.Instances {
		pk += fmt.Sprintf(" (%d/%d inst. with ≥%d rollouts)", r.PassAtKInstances, r.Instances, r.K)
	}
	return []string{r.Model, r.Scaffold, r.Benchmark, strconv.Itoa(r.Instances), strconv.Itoa(r.Rollouts),
		pct(r.Resolved), frac(r.PassFraction), pct(r.Strict), fmt.Sprintf("%.1f", 100*r.PassAt1.Value), pk,
		fmt.Sprintf("%.0f / %.0f", r.MeanPromptTokens, r.MeanCompletionTokens), costCell(r),
		fmt.Sprintf("%.1f", r.WallPerRollout), strconv.Itoa(r.Flagged), frac(r.PassFractionUnflagged)}
}

func renderTable(w io.Writer, b *Board) error {
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithHeaderAutoWrap(tw.WrapNormal))
	t.Header(header(b))
	for _, r := range b.Rows {
		if err := t.Append(cells(r)); err != nil {
			return err
		}
	}
	return t.Render()
}

func renderMarkdown(w io.Writer, b *Board) error {
	var sb strings.Builder
	row := func(cs []string) {
		sb.WriteString("|")
		for _, c := range cs {
			sb.WriteString(" " + strings.ReplaceAll(c, "|", `\|`) + " |")
		}
		sb.WriteString("\n")
	}
	h := header(b)
	row(h)
	sep := make([]string, len(h))
	for i := range sep {
		sep[i] = "---"
		if i >= 3 {
			sep[i] = "---:"
		}
	}
	row(sep)
	for _, r := range b.Rows {
		row(cells(r))
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func renderCSV(w io.Writer, b *Board) error {
	cw := csv.NewWriter(w)
	est := func(name string) []string { return []string{name, name + "_ci_lo", name + "_ci_hi"} }
	h := []string{"model", "scaffold", "benchmark", "instances", "rollouts", "errors"}
	for _, n := range []string{"resolved_rate", "mean_pass_fraction", "strict_rate", "pass_at_1", "pass_at_k"} {
		h = append(h, est(n)...)
	}
	h = append(h, "k", "pass_at_k_instances", "mean_prompt_tokens", "mean_completion_tokens", "cost_per_rollout",
		"unpriced_rollouts", "wall_seconds_per_rollout", "flagged_rollouts")
	h = append(h, est("mean_pass_fraction_unflagged")...)
	if err := cw.Write(h); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	e := func(x Estimate) []string { return []string{f(x.Value), f(x.Lo), f(x.Hi)} }
	for _, r := range b.Rows {
		rec := []string{r.Model, r.Scaffold, r.Benchmark, strconv.Itoa(r.Instances), strconv.Itoa(r.Rollouts), strconv.Itoa(r.Errors)}
		for _, x := range []Estimate{r.Resolved, r.PassFraction, r.Strict, r.PassAt1, r.PassAtK} {
			rec = append(rec, e(x)...)
		}
		cost := "" // empty = unknown
		if r.CostPerRollout != nil {
			cost = f(*r.CostPerRollout)
		}
		rec = append(rec, strconv.Itoa(r.K), strconv.Itoa(r.PassAtKInstances), f(r.MeanPromptTokens), f(r.MeanCompletionTokens),
			cost, strconv.Itoa(r.UnpricedRollouts), f(r.WallPerRollout), strconv.Itoa(r.Flagged))
		rec = append(rec, e(r.PassFractionUnflagged)...)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// scorePlot is a grouped histogram of per-instance mean pass fraction, one
// colour per board row.
func scorePlot(b *Board) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Score distribution per model (per-instance mean pass fraction)"
	p.X.Label.Text = "score bucket"
	p.Y.Label.Text = "instances"
	labels := []string{"0", "(0,.25]", "(.25,.5]", "(.5,.75]", "(.75,1)", "1"}
	width := vg.Points(40 / float64(max(1, len(b.Rows))))
	palette := []color.RGBA{{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
		{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}}
	for i, r := range b.Rows {
		counts := make(plotter.Values, len(labels))
		for _, s := range r.scores {
			switch {
			case s <= 0:
				counts[0]++
			case s >= 1:
				counts[5]++
			default:
				counts[1+min(3, int(s*4-1e-12))]++
			}
		}
		bars, err := plotter.NewBarChart(counts, width)
		if err != nil {
			return nil, err
		}
		bars.Color = palette[i%len(palette)]
		bars.LineStyle.Width = 0
		bars.Offset = width * vg.Length(float64(i)-float64(len(b.Rows)-1)/2)
		p.Add(bars)
		name := r.Model
		if r.Scaffold != "" {
			name += " / " + r.Scaffold
		}
		if r.Benchmark != "" {
			name += " / " + r.Benchmark
		}
		p.Legend.Add(name, bars)
	}
	p.Legend.Top = true
	p.NominalX(labels...)
	return p, nil
}

func pngOf(p *plot.Plot, w, h vg.Length) (string, error) {
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

type figure struct {
	Title, Alt string
	Data       template.URL
}

var page = template.Must(template.New("board").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sweval board</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:nth-child(-n+3),th:nth-child(-n+3){text-align:left}
figure{margin:2em 0}img{max-width:100%;border:1px solid #eee}
.note{color:#666;font-size:12px}
</style></head><body>
<h1>sweval leaderboard</h1>
<p class="note">Rates are means over instances of per-instance means over rollouts. Intervals: {{.Conf}}% percentile bootstrap over instances, {{.Resamples}} resamples, seed {{.Seed}}. pass@k: unbiased estimator (Chen et al. 2021). Cost is "unknown" when any rollout has no price.</p>
<table id="board"><thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody></table>
{{range .Figures}}<figure><img alt="{{.Alt}}" src="{{.Data}}"><figcaption>{{.Title}}</figcaption></figure>
{{end}}{{if .NoDifficulty}}<p class="note">No difficulty plot: {{.NoDifficulty}}</p>{{end}}
</body></html>
`))

func renderHTML(w io.Writer, b *Board) error {
	data := struct {
		Header       []string
		Rows         [][]string
		Figures      []figure
		Conf         float64
		Resamples    int
		Seed         uint64
		NoDifficulty string
	}{Header: header(b), Conf: b.Options.Confidence * 100, Resamples: b.Options.Resamples, Seed: b.Options.Seed}
	for _, r := range b.Rows {
		data.Rows = append(data.Rows, cells(r))
	}
	sp, err := scorePlot(b)
	if err != nil {
		return fmt.Errorf("score plot: %w", err)
	}
	enc, err := pngOf(sp, 18*vg.Centimeter, 10*vg.Centimeter)
	if err != nil {
		return fmt.Errorf("score plot: %w", err)
	}
	data.Figures = append(data.Figures, figure{Title: "Score distribution per model", Alt: "score distribution", Data: template.URL("data:image/png;base64," + enc)})
	if b.Difficulty != nil {
		dp, err := b.Difficulty.Plot()
		if err != nil {
			return fmt.Errorf("difficulty plot: %w", err)
		}
		enc, err := pngOf(dp, 18*vg.Centimeter, 11*vg.Centimeter)
		if err != nil {
			return fmt.Errorf("difficulty plot: %w", err)
		}
		data.Figures = append(data.Figures, figure{Title: "Pass rate vs difficulty with the fitted threshold line", Alt: "pass rate vs difficulty", Data: template.URL("data:image/png;base64," + enc)})
	} else {
		data.NoDifficulty = "the results carry no varying instance features (Result.features)."
	}
	return page.Execute(w, data)
}
