package view

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sweval/sweval/reports/importers"
)

func get(t *testing.T, h http.Handler, url string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, rec.Code, body)
	}
	return string(body)
}

// Runs imported from SWE-agent, mini-swe-agent and OpenHands open like
// native ones: every rollout page renders its steps.
func TestImportedRunsShow(t *testing.T) {
	src := filepath.Join("..", "importers", "testdata")
	for _, c := range []struct {
		from    importers.Format
		path    string
		reports []string
	}{
		{importers.SWEAgent, "sweagent", []string{"sweagent-report.json"}},
		{importers.Mini, "mini", []string{"mini-reports"}},
		{importers.OpenHands, "openhands", []string{"openhands-report.json"}},
	} {
		t.Run(string(c.from), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			var reps []string
			for _, r := range c.reports {
				reps = append(reps, filepath.Join(src, r))
			}
			sum, err := importers.Import(context.Background(), importers.Options{From: c.from, Paths: []string{filepath.Join(src, c.path)}, Reports: reps, OutDir: out})
			if err != nil {
				t.Fatal(err)
			}
			v, err := Open(context.Background(), Options{}, out)
			if err != nil {
				t.Fatal(err)
			}
			h := v.Handler()
			list := get(t, h, "/run/0/")
			if got := strings.Count(list, `class="inst-row`); got != sum.Rollouts {
				t.Fatalf("instances page shows %d rows, the import wrote %d", got, sum.Rollouts)
			}
			for _, e := range v.Runs[0].Index.Entries {
				page := get(t, h, "/run/0/r/"+strings.ReplaceAll(e.InstanceID, "/", "_")+"/0.html")
				if !strings.Contains(page, `class="step`) {
					t.Errorf("%s: rollout page has no steps", e.InstanceID)
				}
			}
		})
	}
}

// The static site links work from file:// in a browser: index → run →
// rollout → back.
func TestStaticSiteBrowses(t *testing.T) {
	ctx := browser(t)
	v, err := Open(context.Background(), Options{}, filepath.Join("testdata", "example-run"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := v.WriteStatic(context.Background(), out, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "run", "0", "page-2.html")); err != nil {
		t.Fatalf("2 rows per page over 4 rollouts should write page-2.html: %v", err)
	}
	var rows int
	var title, back string
	if err := chromedp.Run(ctx, chromedp.Navigate("file://"+filepath.Join(out, "index.html")), chromedp.WaitVisible("#runs"),
		chromedp.Click("a.run-link", chromedp.ByQuery), chromedp.WaitVisible("#instances"),
		chromedp.Click("#next", chromedp.ByQuery), chromedp.WaitVisible("#instances"),
		chromedp.Evaluate(`document.querySelectorAll("#instances tr.inst-row").length`, &rows),
		chromedp.Click("a.rollout-link", chromedp.ByQuery), chromedp.WaitVisible(".summary"), chromedp.Title(&title),
		chromedp.Click("#back", chromedp.ByQuery), chromedp.WaitVisible("#instances"), chromedp.Location(&back)); err != nil {
		t.Fatal(err)
	}
	if rows != 2 || !strings.Contains(title, "rollout") && !strings.Contains(title, "#") || !strings.HasSuffix(back, "run/0/index.html") {
		t.Fatalf("static browse: rows=%d title=%q back=%q", rows, title, back)
	}
	var css string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`getComputedStyle(document.body).backgroundColor`, &css)); err != nil {
		t.Fatal(err)
	}
	if css != "rgb(250, 251, 252)" {
		t.Errorf("stylesheet not loaded in the static site (body background %q)", css)
	}
}
