package view

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/reports/board"
)

// browser starts headless Debian chromium through chromedp; without one the
// test skips locally and fails under CI=true.
func browser(t *testing.T) context.Context {
	t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no chromium on PATH under CI=true: apt-get install -y chromium fonts-liberation")
		}
		t.Skip("no chromium on PATH: apt-get install -y chromium to run the browser tests")
	}
	// Not t.TempDir: chromium may still write its profile while it exits,
	// which would fail the test's own cleanup; removal is best effort.
	profile, err := os.MkdirTemp("", "sweval-view-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(profile), chromedp.WindowSize(1400, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel3)
	return ctx
}

// serveLoopback serves h on 127.0.0.1 only.
func serveLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func shotDir(t *testing.T) string {
	if d := os.Getenv("SWEVAL_VIEW_SHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readResults(t *testing.T, dir string) []result.Result {
	t.Helper()
	var out []result.Result
	if _, err := result.ScanFile(filepath.Join(dir, "results.jsonl"), result.ScanOptions{}, func(r *result.Result) error {
		out = append(out, *r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// Runs → instances → a rollout → compare on the example run, in a real
// browser, against results.jsonl and the board.
func TestBrowseExampleRunInChromium(t *testing.T) {
	ctx := browser(t)
	dir := filepath.Join("testdata", "example-run")
	v, err := Open(context.Background(), Options{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	base := serveLoopback(t, v.Handler())
	shots := shotDir(t)
	want := readResults(t, dir)
	b, err := board.Load(context.Background(), board.Options{}, dir)
	if err != nil {
		t.Fatal(err)
	}

	var rollouts, resolved []string
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#runs"),
		chromedp.Evaluate(`[...document.querySelectorAll("#runs .rollouts")].map(e=>e.textContent)`, &rollouts),
		chromedp.Evaluate(`[...document.querySelectorAll("#runs .resolved")].map(e=>e.textContent)`, &resolved)); err != nil {
		t.Fatal(err)
	}
	if len(rollouts) != len(b.Rows) {
		t.Fatalf("runs page has %d board rows, the board %d", len(rollouts), len(b.Rows))
	}
	total := 0
	for i, row := range b.Rows {
		total += row.Rollouts
		if rollouts[i] != strconv.Itoa(row.Rollouts) || resolved[i] != pct(row.Resolved) {
			t.Errorf("runs row %d: rollouts=%q resolved=%q, board says %d / %s", i, rollouts[i], resolved[i], row.Rollouts, pct(row.Resolved))
		}
	}
	// Cell for cell, the page's rows are `sweval board --format md`'s.
	var md bytes.Buffer
	if err := board.Render(&md, b, "md"); err != nil {
		t.Fatal(err)
	}
	var cells [][]string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`[...document.querySelectorAll("#runs tr.run-row")].map(r=>[...r.cells].slice(1).map(c=>c.textContent))`, &cells)); err != nil {
		t.Fatal(err)
	}
	mdRows := strings.Split(strings.TrimSpace(md.String()), "\n")[2:]
	for i, line := range mdRows {
		if i >= len(cells) {
			break
		}
		var mdCells []string
		for _, c := range strings.Split(strings.Trim(line, "| "), " | ") {
			mdCells = append(mdCells, strings.TrimSpace(c))
		}
		if strings.Join(mdCells, "|") != strings.Join(cells[i], "|") {
			t.Errorf("runs row %d differs from sweval board:\n page  %q\n board %q", i, cells[i], mdCells)
		}
	}
	if total != len(want) {
		t.Errorf("board rows hold %d rollouts, results.jsonl %d", total, len(want))
	}
	screenshot(t, ctx, shots, "runs.png")

	var nrows int
	var count string
	if err := chromedp.Run(ctx, chromedp.Click("a.run-link", chromedp.ByQuery), chromedp.WaitVisible("#instances"),
		chromedp.Evaluate(`document.querySelectorAll("#instances tr.inst-row").length`, &nrows), chromedp.Text("#count", &count)); err != nil {
		t.Fatal(err)
	}
	if nrows != len(want) || !strings.HasPrefix(count, strconv.Itoa(len(want))+" of ") {
		t.Fatalf("instances page shows %d rows (%q), results.jsonl has %d", nrows, count, len(want))
	}
	for _, r := range want {
		var score string
		sel := `tr[data-id="` + r.InstanceID + `"][data-rollout="` + strconv.Itoa(r.Rollout) + `"] .score`
		if err := chromedp.Run(ctx, chromedp.Text(sel, &score, chromedp.ByQuery)); err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		if want := strconv.FormatFloat(r.PassFraction, 'f', 3, 64); score != want {
			t.Errorf("%s/%d score %q, results.jsonl %s", r.InstanceID, r.Rollout, score, want)
		}
	}
	// Server-side filter: only the audit-flagged rollouts.
	// The click navigates: wait for the filtered page, not the old one
	// still on screen (CI once counted the unfiltered rows).
	if err := chromedp.Run(ctx, chromedp.SetValue(`select[name="flag"]`, "any", chromedp.ByQuery), chromedp.Click("#apply", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		var ready bool
		err := chromedp.Run(ctx, chromedp.Evaluate(`location.search.includes("flag=any") && document.readyState === "complete"`, &ready))
		if err == nil && ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the filtered page did not load: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := chromedp.Run(ctx, chromedp.WaitVisible("#instances"), chromedp.Evaluate(`document.querySelectorAll("#instances tr.inst-row").length`, &nrows)); err != nil {
		t.Fatal(err)
	}
	flagged := 0
	for _, r := range want {
		if len(r.AuditFlags) > 0 {
			flagged++
		}
	}
	if nrows != flagged {
		t.Fatalf("flag=any shows %d rows, results.jsonl has %d flagged", nrows, flagged)
	}
	screenshot(t, ctx, shots, "instances.png")

	// The failed astropy rollout: refusal and format error highlighted.
	var status, refused string
	var flaggedSteps int
	if err := chromedp.Run(ctx, chromedp.Click(`tr[data-id="astropy__astropy-12907"] a.rollout-link`, chromedp.ByQuery), chromedp.WaitVisible(".trajectory"),
		chromedp.Text(".summary .status", &status, chromedp.ByQuery), chromedp.Text(".refused", &refused, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll(".step.flagged").length`, &flaggedSteps)); err != nil {
		t.Fatal(err)
	}
	if status != string(want[1].Status) || !strings.Contains(refused, "guard refused") || flaggedSteps != 2 {
		t.Fatalf("rollout page status=%q refused=%q flagged steps=%d", status, refused, flaggedSteps)
	}
	screenshot(t, ctx, shots, "rollout.png")

	var sides int
	var a, bs string
	if err := chromedp.Run(ctx, chromedp.Click("a.compare-with", chromedp.ByQuery), chromedp.WaitVisible(".compare"),
		chromedp.Evaluate(`document.querySelectorAll(".compare .side").length`, &sides),
		chromedp.Text("#side-a .status", &a, chromedp.ByQuery), chromedp.Text("#side-b .status", &bs, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if sides != 2 || a == bs {
		t.Fatalf("compare: %d sides, statuses %q vs %q", sides, a, bs)
	}
	screenshot(t, ctx, shots, "compare.png")
}

const xss = `<script>window.__xss=1;document.title="pwned"</script><img src=x onerror="window.__xss=2"><b id="injected">bold</b>`

// Model- and test-written text is shown as text, never run, on the served
// pages and in the static site (which has no CSP header to lean on).
func TestUntrustedContentDoesNotExecute(t *testing.T) {
	ctx := browser(t)
	rs := exampleRollouts()[:2]
	rs[0].res.InstanceID, rs[1].res.InstanceID = "evil__x", "evil__x"
	rs[0].res.AuditFlags = []string{xss}
	rs[0].res.Error = xss
	rs[0].patch = "diff --git a/x b/x\n+" + xss + "\n"
	rs[0].log = xss
	rs[0].traj.Steps[0].Actions[0].Observation = xss
	rs[0].traj.Steps[0].Response.Content = xss
	rs[0].traj.Steps[0].Actions[0].Command = xss
	dir := t.TempDir()
	writeRun(t, dir, rs)
	v, err := Open(context.Background(), Options{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	static := t.TempDir()
	if _, err := v.WriteStatic(context.Background(), static, 100); err != nil {
		t.Fatal(err)
	}
	base := serveLoopback(t, v.Handler())
	for _, u := range []string{base + "/run/0/r/evil__x/0.html", base + "/run/0/c/evil__x.html?a=0&b=1", base + "/run/0/?flag=any",
		"file://" + filepath.Join(static, "run/0/r/evil__x/0.html"), "file://" + filepath.Join(static, "run/0/c/evil__x.html")} {
		var title, body string
		var scripts, injected int
		var hit bool
		if err := chromedp.Run(ctx, chromedp.Navigate(u), chromedp.WaitReady("body"), chromedp.Sleep(300*time.Millisecond),
			chromedp.Title(&title), chromedp.Evaluate(`window.__xss !== undefined`, &hit),
			chromedp.Evaluate(`document.querySelectorAll("script").length`, &scripts),
			chromedp.Evaluate(`document.querySelectorAll("#injected, img[src=x]").length`, &injected),
			chromedp.Text("body", &body, chromedp.ByQuery)); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if hit || title == "pwned" || scripts != 0 || injected != 0 {
			t.Errorf("%s: planted HTML became live (xss=%v title=%q scripts=%d elements=%d)", u, hit, title, scripts, injected)
		}
		if !strings.Contains(body, "<script>window.__xss=1") {
			t.Errorf("%s: the planted text is not shown as text", u)
		}
	}
}
