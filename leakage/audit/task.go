package audit

import "github.com/sweval/sweval/benchmarks"

// ConfigFor derives an audit configuration from a task: for Doc2Repo, its
// package names, workspace and hidden test paths; for SWE-style tasks, the
// repository at /testbed with no protected package.
func ConfigFor(t *benchmarks.Task) Config {
	d := t.Doc2Repo
	if d == nil {
		return Config{Workdir: "/testbed"}
	}
	cfg := Config{Workdir: d.Workdir, HiddenTests: append([]string(nil), d.Tests...)}
	cfg.Packages = t.Protected().Dists
	for p := range d.TestFiles {
		cfg.HiddenTests = append(cfg.HiddenTests, p)
	}
	return cfg
}
