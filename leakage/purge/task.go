package purge

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/leakage/fingerprint"
)

// ConfigFor derives a purge configuration from a Doc2Repo task: the
// package and aliases as distribution names, their identifier spellings as
// import names, the reference's file list, the workspace and the spec.
func ConfigFor(t *benchmarks.Task) (Config, error) {
	d := t.Doc2Repo
	if d == nil {
		return Config{}, fmt.Errorf("task %s: not a Doc2Repo task (no doc2repo section)", t.ID)
	}
	if d.Package == "" {
		return Config{}, fmt.Errorf("task %s: field package is empty: name the reference's import/dist name so it can be purged and guarded", t.ID)
	}
	cfg := Config{Workdir: d.Workdir, Spec: []byte(d.Spec)}
	names := t.Protected()
	cfg.Dists, cfg.Imports = names.Dists, names.Imports
	if d.Reference != "" {
		err := filepath.WalkDir(d.Reference, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() && (e.Name() == ".git" || e.Name() == "__pycache__") {
				return filepath.SkipDir
			}
			if e.Type().IsRegular() && strings.HasSuffix(p, ".py") {
				rel, _ := filepath.Rel(d.Reference, p)
				cfg.RefPaths = append(cfg.RefPaths, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return cfg, fmt.Errorf("task %s: list reference %s: %w", t.ID, d.Reference, err)
		}
	}
	for rel := range d.TestFiles {
		cfg.RefPaths = append(cfg.RefPaths, rel)
	}
	return cfg, nil
}

// IndexFor fingerprints a Doc2Repo task's reference (source and hidden
// tests) and allows the spec's own text.
func IndexFor(t *benchmarks.Task, opts fingerprint.Options) (*fingerprint.Index, error) {
	d := t.Doc2Repo
	if d == nil {
		return nil, fmt.Errorf("task %s: not a Doc2Repo task", t.ID)
	}
	if len(opts.ImportNames) == 0 {
		cfg, err := ConfigFor(t)
		if err != nil {
			return nil, err
		}
		opts.ImportNames = cfg.Imports
	}
	ix := fingerprint.NewIndex(opts)
	if d.Reference != "" {
		if _, err := os.Stat(d.Reference); err != nil {
			return nil, fmt.Errorf("task %s: reference %s: %w", t.ID, d.Reference, err)
		}
		if _, err := ix.AddDir(d.Reference); err != nil {
			return nil, err
		}
	}
	for rel, b := range d.TestFiles {
		ix.Add(rel, b)
	}
	if ix.Len() == 0 {
		return nil, errors.New("task " + t.ID + ": no reference source large enough to fingerprint: set the reference path or ship test files")
	}
	ix.Allow([]byte(d.Spec))
	return ix, nil
}
