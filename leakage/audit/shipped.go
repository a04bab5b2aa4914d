package audit

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/sweval/sweval/harness/sandbox"
)

// shippedScript lists the files under $1 the test runner or the
// interpreter would read (runner configuration, conftest.py, start-up
// hooks), relative to $1. It runs before the agent starts, so each one is
// the task's own, not the agent's.
const shippedScript = `cd "$1" 2>/dev/null || exit 0
find . -path ./.git -prune -o -type f \( -name conftest.py -o -name pytest.ini -o -name .pytest.ini \
  -o -name pytest.toml -o -name .pytest.toml -o -name tox.ini -o -name setup.cfg -o -name pyproject.toml \
  -o -name sitecustomize.py -o -name usercustomize.py -o -name '*.pth' \) -print 2>/dev/null | head -n 2000`

// Shipped lists the runner-read files present in workdir of sb now (call
// it before the agent runs), for Config.Shipped: the task's own pytest.ini
// or conftest.py, edited without touching collection, plugins or
// reporting, is honest work.
func Shipped(ctx context.Context, sb sandbox.Sandbox, workdir string) ([]string, error) {
	r, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: []string{"sh", "-c", shippedScript, "shipped", workdir}, Timeout: 2 * time.Minute, OutputLimit: 1 << 20})
	if err != nil {
		return nil, fmt.Errorf("list the task's shipped runner files in %s: %w", workdir, err)
	}
	if r.ExitCode != 0 {
		return nil, fmt.Errorf("list the task's shipped runner files in %s: exit %d: %s", workdir, r.ExitCode, r.Output)
	}
	var out []string
	for _, l := range strings.Split(string(r.Output), "\n") {
		if l = strings.TrimSpace(l); l != "" && l != "." {
			out = append(out, path.Clean(strings.TrimPrefix(l, "./")))
		}
	}
	sort.Strings(out)
	return out, nil
}

// WithShipped returns an auditor like a that also treats files as the
// task's own (Config.Shipped).
func (a *Auditor) WithShipped(files []string) *Auditor {
	if len(files) == 0 {
		return a
	}
	cfg := a.cfg
	cfg.Shipped = append(append([]string(nil), cfg.Shipped...), files...)
	return New(cfg)
}
