package view

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sweval/sweval/harness/result"
)

// WriteStatic writes every page into out as a self-contained static site:
// relative links only, the stylesheet copied beside the pages, one file per
// rollout and per instance comparison (so a large run is never one page).
// Instance lists are written unfiltered, sorted by instance, in pages of
// perPage rows.
func (v *Viewer) WriteStatic(ctx context.Context, out string, perPage int) (int, error) {
	n := 0
	write := func(rel, name string, data any) error {
		var buf bytes.Buffer
		if err := v.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
			return fmt.Errorf("render %s: %w", rel, err)
		}
		path := filepath.Join(out, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
		}
		n++
		return os.WriteFile(path, buf.Bytes(), 0o644)
	}
	css, err := fs.ReadFile(assets, "assets/style.css")
	if err != nil {
		return n, err
	}
	if err := os.MkdirAll(filepath.Join(out, "assets"), 0o755); err != nil {
		return n, fmt.Errorf("create the static site in %s: %w", out, err)
	}
	if err := os.WriteFile(filepath.Join(out, "assets", "style.css"), css, 0o644); err != nil {
		return n, err
	}
	if err := write("index.html", "runs", v.runsPage(true)); err != nil {
		return n, err
	}
	for i, run := range v.Runs {
		base := fmt.Sprintf("run/%d/", i)
		q := Query{PerPage: perPage, Page: 1}
		for {
			d := v.instancesPage(run, i, q, nil, true)
			name := "index.html"
			if q.Page > 1 {
				name = fmt.Sprintf("page-%d.html", q.Page)
			}
			if err := write(base+name, "instances", d); err != nil {
				return n, err
			}
			if q.Page >= d.Page.Pages {
				break
			}
			q.Page++
		}
		seen := map[string]bool{}
		for _, e := range run.Index.Entries {
			if err := ctx.Err(); err != nil {
				return n, err
			}
			safe := result.SafeName(e.InstanceID)
			d, err := v.rolloutPage(run, i, e.InstanceID, e.Rollout, "../../../../", true)
			if err != nil {
				return n, err
			}
			if err := write(fmt.Sprintf("%sr/%s/%d.html", base, safe, e.Rollout), "rollout", d); err != nil {
				return n, err
			}
			if seen[safe] {
				continue
			}
			seen[safe] = true
			a, b := defaultPair(run.Index, e.InstanceID)
			c, err := v.comparePage(run, i, e.InstanceID, a, b, true)
			if err != nil {
				return n, err
			}
			if err := write(fmt.Sprintf("%sc/%s.html", base, safe), "compare", c); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}
